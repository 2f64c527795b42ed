/**
 * Must-show: evidence for a recipient after a consent grant, a revocation by reply ("TD" MO) and
 * two decisions — from the API (JSON and table) and from `smppguard evidence` (the built CLI as a
 * child process against the same Redis data), against a real gateway, simulator and Redis.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Status } from '../../src/protocol/status.js';
import { startAdminStack, type AdminStack } from '../helpers/admin.js';
import type { EsmeClient } from '../helpers/esme-client.js';
import { REDIS_URL, sm } from '../helpers/stack.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const SENDER = '8610690001';
const USER = '8613800138000';

function cli(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('evidence for a recipient', () => {
  let s: AdminStack;
  let esme: EsmeClient;
  let t0: number;
  let dir: string;
  let smscId: string;

  beforeAll(async () => {
    s = await startAdminStack();
    esme = await s.esme('transceiver');
    dir = mkdtempSync(join(os.tmpdir(), 'sg-evidence-'));
    writeFileSync(join(dir, 'gateway.yaml'), `redis:\n  url: ${REDIS_URL}\n  key_prefix: "${s.prefix}"\narchive:\n  dir: "${s.cfg.archive.dir}"\n`);
    t0 = Date.now();
    expect((await s.api('POST', '/api/v1/senders', { body: { kind: 'number', value: SENDER, account: 'esme', class: 'commercial', signatures: ['ACME'] } })).status).toBe(201);
    // 1. consent granted through the API
    const g = await s.api('POST', '/api/v1/consent', {
      body: { msisdn: USER, scope: 'brand:ACME', state: 'granted', channel: 'web-form', evidence: 'form-991 2026-11-28 10:02' },
    });
    expect(g.status).toBe(200);
    // 2. decision: forwarded with consent
    const forwarded = await esme.submit(sm({ source_addr: SENDER, destination_addr: USER, short_message: '【ACME】 50% off today' }));
    expect(forwarded.status).toBe(Status.ESME_ROK);
    smscId = forwarded.messageId;
    // 3. revocation by reply: the user answers "TD"; the MO still reaches the account
    const before = esme.deliveries.length;
    expect(await s.sim.injectMo({ source: USER, destination: SENDER, text: 'TD' })).toBe(true);
    await esme.waitDeliveries(before + 1, 2000);
    // 4. decision: rejected, consent revoked
    expect((await esme.submit(sm({ source_addr: SENDER, destination_addr: USER, short_message: '【ACME】 last chance' }))).status).toBe(Status.ESME_RSUBMITFAIL);
    // Decisions reach the stream within audit.stream.flush_ms; flush now rather than wait.
    await s.gw.auditStream!.flush();
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('JSON: current consent, the grant and the revocation by reply, and both decisions in order', async () => {
    const r = await s.api('GET', `/api/v1/evidence/+${USER}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const e = r.body;
    expect(e.msisdn).toBe(USER);
    expect(e.consent.current).toEqual([
      { scope: 'brand:ACME', state: 'revoked', at: expect.any(String), expires_at: null, effective: 'revoked' },
    ]);
    expect(e.consent.journal).toEqual([
      expect.objectContaining({ op: 'consent.grant', scope: 'brand:ACME', who: 'ops', channel: 'web-form', evidence: 'form-991 2026-11-28 10:02' }),
      expect.objectContaining({ op: 'consent.revoke', scope: 'brand:ACME', who: 'mo-reply', channel: 'sms-reply', evidence: `MO "TD" to ${SENDER}` }),
    ]);
    expect(e.decisions).toEqual([
      expect.objectContaining({ account: 'esme', sender: SENDER, decision: 'forward', reason: 'consent_granted', status: 0, status_name: 'ESME_ROK', rule: 'policy/consent', class: 'commercial' }),
      expect.objectContaining({ account: 'esme', sender: SENDER, decision: 'reject', reason: 'consent_revoked', status: Status.ESME_RSUBMITFAIL, status_name: 'ESME_RSUBMITFAIL', rule: 'policy/consent' }),
    ]);
    // The forwarded one: the gateway's id, the SMSC's id its second record gave (the id the ESME got), its campaign fingerprint.
    expect(e.decisions[0]).toMatchObject({ message_id: expect.stringMatching(/^\S+$/), smsc_message_id: smscId, fingerprint: expect.stringMatching(/^[0-9a-f]+$/) });
    expect(e.decisions[1].message_id).not.toBe(e.decisions[0].message_id);
    expect(e.decisions[1].smsc_message_id).toBeUndefined();
    const [d1, d2] = e.decisions.map((d: { time: string }) => Date.parse(d.time));
    const [grant, revoke] = e.consent.journal.map((j: { time: string }) => Date.parse(j.time));
    // The order of events is the order of the record: grant ≤ forward ≤ revoke ≤ reject.
    expect(grant).toBeLessThanOrEqual(d1);
    expect(d1).toBeLessThanOrEqual(revoke);
    expect(revoke).toBeLessThanOrEqual(d2);
    expect(e.dnd).toEqual({ all: false, categories: [] });
    expect(e.truncated).toEqual({ journal: false, decisions: false });
  });

  it("a message released from the queue: its SMSC id from the smsc_id record that followed its decision", async () => {
    // As the queue's release records it (decided, then taken by an SMSC later): two records, joined on the gateway's id.
    const other = '8613800138555';
    s.gw.auditStream!.add('esme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial', SENDER, other, 'Q-released-1');
    s.gw.auditStream!.addSmscId('esme', SENDER, other, 'Q-released-1', 'SMSC-77');
    await s.gw.auditStream!.flush();
    const r = await s.api('GET', `/api/v1/evidence/${other}`);
    expect(r.status).toBe(200);
    expect(r.body.decisions).toEqual([expect.objectContaining({ decision: 'forward', message_id: 'Q-released-1', smsc_message_id: 'SMSC-77' })]);
  });

  it('table: a readable report of the same', async () => {
    const r = await fetch(`${s.base}/api/v1/evidence/${USER}?format=table`, { headers: { authorization: 'Bearer ops-token-0123456789abcdef' } });
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await r.text();
    expect(text).toMatch(new RegExp(`^Evidence for ${USER}\\n`));
    expect(text).toMatch(/Consent now\n\s+SCOPE\s+STATE\s+SINCE\s+EXPIRES\s+EFFECTIVE\n\s+brand:ACME\s+revoked\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+00:00\s+-\s+revoked\n/);
    expect(text).toMatch(/consent\.grant\s+brand:ACME\s+ops\s+web-form\s+form-991 2026-11-28 10:02\n/);
    expect(text).toMatch(/consent\.revoke\s+brand:ACME\s+mo-reply\s+sms-reply\s+MO "TD" to 8610690001\n/);
    // The forwarded message with the SMSC's id for it; the refused one has none.
    expect(text).toContain(smscId);
    expect(text).toMatch(new RegExp(`esme\\s+8610690001\\s+forward\\s+consent_granted\\s+ESME_ROK\\s+policy/consent\\s+${smscId}\\n`));
    expect(text).toMatch(/esme\s+8610690001\s+reject\s+consent_revoked\s+ESME_RSUBMITFAIL \(0x45\)\s+policy\/consent\s+-\n/);
    expect(text).toMatch(/\n\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+00:00\s+esme\s+8610690001\s+forward/); // UTC by default
    // tz=: the same report with its times in that zone, offset shown; a zone that is none is a 400.
    const auth = { authorization: 'Bearer ops-token-0123456789abcdef' };
    const sh = await (await fetch(`${s.base}/api/v1/evidence/${USER}?format=table&tz=Asia/Shanghai`, { headers: auth })).text();
    expect(sh).toContain('(times in Asia/Shanghai)');
    expect(sh).toMatch(/\n\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00\s+esme\s+8610690001\s+forward/);
    expect(sh).not.toContain('+00:00');
    expect((await fetch(`${s.base}/api/v1/evidence/${USER}?format=table&tz=Mars/Olympus`, { headers: auth })).status).toBe(400);
  });

  it('filters by sender and time: another sender and an earlier window show nothing of these', async () => {
    // A third message, from a number nobody registered (spoofing), to the same recipient.
    expect((await esme.submit(sm({ source_addr: '8610699999', destination_addr: USER }))).status).toBe(Status.ESME_RINVSRCADR);
    await s.gw.auditStream!.flush();
    const all = (await s.api('GET', `/api/v1/evidence/${USER}`)).body;
    expect(all.decisions.map((d: { reason: string }) => d.reason)).toEqual(['consent_granted', 'consent_revoked', 'sender_unregistered']);
    const mine = (await s.api('GET', `/api/v1/evidence/${USER}?sender=number:${SENDER}`)).body;
    expect(mine.sender).toEqual({ query: `number:${SENDER}`, id: `number:${SENDER}`, account: 'esme', scopes: [`sender:number:${SENDER}`, 'brand:ACME', 'account:esme'] });
    expect(mine.decisions.map((d: { reason: string }) => d.reason)).toEqual(['consent_granted', 'consent_revoked']);
    const spoof = (await s.api('GET', `/api/v1/evidence/${USER}?sender=8610699999`)).body;
    expect(spoof.decisions.map((d: { reason: string }) => d.reason)).toEqual(['sender_unregistered']);
    expect(spoof.consent.journal).toEqual([]);
    const before = (await s.api('GET', `/api/v1/evidence/${USER}?to=${new Date(t0 - 1000).toISOString()}`)).body;
    expect(before.decisions).toEqual([]);
    expect(before.consent.journal).toEqual([]);
    const bad = await s.api('GET', `/api/v1/evidence/${USER}?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z`);
    expect(bad.status).toBe(400);
    expect((await s.api('GET', '/api/v1/evidence/not-a-number')).status).toBe(400);
  });

  it('`smppguard evidence` prints the same as a table and as JSON', async () => {
    const table = await cli(['evidence', `+${USER}`, '--sender', SENDER, '--config', 'gateway.yaml'], dir);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^Evidence for 8613800138000, sender number:8610690001 \(account esme\)\n/);
    expect(table.stdout).toMatch(/consent\.revoke\s+brand:ACME\s+mo-reply/);
    expect(table.stdout).toMatch(/reject\s+consent_revoked/);
    expect(table.stdout).not.toMatch(/8610699999/);
    const sh = await cli(['evidence', USER, '--tz', 'Asia/Shanghai', '--config', 'gateway.yaml'], dir);
    expect(sh.code).toBe(0);
    expect(sh.stdout).toMatch(/\n\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00\s+esme\s+8610690001\s+forward\s+consent_granted/);
    expect(sh.stdout).not.toContain('+00:00');
    const json = await cli(['evidence', USER, '--json', '--from', new Date(t0 - 1000).toISOString(), '--config', 'gateway.yaml'], dir);
    expect(json.code).toBe(0);
    const e = JSON.parse(json.stdout);
    expect(e.consent.journal.map((j: { op: string }) => j.op)).toEqual(['consent.grant', 'consent.revoke']);
    expect(e.decisions.map((d: { reason: string }) => d.reason)).toEqual(['consent_granted', 'consent_revoked', 'sender_unregistered']);
    const bad = await cli(['evidence', 'nobody', '--config', 'gateway.yaml'], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/"nobody" is not a phone number/);
  }, 120_000);

  it('the same evidence, API and CLI, before and after the decisions moved to the archive', async () => {
    const api = async () => {
      const r = await s.api('GET', `/api/v1/evidence/${USER}`);
      expect(r.status).toBe(200);
      return { ...r.body, generated_at: '' };
    };
    const viaCli = async () => {
      const r = await cli(['evidence', USER, '--json', '--config', 'gateway.yaml'], dir);
      expect(r.stderr).toBe('');
      return { ...JSON.parse(r.stdout), generated_at: '' };
    };
    const before = await api();
    const beforeCli = await viaCli();
    expect(before.decisions).toHaveLength(3);
    expect(beforeCli).toEqual(before);
    // The gateway's own writer publishes the shard's batch now (rather than after batch_seconds).
    await s.gw.archive!.writer!.tick(true);
    expect(readdirSync(join(s.cfg.archive.dir, 'decisions'), { recursive: true }).some((f) => String(f).endsWith('.parquet'))).toBe(true);
    expect(await api()).toEqual(before);
    expect(await viaCli()).toEqual(before);
  }, 120_000); // two CLI runs: a node start each, slow on a loaded machine
});
