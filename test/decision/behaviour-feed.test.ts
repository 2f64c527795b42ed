/**
 * The receipt feed and the behaviour actions, with plain in-memory collaborators (the Redis side is
 * test/store/behaviour.test.ts, live SMPP test/decision/service-behaviour.test.ts): which receipts
 * count as undeliverable, which are skipped, and what a suspension does for registered,
 * unregistered and already suspended senders; log lines once per sender and rule an hour.
 */
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { BehaviourActions } from '../../src/decision/behaviour-actions.js';
import { BehaviourFeed, receiptVerdict } from '../../src/decision/behaviour-feed.js';
import type { SenderRecord } from '../../src/domain/sender.js';
import { Tag } from '../../src/protocol/tlv.js';
import type { RuleEvidence, RuleHit } from '../../src/rules/types.js';

const view = (text: string, state?: number) => ({
  shortMessage: Buffer.from(text, 'latin1'),
  tlv: (t: number) => (t === Tag.message_state && state !== undefined ? Buffer.from([state]) : undefined),
});
const BAD = new Set(['UNDELIV', 'REJECTD', 'EXPIRED']);

describe('receiptVerdict', () => {
  it('reads message_state first, then the text; intermediate states are not final; listed err codes count', () => {
    expect(receiptVerdict(view('id:1 stat:DELIVRD err:000'), BAD, new Set())).toBe(false);
    expect(receiptVerdict(view('id:1 stat:UNDELIV err:001'), BAD, new Set())).toBe(true);
    expect(receiptVerdict(view('id:1 stat:DELIVRD err:000', 5), BAD, new Set())).toBe(true);
    expect(receiptVerdict(view('', 8), BAD, new Set())).toBe(true);
    expect(receiptVerdict(view('id:1 stat:ENROUTE err:000'), BAD, new Set())).toBeNull();
    expect(receiptVerdict(view('id:1 stat:ACCEPTD', 6), BAD, new Set())).toBeNull();
    expect(receiptVerdict(view('id:1 stat:DELETED err:000'), BAD, new Set())).toBe(false);
    expect(receiptVerdict(view('id:1 stat:DELIVRD err:001'), BAD, new Set(['001']))).toBe(true);
    expect(receiptVerdict(view('no receipt here'), BAD, new Set())).toBeNull();
  });
});

describe('BehaviourFeed', () => {
  const cfg = ConfigSchema.parse({});
  function feed(wanted: boolean) {
    const recorded: [string, string, boolean][] = [];
    const outcomes: string[] = [];
    const f = new BehaviourFeed({
      cfg,
      store: { recordReceipt: (a, s, b) => void recorded.push([a, s, b]) },
      metrics: { behaviourReceipts: { inc: (l: { outcome: string }) => void outcomes.push(l.outcome) } } as never,
      wanted: () => wanted,
    });
    return { f, recorded, outcomes };
  }
  const mapped = { account: 'acme', sourceTon: 0, source: '01069001', destination: '13800138000', gatewayId: null };

  it('records final receipts under the sender as the policy normalises it; skips the rest, counted', () => {
    const { f, recorded, outcomes } = feed(true);
    f.receipt(mapped, view('id:1 stat:UNDELIV err:001'));
    f.receipt(mapped, view('id:2 stat:DELIVRD err:000'));
    f.receipt(mapped, view('id:3 stat:ENROUTE err:000'));
    f.receipt({ ...mapped, source: null, sourceTon: null }, view('id:4 stat:UNDELIV'));
    expect(recorded).toEqual([
      ['acme', '861069001', true],
      ['acme', '861069001', false],
    ]);
    expect(outcomes).toEqual(['recorded', 'recorded', 'not_final', 'unmapped']);
  });

  it('writes nothing while no loaded rule reads the undeliverable share', () => {
    const { f, recorded, outcomes } = feed(false);
    f.receipt(mapped, view('id:1 stat:UNDELIV'));
    expect(recorded).toEqual([]);
    expect(outcomes).toEqual([]);
  });
});

describe('BehaviourActions', () => {
  const rec: SenderRecord = { id: 'number:861069001', kind: 'number', value: '861069001', account: 'acme', status: 'active', signatures: [] };
  const ev = (mode: 'enforce' | 'monitor'): RuleEvidence[] => [{ rule: 'scan', signal: 'sequential_recipients', mode, text: 'longest run 51 > 50' }];
  const hit = (mode: 'enforce' | 'monitor'): RuleHit[] => [{ rule: 'scan', mode, action: { kind: 'suspend', status: 10, reason: 'range_scan' } }];

  function actions(stored: SenderRecord | null) {
    const puts: [SenderRecord, string | undefined][] = [];
    const upserts: SenderRecord[] = [];
    const counts: string[] = [];
    const warns: string[] = [];
    let now = 1_000_000;
    const inc = (name: string) => ({ inc: (l: Record<string, string>) => void counts.push(`${name} ${Object.values(l).join(' ')}`) });
    const a = new BehaviourActions({
      admin: { getSender: async () => stored, putSender: async (r, actor) => void puts.push([r, actor.evidence]) },
      registry: { upsert: (r) => void upserts.push(r) },
      metrics: { behaviourFlag: (signal: string, mode: string) => void counts.push(`flags ${signal} ${mode}`), behaviourSenders: inc('senders'), suspensions: inc('suspensions') } as never,
      log: { warn: (_o: unknown, msg: string) => void warns.push(msg), error: () => undefined } as never,
      now: () => now,
    });
    return { a, puts, upserts, counts, warns, tick: (ms: number) => (now += ms) };
  }
  const src = { kind: 'number' as const, value: '861069001' };
  const settle = () => new Promise((r) => setTimeout(r, 10));

  it('monitor: counts every flag, logs and counts the would-be suspension once per sender and rule an hour', async () => {
    const t = actions(rec);
    for (let i = 0; i < 3; i++) t.a.note('acme', src, rec, ev('monitor'), hit('monitor'), false, 'scan');
    expect(t.counts).toEqual(['flags sequential_recipients monitor', 'senders sequential_recipients monitor', 'suspensions behaviour monitor', 'flags sequential_recipients monitor', 'flags sequential_recipients monitor']);
    expect(t.warns).toEqual(['monitor mode: would suspend sender: longest run 51 > 50']);
    t.tick(3_600_000);
    t.a.note('acme', src, rec, ev('monitor'), hit('monitor'), false, 'scan');
    expect(t.warns).toHaveLength(2);
    await settle();
    expect(t.puts).toEqual([]);
  });

  it('enforce: suspends the registration once (journaled with the rule), also when a burst asks many times', async () => {
    const t = actions(rec);
    for (let i = 0; i < 5; i++) t.a.note('acme', src, rec, ev('enforce'), hit('enforce'), true, 'scan');
    await settle();
    expect(t.puts).toHaveLength(1);
    expect(t.puts[0]![0]).toMatchObject({ status: 'suspended', status_by: 'auto:behaviour', status_reason: 'behaviour rule scan: longest run 51 > 50' });
    expect(t.puts[0]![1]).toBe('scan');
    expect(t.upserts[0]!.status).toBe('suspended');
    expect(t.counts).toContain('suspensions behaviour enforce');
  });

  it('a suspend rule matching on something else (no behaviour evidence): trigger "rules", in both modes', async () => {
    const t = actions(rec);
    t.a.note('acme', src, rec, [], hit('monitor'), false, 'scan');
    t.a.note('acme', src, rec, [], hit('monitor'), false, 'scan');
    expect(t.counts).toEqual(['suspensions rules monitor']);
    expect(t.warns).toEqual(['monitor mode: would suspend sender: rule scan']);
    t.a.note('acme', src, rec, [], hit('enforce'), true, 'scan');
    await settle();
    expect(t.puts[0]![0].status_reason).toBe('rule scan: its conditions matched');
    expect(t.counts).toContain('suspensions rules enforce');
  });

  it('enforce: nothing to suspend for an unregistered sender, or one the store already has suspended', async () => {
    const t = actions(null);
    t.a.note('acme', src, null, ev('enforce'), hit('enforce'), true, 'scan');
    t.a.note('acme', src, null, ev('enforce'), hit('enforce'), true, 'scan');
    await settle();
    expect(t.puts).toEqual([]);
    expect(t.warns.filter((w) => w.startsWith('suspend: sender not registered'))).toHaveLength(1);
    const u = actions({ ...rec, status: 'suspended' });
    u.a.note('acme', src, rec, ev('enforce'), hit('enforce'), true, 'scan');
    await settle();
    expect(u.puts).toEqual([]);
  });
});
