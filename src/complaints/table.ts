/**
 * Complaint cases as a readable table (pure), for `smppguard complaints`: one line a case, newest
 * first, times in one IANA zone with the offset shown ("2026-12-05 13:15:02 +08:00"; default UTC).
 * The JSON form is the API's (caseView, ISO UTC).
 */
import type { caseView } from './cases.js';
import { isoInZone } from '../domain/time.js';
import { renderTable } from '../domain/text-table.js';

export type CaseView = ReturnType<typeof caseView>;

/** `tz`: the zone the times are shown in (the caller checks it: isValidZone). */
export function complaintsTable(cases: readonly CaseView[], tz = 'UTC'): string {
  const t = (iso: string | null) => isoInZone(iso, tz);
  const head = `Complaint cases, newest first (${cases.length}; times in ${tz})`;
  if (cases.length === 0) return `${head}\n  (no cases)\n`;
  const late = (c: CaseView) =>
    [c.overdue.forward || c.forwarded_late ? 'forward' : '', c.overdue.handle || c.handled_late ? 'handle' : ''].filter(Boolean).join(', ');
  const rows = cases.map((c) => [c.id, t(c.received_at), c.source, c.state, c.recipient, c.sender ?? c.reported_sender, c.account, t(c.forward_due), t(c.handle_due), late(c)]);
  return `${head}\n${renderTable(['CASE', 'RECEIVED', 'SOURCE', 'STATE', 'RECIPIENT', 'SENDER', 'ACCOUNT', 'FORWARD DUE', 'HANDLE DUE', 'LATE'], rows)}\n`;
}
