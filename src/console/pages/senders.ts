/**
 * Senders (/console/senders): search the registrations (码号) by account, kind, status and text;
 * view one with its status history fields; edit it (account, class, signatures, validity), suspend,
 * revoke, reactivate or reinstate it; register a new one — all through the senders API (PATCH and
 * POST need `admin`; reinstatement `operate`).
 */
import type { FastifyInstance } from 'fastify';
import { offsetMinutes } from '../../domain/time.js';
import { SENDER_CLASSES, SENDER_KINDS, SENDER_STATUSES } from '../../domain/sender.js';
import { formatTime, html, localToIso, query, time } from '../html.js';
import { one, type ConsoleEnv, type Form } from '../env.js';
import { badge, BASE, csrfField, field, problem, select } from '../ui.js';

interface Sender {
  id: string;
  kind: string;
  value: string;
  account: string;
  class?: string;
  status: string;
  status_reason?: string;
  status_by?: string;
  status_at?: string;
  valid_from?: string;
  valid_until?: string;
  signatures?: string[];
  updated_at?: string;
  updated_by?: string;
}

const tone = (s: string) => (s === 'active' ? 'ok' : 'bad');
/** An ISO instant as a datetime-local value in the zone. */
const localValue = (iso: string | undefined, tz: string) => (iso ? formatTime(iso, tz).replace(' ', 'T').slice(0, 16) : '');

export function senderPages(app: FastifyInstance, env: ConsoleEnv): void {
  const accounts = env.deps.cfg.accounts.map((a) => a.system_id);
  const opts = (xs: readonly string[], any?: string) => [...(any ? [['', any] as const] : []), ...xs.map((x) => [x, x] as const)];

  app.get<{ Querystring: { q?: string; account?: string; kind?: string; status?: string } }>('/senders', async (req, reply) => {
    const v = env.viewer(req);
    const q = req.query;
    const account = one(q.account);
    const kind = one(q.kind);
    const status = one(q.status);
    const text = one(q.q)?.toLowerCase();
    const r = await env.api(
      req,
      'GET',
      `/senders${query({
        account: account && accounts.includes(account) ? account : undefined,
        kind: kind && (SENDER_KINDS as readonly string[]).includes(kind) ? kind : undefined,
        status: status && (SENDER_STATUSES as readonly string[]).includes(status) ? status : undefined,
      })}`,
    );
    if (r.status !== 200) return env.render(reply, req, 'senders', 'Senders', problem(r.status, r.body?.message ?? 'unavailable', `${BASE}/`), r.status);
    const all = r.body.senders as Sender[];
    const found = text ? all.filter((s) => s.id.toLowerCase().includes(text) || (s.signatures ?? []).some((x) => x.toLowerCase().includes(text))) : all;
    const shown = found.slice(0, 200);
    const canCreate = env.can(req, 'POST /senders');
    const body = html`
<form method="get" action="${BASE}/senders" class="filters" role="search" aria-label="Search senders">
${field('Number, name or brand', 'q', q.q)}
${select('Account', 'account', opts(accounts, 'any'), account)}
${select('Kind', 'kind', opts(SENDER_KINDS, 'any'), kind)}
${select('Status', 'status', opts(SENDER_STATUSES, 'any'), status)}
<button type="submit">Search</button>
</form>
<table>
<caption>${found.length} sender${found.length === 1 ? '' : 's'}${found.length > shown.length ? `; the first ${shown.length} shown` : ''}</caption>
<thead><tr><th scope="col">Sender</th><th scope="col">Account</th><th scope="col">Class</th><th scope="col">Status</th><th scope="col">Signatures</th><th scope="col">Changed</th></tr></thead>
<tbody>${shown.map(
      (s) => html`<tr><td><a href="${BASE}/senders/view${query({ id: s.id })}">${s.id}</a></td><td>${s.account}</td><td>${s.class ?? 'default'}</td><td>${badge(s.status, tone(s.status))}</td><td>${(s.signatures ?? []).join(', ')}</td><td>${time(s.updated_at, v.tz)} ${s.updated_by ?? ''}</td></tr>`,
    )}</tbody></table>
${canCreate
  ? html`<section aria-labelledby="h-new" class="card"><h2 id="h-new">Register a sender</h2>
<form method="post" action="${BASE}/senders/create">${csrfField(v)}
${select('Kind', 'kind', opts(SENDER_KINDS), 'number')}
${field('Value', 'value', '', { required: true, hint: 'number: any form; prefix: digits; range: from-to; alpha: the name.' })}
${select('Account', 'account', opts(accounts), accounts[0])}
${select('Class', 'class', opts(SENDER_CLASSES, "account's default"), '')}
${field('Signatures', 'signatures', '', { hint: 'Brand names, comma-separated; the first is the brand consent scope.' })}
<button type="submit">Register</button>
</form></section>`
  : ''}`;
    return env.render(reply, req, 'senders', 'Senders', body);
  });

  app.get<{ Querystring: { id?: string } }>('/senders/view', async (req, reply) => {
    const v = env.viewer(req);
    const id = one(req.query.id) ?? '';
    const r = await env.api(req, 'GET', `/senders/${encodeURIComponent(id)}`);
    if (r.status !== 200) return env.render(reply, req, 'senders', 'Sender', problem(r.status, r.body?.message ?? 'unavailable', `${BASE}/senders`), r.status);
    const s = r.body as Sender;
    const here = `${BASE}/senders/view${query({ id: s.id })}`;
    const canEdit = env.can(req, 'PATCH /senders/:id');
    const canReinstate = env.can(req, 'POST /senders/:id/reinstate');
    const body = html`
<dl class="facts">
<dt>Kind / value</dt><dd>${s.kind} ${s.value}</dd>
<dt>Account</dt><dd>${s.account}</dd>
<dt>Class</dt><dd>${s.class ?? "the account's default"}</dd>
<dt>Status</dt><dd>${badge(s.status, tone(s.status))}${s.status_reason ? ` — ${s.status_reason}` : ''}${s.status_by ? html` <small>(by ${s.status_by}, ${time(s.status_at, v.tz)})</small>` : ''}</dd>
<dt>Valid</dt><dd>${s.valid_from ? time(s.valid_from, v.tz) : 'always'} – ${s.valid_until ? time(s.valid_until, v.tz) : 'open'}</dd>
<dt>Signatures</dt><dd>${(s.signatures ?? []).join(', ') || '—'}</dd>
<dt>Last change</dt><dd>${time(s.updated_at, v.tz)} by ${s.updated_by ?? '—'}</dd>
</dl>
${canEdit || canReinstate
  ? html`<section aria-labelledby="h-status" class="card"><h2 id="h-status">Status</h2>
${canEdit && s.status === 'active'
  ? html`<form method="post" action="${BASE}/senders/status">${csrfField(v)}<input type="hidden" name="id" value="${s.id}"><input type="hidden" name="back" value="${here}">
${field('Reason', 'reason', '')}
<button type="submit" name="status" value="suspended" class="danger">Suspend</button> <button type="submit" name="status" value="revoked" class="danger">Revoke</button></form>`
  : ''}
${s.status === 'suspended' && canReinstate
  ? html`<form method="post" action="${BASE}/senders/reinstate">${csrfField(v)}<input type="hidden" name="id" value="${s.id}"><input type="hidden" name="back" value="${here}">
${field('Reason', 'reason', '')}<button type="submit">Reinstate</button></form>`
  : ''}
${s.status === 'revoked' && canEdit
  ? html`<form method="post" action="${BASE}/senders/status">${csrfField(v)}<input type="hidden" name="id" value="${s.id}"><input type="hidden" name="back" value="${here}"><input type="hidden" name="status" value="active">
${field('Reason', 'reason', '')}<button type="submit">Reactivate</button></form>`
  : ''}
</section>`
  : ''}
${canEdit
  ? html`<section aria-labelledby="h-edit" class="card"><h2 id="h-edit">Edit</h2>
<form method="post" action="${BASE}/senders/update">${csrfField(v)}<input type="hidden" name="id" value="${s.id}">
${select('Account', 'account', opts(accounts), s.account)}
${select('Class', 'class', opts(SENDER_CLASSES, "account's default"), s.class ?? '')}
${field('Signatures', 'signatures', (s.signatures ?? []).join(', '), { hint: 'Comma-separated.' })}
${field(`Valid from (${v.tz})`, 'valid_from', localValue(s.valid_from, v.tz), { type: 'datetime-local' })}
${field(`Valid until (${v.tz})`, 'valid_until', localValue(s.valid_until, v.tz), { type: 'datetime-local' })}
<button type="submit">Save</button>
</form></section>`
  : ''}
<p><a href="${BASE}/senders">All senders</a></p>`;
    return env.render(reply, req, 'senders', `Sender ${s.id}`, body);
  });

  const signatures = (raw: string | undefined) => (raw ?? '').split(',').map((x) => x.trim()).filter(Boolean);

  app.post<{ Body: Form }>('/senders/create', async (req, reply) => {
    const b = req.body ?? {};
    const cls = one(b.class);
    const sig = signatures(one(b.signatures));
    const r = await env.api(req, 'POST', '/senders', {
      kind: one(b.kind) ?? '',
      value: one(b.value) ?? '',
      account: one(b.account) ?? '',
      ...(cls ? { class: cls } : {}),
      ...(sig.length ? { signatures: sig } : {}),
      channel: 'console',
    });
    const id = r.body?.id as string | undefined;
    return env.finish(req, reply, r, `Sender ${id ?? ''} registered.`, id ? `${BASE}/senders/view${query({ id })}` : `${BASE}/senders`, 'senders');
  });

  app.post<{ Body: Form }>('/senders/update', async (req, reply) => {
    const v = env.viewer(req);
    const b = req.body ?? {};
    const id = one(b.id) ?? '';
    const r = await env.api(req, 'PATCH', `/senders/${encodeURIComponent(id)}`, {
      account: one(b.account) ?? '',
      class: one(b.class) ?? null,
      signatures: signatures(one(b.signatures)),
      valid_from: localToIso(one(b.valid_from), v.tz, offsetMinutes) ?? null,
      valid_until: localToIso(one(b.valid_until), v.tz, offsetMinutes) ?? null,
      channel: 'console',
    });
    return env.finish(req, reply, r, `Sender ${id} saved.`, `${BASE}/senders/view${query({ id })}`, 'senders');
  });
}
