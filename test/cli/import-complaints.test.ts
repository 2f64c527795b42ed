/**
 * `smppguard import complaints FILE` as a user runs it: the built CLI as a child process with a
 * temp config (real Redis, a prefix of its own). Rows resolve to the registered sender, open
 * cases, and the threshold-th complaint suspends the sender, as through the API.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComplaintStore } from '../../src/store/complaint-store.js';
import { PolicyAdmin } from '../../src/store/policy-admin.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `test:cximp:${randomBytes(4).toString('hex')}:`;

let dir: string;
let redis: Redis;
let store: PolicyAdmin;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(os.tmpdir(), 'sg-cximp-'));
  writeFileSync(
    join(dir, 'gateway.yaml'),
    `redis:\n  url: ${REDIS_URL}\n  key_prefix: "${prefix}"\ncomplaints:\n  auto_suspend:\n    threshold: 2\n    window: 7d\n    mode: enforce\n`,
  );
  redis = new Redis(REDIS_URL);
  store = new PolicyAdmin(redis, prefix, 86_400_000);
  await store.putSender({ id: 'number:8610690001', kind: 'number', value: '8610690001', account: 'esme', status: 'active', signatures: ['ACME'] }, { who: 'test' });
});

afterAll(async () => {
  // Every key this file writes, by name (a SCAN of the shared Redis would read all of it).
  const c = new ComplaintStore(redis, prefix).keys;
  const parts = ['cases', 'index', 'due:forward', 'due:handle', 'seq', 'sender:number:8610690001'];
  await redis.unlink(...parts.map((p) => c.complaints(p)), store.keys.senders, store.keys.journal);
  redis.disconnect();
});

describe('smppguard import complaints', () => {
  it('a dry run validates and writes nothing; bad lines are reported as FILE:LINE: reason', async () => {
    writeFileSync(
      join(dir, 'dry.csv'),
      'recipient,sender,text,source,reference\n8613800138000,10690001,spam,12321,T-1\nnot-a-number,10690001,spam,12321,T-2\n',
    );
    const r = await cli(['import', 'complaints', 'dry.csv', '--dry-run', '--config', 'gateway.yaml']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^dry\.csv:3: recipient: "not-a-number" is not a phone number/m);
    expect(r.stdout).toMatch(/complaints dry\.csv: 2 read, 1 valid \(dry run\), 1 skipped/);
    expect(await new ComplaintStore(redis, prefix).list()).toEqual([]);
  });

  it('imports a 12321 CSV export: cases resolved to the sender; the second complaint suspends it', async () => {
    writeFileSync(
      join(dir, 'referrals.csv'),
      [
        '# 12321 referrals, 2026-11-27',
        'recipient,sender,text,time,source,reference',
        '+8613800138000,+8610690001,【ACME】 sale,2026-11-27T09:00:00+08:00,12321,12321-A1',
        '013800138001,10690001,"【ACME】 sale, 50% off",2026-11-27T10:00:00+08:00,12321,12321-A2',
        '8613800138002,10699999,loan offer,2026-11-27T11:00:00+08:00,12321,12321-A3',
        '',
      ].join('\n'),
    );
    const r = await cli(['import', 'complaints', 'referrals.csv', '--who', '12321-feed', '--config', 'gateway.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^suspended sender number:8610690001 \(complaints.auto_suspend\)$/m);
    expect(r.stdout).toMatch(/complaints referrals\.csv: 3 read, 3 imported, 0 skipped, 2 resolved to an account, cases C\d{8}-000001…C\d{8}-000003/);
    const sender = await store.getSender('number:8610690001');
    expect(sender).toMatchObject({ status: 'suspended', status_by: 'auto:complaints' });
    const cases = await new ComplaintStore(redis, prefix).list();
    expect(cases.map((c) => [c.reference, c.resolved_by, c.sender])).toEqual([
      ['12321-A3', 'none', '8610699999'],
      ['12321-A2', 'sender', 'number:8610690001'],
      ['12321-A1', 'sender', 'number:8610690001'],
    ]);
    expect(cases[2]!.history[0]).toMatchObject({ who: '12321-feed', event: 'received' });
    const journal = await store.journalEntries({ match: (e) => e.op === 'complaint.receive' });
    expect(journal.length).toBe(3);
    expect(journal.at(-1)).toMatchObject({ who: '12321-feed', channel: 'import', reference: '12321-A1', msisdn: '8613800138000' });
  });

  it('reads gzipped JSON lines; a file with no usable row exits 1', async () => {
    writeFileSync(join(dir, 'care.jsonl.gz'), gzipSync('{"recipient":"8613800138005","text":"spam","source":"customer_care"}\n'));
    const ok = await cli(['import', 'complaints', 'care.jsonl.gz', '--config', 'gateway.yaml']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/1 read, 1 imported, 0 skipped, 0 resolved/);
    writeFileSync(join(dir, 'bad.jsonl'), '{"recipient":"8613800138005","source":"customer_care"}\n[1]\n');
    const bad = await cli(['import', 'complaints', 'bad.jsonl', '--config', 'gateway.yaml']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/bad\.jsonl:1: text: give message_id or text/);
    expect(bad.stderr).toMatch(/bad\.jsonl:2: not a JSON object/);
  });
});
