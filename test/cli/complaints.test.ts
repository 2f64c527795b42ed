/**
 * `smppguard complaints` (the built CLI, its own process) against the real Redis: the table with
 * its times in --tz (offset shown), the JSON in ISO UTC, filters, and a bad zone refused with exit 2
 * before anything is read — `smppguard evidence --tz` too.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComplaintCase } from '../../src/domain/complaint.js';
import { ComplaintStore } from '../../src/store/complaint-store.js';
import { REDIS_URL } from '../helpers/stack.js';
import { clearKeys } from '../helpers/redis-keys.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const prefix = `test:${randomBytes(4).toString('hex')}:`;
const dir = mkdtempSync(join(tmpdir(), 'sg-complaints-cli-'));
const redis = new Redis(REDIS_URL);

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { cwd: dir, timeout: 30_000 }, (err, stdout, stderr) =>
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const at = (iso: string) => Date.parse(iso);
function kase(id: string, state: ComplaintCase['state'], received: string, recipient: string): ComplaintCase {
  const r = at(received);
  return {
    id, state, source: '12321', reference: null, recipient, reported_sender: '10690001', message_id: null, text: 'spam',
    reported_at: r, received_at: r, resolved_by: 'sender', account: 'esme', sender: 'number:10690001', sender_registered: true,
    remarks: [], forward_due: r + 3 * 86_400_000, handle_due: r + 10 * 86_400_000,
    forwarded_at: null, forwarded_to: null, handled_at: state === 'handled' ? r + 3_600_000 : null, resolution: null,
    history: [{ at: r, who: 'ops', event: 'received' }],
  };
}

beforeAll(async () => {
  writeFileSync(join(dir, 'gateway.yaml'), `redis:\n  url: ${REDIS_URL}\n  key_prefix: "${prefix}"\n`);
  const store = new ComplaintStore(redis, prefix);
  await store.save(kase('C20261204-0001', 'handled', '2026-12-04T23:30:00Z', '8613800138001'));
  await store.save(kase('C20261205-0002', 'open', '2026-12-05T05:15:02Z', '8613800138002'));
});
afterAll(async () => {
  await clearKeys(redis, `${prefix}*`);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('smppguard complaints', () => {
  it('a table with the times in --tz (offset shown), newest first', async () => {
    const r = await cli(['complaints', '--tz', 'Asia/Shanghai', '-c', 'gateway.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('Complaint cases, newest first (2; times in Asia/Shanghai)');
    expect(lines[2]).toMatch(/^\s+C20261205-0002\s+2026-12-05 13:15:02 \+08:00\s+12321\s+open\s+8613800138002\s+number:10690001\s+esme\s+2026-12-08 13:15:02 \+08:00/);
    // 23:30 UTC on the 4th is already the 5th in Shanghai.
    expect(lines[3]).toMatch(/^\s+C20261204-0001\s+2026-12-05 07:30:00 \+08:00\s+12321\s+handled/);
  });

  it('UTC by default; --json stays ISO UTC whatever --tz says; filters apply', async () => {
    const t = await cli(['complaints', '--state', 'open', '-c', 'gateway.yaml']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/C20261205-0002\s+2026-12-05 05:15:02 \+00:00/);
    expect(t.stdout).not.toContain('C20261204-0001');
    const j = await cli(['complaints', '--json', '--tz', 'Asia/Shanghai', '--msisdn', '+8613800138001', '-c', 'gateway.yaml']);
    expect(j.code).toBe(0);
    const body = JSON.parse(j.stdout) as { count: number; cases: { id: string; received_at: string }[] };
    expect(body.count).toBe(1);
    expect(body.cases[0]).toMatchObject({ id: 'C20261204-0001', received_at: '2026-12-04T23:30:00.000Z' });
  });

  it('a bad --tz is a usage error (exit 2) with a clear message, for complaints and evidence', async () => {
    const c = await cli(['complaints', '--tz', 'Mars/Olympus', '-c', 'gateway.yaml']);
    expect(c.code).toBe(2);
    expect(c.stdout).toBe('');
    expect(c.stderr).toBe('smppguard complaints: --tz "Mars/Olympus" is not an IANA time zone (e.g. Asia/Shanghai, UTC)\n');
    const e = await cli(['evidence', '8613800138001', '--tz', 'Asia/Atlantis', '-c', 'gateway.yaml']);
    expect(e.code).toBe(2);
    expect(e.stdout).toBe('');
    expect(e.stderr).toBe('smppguard evidence: --tz "Asia/Atlantis" is not an IANA time zone (e.g. Asia/Shanghai, UTC)\n');
  });
});
