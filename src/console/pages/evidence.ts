/**
 * Evidence (/console/evidence): a recipient's consent now, consent/DND journal, the gateway's
 * decisions for messages to it and the complaints it raised — the sections `smppguard evidence`
 * prints, with times in the operator's zone — and the same evidence to download as JSON (the API's
 * answer as is) or CSV (one row per journal entry and decision; cells that a spreadsheet would
 * read as a formula are prefixed with ').
 */
import type { FastifyInstance } from 'fastify';
import { offsetMinutes } from '../../domain/time.js';
import type { Evidence } from '../../evidence/collect.js';
import { html, localToIso, query, time } from '../html.js';
import { one, type ConsoleEnv } from '../env.js';
import { BASE, field, problem } from '../ui.js';

type Q = { msisdn?: string; sender?: string; from?: string; to?: string };

const CSV_HEAD = ['section', 'time', 'account', 'sender', 'decision_or_change', 'reason', 'status', 'rule', 'scope_or_category', 'who', 'channel', 'evidence'];

function csvCell(v: string | number | null | undefined): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function evidenceCsv(e: Evidence): string {
  const rows: (string | number | null)[][] = [
    ...e.consent.journal.map((j) => ['journal', j.time, null, null, j.op, null, null, null, j.scope ?? (j.category ? `category ${j.category}` : null), j.who, j.channel, j.evidence]),
    ...e.decisions.map((d) => ['decision', d.time, d.account, d.sender, d.decision, d.reason, d.decision === 'reject' ? `${d.status_name} (0x${d.status.toString(16)})` : 'ESME_ROK', d.rule, null, null, null, null]),
  ];
  return [CSV_HEAD, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

export function evidencePages(app: FastifyInstance, env: ConsoleEnv): void {
  /** The API path for a query (from/to read in the operator's zone). */
  const apiPath = (q: Q, tz: string, format: 'json' | 'table' = 'json'): string | null => {
    const msisdn = one(q.msisdn);
    if (!msisdn) return null;
    return `/evidence/${encodeURIComponent(msisdn)}${query({
      sender: one(q.sender),
      from: localToIso(one(q.from), tz, offsetMinutes),
      to: localToIso(one(q.to), tz, offsetMinutes),
      format: format === 'table' ? 'table' : undefined,
    })}`;
  };

  app.get<{ Querystring: Q }>('/evidence', async (req, reply) => {
    const v = env.viewer(req);
    const q = req.query;
    const form = html`<form method="get" action="${BASE}/evidence" class="filters" role="search" aria-label="Look up evidence">
${field('Recipient number', 'msisdn', q.msisdn, { required: true })}
${field('Sender (optional)', 'sender', q.sender, { hint: 'A sender id such as number:8610690001, or the address as sent.' })}
${field('From', 'from', q.from, { type: 'datetime-local' })}
${field('To', 'to', q.to, { type: 'datetime-local' })}
<button type="submit">Look up</button>
</form>`;
    const path = apiPath(q, v.tz);
    if (!path) return env.render(reply, req, 'evidence', 'Evidence', form);
    const r = await env.api(req, 'GET', path);
    if (r.status !== 200) return env.render(reply, req, 'evidence', 'Evidence', html`${form}${problem(r.status, r.body?.message ?? 'unavailable', `${BASE}/evidence`)}`, r.status);
    const e = r.body as Evidence;
    const dl = (format: string) => `${BASE}/evidence/download${query({ msisdn: q.msisdn, sender: q.sender, from: q.from, to: q.to, format })}`;
    const body = html`${form}
<p class="downloads">Download: <a href="${dl('json')}" hx-boost="false" download>JSON</a> · <a href="${dl('csv')}" hx-boost="false" download>CSV</a></p>
<p>Evidence for <strong>${e.msisdn}</strong>${e.sender ? html`, sender ${e.sender.id ?? e.sender.query} ${e.sender.account ? `(account ${e.sender.account})` : '(not registered)'}` : ''}.
Period ${e.from ? time(e.from, v.tz) : 'beginning'} – ${e.to ? time(e.to, v.tz) : 'now'}; generated ${time(e.generated_at, v.tz)}.
${e.sender ? html`Consent scopes checked for this sender: ${e.sender.scopes.join(', ') || '—'}.` : ''}</p>
<h2>Consent now</h2>
${e.consent.current.length === 0
  ? html`<p>No consent records.</p>`
  : html`<table><caption class="sr-only">Consent now</caption><thead><tr><th scope="col">Scope</th><th scope="col">State</th><th scope="col">Since</th><th scope="col">Expires</th><th scope="col">Effective</th></tr></thead>
<tbody>${e.consent.current.map((c) => html`<tr><td>${c.scope}</td><td>${c.state}</td><td>${time(c.at, v.tz)}</td><td>${time(c.expires_at, v.tz)}</td><td>${c.effective}</td></tr>`)}</tbody></table>`}
<p>Do-not-disturb: ${e.dnd.all ? 'all commercial messages' : e.dnd.categories.length ? `categories ${e.dnd.categories.join(', ')}` : 'not registered'}</p>
<h2>Consent and DND changes</h2>
${e.truncated.journal ? html`<p class="note">Older entries cut.</p>` : ''}
${e.consent.journal.length === 0
  ? html`<p>No changes in the journal.</p>`
  : html`<table><caption class="sr-only">Consent and DND changes, oldest first</caption><thead><tr><th scope="col">Time</th><th scope="col">Change</th><th scope="col">Scope / category</th><th scope="col">Who</th><th scope="col">Channel</th><th scope="col">Evidence</th></tr></thead>
<tbody>${e.consent.journal.map((j) => html`<tr><td>${time(j.time, v.tz)}</td><td>${j.op}</td><td>${j.scope ?? (j.category ? `category ${j.category}` : '—')}</td><td>${j.who}</td><td>${j.channel ?? '—'}</td><td>${j.evidence ?? '—'}</td></tr>`)}</tbody></table>`}
<h2>Decisions for messages to this number</h2>
${e.truncated.decisions ? html`<p class="note">Older decisions cut.</p>` : ''}
${e.decisions.length === 0
  ? html`<p>No decisions recorded.</p>`
  : html`<table><caption class="sr-only">Decisions, oldest first</caption><thead><tr><th scope="col">Time</th><th scope="col">Account</th><th scope="col">Sender</th><th scope="col">Decision</th><th scope="col">Reason</th><th scope="col">Status</th><th scope="col">Rule</th></tr></thead>
<tbody>${e.decisions.map((d) => html`<tr><td>${time(d.time, v.tz)}</td><td>${d.account}</td><td>${d.sender}</td><td>${d.decision}</td><td>${d.reason}</td><td>${d.decision === 'reject' ? `${d.status_name} (0x${d.status.toString(16)})` : 'ESME_ROK'}</td><td>${d.rule}</td></tr>`)}</tbody></table>`}
${e.complaints.length > 0
  ? html`<h2>Complaints raised by this number</h2><table><caption class="sr-only">Complaints</caption><thead><tr><th scope="col">Case</th><th scope="col">Received</th><th scope="col">Source</th><th scope="col">State</th><th scope="col">Sender</th><th scope="col">Account</th></tr></thead>
<tbody>${e.complaints.map((c) => html`<tr><td><a href="${BASE}/complaints/${c.id}">${c.id}</a></td><td>${time(c.received_at, v.tz)}</td><td>${c.source}</td><td>${c.state}</td><td>${c.sender ?? '—'}</td><td>${c.account ?? '—'}</td></tr>`)}</tbody></table>`
  : ''}
${e.notes.map((n) => html`<p class="note">Note: ${n}</p>`)}`;
    return env.render(reply, req, 'evidence', 'Evidence', body);
  });

  app.get<{ Querystring: Q & { format?: string } }>('/evidence/download', async (req, reply) => {
    const v = env.viewer(req);
    const path = apiPath(req.query, v.tz);
    if (!path) return reply.code(303).header('location', `${BASE}/evidence`).send();
    const r = await env.api(req, 'GET', path);
    if (r.status !== 200) return env.render(reply, req, 'evidence', 'Evidence', problem(r.status, r.body?.message ?? 'unavailable', `${BASE}/evidence`), r.status);
    const e = r.body as Evidence;
    const stamp = e.generated_at.replace(/[:.]/g, '').slice(0, 15);
    const name = `evidence-${e.msisdn.replace(/[^0-9A-Za-z*]/g, '').replace(/\*/g, 'x')}-${stamp}`;
    if (one(req.query.format) === 'csv') {
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(evidenceCsv(e));
    }
    return reply.type('application/json; charset=utf-8').header('content-disposition', `attachment; filename="${name}.json"`).send(JSON.stringify(e, null, 2));
  });
}
