/**
 * The queue on live traffic: quiet-hours release driven by a controllable clock, review approve and
 * reject, expiry with the EXPIRED receipt, the per-account quota, and receipts that carry the id
 * the ESME was given throughout. Real Redis, real SMSC simulator, real sockets.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { Command } from '../../src/protocol/commands.js';
import { encodePdu } from '../../src/protocol/encode.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { parseReceiptText, receiptMessageId } from '../../src/protocol/receipt.js';
import { Status } from '../../src/protocol/status.js';
import { senderId } from '../../src/domain/sender.js';
import { ShiftedClock } from '../../src/session/clock.js';
import type { Delivery, EsmeClient } from '../helpers/esme-client.js';
import { sm, startStack, waitFor, type Stack } from '../helpers/stack.js';

const SENDER = '8610690002';
const USER = '8613800138000';
/** 22:00 in Shanghai: inside the quiet hours of the pack below. */
const QUIET = Date.UTC(2026, 10, 28, 14, 0, 0);
const HOUR = 3_600_000;

const PACK = `version: 1
rules:
  - id: review-suspicious
    description: messages mentioning a prize wait for an operator
    match:
      text: { contains_any: [PRIZE] }
    action: { queue: review }
  - id: quiet-hours
    description: nothing reaches a Chinese handset outside 08:00-21:00 Beijing time
    match:
      time: { outside: "08:00-21:00", tz: Asia/Shanghai }
    action: { queue: until-window }
`;

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
});

async function start(clock: ShiftedClock, over?: (c: Config) => void): Promise<{ esme: EsmeClient; stack: Stack }> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-qrules-'));
  writeFileSync(join(dir, 'queue.yaml'), PACK);
  stack = await startStack({
    sim: { receiptDelayMs: 10, record: true },
    cfg: (c) => {
      c.policy.enabled = true;
      c.rules = { dir, watch: false };
      // The test moves the clock by hours: no idle timeouts for that.
      c.upstream.idle_timeout_s = 0;
      over?.(c);
    },
    gw: { clock },
  });
  const rec = { id: senderId('number', SENDER), kind: 'number' as const, value: SENDER, account: 'esme', class: 'otp' as const, status: 'active' as const, signatures: [] };
  await stack.gw.store.putSender(rec, { who: 'test' });
  await waitFor(() => stack!.gw.sync.registry.get(rec.id) !== undefined, 1000, 'sender cached');
  return { esme: await stack.esme('transceiver'), stack };
}

const submit = (esme: EsmeClient, text: string, over: Record<string, string | number | Buffer> = {}) =>
  esme.submit(sm({ source_addr: SENDER, destination_addr: USER, short_message: text, registered_delivery: 1, ...over }));

function receiptOf(d: Delivery): { id: string | null; stat: string | undefined } {
  return { id: receiptMessageId(d.view.tlvs, d.view.shortMessage), stat: parseReceiptText(d.view.shortMessage.toString('latin1'))?.stat };
}

/** The simulator's copies of what reached it, by text. */
function arrived(s: Stack): string[] {
  return s.sim.received.map((p) => {
    const v = MessageView.parse(p);
    return isScanError(v) ? '?' : v.shortMessage.toString('latin1');
  });
}

describe('queue', () => {
  it('quiet hours: queued with ESME_ROK and a gateway id, released when the window opens by the clock, receipt quotes that id', async () => {
    const clock = ShiftedClock.at(QUIET);
    const { esme, stack: s } = await start(clock);
    const vendor = [{ tag: 0x1400, value: Buffer.from('1201160000000001') }];
    const fields = sm({ source_addr: SENDER, destination_addr: USER, short_message: 'Good evening', registered_delivery: 1, validity_period: '000001000000000R' });
    const r = await esme.submit(fields, vendor);
    expect(r.status).toBe(0);
    expect(r.messageId).toMatch(/^Q[0-9a-z]+$/);
    await new Promise((res) => setTimeout(res, 300));
    expect(arrived(s)).toEqual([]);
    const info = await s.gw.queue!.store.inspect(r.messageId);
    expect(info).toMatchObject({ queue: 'window', rule: 'quiet-hours', text: 'Good evening', destination_addr: USER });
    // 08:00 Shanghai is ten hours later: 00:00 UTC.
    expect(info!.release_at).toBe('2026-11-29T00:00:00.000Z');

    clock.advance(9 * HOUR + 59 * 60_000); // 07:59: still quiet
    await new Promise((res) => setTimeout(res, 400));
    expect(arrived(s)).toEqual([]);
    clock.advance(60_000); // 08:00
    await waitFor(() => arrived(s).length === 1, 3000, 'release');
    expect(arrived(s)).toEqual(['Good evening']);
    // Byte-exact after a night in Redis: only the sequence number differs.
    expect(s.sim.received[0]!.subarray(16).equals(encodePdu(Command.submit_sm, 0, 1, fields, vendor).subarray(16))).toBe(true);
    const [d] = await esme.waitDeliveries(1, 3000);
    expect(receiptOf(d!)).toEqual({ id: r.messageId, stat: 'DELIVRD' });
    const metrics = await s.gw.metrics.text();
    expect(metrics).toMatch(/smppguard_queue_jobs_total\{queue="window",outcome="queued"\} 1/);
    expect(metrics).toMatch(/smppguard_queue_jobs_total\{queue="window",outcome="released"\} 1/);
    expect(metrics).toMatch(/smppguard_decisions_total\{account="esme",action="queue",reason="queued_until_window"\} 1/);
    // Its records: queued at submit, forwarded at release (written then, not held), and the SMSC's id
    // in a second record joined on the gateway id; nothing left held.
    expect(s.gw.auditStream!.held).toBe(0);
    await s.gw.auditStream!.flush();
    const { decisions } = await s.gw.auditStream!.decisionsFor(USER, { from: QUIET - HOUR });
    const mine = decisions.filter((x) => x.msgId === r.messageId);
    expect(mine.map((x) => [x.decision, x.smscId === null])).toEqual([
      ['queue', true],
      ['forward', true],
      ['smsc_id', false],
    ]);
  });

  it('release is a decision: consent withdrawn while the message waited stops it (REJECTD receipt, never sent); consent kept lets it go', async () => {
    const clock = ShiftedClock.at(QUIET);
    const { esme, stack: s } = await start(clock);
    // A commercial sender: its messages need the recipient's consent, at submission and at release.
    const COMMERCIAL = '8610690003';
    const OTHER = '8613800138001';
    const rec = { id: senderId('number', COMMERCIAL), kind: 'number' as const, value: COMMERCIAL, account: 'esme', class: 'commercial' as const, status: 'active' as const, signatures: [] };
    await s.gw.store.putSender(rec, { who: 'test' });
    await waitFor(() => s.gw.sync.registry.get(rec.id) !== undefined, 1000, 'sender cached');
    for (const user of [USER, OTHER]) await s.gw.store.setConsent(user, `sender:${rec.id}`, 'granted', { who: 'test' });
    const withdrawn = await submit(esme, 'Sale tonight', { source_addr: COMMERCIAL });
    const kept = await submit(esme, 'Sale tonight too', { source_addr: COMMERCIAL, destination_addr: OTHER });
    expect([withdrawn.status, kept.status]).toEqual([0, 0]);
    expect(withdrawn.messageId).toMatch(/^Q/);
    // The recipient opts out during the night.
    await s.gw.store.setConsent(USER, `sender:${rec.id}`, 'revoked', { who: 'test' });

    clock.advance(10 * HOUR); // 08:00 Shanghai
    await waitFor(() => arrived(s).length === 1, 3000, 'the message whose consent stands');
    const ds = await esme.waitDeliveries(2, 3000);
    const byId = new Map(ds.map((d) => [receiptOf(d).id, receiptOf(d).stat]));
    expect(byId.get(withdrawn.messageId)).toBe('REJECTD');
    expect(byId.get(kept.messageId)).toBe('DELIVRD');
    expect(arrived(s)).toEqual(['Sale tonight too']);
    const metrics = await s.gw.metrics.text();
    expect(metrics).toMatch(/smppguard_queue_jobs_total\{queue="window",outcome="refused_at_release"\} 1/);
    expect(metrics).toMatch(/smppguard_queue_jobs_total\{queue="window",outcome="released"\} 1/);
    expect(await s.gw.queue!.store.depth('esme')).toBe(0);
  });

  it('review: approve delivers (receipt with the gateway id), reject sends REJECTD; bulk by rule id', async () => {
    const clock = ShiftedClock.at(QUIET + 12 * HOUR); // 10:00 Shanghai: no quiet hours
    const { esme, stack: s } = await start(clock);
    const a = await submit(esme, 'You won a PRIZE (a)');
    const b = await submit(esme, 'You won a PRIZE (b)');
    const plain = await submit(esme, 'plain daytime');
    expect([a.status, b.status, plain.status]).toEqual([0, 0, 0]);
    expect(a.messageId).toMatch(/^Q/);
    await waitFor(() => arrived(s).length === 1, 2000, 'the plain message');

    const q = s.gw.queue!.store;
    const held = await q.listReview({ rule: 'review-suspicious' });
    expect(held.map((m) => m.id).sort()).toEqual([a.messageId, b.messageId].sort());
    expect(await q.depth('esme')).toBe(2);

    expect(await q.approve(a.messageId, 'test')).toBe(true);
    await waitFor(() => arrived(s).length === 2, 3000, 'the approved message');
    expect(arrived(s)[1]).toBe('You won a PRIZE (a)');
    expect(await q.reject(b.messageId, 'test')).toBe(true);
    expect(await q.reject(b.messageId, 'test')).toBe(false);

    const ds = await esme.waitDeliveries(3, 3000); // plain's receipt, a's receipt, b's REJECTD
    const byId = new Map(ds.map((d) => [receiptOf(d).id, receiptOf(d).stat]));
    expect(byId.get(a.messageId)).toBe('DELIVRD');
    expect(byId.get(b.messageId)).toBe('REJECTD');
    expect(await q.depth('esme')).toBe(0);

    // Bulk: everything one rule holds, at once.
    const more = await Promise.all([submit(esme, 'PRIZE 1'), submit(esme, 'PRIZE 2'), submit(esme, 'PRIZE 3')]);
    expect(more.every((m) => m.status === 0)).toBe(true);
    expect(await q.decideRule('review-suspicious', 'approve', 'test')).toBe(3);
    await waitFor(() => arrived(s).length === 5, 3000, 'bulk-approved messages');
    expect(arrived(s).slice(2).sort()).toEqual(['PRIZE 1', 'PRIZE 2', 'PRIZE 3']);
  });

  it('expiry: a message whose validity runs out before the window opens ends with an EXPIRED receipt, never sent', async () => {
    const clock = ShiftedClock.at(QUIET);
    const { esme, stack: s } = await start(clock);
    // Relative validity: one hour. The window opens in ten.
    const r = await submit(esme, 'too late', { validity_period: '000000010000000R' });
    expect(r.status).toBe(0);
    const kept = await submit(esme, 'kept');
    clock.advance(10 * HOUR);
    await waitFor(() => arrived(s).length === 1, 3000, 'the unexpired message');
    expect(arrived(s)).toEqual(['kept']);
    const ds = await esme.waitDeliveries(2, 3000);
    const byId = new Map(ds.map((d) => [receiptOf(d).id, receiptOf(d).stat]));
    expect(byId.get(r.messageId)).toBe('EXPIRED');
    expect(byId.get(kept.messageId)).toBe('DELIVRD');
    const expired = ds.find((d) => receiptOf(d).id === r.messageId)!;
    // The gateway's receipt goes from the recipient back to the sender, as an SMSC's would.
    expect([expired.view.sourceAddr, expired.view.destinationAddr, expired.view.esmClass]).toEqual([USER, SENDER, 0x04]);
    expect(await s.gw.metrics.text()).toMatch(/smppguard_queue_jobs_total\{queue="window",outcome="expired"\} 1/);
  });

  it('review expiry: a held message past its validity ends with one EXPIRED receipt however many instances sweep', async () => {
    const clock = ShiftedClock.at(QUIET + 12 * HOUR); // daytime: only the review rule holds
    const { esme, stack: s } = await start(clock);
    const r = await submit(esme, 'PRIZE inside', { validity_period: '000000000500000R' }); // 5 minutes
    expect(r.status).toBe(0);
    const q = s.gw.queue!.store;
    expect(await q.expireReview()).toBe(0); // not yet
    clock.advance(6 * 60_000);
    const sweeps = await Promise.all([q.expireReview(), q.expireReview()]); // two instances at once
    expect(sweeps.sort()).toEqual([0, 1]);
    const [d] = await esme.waitDeliveries(1, 3000);
    expect(receiptOf(d!)).toEqual({ id: r.messageId, stat: 'EXPIRED' });
    expect(await q.depth('esme')).toBe(0);
    await new Promise((res) => setTimeout(res, 200));
    expect(esme.deliveries).toHaveLength(1);
    expect(arrived(s)).toEqual([]);
  });

  it('quota: beyond max_queued the account gets ESME_RMSGQFUL; depth shows in metrics', async () => {
    const clock = ShiftedClock.at(QUIET);
    const { esme, stack: s } = await start(clock, (c) => {
      c.accounts[0]!.queue.max_queued = 3;
    });
    const rs = [];
    for (let i = 0; i < 5; i++) rs.push(await submit(esme, `night ${i}`));
    expect(rs.map((r) => r.status)).toEqual([0, 0, 0, Status.ESME_RMSGQFUL, Status.ESME_RMSGQFUL]);
    const metrics = await s.gw.metrics.text();
    expect(metrics).toMatch(/smppguard_queue_depth\{queue="window",account="esme"\} 3/);
    expect(metrics).toMatch(/smppguard_queue_jobs_total\{queue="window",outcome="refused_quota"\} 2/);
    expect(metrics).toMatch(/smppguard_queue_oldest_age_seconds\{queue="window"\} \d/);
  });

  it('explain says a message would be queued, and until when', async () => {
    const clock = ShiftedClock.at(QUIET);
    const { stack: s } = await start(clock);
    const policy = s.gw.decisions;
    const e = await policy.explain({ account: 'esme', source_addr: SENDER, destination_addr: USER, text: 'hi' });
    expect(e).toMatchObject({ action: 'queue', queue: 'until-window', rule: 'quiet-hours', release_at: '2026-11-29T00:00:00.000Z' });
  });
});
