import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, maskMsisdn, setMasking } from '../../src/telemetry/log.js';
import { waitFor } from '../helpers/stack.js';

/** The file's whole lines once it has `n` of them (writes go out asynchronously: a loaded machine takes its time). */
async function linesOf(file: string, n: number): Promise<string[]> {
  const read = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(0, -1) : []);
  await waitFor(() => read().length >= n, 10_000, `${n} lines in ${file}`);
  return read();
}

describe('maskMsisdn', () => {
  afterEach(() => setMasking(true));
  it('keeps the prefix and the last three digits of a number, and anything that is not one', () => {
    expect(maskMsisdn('8613812345678')).toBe('86138*****678');
    expect(maskMsisdn('+8613812345678')).toBe('86138*****678');
    expect(maskMsisdn('1234567')).toBe('1***567');
    expect(maskMsisdn('+1234567')).toBe('1***567');
    expect(maskMsisdn('12345678901234567890123456789012')).toBe(`12345${'*'.repeat(24)}012`);
    for (const kept of ['', '+', '123456', '+123456', '++8613812345678', 'ACME', '8613a12345678', '１２３４５６７８', '+86 1381234567']) {
      expect(maskMsisdn(kept)).toBe(kept);
    }
    setMasking(false);
    expect(maskMsisdn('8613812345678')).toBe('8613812345678');
  });
});

describe('AuditLog', () => {
  const entry = (seq: number) => ({ account: 'a', decision: 'forward', reason: 'r', rule: 'x', status: 0, class: null, src: 's', dst: 'd', seq });
  const recorder = () => {
    const seen = { failed: [] as string[], dropped: 0, recovered: 0 };
    return { seen, events: { failed: (e: Error) => seen.failed.push(e.message), dropped: (n: number) => (seen.dropped += n), recovered: () => seen.recovered++ } };
  };
  const turn = (ms = 20) => new Promise((r) => setTimeout(r, ms));

  it('a full disk (/dev/full) is reported once and its lines are counted as dropped; the process lives on', async () => {
    const { seen, events } = recorder();
    const log = AuditLog.create('/dev/full', events, { retryMs: 60_000 })!;
    log.write(entry(1));
    await waitFor(() => seen.failed.length > 0, 10_000, 'the first chunk to fail with ENOSPC');
    for (let i = 2; i <= 4; i++) log.write(entry(i));
    log.flush();
    log.write(entry(5));
    log.flush();
    expect(seen.failed).toHaveLength(1);
    expect(seen.failed[0]).toMatch(/ENOSPC/);
    // Every line: the chunk whose write failed, and those after it.
    expect(seen.dropped).toBe(5);
    log.close();
  });

  it('a file whose directory vanished is dropped meanwhile, opened again after retryMs, and says when it writes again', async () => {
    const { seen, events } = recorder();
    const dir = mkdtempSync(join(tmpdir(), 'sg-audit-gone-'));
    const file = join(dir, 'audit.log');
    const log = AuditLog.create(file, events, { retryMs: 100 })!;
    log.write(entry(1));
    await linesOf(file, 1);
    rmSync(dir, { recursive: true, force: true });
    log.reopen(); // rotation's signal, but the directory is gone: the open fails
    await waitFor(() => seen.failed.length > 0, 10_000, 'the open to fail');
    expect(seen.failed).toHaveLength(1);
    log.write(entry(2));
    log.flush();
    expect(seen.dropped).toBe(1);
    mkdirSync(dir);
    await turn(150);
    log.write(entry(3));
    log.flush(); // past retryMs: opened again, written
    await waitFor(() => seen.recovered > 0, 10_000, 'the file to be written again');
    expect(seen.recovered).toBe(1);
    expect(seen.failed).toHaveLength(1);
    log.close();
    expect((await linesOf(file, 1)).map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([3]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reopen(): after rotation moved the file, earlier lines stay in it and later ones go to a new file at the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-audit-rotate-'));
    const file = join(dir, 'audit.log');
    const log = AuditLog.create(file)!;
    const line = (seq: number) => ({ account: 'a', decision: 'forward', reason: 'r', rule: 'x', status: 0, class: null, src: 's', dst: 'd', seq });
    log.write(line(1));
    log.write(line(2));
    await linesOf(file, 2); // written (the chunk goes out at the end of the turn)
    renameSync(file, `${file}.1`); // logrotate's `create`: the file moves, the path is free
    log.write(line(3)); // before the signal: still the old file
    log.reopen();
    log.write(line(4));
    log.close();
    const seqs = async (f: string, n: number) => (await linesOf(f, n)).map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(await seqs(`${file}.1`, 3)).toEqual([1, 2, 3]);
    expect(await seqs(file, 1)).toEqual([4]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes one JSON line per decision, in a fixed key order, values escaped where they come from the ESME', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-audit-line-'));
    const file = join(dir, 'audit.log');
    const log = AuditLog.create(file)!;
    log.write({ account: 'acme', decision: 'reject', reason: 'no_consent', rule: 'policy/consent', status: 69, class: 'commercial', src: '10690"01', dst: '86138*****678', seq: 7, id: 'Gabc1' });
    log.write({ account: 'acme', decision: 'forward', reason: 'not_commercial', rule: 'policy/class', status: 0, class: null, src: 'ACME\\x', dst: 'x', seq: 8 });
    log.writeSmscId('Gabc1', 'smsc"7', 'acme');
    log.close();
    const lines = await linesOf(file, 3);
    expect(lines).toHaveLength(3);
    const ISO = /^\{"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","level":"info",/;
    expect(lines[0]).toMatch(ISO);
    expect(lines[0]!.replace(ISO, '{')).toBe(
      '{"log":"audit","id":"Gabc1","account":"acme","decision":"reject","reason":"no_consent","rule":"policy/consent","status":69,"class":"commercial","src":"10690\\"01","dst":"86138*****678","seq":7}',
    );
    expect(JSON.parse(lines[1]!)).toMatchObject({ log: 'audit', id: '', class: null, src: 'ACME\\x', seq: 8 });
    expect(lines[2]!.replace(ISO, '{')).toBe('{"log":"audit_smsc","id":"Gabc1","smsc_id":"smsc\\"7","account":"acme"}');
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes each line byte for byte as JSON.stringify would escape it, whatever the ESME sent', async () => {
    // Awkward values: quotes, backslashes, control characters, DEL, non-ASCII, a lone surrogate, U+2028, emoji.
    const odd = ['', 'plain', 'a"b', 'c\\d', 'tab\there', 'nl\n', '\u0000\u001f', 'del\u007f', '中国移动', 'é', '\ud800x', 'line\u2028sep', '😀', '106"\\\u0001中'];
    const dir = mkdtempSync(join(tmpdir(), 'sg-audit-escape-'));
    const file = join(dir, 'audit.log');
    const log = AuditLog.create(file)!;
    const expected: string[] = [];
    const J = JSON.stringify;
    odd.forEach((v, i) => {
      const account = i % 4 === 0 ? `账户${v}` : 'acme';
      const e = { account, decision: 'forward', reason: 'r', rule: `rule${v}`, status: i, class: i % 2 ? null : v, src: v, dst: odd[odd.length - 1 - i]!, seq: i * 1_000_003, id: `G${v}`, ...(i % 3 === 0 ? { evidence: `ev${v}` } : {}), ...(i % 5 === 0 ? { score: `s${v}` } : {}) };
      log.write(e);
      const extra = (e.evidence !== undefined ? `,"evidence":${J(e.evidence)}` : '') + (e.score !== undefined ? `,"score":${J(e.score)}` : '');
      expected.push(
        `"log":"audit","id":${J(e.id)},"account":${J(account)},"decision":"forward","reason":"r","rule":${J(e.rule)},"status":${i},"class":${e.class === null ? 'null' : J(e.class)},"src":${J(e.src)},"dst":${J(e.dst)},"seq":${e.seq}${extra}}`,
      );
      log.writeSmscId(`G${v}`, `smsc${v}`, account);
      expected.push(`"log":"audit_smsc","id":${J(`G${v}`)},"smsc_id":${J(`smsc${v}`)},"account":${J(account)}}`);
    });
    log.close();
    const lines = await linesOf(file, expected.length);
    expect(readFileSync(file, 'utf8').endsWith('\n')).toBe(true);
    const HEAD = /^\{"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","level":"info",/;
    expect(lines.map((l) => l.replace(HEAD, ''))).toEqual(expected);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives each line its own decision when consecutive decisions differ in one field only (the cached middle of a line)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-audit-tuples-'));
    const file = join(dir, 'audit.log');
    const log = AuditLog.create(file)!;
    const base = { account: 'acme', decision: 'forward', reason: 'consent_granted', rule: 'policy/consent', status: 0, class: 'commercial' as string | null, src: '1069', dst: 'x' };
    const variants = [
      {},
      {},
      { account: 'beta' },
      { decision: 'reject', status: 69 },
      { reason: 'no_consent' },
      { rule: 'cn-quiet-hours' },
      { status: 0x58 },
      { class: null },
      { class: 'transactional' },
      {},
      { account: 'beta' },
    ];
    variants.forEach((v, seq) => log.write({ ...base, ...v, seq }));
    log.close();
    const lines = await linesOf(file, variants.length);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual(
      variants.map((v, seq) => ({ time: expect.any(String), level: 'info', log: 'audit', id: '', ...base, ...v, seq })),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every line whole and in order across chunks, with multi-byte text and a line longer than a chunk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-audit-chunks-'));
    const file = join(dir, 'audit.log');
    const log = AuditLog.create(file)!;
    const srcOf = (i: number) => (i === 1234 ? `长${'x'.repeat(30_000)}` : i % 3 === 0 ? `中国移动${i}😀` : `1069${i}`);
    for (let i = 0; i < 3000; i++) {
      log.write({ account: 'acme', decision: 'forward', reason: 'consent_granted', rule: 'policy/consent', status: 0, class: 'commercial', src: srcOf(i), dst: '86138*****678', seq: i });
    }
    log.close();
    const lines = await linesOf(file, 3000);
    expect(lines).toHaveLength(3000);
    lines.forEach((l, i) => {
      const o = JSON.parse(l) as { seq: number; src: string };
      expect(o.seq).toBe(i);
      expect(o.src).toBe(srcOf(i));
    });
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('createLogger', () => {
  it('writes ISO-8601 UTC times and level names, like the audit lines', async () => {
    const { PassThrough } = await import('node:stream');
    const { createLogger } = await import('../../src/telemetry/log.js');
    const sink = new PassThrough();
    const chunks: string[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
    const log = createLogger('info', sink);
    log.warn({ account: 'demo' }, 'hello');
    log.debug('not written at info');
    await waitFor(() => chunks.join('').includes('\n'), 10_000, 'the line');
    await new Promise((r) => setTimeout(r, 20)); // and nothing more (the debug line)
    const lines = chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', svc: 'smppguard', account: 'demo', msg: 'hello' });
    expect(lines[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});
