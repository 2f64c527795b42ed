/** The complaints table (complaints/table.ts): one line a case, times in the zone asked for with the offset, UTC by default. */
import { describe, expect, it } from 'vitest';
import { caseView } from '../../src/complaints/cases.js';
import { complaintsTable } from '../../src/complaints/table.js';
import type { ComplaintCase } from '../../src/domain/complaint.js';

const received = Date.parse('2026-12-05T05:15:02Z');
const c: ComplaintCase = {
  id: 'C20261205-0001',
  state: 'open',
  source: '12321',
  reference: '12321-2026-004711',
  recipient: '8613800138000',
  reported_sender: '10690001',
  message_id: null,
  text: '【ACME】50% off',
  reported_at: received - 60_000,
  received_at: received,
  resolved_by: 'sender',
  account: 'esme',
  sender: 'number:10690001',
  sender_registered: true,
  remarks: [],
  forward_due: Date.parse('2026-12-08T16:00:00Z'),
  handle_due: Date.parse('2026-12-15T16:00:00Z'),
  forwarded_at: null,
  forwarded_to: null,
  handled_at: null,
  resolution: null,
  history: [{ at: received, who: 'ops', event: 'received' }],
};

describe('complaints table', () => {
  it('shows received and due times in the zone, with the offset; late deadlines named', () => {
    const now = Date.parse('2026-12-10T00:00:00Z'); // past the forward deadline
    const t = complaintsTable([caseView(c, now)], 'Asia/Shanghai');
    expect(t).toMatch(/^Complaint cases, newest first \(1; times in Asia\/Shanghai\)\n\s+CASE\s+RECEIVED\s+SOURCE\s+STATE\s+RECIPIENT\s+SENDER\s+ACCOUNT\s+FORWARD DUE\s+HANDLE DUE\s+LATE\n/);
    expect(t).toMatch(
      /C20261205-0001\s+2026-12-05 13:15:02 \+08:00\s+12321\s+open\s+8613800138000\s+number:10690001\s+esme\s+2026-12-09 00:00:00 \+08:00\s+2026-12-16 00:00:00 \+08:00\s+forward\n$/,
    );
  });

  it('UTC by default; nothing overdue shows "-"; no cases says so', () => {
    const t = complaintsTable([caseView(c, received)]);
    expect(t).toContain('(1; times in UTC)');
    expect(t).toMatch(/2026-12-05 05:15:02 \+00:00.*2026-12-08 16:00:00 \+00:00\s+2026-12-15 16:00:00 \+00:00\s+-\n$/);
    expect(complaintsTable([], 'Europe/Berlin')).toBe('Complaint cases, newest first (0; times in Europe/Berlin)\n  (no cases)\n');
  });
});
