/**
 * Behaviour rules on live traffic (issue 18), real SMPP and the real Redis: a number-range scan
 * under a `suspend` rule in monitor mode (counted and logged, nothing refused, nobody suspended)
 * and in enforce mode (the message past the threshold refused, the sender's registration
 * suspended through the registry, the audit line saying which profile value decided); and
 * receipts from the SMSC simulator feeding the sender's undeliverable share.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { senderId } from '../../src/domain/sender.js';
import { Status } from '../../src/protocol/status.js';
import { BehaviourStore } from '../../src/store/behaviour-store.js';
import { connectRedis, createRedis } from '../../src/store/redis.js';
import type { EsmeClient } from '../helpers/esme-client.js';
import { REDIS_URL, sm, startStack, waitFor, type Stack } from '../helpers/stack.js';

const SENDER = '8610690077';
let stack: Stack | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
});

function rulesDir(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bhv-rules-'));
  writeFileSync(join(dir, 'behaviour.yaml'), yaml);
  return dir;
}

const scanPack = (mode: 'monitor' | 'enforce') => `version: 1
rules:
  - id: scan-suspend
    description: number-range scan suspends the sender
    mode: ${mode}
    match: { behaviour: { sequential_recipients_over: 20, window: 10m } }
    action: { suspend: { reason: behaviour_scan } }
`;

async function start(yaml: string, over: { sim?: NonNullable<Parameters<typeof startStack>[0]>['sim']; audit?: string; shareMs?: number } = {}): Promise<EsmeClient> {
  stack = await startStack({
    sim: over.sim,
    cfg: (c) => {
      c.policy.enabled = true;
      c.rules = { dir: rulesDir(yaml), watch: false };
      if (over.audit) c.audit.destination = over.audit;
      if (over.shareMs !== undefined) c.intel.share_ms = over.shareMs;
    },
  });
  // An OTP sender: forwarded without consent unless a rule says otherwise.
  const rec = { id: senderId('number', SENDER), kind: 'number' as const, value: SENDER, account: 'esme', class: 'otp' as const, status: 'active' as const, signatures: [] };
  await stack.gw.store.putSender(rec, { who: 'test' });
  await waitFor(() => stack!.gw.sync.registry.get(rec.id) !== undefined, 1000, 'sender cached');
  return stack.esme('transceiver');
}

/**
 * The scan rule's window is fixed (each 10 minutes of the clock): a run of sends that crosses into
 * the next one starts its count again there, as designed, and the test would see too few flags.
 * Sends start 15 s clear of a boundary. (One full suite run saw no flags at all; this is the one
 * cause found, not a proven one.)
 */
async function clearOfWindowEdge(windowMs = 600_000, marginMs = 15_000): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 100));
}

const send = (esme: EsmeClient, dst: string, over: Record<string, string | number> = {}) =>
  esme.submit(sm({ source_addr: SENDER, destination_addr: dst, short_message: 'your parcel is waiting', ...over })).then((r) => r.status);
const consecutive = (i: number) => `86138007${String(10_000 + i)}`;
const metric = async (re: RegExp) => Number((await stack!.gw.metrics.text()).match(re)?.[1] ?? 0);

describe('behaviour rules on live traffic', () => {
  it('monitor mode: a 40-number scan is counted and logged as a would-be suspension, nothing refused, sender stays active', async () => {
    const esme = await start(scanPack('monitor'));
    await clearOfWindowEdge();
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push(await send(esme, consecutive(i)));
    expect(statuses.every((s) => s === 0)).toBe(true);
    expect(await metric(/smppguard_behaviour_flags_total\{signal="sequential_recipients",mode="monitor"\} (\d+)/)).toBe(20);
    expect(await metric(/smppguard_behaviour_senders_flagged_total\{signal="sequential_recipients",mode="monitor"\} (\d+)/)).toBe(1);
    expect(await metric(/smppguard_sender_suspensions_total\{trigger="behaviour",mode="monitor"\} (\d+)/)).toBe(1);
    expect(await metric(/smppguard_rule_matches_total\{rule="scan-suspend",action="suspend",mode="monitor"\} (\d+)/)).toBe(20);
    expect((await stack!.gw.store.getSender(senderId('number', SENDER)))!.status).toBe('active');
    // explain reads the profile as stored (nothing counted) and says which value decided.
    const ex = await stack!.gw.decisions.explain({ account: 'esme', source_addr: SENDER, destination_addr: consecutive(40), text: 'x' });
    expect(ex.action).toBe('forward');
    expect(ex.trace).toContain('rule scan-suspend: behaviour sequential recipients: longest run 40 > 20 in 10m (gap 2)');
    expect(ex.trace.some((l) => l.startsWith('rule scan-suspend matched (monitor, not applied): would suspend the sender'))).toBe(true);
    expect(await metric(/smppguard_behaviour_flags_total\{signal="sequential_recipients",mode="monitor"\} (\d+)/)).toBe(20);
  });

  it('enforce mode: the 21st consecutive recipient is refused, the sender suspended everywhere, the audit line names the run', async () => {
    const audit = join(mkdtempSync(join(tmpdir(), 'sg-bhv-audit-')), 'audit.jsonl');
    const esme = await start(scanPack('enforce'), { audit });
    await clearOfWindowEdge();
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push(await send(esme, consecutive(i)));
    expect(statuses.slice(0, 20).every((s) => s === 0)).toBe(true);
    expect(statuses[20]).toBe(Status.ESME_RINVSRCADR);
    const id = senderId('number', SENDER);
    await waitFor(() => stack!.gw.sync.registry.get(id)?.status === 'suspended', 2000, 'sender suspended in the registry');
    const rec = (await stack!.gw.store.getSender(id))!;
    expect(rec).toMatchObject({ status: 'suspended', status_by: 'auto:behaviour' });
    expect(rec.status_reason).toContain('scan-suspend');
    // Now any message from it is refused by sender authorization, scan or not.
    expect(await send(esme, '8613912345678')).toBe(Status.ESME_RINVSRCADR);
    expect(await metric(/smppguard_sender_suspensions_total\{trigger="behaviour",mode="enforce"\} (\d+)/)).toBe(1);
    await stack!.stop();
    stack = null;
    const lines = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const refused = lines.find((l) => l.reason === 'behaviour_scan')!;
    expect(refused).toMatchObject({ decision: 'reject', rule: 'scan-suspend' });
    expect(refused.evidence).toBe('scan-suspend: sequential recipients: longest run 21 > 20 in 10m (gap 2)');
    expect(lines.at(-1)).toMatchObject({ reason: 'sender_suspended' });
  });

  it('receipts from the SMSC feed the sender’s undeliverable share, and a rule reading it flags the sender', async () => {
    const esme = await start(
      `version: 1
rules:
  - id: bought-list
    description: mostly undeliverable receipts
    mode: monitor
    match: { behaviour: { undeliverable_share_over: 0.4, min_receipts: 100 } }
    action: { suspend: {} }
`,
      // 40 % delivered: 60 % of the receipts say UNDELIV. Rules read the share as of the last
      // share of the tally with Redis (intel.share_ms, 1 s by default): every 100 ms here.
      { sim: { receiptSuccessRatio: 0.4, receiptDelayMs: 5 }, shareMs: 100 },
    );
    esme.onDeliver(() => 0);
    for (let i = 0; i < 120; i++) expect(await send(esme, `8613${String(100_000_000 + i * 7919)}`, { registered_delivery: 1 })).toBe(0);
    const redis = createRedis({ url: REDIS_URL, command_timeout_ms: 2000 });
    redis.on('error', () => undefined);
    try {
      expect(await connectRedis(redis, 5000)).toBe(true);
      const profiles = new BehaviourStore(redis, stack!.prefix, { receiptsWindow: 500, ttlMs: 86_400_000 });
      let p = await profiles.profile('esme', SENDER);
      await waitFor(() => {
        // Caught: one still in flight when the wait ends meets a disconnected client.
        void profiles.profile('esme', SENDER).then((v) => (p = v), () => undefined);
        return (p?.receipts ?? 0) >= 120;
      }, 5000, '120 receipts in the profile');
      expect(p!.undeliverable / p!.receipts).toBeGreaterThan(0.45);
      expect(p!.undeliverable / p!.receipts).toBeLessThan(0.75);
      expect(await metric(/smppguard_behaviour_receipts_total\{outcome="recorded"\} (\d+)/)).toBe(120);
      // Once 100 receipts were in (while the rest were sent), messages see the share as of the last share.
      const flags = /smppguard_behaviour_flags_total\{signal="undeliverable_share",mode="monitor"\} (\d+)/;
      const before = await metric(flags);
      expect(before).toBeLessThan(21);
      // Within a few shares (100 ms here) every message sees the share; flagged, not refused (monitor).
      await new Promise((r) => setTimeout(r, 300));
      expect(await send(esme, '8613987654321')).toBe(0);
      expect(await metric(flags)).toBe(before + 1);
    } finally {
      redis.disconnect();
    }
  });
});
