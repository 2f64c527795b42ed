/**
 * `import ported` (importFile('ported', …) and ported-rows.ts) against a private redis-server (a
 * replace SCANs the keyspace): CSV with and without a header, the fast path and the general path
 * giving the same rows, JSONL, gzip, bad rows, counts, and --replace switching generations
 * atomically (numbers absent from the file drop out, old hashes are removed, a failed replace
 * leaves the table in use), read back as the hot path reads it (PolicyCheck.portedOf).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importFile, type ImportOptions } from '../../src/import/import-file.js';
import { ImportError } from '../../src/import/kinds.js';
import { PortedRows } from '../../src/import/ported-rows.js';
import { PolicyCheck } from '../../src/store/policy-check.js';
import { PortedAdmin } from '../../src/store/ported.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { keysMatching } from '../helpers/redis-keys.js';

const NUMBERING = { country_code: '86', national_prefix: '0', international_prefix: '00' };

let server: PrivateRedis;
let redis: Redis;
let dir: string;
let prefix: string;
let check: PolicyCheck;
let n = 0;

function file(name: string, content: string | Buffer): string {
  const p = join(dir, `${n++}-${name}`);
  writeFileSync(p, content);
  return p;
}

function opts(over: Partial<ImportOptions> = {}): ImportOptions & { bad: string[] } {
  const bad: string[] = [];
  return { redis, prefix, numbering: NUMBERING, graceMs: 0, onBadLine: (line, reason) => bad.push(`${line}: ${reason}`), bad, ...over };
}

/** The tag as the gateway reads it, after re-reading the generation. */
async function tagOf(msisdn: string): Promise<string | null> {
  await check.ported.refresh();
  return check.portedOf(msisdn);
}

async function portedKeys(): Promise<string[]> {
  const out = await keysMatching(redis, `${prefix}ported:{r:*`);
  return out.sort();
}

beforeAll(async () => {
  server = await PrivateRedis.start();
  redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  dir = mkdtempSync(join(os.tmpdir(), 'sg-import-ported-'));
});

beforeEach(() => {
  prefix = `test:port:${randomBytes(4).toString('hex')}:`;
  check = new PolicyCheck(redis, prefix);
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('ported rows', () => {
  it('the fast path reads what the general path reads; other shapes go the general way', () => {
    const rows = new PortedRows(NUMBERING);
    const fast = (line: string) => (rows.fastLine(Buffer.from(line), 0, Buffer.byteLength(line)) ? [rows.number, rows.network] : null);
    expect(fast('8613800138000,cu')).toEqual([8613800138000, 'cu']);
    expect(fast(' 13800138000 , cmcc \r')).toEqual([8613800138000, 'cmcc']);
    expect(fast('+8613800138000,ct')).toEqual([8613800138000, 'ct']);
    expect(fast('008613800138000,c.t-1_x')).toEqual([8613800138000, 'c.t-1_x']);
    expect(fast('013800138000,ct')).toEqual([8613800138000, 'ct']);
    for (const general of ['8613800138000', '8613800138000,', '"8613800138000",cu', '8613800138000,c u', '8613800138000,cu,x']) expect(fast(general), general).toBeNull();
    expect(rows.json({ msisdn: '+8613800138000', network: 'cu' })).toEqual({ ok: { number: 8613800138000, network: 'cu' } });
    expect(rows.csv(['8613800138000', 'x y'])).toMatchObject({ bad: expect.stringMatching(/^network must be 1–32 letters/) });
    expect(rows.csv(['8613800138000'])).toEqual({ bad: 'expected msisdn,network, got 1 field' });
    expect(rows.json({ msisdn: '8613800138000' })).toEqual({ bad: 'missing network' });
    expect(rows.json({ msisdn: 'abc', network: 'cu' })).toMatchObject({ bad: 'not a phone number: "abc"' });
  });
});

describe('import ported', () => {
  it('CSV with a header (any column order), bad rows reported and skipped, counts; re-running counts already present', async () => {
    const o = opts();
    const f = file('p.csv', 'network,msisdn\ncu,8613800000001\nct,013800000002\n"cmcc","+8613800000003"\nx y,8613800000004\ncu,abc\n');
    const s = await importFile('ported', f, o);
    expect(s).toMatchObject({ kind: 'ported', format: 'csv', read: 5, imported: 3, skipped: 2, duplicates: 0, generation: 1 });
    expect(o.bad).toEqual([expect.stringMatching(/^5: network must be/), '6: not a phone number: "abc"']);
    expect(await tagOf('8613800000001')).toBe('cu');
    expect(await tagOf('8613800000002')).toBe('ct');
    expect(await tagOf('8613800000003')).toBe('cmcc');
    expect(await tagOf('8613800000004')).toBeNull();
    const again = await importFile('ported', f, opts());
    expect(again).toMatchObject({ imported: 3, duplicates: 3 });
    // One journal entry for the load, not one per number.
    const journal = await redis.xrange(`${prefix}journal`, '-', '+');
    expect(journal.map(([, kv]) => kv[1])).toEqual(['ported.import', 'ported.import']);
  });

  it('CSV without a header on the fast path, JSONL, and gzip of either (by the magic bytes)', async () => {
    const csv = Array.from({ length: 3000 }, (_, i) => `86138${String(i * 7).padStart(8, '0')},${i % 2 ? 'cu' : 'ct'}`).join('\n');
    expect(await importFile('ported', file('plain.csv', csv), opts())).toMatchObject({ read: 3000, imported: 3000, skipped: 0 });
    expect(await tagOf('8613800000007')).toBe('cu');
    expect(await tagOf(`86138${String(2999 * 7).padStart(8, '0')}`)).toBe('cu');
    expect(await tagOf('8613800000014')).toBe('ct');
    const jsonl = '{"msisdn":"8613900000001","network":"cu"}\n# a comment\n{"msisdn":13900000002,"network":"ct"}\n{"msisdn":"8613900000003"}\nnot json\n';
    const j = opts();
    expect(await importFile('ported', file('p.jsonl', jsonl), j)).toMatchObject({ format: 'jsonl', read: 4, imported: 2, skipped: 2 });
    expect(j.bad).toEqual(['4: missing network', expect.stringMatching(/^5: invalid JSON/)]);
    expect(await tagOf('8613900000002')).toBe('ct');
    expect(await importFile('ported', file('p.jsonl.gz', gzipSync('{"msisdn":"8615000000001","network":"cmcc"}\n')), opts())).toMatchObject({ gzip: true, format: 'jsonl', imported: 1 });
    expect(await importFile('ported', Readable.from([gzipSync('8615000000002,cu\n')]), opts({ name: 'stdin' }))).toMatchObject({ gzip: true, format: 'csv', imported: 1 });
    expect(await tagOf('8615000000001')).toBe('cmcc');
    expect(await tagOf('8615000000002')).toBe('cu');
  });

  it('--replace loads a new generation and switches: numbers absent from the file drop out, old hashes go, single edits survive into it', async () => {
    await importFile('ported', file('day1.csv', '8613800000001,cu\n8613800000002,ct\n'), opts());
    expect(await portedKeys()).toEqual([`${prefix}ported:{r:262872314}:g1:3`]);
    const s = await importFile('ported', file('day2.csv.gz', gzipSync('8613800000002,cmcc\n8613800000003,cu\n')), opts({ replace: true }));
    expect(s).toMatchObject({ replace: true, imported: 2, generation: 2, previousGeneration: 1, removedKeys: 1 });
    expect(await tagOf('8613800000001')).toBeNull();
    expect(await tagOf('8613800000002')).toBe('cmcc');
    expect(await tagOf('8613800000003')).toBe('cu');
    expect(await portedKeys()).toEqual([`${prefix}ported:{r:262872314}:g2:3`]);
    expect(await redis.get(`${prefix}ported:gen`)).toBe('2');
    expect(await redis.get(`${prefix}ported:loading`)).toBeNull();
    // The admin API writes the generation in use.
    await new PortedAdmin(redis, prefix, 86_400_000).set('8613800000009', 'ct', { who: 't' });
    expect(await tagOf('8613800000009')).toBe('ct');
    // A replace with nothing valid is refused and leaves the table in use.
    await expect(importFile('ported', file('empty.csv', 'msisdn,network\nbogus,cu\n'), opts({ replace: true }))).rejects.toThrow(/replace refused: the file has no valid rows \(the ported-number table would be emptied\)/);
    expect(await redis.get(`${prefix}ported:gen`)).toBe('2');
    expect(await tagOf('8613800000002')).toBe('cmcc');
    expect(await portedKeys()).toEqual([`${prefix}ported:{r:262872314}:g2:3`]);
    // Another replace holding the lock is refused.
    await redis.set(`${prefix}ported:loading`, '9', 'PX', 5000);
    await expect(importFile('ported', file('day3.csv', '8613800000002,cu\n'), opts({ replace: true }))).rejects.toThrow(ImportError);
    await redis.del(`${prefix}ported:loading`);
    // DND generations are their own: untouched by the ported table's.
    expect(await redis.get(`${prefix}dnd:gen`)).toBeNull();
  });

  it('--replace is for dnd and ported only; a dry run writes nothing', async () => {
    await expect(importFile('consent', file('c.csv', 'x'), opts({ replace: true }))).rejects.toThrow(/--replace applies to dnd and ported imports only/);
    const s = await importFile('ported', file('dry.csv', '8613800000001,cu\n'), { prefix, numbering: NUMBERING, dryRun: true });
    expect(s).toMatchObject({ dryRun: true, valid: 1, imported: 0 });
    expect(await portedKeys()).toEqual([]);
  });
});

describe('import ported: hostile files', () => {
  it('malformed lines, bad numbers and wrong columns are reported by line and skipped; the good rows still load', async () => {
    const o = opts();
    const lines = [
      'msisdn,network',
      '8613800000001,cu', // 2 ok
      'abc,cu', // 3 not a number
      '8613800000002', // 4 no network
      '8613800000003,cu,extra', // 5 a column the header does not name: ignored, the row loads
      ',', // 6 empty both
      '12345678901234567890,cu', // 7 too many digits
      `8613800000005,${'x'.repeat(33)}`, // 8 tag too long
      '8613800000006,c\u0000u', // 9 NUL in the tag
      `8613800000009,${'y'.repeat(200_000)}`, // 10 a 200 kB tag: reported clipped
      '"8613800000007,cu', // 11 an unterminated quote
      '8613800000008,ct', // 12 ok after it
    ];
    const s = await importFile('ported', file('hostile.csv', `${lines.join('\n')}\n`), o);
    expect(s).toMatchObject({ read: 11, imported: 3, skipped: 8 });
    expect(o.bad.map((b) => b.slice(0, b.indexOf(':')))).toEqual(['3', '4', '6', '7', '8', '9', '10', '11']);
    expect(o.bad.slice(0, 4)).toEqual(['3: not a phone number: "abc"', '4: missing network', '6: missing msisdn', '7: not a phone number: "12345678901234567890"']);
    expect(o.bad[5]).toMatch(/^9: network must be 1–32 letters.*"c\\u0000u"$/);
    expect(o.bad[7]).toBe('11: unbalanced quotes');
    // No reason repeats a hostile value at length (fields.ts clip()).
    for (const b of o.bad) expect(b.length).toBeLessThan(200);
    for (const [n, tag] of [['8613800000001', 'cu'], ['8613800000003', 'cu'], ['8613800000008', 'ct']] as const) expect(await tagOf(n)).toBe(tag);
    for (const n of ['8613800000002', '8613800000005', '8613800000006', '8613800000007', '8613800000009']) expect(await tagOf(n)).toBeNull();
    // Without a header, a row of the wrong width is refused rather than guessed.
    const w = opts();
    expect(await importFile('ported', file('wide.csv', '8613800000010,cu,extra\n'), w)).toMatchObject({ imported: 0, skipped: 1 });
    expect(w.bad).toEqual(['1: expected msisdn,network, got 3 fields']);
  });

  it('a header without a network column is fatal before any write; an unknown header is a bad row; JSON lines of the wrong shape are reported', async () => {
    await expect(importFile('ported', file('cols.csv', 'msisdn,operator_name\n8613800000001,cu\n'), opts())).rejects.toThrow(/header names no column network/);
    expect(await portedKeys()).toEqual([]);
    const h = opts();
    expect(await importFile('ported', file('unknown.csv', 'foo,bar\n8613800000001,cu\n'), h)).toMatchObject({ imported: 1, skipped: 1 });
    expect(h.bad).toEqual(['1: not a phone number: "foo"']);
    const j = opts();
    const jsonl = [
      '[1,2]',
      '"8613800000001"',
      '{"msisdn":["8613800000002"],"network":"cu"}',
      '{"msisdn":"8613800000002","network":true}',
      '{"msisdn":"8613800000002","network":{"cu":1}}',
      '{"msisdn":"8613800000002","network":"cu"',
      '{"msisdn":8613800000003,"network":7}',
    ].join('\n');
    expect(await importFile('ported', file('shape.jsonl', jsonl), j)).toMatchObject({ format: 'jsonl', imported: 1, skipped: 6 });
    expect(j.bad.map((b) => b.split(':')[0])).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(j.bad.slice(3, 5)).toEqual(['4: network must be a string, got boolean', '5: network must be a string, got object']);
    expect(await tagOf('8613800000002')).toBeNull();
    // JSON numbers are read as their digits, for the tag as for the number.
    expect(await tagOf('8613800000003')).toBe('7');
  });

  it('a huge line (4 MiB, no newline inside) is reported as overlong without being kept; the rows around it load', async () => {
    const o = opts();
    const huge = '8'.repeat(4 << 20);
    const before = process.memoryUsage().heapUsed;
    const s = await importFile('ported', file('huge.csv', `8613800000001,cu\n${huge},cu\n8613800000002,ct\n`), o);
    expect(s).toMatchObject({ imported: 2, skipped: 1 });
    expect(o.bad).toEqual(['2: line longer than 1048576 bytes']);
    // The line is dropped as it streams past (LineSplitter), not accumulated: well under its size is retained.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 << 20);
    expect(await tagOf('8613800000002')).toBe('ct');
  });

  it('gzip garbage and a cut-short gzip are fatal; with --replace nothing is half-applied: the table in use, its generation and no leftovers', async () => {
    await importFile('ported', file('day1.csv', '8613800000001,cu\n'), opts());
    const keys = await portedKeys();
    const gen = await redis.get(`${prefix}ported:gen`);
    // A gzip header, then a deflate block of the reserved type (0xff): zlib says "invalid block type".
    // (Random bytes here failed with whatever zlib found first, e.g. "too many length or distance symbols".)
    const garbage = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0xff]), Buffer.alloc(4096, 0xff)]);
    await expect(importFile('ported', file('garbage.csv.gz', garbage), opts({ replace: true }))).rejects.toThrow(/gzip|header|invalid|incorrect/i);
    // A valid start (many good rows, so some are written to the new generation) cut off mid-stream.
    const rows = Array.from({ length: 50_000 }, (_, i) => `86139${String(i).padStart(8, '0')},ct`).join('\n');
    const gz = gzipSync(rows);
    await expect(importFile('ported', file('cut.csv.gz', gz.subarray(0, gz.length - 64)), opts({ replace: true }))).rejects.toThrow(ImportError);
    expect(await redis.get(`${prefix}ported:gen`)).toBe(gen);
    expect(await redis.get(`${prefix}ported:loading`)).toBeNull();
    expect(await portedKeys()).toEqual(keys);
    expect(await tagOf('8613800000001')).toBe('cu');
    expect(await tagOf('8613900000001')).toBeNull();
    // Garbage that is not even gzip: read as text, every line bad, and a replace is refused.
    const text = opts({ replace: true });
    await expect(importFile('ported', file('noise.csv', randomBytes(8192)), text)).rejects.toThrow(/replace refused|no valid rows/);
    expect(await redis.get(`${prefix}ported:gen`)).toBe(gen);
    expect(await portedKeys()).toEqual(keys);
  });
});
