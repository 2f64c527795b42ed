/**
 * Complaint cases (pure): input checks naming the field, deadlines from the config, transitions,
 * overdue flags, and the auto-suspension decision with its window and reinstatement.
 */
import { describe, expect, it } from 'vitest';
import { applyAction, complaintFacts, countSince, countsToward, deadlinesOf, overdueOf, suspendPolicyOf, suspensionDecision } from '../../src/complaints/cases.js';
import { type ComplaintCase } from '../../src/domain/complaint.js';
import { ConfigSchema } from '../../src/config/schema.js';

const cfg = ConfigSchema.parse({});
const numbering = cfg.policy.numbering;
const NOW = Date.parse('2026-11-24T02:00:00Z'); // Tuesday 10:00 in Shanghai

const base = (over: Partial<ComplaintCase> = {}): ComplaintCase => ({
  id: 'C20261124-000001',
  state: 'open',
  source: '12321',
  reference: null,
  recipient: '8613800138000',
  reported_sender: '10690001',
  message_id: null,
  text: 'spam',
  reported_at: NOW,
  received_at: NOW,
  resolved_by: 'sender',
  account: 'esme',
  sender: 'number:8610690001',
  sender_registered: true,
  remarks: [],
  ...deadlinesOf(NOW, cfg.complaints.deadlines),
  forwarded_at: null,
  forwarded_to: null,
  handled_at: null,
  resolution: null,
  history: [],
  ...over,
});

describe('complaint input', () => {
  it('normalises numbers and times', () => {
    const r = complaintFacts({ recipient: '013800138000', sender: '+86 10690001', text: 'x', source: '7726', time: '2026-11-24T09:00:00+08:00' }, numbering, NOW);
    expect(r).toEqual({
      ok: expect.objectContaining({
        recipient: '8613800138000',
        senderAddress: { kind: 'number', value: '8610690001' },
        reportedAt: Date.parse('2026-11-24T01:00:00Z'),
        receivedAt: NOW,
        source: '7726',
      }),
    });
    const alpha = complaintFacts({ recipient: '8613800138000', sender: 'AcmeBank', text: 'x', source: 'customer_care' }, numbering, NOW);
    expect('ok' in alpha && alpha.ok.senderAddress).toEqual({ kind: 'alpha', value: 'ACMEBANK' });
  });
  it('names the field of the first problem', () => {
    const field = (raw: unknown) => ('problem' in complaintFacts(raw, numbering, NOW) ? (complaintFacts(raw, numbering, NOW) as { problem: { field: string } }).problem.field : null);
    expect(field({ recipient: 'abc', text: 'x', source: '12321' })).toBe('recipient');
    expect(field({ recipient: '8613800138000', source: '12321' })).toBe('text');
    expect(field({ recipient: '8613800138000', text: 'x', source: 'sms' })).toBe('source');
    expect(field({ recipient: '8613800138000', text: 'x', source: '12321', colour: 1 })).toBe('colour');
    expect(field({ recipient: '8613800138000', text: 'x', source: '12321', received_at: '2030-01-01T00:00:00Z' })).toBe('received_at');
    expect(field({ recipient: '8613800138000', message_id: 'ab12', source: '12321' })).toBeNull();
  });
});

describe('deadlines and transitions', () => {
  it('defaults: forward within 3 and handle within 15 working days (Asia/Shanghai)', () => {
    const d = deadlinesOf(NOW, cfg.complaints.deadlines);
    expect(d.forward_due).toBe(Date.parse('2026-11-28T00:00:00+08:00'));
    // Wed 25 … Fri 27 (3), Nov 30–Dec 4 (8), Dec 7–11 (13), Dec 14, 15 (15): due when Dec 16 starts.
    expect(d.handle_due).toBe(Date.parse('2026-12-16T00:00:00+08:00'));
  });

  it('open → forwarded → handled; overdue flags follow the state', () => {
    const c = base();
    expect(overdueOf(c, c.forward_due - 1)).toEqual({ forward: false, handle: false });
    expect(overdueOf(c, c.forward_due)).toEqual({ forward: true, handle: false });
    expect(overdueOf(c, c.handle_due)).toEqual({ forward: true, handle: true });
    const f = applyAction(c, 'forward', { who: 'ops', at: c.forward_due + 5 });
    if (!('ok' in f)) throw new Error('forward refused');
    expect(f.ok).toMatchObject({ state: 'forwarded', forwarded_to: 'esme', forwarded_at: c.forward_due + 5 });
    expect(overdueOf(f.ok, c.handle_due - 1)).toEqual({ forward: false, handle: false });
    expect(overdueOf(f.ok, c.handle_due)).toEqual({ forward: false, handle: true });
    const h = applyAction(f.ok, 'handle', { who: 'ops', at: c.handle_due - 10, resolution: 'warned' });
    if (!('ok' in h)) throw new Error('handle refused');
    expect(h.ok.state).toBe('handled');
    expect(overdueOf(h.ok, c.handle_due + 1)).toEqual({ forward: false, handle: false });
    expect(h.ok.history.map((e) => e.event)).toEqual(['forward', 'handle']);
  });

  it('refuses moves that do not apply, naming why', () => {
    const handled = base({ state: 'handled' });
    expect(applyAction(handled, 'forward', { who: 'ops', at: NOW })).toEqual({ problem: { field: 'action', message: expect.stringMatching(/is handled: forward applies to open cases/) } });
    expect(applyAction(base(), 'handle', { who: 'ops', at: NOW })).toEqual({ problem: expect.objectContaining({ field: 'resolution' }) });
    expect(applyAction(base({ account: null }), 'forward', { who: 'ops', at: NOW })).toEqual({ problem: expect.objectContaining({ field: 'to' }) });
    expect(applyAction(base({ state: 'rejected' }), 'reject', { who: 'ops', at: NOW })).toHaveProperty('problem');
  });
});

describe('auto-suspension', () => {
  const p = suspendPolicyOf({ threshold: 3, window: '7d', mode: 'enforce', sources: ['12321', '7726'] });

  it('suspends an active sender at the threshold; monitor mode only would', () => {
    expect(suspensionDecision(2, 'active', p)).toBe('none');
    expect(suspensionDecision(3, 'active', p)).toBe('suspend');
    expect(suspensionDecision(4, 'suspended', p)).toBe('none');
    expect(suspensionDecision(3, 'revoked', p)).toBe('none');
    expect(suspensionDecision(3, 'active', { ...p, mode: 'monitor' })).toBe('would_suspend');
    expect(suspensionDecision(99, 'active', { ...p, threshold: 0 })).toBe('none');
  });

  it('counts registered senders, configured sources, unrejected cases', () => {
    expect(countsToward(base(), p)).toBe(true);
    expect(countsToward(base({ source: 'customer_care' }), p)).toBe(false);
    expect(countsToward(base({ sender_registered: false }), p)).toBe(false);
    expect(countsToward(base({ state: 'rejected' }), p)).toBe(false);
  });

  it('the window starts at the later of now − window and the last reinstatement', () => {
    expect(countSince(NOW, p, null)).toBe(NOW - 7 * 86_400_000);
    expect(countSince(NOW, p, NOW - 3600_000)).toBe(NOW - 3600_000);
    expect(countSince(NOW, p, NOW - 30 * 86_400_000)).toBe(NOW - 7 * 86_400_000);
  });
});
