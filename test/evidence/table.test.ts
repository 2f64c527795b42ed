/**
 * The evidence report's times (evidence/table.ts) in a chosen IANA zone, offset shown; UTC by
 * default; the JSON shape it is given is not touched. formatInZone (domain/time.ts) for zones east,
 * west and off the hour.
 */
import { describe, expect, it } from 'vitest';
import type { Evidence } from '../../src/evidence/collect.js';
import { evidenceTable } from '../../src/evidence/table.js';
import { formatInZone } from '../../src/domain/time.js';

const e: Evidence = {
  msisdn: '8613800138000',
  generated_at: '2026-12-05T05:20:00.000Z',
  from: '2026-11-30T16:00:00.000Z',
  to: null,
  sender: null,
  consent: {
    current: [{ scope: 'brand:ACME', state: 'granted', at: '2026-12-05T05:15:02.123Z', expires_at: '2027-01-01T00:00:00.000Z', effective: 'granted' }],
    journal: [{ time: '2026-12-05T05:15:02.123Z', op: 'consent.grant', scope: 'brand:ACME', category: null, who: 'ops', channel: 'web-form', evidence: 'form-991' }],
  },
  dnd: { all: false, categories: [] },
  decisions: [
    { time: '2026-12-05T05:16:00.000Z', account: 'esme', sender: '8610690001', decision: 'forward', reason: 'consent_granted', status: 0, status_name: 'ESME_ROK', rule: 'policy/consent', class: 'commercial' },
  ],
  complaints: [{ id: 'C-1', state: 'open', source: '12321', received_at: '2026-12-05T05:17:30.000Z', sender: '8610690001', account: 'esme' }],
  truncated: { journal: false, decisions: false },
  notes: [],
} as unknown as Evidence;

describe('evidence table times', () => {
  it('in the zone asked for, with the offset: every section', () => {
    const t = evidenceTable(e, 'Asia/Shanghai');
    expect(t).toContain('Period: 2026-12-01 00:00:00 +08:00 .. now   generated 2026-12-05 13:20:00 +08:00   (times in Asia/Shanghai)');
    expect(t).toMatch(/brand:ACME\s+granted\s+2026-12-05 13:15:02 \+08:00\s+2027-01-01 08:00:00 \+08:00\s+granted\n/);
    expect(t).toMatch(/\n\s+2026-12-05 13:15:02 \+08:00\s+consent\.grant\s+brand:ACME/);
    expect(t).toMatch(/\n\s+2026-12-05 13:16:00 \+08:00\s+esme\s+8610690001\s+forward/);
    expect(t).toMatch(/C-1\s+2026-12-05 13:17:30 \+08:00\s+12321/);
    expect(t).not.toMatch(/\d{4}-\d\d-\d\dT/); // no ISO time left in the human table
  });

  it('UTC by default, offset +00:00', () => {
    const t = evidenceTable(e);
    expect(t).toContain('generated 2026-12-05 05:20:00 +00:00   (times in UTC)');
    expect(t).toMatch(/\n\s+2026-12-05 05:16:00 \+00:00\s+esme/);
  });

  it('formatInZone: west of UTC, half-hour offsets, summer time', () => {
    const t = Date.parse('2026-12-05T05:15:02.999Z');
    expect(formatInZone(t, 'UTC')).toBe('2026-12-05 05:15:02 +00:00');
    expect(formatInZone(t, 'America/New_York')).toBe('2026-12-05 00:15:02 -05:00');
    expect(formatInZone(t, 'Asia/Kolkata')).toBe('2026-12-05 10:45:02 +05:30');
    expect(formatInZone(Date.parse('2026-07-01T12:00:00Z'), 'Europe/Berlin')).toBe('2026-07-01 14:00:00 +02:00');
    expect(formatInZone(Date.parse('2026-12-31T20:00:00Z'), 'Asia/Shanghai')).toBe('2027-01-01 04:00:00 +08:00');
  });
});
