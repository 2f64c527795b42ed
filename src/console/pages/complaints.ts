/**
 * The complaints desk (/console/complaints): cases with their forward and handle deadlines and
 * state, overdue first; one case with the message as the gateway saw it (account, sender and
 * recipient resolved from the message id when the complaint gives one; the text as reported),
 * sender, account, recipient (masked for a `read` role by the API), remarks and history; moving it on
 * (forward, handle, reject) and suspending or reinstating its sender — each through the admin API.
 */
import type { FastifyInstance } from 'fastify';
import { CASE_STATES } from '../../domain/complaint.js';
import { html, query, time } from '../html.js';
import { consolePath, one, type ConsoleEnv, type Form } from '../env.js';
import { badge, BASE, csrfField, field, problem, select, textarea } from '../ui.js';

interface CaseView {
  id: string;
  state: string;
  source: string;
  reference: string | null;
  recipient: string;
  reported_sender: string | null;
  message_id: string | null;
  text: string | null;
  reported_at: string;
  received_at: string;
  resolved_by: string;
  account: string | null;
  sender: string | null;
  sender_registered: boolean;
  remarks: string[];
  forward_due: string;
  handle_due: string;
  forwarded_at: string | null;
  forwarded_to: string | null;
  handled_at: string | null;
  resolution: string | null;
  overdue: { forward: boolean; handle: boolean };
  history: { at: string; who: string; event: string; note?: string }[];
}

const isOverdue = (c: CaseView) => c.overdue.forward || c.overdue.handle;
const nextDue = (c: CaseView) => Date.parse(c.state === 'open' ? c.forward_due : c.handle_due);

export function complaintPages(app: FastifyInstance, env: ConsoleEnv): void {
  app.get<{ Querystring: { state?: string; overdue?: string; sender?: string } }>('/complaints', async (req, reply) => {
    const v = env.viewer(req);
    const state = one(req.query.state);
    const overdue = one(req.query.overdue) === 'true';
    const r = await env.api(req, 'GET', `/complaints${query({ state: state && (CASE_STATES as readonly string[]).includes(state) ? state : undefined, overdue: overdue || undefined, count: 500 })}`);
    if (r.status !== 200) return env.render(reply, req, 'complaints', 'Complaints', problem(r.status, r.body?.message ?? 'unavailable', `${BASE}/`), r.status);
    const cases = (r.body.cases as CaseView[]).sort((a, b) => Number(isOverdue(b)) - Number(isOverdue(a)) || nextDue(a) - nextDue(b));
    const body = html`
<form method="get" action="${BASE}/complaints" class="filters" role="search" aria-label="Filter cases">
${select('State', 'state', [['', 'any'], ...CASE_STATES.map((s) => [s, s] as const)], state)}
${select('Deadline', 'overdue', [['', 'any'], ['true', 'overdue only']], overdue ? 'true' : '')}
<button type="submit">Filter</button>
</form>
<table>
<caption>${cases.length} case${cases.length === 1 ? '' : 's'}, overdue first</caption>
<thead><tr><th scope="col">Case</th><th scope="col">State</th><th scope="col">Source</th><th scope="col">Sender</th><th scope="col">Account</th><th scope="col">Received</th><th scope="col">Forward by</th><th scope="col">Handle by</th></tr></thead>
<tbody>${cases.map(
      (c) => html`<tr${isOverdue(c) ? html` class="overdue"` : ''}>
<td><a href="${BASE}/complaints/${c.id}">${c.id}</a></td>
<td>${c.state}${isOverdue(c) ? html` ${badge('overdue', 'bad')}` : ''}</td>
<td>${c.source}</td><td>${c.sender ?? c.reported_sender ?? '—'}</td><td>${c.account ?? '—'}</td>
<td>${time(c.received_at, v.tz)}</td>
<td>${time(c.forward_due, v.tz)}${c.overdue.forward ? html` ${badge('late', 'bad')}` : ''}</td>
<td>${time(c.handle_due, v.tz)}${c.overdue.handle ? html` ${badge('late', 'bad')}` : ''}</td>
</tr>`,
    )}</tbody></table>`;
    return env.render(reply, req, 'complaints', 'Complaints', body);
  });

  app.get<{ Params: { id: string } }>('/complaints/:id', async (req, reply) => {
    const v = env.viewer(req);
    const r = await env.api(req, 'GET', `/complaints/${encodeURIComponent(req.params.id)}`);
    if (r.status !== 200) return env.render(reply, req, 'complaints', 'Complaint case', problem(r.status, r.body?.message ?? 'unavailable', `${BASE}/complaints`), r.status);
    const c = r.body as CaseView;
    const here = `${BASE}/complaints/${c.id}`;
    const sender = c.sender && c.sender_registered ? await env.api(req, 'GET', `/senders/${encodeURIComponent(c.sender)}`) : null;
    const senderRec = sender?.status === 200 ? (sender.body as { id: string; status: string; status_reason?: string; account: string }) : null;
    const canAct = env.can(req, 'POST /complaints/:id/:action');
    const canSuspend = env.can(req, 'PATCH /senders/:id');
    const canReinstate = env.can(req, 'POST /senders/:id/reinstate');
    const open = c.state === 'open' || c.state === 'forwarded';

    const body = html`
<dl class="facts">
<dt>State</dt><dd>${c.state}${isOverdue(c) ? html` ${badge('overdue', 'bad')}` : ''}</dd>
<dt>Source</dt><dd>${c.source}${c.reference ? ` (reference ${c.reference})` : ''}</dd>
<dt>Recipient (complainant)</dt><dd>${c.recipient}</dd>
<dt>Sender</dt><dd>${c.sender ?? '—'}${c.reported_sender && c.reported_sender !== c.sender ? ` (reported as ${c.reported_sender})` : ''}${senderRec ? html` · ${badge(senderRec.status, senderRec.status === 'active' ? 'ok' : 'bad')} <a href="${BASE}/senders/view${query({ id: senderRec.id })}">registration</a>` : c.sender && !c.sender_registered ? ' (not registered)' : ''}</dd>
<dt>Account</dt><dd>${c.account ?? '—'}</dd>
<dt>Message</dt><dd>${c.text ? html`<q class="text">${c.text}</q> <small>(text as reported)</small>` : '—'}<br><small>${
      c.resolved_by === 'message_id'
        ? `message id ${c.message_id}: account, sender and recipient as the gateway saw them`
        : c.resolved_by === 'sender'
          ? 'resolved from the reported sender (no message id matched)'
          : 'not resolved to a sender or account'
    }</small></dd>
<dt>Reported</dt><dd>${time(c.reported_at, v.tz)}; received ${time(c.received_at, v.tz)}</dd>
<dt>Forward by</dt><dd>${time(c.forward_due, v.tz)}${c.overdue.forward ? html` ${badge('overdue', 'bad')}` : ''}${c.forwarded_at ? html` — forwarded ${time(c.forwarded_at, v.tz)} to ${c.forwarded_to ?? '—'}` : ''}</dd>
<dt>Handle by</dt><dd>${time(c.handle_due, v.tz)}${c.overdue.handle ? html` ${badge('overdue', 'bad')}` : ''}${c.handled_at ? html` — handled ${time(c.handled_at, v.tz)}` : ''}</dd>
${c.resolution ? html`<dt>Resolution</dt><dd>${c.resolution}</dd>` : ''}
${c.remarks.length > 0 ? html`<dt>Remarks</dt><dd><ul>${c.remarks.map((x) => html`<li>${x}</li>`)}</ul></dd>` : ''}
</dl>
${canAct && open
  ? html`<section aria-labelledby="h-act" class="card"><h2 id="h-act">Move the case on</h2>
<form method="post" action="${here}/act">${csrfField(v)}
${select('Action', 'action', [...(c.state === 'open' ? [['forward', 'forward to the account'] as const] : []), ['handle', 'handle (close with a resolution)'], ['reject', 'reject (unfounded)']], c.state === 'open' ? 'forward' : 'handle')}
${field('Forward to', 'to', '', { hint: 'Forward only; default: the resolved account.' })}
${textarea('Resolution', 'resolution', '')}
${field('Note', 'note', '')}
<button type="submit">Apply</button>
</form></section>`
  : ''}
${senderRec && (canSuspend || canReinstate)
  ? html`<section aria-labelledby="h-sender" class="card"><h2 id="h-sender">Sender ${senderRec.id}</h2>
<p>Status: ${badge(senderRec.status, senderRec.status === 'active' ? 'ok' : 'bad')}${senderRec.status_reason ? ` — ${senderRec.status_reason}` : ''}</p>
${senderRec.status === 'active' && canSuspend
  ? html`<form method="post" action="${BASE}/senders/status">${csrfField(v)}
<input type="hidden" name="id" value="${senderRec.id}"><input type="hidden" name="status" value="suspended"><input type="hidden" name="back" value="${here}">
${field('Reason', 'reason', `complaint ${c.id}`)}
<button type="submit" class="danger">Suspend sender</button></form>`
  : ''}
${senderRec.status === 'suspended' && canReinstate
  ? html`<form method="post" action="${BASE}/senders/reinstate">${csrfField(v)}
<input type="hidden" name="id" value="${senderRec.id}"><input type="hidden" name="back" value="${here}">
${field('Reason', 'reason', '')}
<button type="submit">Reinstate sender</button></form>`
  : ''}
</section>`
  : ''}
<section aria-labelledby="h-history"><h2 id="h-history">History</h2>
<table><caption class="sr-only">Case history</caption><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Event</th><th scope="col">Note</th></tr></thead>
<tbody>${c.history.map((h) => html`<tr><td>${time(h.at, v.tz)}</td><td>${h.who}</td><td>${h.event}</td><td>${h.note ?? ''}</td></tr>`)}</tbody></table>
</section>
<p><a href="${BASE}/evidence${query({ msisdn: c.recipient.includes('*') ? undefined : c.recipient })}">Evidence for the recipient</a> · <a href="${BASE}/complaints">All cases</a></p>`;
    return env.render(reply, req, 'complaints', `Complaint case ${c.id}`, body);
  });

  app.post<{ Params: { id: string }; Body: Form }>('/complaints/:id/act', async (req, reply) => {
    const b = req.body ?? {};
    const action = one(b.action) ?? '';
    const payload: Record<string, string> = {};
    for (const k of ['to', 'resolution', 'note'] as const) {
      const x = one(b[k]);
      if (x !== undefined && (k !== 'to' || action === 'forward') && (k !== 'resolution' || action === 'handle')) payload[k] = x;
    }
    payload.channel = 'console';
    const here = `${BASE}/complaints/${encodeURIComponent(req.params.id)}`;
    const r = await env.api(req, 'POST', `/complaints/${encodeURIComponent(req.params.id)}/${encodeURIComponent(action)}`, payload);
    return env.finish(req, reply, r, `Case ${req.params.id}: ${action} done.`, here, 'complaints');
  });

  // Sender status from a case page or the sender page: suspend/revoke/activate (PATCH, admin) and reinstate (operate).
  app.post<{ Body: Form }>('/senders/status', async (req, reply) => {
    const b = req.body ?? {};
    const id = one(b.id) ?? '';
    const status = one(b.status) ?? '';
    const reason = one(b.reason);
    const back = consolePath(one(b.back), `${BASE}/senders/view${query({ id })}`);
    const r = await env.api(req, 'PATCH', `/senders/${encodeURIComponent(id)}`, { status, ...(reason ? { status_reason: reason } : {}), channel: 'console' });
    return env.finish(req, reply, r, `Sender ${id} is now ${status}.`, back, 'senders');
  });

  app.post<{ Body: Form }>('/senders/reinstate', async (req, reply) => {
    const b = req.body ?? {};
    const id = one(b.id) ?? '';
    const reason = one(b.reason);
    const back = consolePath(one(b.back), `${BASE}/senders/view${query({ id })}`);
    const r = await env.api(req, 'POST', `/senders/${encodeURIComponent(id)}/reinstate`, { ...(reason ? { reason } : {}), channel: 'console' });
    return env.finish(req, reply, r, `Sender ${id} reinstated.`, back, 'senders');
  });
}
