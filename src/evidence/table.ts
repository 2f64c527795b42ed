/**
 * Evidence as a readable report (pure): a heading, then one aligned table per section. The same
 * text comes from `smppguard evidence` and from the API with `format=table`. Times are shown in one
 * IANA zone (default UTC) with the offset, e.g. "2026-12-05 13:15:02 +08:00"; the JSON stays ISO UTC.
 */
import type { Evidence } from './collect.js';
import { isoInZone } from '../domain/time.js';
import { renderTable } from '../domain/text-table.js';

const none = (what: string) => `  (no ${what})`;

/** `tz`: the IANA zone the times are shown in (the caller checks it: isValidZone). */
export function evidenceTable(e: Evidence, tz = 'UTC'): string {
  const t = (iso: string | null | undefined) => isoInZone(iso, tz);
  const out: string[] = [];
  out.push(`Evidence for ${e.msisdn}${e.sender ? `, sender ${e.sender.id ?? e.sender.query}${e.sender.account ? ` (account ${e.sender.account})` : ' (not registered)'}` : ''}`);
  out.push(`Period: ${t(e.from) ?? 'beginning'} .. ${t(e.to) ?? 'now'}   generated ${t(e.generated_at)}   (times in ${tz})`);
  if (e.sender) out.push(`Consent scopes checked for this sender: ${e.sender.scopes.join(', ') || '-'}`);
  out.push('');
  out.push('Consent now');
  out.push(
    e.consent.current.length
      ? renderTable(['SCOPE', 'STATE', 'SINCE', 'EXPIRES', 'EFFECTIVE'], e.consent.current.map((c) => [c.scope, c.state, t(c.at), t(c.expires_at), c.effective]))
      : none('consent records'),
  );
  out.push(`Do-not-disturb: ${e.dnd.all ? 'all commercial messages' : e.dnd.categories.length ? `categories ${e.dnd.categories.join(', ')}` : 'not registered'}`);
  out.push('');
  out.push(`Consent and DND changes (oldest first${e.truncated.journal ? '; older entries cut' : ''})`);
  out.push(
    e.consent.journal.length
      ? renderTable(
          ['TIME', 'CHANGE', 'SCOPE / CATEGORY', 'WHO', 'CHANNEL', 'EVIDENCE'],
          e.consent.journal.map((j) => [t(j.time), j.op, j.scope ?? (j.category ? `category ${j.category}` : null), j.who, j.channel, j.evidence]),
        )
      : none('changes in the journal'),
  );
  out.push('');
  out.push(`Decisions for messages to ${e.msisdn} (oldest first${e.truncated.decisions ? '; older decisions cut' : ''})`);
  out.push(
    e.decisions.length
      ? renderTable(
          ['TIME', 'ACCOUNT', 'SENDER', 'DECISION', 'REASON', 'STATUS', 'RULE', 'SMSC ID'],
          e.decisions.map((d) => [
            t(d.time),
            d.account,
            d.sender,
            d.decision,
            d.reason,
            d.decision === 'reject' ? `${d.status_name} (0x${d.status.toString(16)})` : 'ESME_ROK',
            d.rule,
            d.smsc_message_id ?? null,
          ]),
        )
      : none('decisions recorded'),
  );
  if (e.complaints.length) {
    out.push('');
    out.push('Complaints raised by this number');
    out.push(renderTable(['CASE', 'RECEIVED', 'SOURCE', 'STATE', 'SENDER', 'ACCOUNT'], e.complaints.map((c) => [c.id, t(c.received_at), c.source, c.state, c.sender, c.account])));
  }
  for (const n of e.notes) out.push('', `Note: ${n}`);
  return `${out.join('\n')}\n`;
}
