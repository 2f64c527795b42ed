/**
 * Working-day deadlines (pure): weekends, holidays, make-up working days, receipt on a non-working
 * day, time zones (the local day decides, not UTC), DST.
 */
import { describe, expect, it } from 'vitest';
import { calendar, isWorkingDay, localDate, startOfDay, workingDayDeadline, workingDaysBetween } from '../../src/complaints/deadlines.js';

const SH = calendar('Asia/Shanghai');
/** A Shanghai local time as epoch ms (UTC+8, no DST). */
const sh = (local: string) => Date.parse(`${local}+08:00`);
const shDate = (ms: number) => localDate(ms, 'Asia/Shanghai');

describe('working-day deadlines', () => {
  it('3 working days from a Tuesday: due when Saturday starts (Wed, Thu, Fri count)', () => {
    // 2026-11-24 is a Tuesday.
    const due = workingDayDeadline(sh('2026-11-24T10:00:00'), 3, SH);
    expect(due).toBe(sh('2026-11-28T00:00:00'));
  });

  it('a weekend in between is skipped: from Thursday, due when Wednesday starts', () => {
    expect(workingDayDeadline(sh('2026-11-26T23:59:00'), 3, SH)).toBe(sh('2026-12-02T00:00:00'));
  });

  it('received on a Saturday or Sunday: counting starts Monday', () => {
    expect(workingDayDeadline(sh('2026-11-28T09:00:00'), 3, SH)).toBe(sh('2026-12-03T00:00:00'));
    expect(workingDayDeadline(sh('2026-11-29T09:00:00'), 3, SH)).toBe(sh('2026-12-03T00:00:00'));
  });

  it('15 working days span three weekends', () => {
    // Monday 2026-11-30 → Dec 1–4 (4), 7–11 (9), 14–18 (14), 21 (15): due when Dec 22 starts.
    expect(workingDayDeadline(sh('2026-11-30T12:00:00'), 15, SH)).toBe(sh('2026-12-22T00:00:00'));
  });

  it('holidays do not count; make-up weekend days do', () => {
    // National Day week 2026: Oct 1–7 off, Sunday Sep 27 and Saturday Oct 10 worked.
    const holidays = ['2026-10-01', '2026-10-02', '2026-10-05', '2026-10-06', '2026-10-07'];
    const cal = calendar('Asia/Shanghai', holidays, ['2026-09-27', '2026-10-10']);
    expect(isWorkingDay('2026-10-01', cal)).toBe(false);
    expect(isWorkingDay('2026-10-10', cal)).toBe(true);
    expect(isWorkingDay('2026-10-11', cal)).toBe(false);
    // Received Friday Sep 25: Sun 27 (1, make-up), Mon 28 (2), Tue 29 (3).
    expect(workingDayDeadline(sh('2026-09-25T16:00:00'), 3, cal)).toBe(sh('2026-09-30T00:00:00'));
    // Received Wed Sep 30: Oct 8 (1), 9 (2), Sat 10 (3, make-up).
    expect(workingDayDeadline(sh('2026-09-30T16:00:00'), 3, cal)).toBe(sh('2026-10-11T00:00:00'));
  });

  it('the local day decides: 01:00 Saturday in Shanghai is still Friday in UTC', () => {
    const t = sh('2026-11-28T01:00:00');
    expect(new Date(t).toISOString().slice(0, 10)).toBe('2026-11-27');
    expect(shDate(t)).toBe('2026-11-28');
    expect(workingDayDeadline(t, 1, SH)).toBe(sh('2026-12-01T00:00:00'));
  });

  it('local midnight across a DST change (America/New_York)', () => {
    expect(startOfDay('2026-03-08', 'America/New_York')).toBe(Date.parse('2026-03-08T00:00:00-05:00'));
    expect(startOfDay('2026-03-09', 'America/New_York')).toBe(Date.parse('2026-03-09T00:00:00-04:00'));
    const ny = calendar('America/New_York');
    // Friday 2026-03-06 → Mon 9 (1): due when Tuesday starts, in EDT.
    expect(workingDayDeadline(Date.parse('2026-03-06T12:00:00-05:00'), 1, ny)).toBe(Date.parse('2026-03-10T00:00:00-04:00'));
  });

  it('counts working days between two instants', () => {
    expect(workingDaysBetween(sh('2026-11-24T10:00:00'), sh('2026-11-30T10:00:00'), SH)).toBe(4);
    expect(workingDaysBetween(sh('2026-11-24T10:00:00'), sh('2026-11-24T23:00:00'), SH)).toBe(0);
  });
});
