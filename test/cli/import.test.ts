/**
 * `smppguard import` as a user runs it: the built CLI (dist/, built first when missing) as a child
 * process with a temp config pointing at the real Redis under a prefix of its own.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketOf, Keys, portedSlot } from '../../src/store/keys.js';
import { clearKeys } from '../helpers/redis-keys.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `test:impcli:${randomBytes(4).toString('hex')}:`;
const keys = new Keys(prefix);

let dir: string;
let cfg: string;
let redis: Redis;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], input?: string): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

const member = async (msisdn: string, gen = 1) => {
  const { bucket, member: m } = bucketOf(msisdn);
  return redis.sismember(keys.dnd(bucket, gen), m);
};

beforeAll(async () => {
  if (!existsSync(MAIN) || !existsSync(join(ROOT, 'dist/src/cli/import.js')) || !existsSync(join(ROOT, 'dist/src/import/import-file.js'))) {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  }
  dir = mkdtempSync(join(os.tmpdir(), 'sg-import-cli-'));
  cfg = join(dir, 'gateway.yaml');
  writeFileSync(cfg, `redis:\n  url: ${REDIS_URL}\n  key_prefix: "${prefix}"\npolicy:\n  numbering:\n    country_code: "86"\n`);
  redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
}, 120_000);

afterAll(async () => {
  await clearKeys(redis, `${prefix}*`);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('smppguard import', () => {
  it('imports a DND file, reports bad lines as FILE:LINE: reason and prints a summary, exit 0', async () => {
    writeFileSync(join(dir, 'dnd.csv'), 'msisdn,category\n8613800138000\n13800138001\nbogus\n8613800138002,12\n');
    const r = await cli(['import', 'dnd', 'dnd.csv', '--config', cfg]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('dnd.csv:4: not a phone number: "bogus"');
    expect(r.stderr).toMatch(/dnd\.csv:5: category must be 0–7/);
    expect(r.stdout).toMatch(/^dnd: read 4, imported 2, skipped 2, already present 0, [\d.]+ s, \d+ rows\/s, generation 1\n$/);
    expect(await member('8613800138000')).toBe(1);
    expect(await member('8613800138001')).toBe(1);
  });

  it('replaces the list from a gzipped file and switches the generation', async () => {
    writeFileSync(join(dir, 'national.csv.gz'), gzipSync('8613800138001\n8613800138009\n'));
    const r = await cli(['import', 'dnd', 'national.csv.gz', '--config', cfg, '--replace', '--grace-ms', '0', '--who', 'nightly']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/dnd \(replace\): read 2, imported 2, .* generation 1 -> 2, \d+ old keys removed/);
    expect(await redis.get(keys.dndGen)).toBe('2');
    expect(await member('8613800138009', 2)).toBe(1);
    expect(await member('8613800138000', 1)).toBe(0);
    const [last] = await redis.xrevrange(keys.journal, '+', '-', 'COUNT', 1);
    expect(last![1]).toEqual(expect.arrayContaining(['op', 'dnd.replace', 'who', 'nightly']));
  });

  it('imports consent from stdin as JSON lines', async () => {
    const r = await cli(['import', 'consent', '-', '--config', cfg, '--format', 'jsonl'], '{"msisdn":"8613800138000","scope":"brand:ACME","state":"granted","evidence":"web form 12"}\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^consent: read 1, imported 1, skipped 0, replaced existing 0/);
    expect(await redis.hget(keys.consent('8613800138000'), 'brand:ACME')).toMatch(/^g:\d+$/);
  });

  it('caps the bad lines it prints but counts them all; a dry run writes nothing', async () => {
    writeFileSync(join(dir, 'bad.csv'), `${Array.from({ length: 30 }, (_, i) => `x${i}`).join('\n')}\n8613800138777\n`);
    const r = await cli(['import', 'dnd', 'bad.csv', '--config', cfg, '--dry-run', '--show-errors', '5']);
    expect(r.code).toBe(0);
    expect(r.stderr.match(/^bad\.csv:\d+: /gm)).toHaveLength(5);
    expect(r.stderr).toContain('25 more bad lines not shown');
    expect(r.stdout).toMatch(/^dnd \(dry run\): read 31, valid 1, skipped 30,/);
    expect(await member('8613800138777', 2)).toBe(0);
  });

  it('imports ported numbers (CSV, then --replace from gzipped JSONL) and prints the summary', async () => {
    writeFileSync(join(dir, 'ported.csv'), 'msisdn,network\n8613800138001,cu\n13800138002,ct\n8613800138003,c u\n');
    const r = await cli(['import', 'ported', 'ported.csv', '--config', cfg]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/ported\.csv:4: network must be/);
    expect(r.stdout).toMatch(/^ported: read 3, imported 2, skipped 1, already present 0, [\d.]+ s, \d+ rows\/s, generation 1\n$/);
    const slot = portedSlot(8613800138001);
    expect(await redis.hget(keys.ported(slot.bucket, slot.sub, 1), String(slot.field))).toBe('cu');
    writeFileSync(join(dir, 'ported.jsonl.gz'), gzipSync('{"msisdn":"8613800138002","network":"cmcc"}\n'));
    const rr = await cli(['import', 'ported', 'ported.jsonl.gz', '--config', cfg, '--replace', '--grace-ms', '0']);
    expect(rr.code).toBe(0);
    expect(rr.stdout).toMatch(/^ported \(replace\): read 1, imported 1, .* generation 1 -> 2, 1 old keys removed\n$/);
    expect(await redis.hget(keys.ported(slot.bucket, slot.sub, 2), String(slot.field))).toBeNull();
    expect(await redis.hget(keys.ported(slot.bucket, slot.sub, 2), String(slot.field + 1))).toBe('cmcc');
  });

  it('exits 1 with a fatal message: missing file, Redis down, no usable rows, --replace on consent', async () => {
    const missing = await cli(['import', 'dnd', 'nope.csv', '--config', cfg]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/fatal: nope\.csv: cannot read \(no such file\); nothing imported/);

    const down = join(dir, 'down.yaml');
    writeFileSync(down, 'redis:\n  url: redis://127.0.0.1:1\n');
    writeFileSync(join(dir, 'one.csv'), '8613800138000\n');
    const r2 = await cli(['import', 'dnd', 'one.csv', '--config', down]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/fatal: Redis at redis:\/\/127\.0\.0\.1:1 is not reachable/);

    writeFileSync(join(dir, 'none.csv'), 'nothing here\n');
    const r3 = await cli(['import', 'dnd', 'none.csv', '--config', cfg]);
    expect(r3.code).toBe(1);
    expect(r3.stdout).toMatch(/imported 0, skipped 1/);
    expect(r3.stderr).toMatch(/no usable rows/);

    const r4 = await cli(['import', 'consent', 'one.csv', '--config', cfg, '--replace']);
    expect(r4.code).toBe(1);
    expect(r4.stderr).toMatch(/--replace applies to dnd and ported imports only/);
  });
});
