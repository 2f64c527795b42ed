/**
 * The review queue (/console/review): messages a rule held for an operator, oldest first, filtered
 * by rule, account and age; the decoded text (the queue decodes GSM 03.38 / UCS-2 and joins
 * concatenated parts) with the rule that held it marked; approve or reject one, the selected ones,
 * or every held message of a rule; and what became of this session's decisions since (still queued
 * — in which queue — or gone from the queue: released to the SMSC after approval, or dropped).
 */
import type { FastifyInstance } from 'fastify';
import type { QueuedInfo } from '../../queue/jobs.js';
import { duration, html, query, time } from '../html.js';
import { one, type ConsoleEnv, type Form } from '../env.js';
import { BASE, csrfField, field, select } from '../ui.js';

/** A held message as GET /api/v1/queue/review lists it (the queue's own shape). */
type Held = QueuedInfo;

/** At most this many messages decided by one "selected" submit. */
const MAX_SELECTED = 200;

export function reviewPages(app: FastifyInstance, env: ConsoleEnv): void {
  const accounts = env.deps.cfg.accounts.map((a) => a.system_id);

  app.get<{ Querystring: { rule?: string; account?: string; min_age?: string; limit?: string } }>('/review', async (req, reply) => {
    const v = env.viewer(req);
    const q = req.query;
    const rule = one(q.rule);
    const account = one(q.account);
    const minAge = Number(one(q.min_age) ?? 0);
    const limit = Math.min(500, Math.max(1, Number(one(q.limit) ?? 100) || 100));
    const r = await env.api(req, 'GET', `/queue/review${query({ rule, account: account && accounts.includes(account) ? account : undefined, limit })}`);
    const now = Date.now();
    const held: Held[] = r.status === 200 ? (r.body.messages as Held[]).filter((m) => !(minAge > 0) || now - Date.parse(m.accepted_at) >= minAge * 60_000) : [];
    const canDecide = env.can(req, 'POST /queue/review/:id/approve');
    const canBulk = env.can(req, 'POST /queue/review/bulk');
    const rules = [...new Set(held.map((m) => m.rule))].sort();

    const recent = await env.sessions.recent(v.session);
    const after = await Promise.all(
      recent.slice(0, 10).map(async (d) => {
        const m = await env.api(req, 'GET', `/queue/messages/${encodeURIComponent(d.id)}`);
        const state =
          m.status === 200
            ? `still queued (${m.body.queue}${m.body.queue === 'window' ? ': waiting for its delivery window' : m.body.queue === 'saf' ? ': waiting for the SMSC' : ''})`
            : d.decision === 'approve'
              ? 'left the queue: released to the SMSC (its receipt goes to the ESME)'
              : 'left the queue: dropped (a REJECTD receipt if the ESME asked for one)';
        return { ...d, state };
      }),
    );

    const table = html`<table class="review">
<caption>${held.length} held message${held.length === 1 ? '' : 's'}${r.status !== 200 ? html` — ${r.body?.message ?? `HTTP ${r.status}`}` : ''}</caption>
<thead><tr>${canDecide ? html`<th scope="col"><span class="sr-only">Select</span></th>` : ''}<th scope="col">Message</th><th scope="col">Held by rule</th><th scope="col">Sender → recipient</th><th scope="col">Text</th><th scope="col">Held for</th>${canDecide ? html`<th scope="col">Decide</th>` : ''}</tr></thead>
<tbody>${held.map(
      (m) => html`<tr>
${canDecide ? html`<td><input type="checkbox" name="ids" value="${m.id}" id="sel-${m.id}"><label for="sel-${m.id}" class="sr-only">Select ${m.id}</label></td>` : ''}
<td><code>${m.id}</code><br><small>${m.account}</small></td>
<td><mark class="rule">${m.rule}</mark><br><small>${m.reason}</small></td>
<td>${m.source_addr} → ${m.destination_addr}</td>
<td class="text" lang="">${m.text}</td>
<td>${duration(now - Date.parse(m.accepted_at))}<br><small>since ${time(m.accepted_at, v.tz)}; expires ${time(m.expires_at, v.tz)}</small></td>
${canDecide
  ? html`<td class="actions"><button type="submit" name="one" value="approve ${m.id}" aria-label="Approve ${m.id}">Approve</button>
<button type="submit" name="one" value="reject ${m.id}" class="danger" aria-label="Reject ${m.id}">Reject</button></td>`
  : ''}
</tr>`,
    )}</tbody></table>`;

    const body = html`
<form method="get" action="${BASE}/review" class="filters" role="search" aria-label="Filter held messages">
${field('Rule', 'rule', rule)}
${select('Account', 'account', [['', 'any'], ...accounts.map((a) => [a, a] as const)], account)}
${field('Held at least (minutes)', 'min_age', q.min_age, { type: 'number' })}
<button type="submit">Filter</button>
</form>
${canDecide
  ? html`<form method="post" action="${BASE}/review/decide">${csrfField(v)}
${table}
${held.length > 0 ? html`<p class="bulk"><button type="submit" name="decision" value="approve">Approve selected</button> <button type="submit" name="decision" value="reject" class="danger">Reject selected</button></p>` : ''}
</form>`
  : table}
${canBulk && rules.length > 0
  ? html`<form method="post" action="${BASE}/review/bulk" class="card">${csrfField(v)}
<h2>Every held message of one rule</h2>
${select('Rule', 'rule', rules.map((x) => [x, x] as const), rule)}
${select('Decision', 'decision', [['approve', 'approve all'], ['reject', 'reject all']], 'approve')}
<button type="submit">Decide all</button>
</form>`
  : ''}
<section aria-labelledby="h-after">
<h2 id="h-after">What happened afterwards</h2>
${after.length === 0
  ? html`<p>No decisions in this session yet.</p>`
  : html`<table><caption class="sr-only">This session's decisions and where the messages are now</caption>
<thead><tr><th scope="col">Message</th><th scope="col">Decision</th><th scope="col">When</th><th scope="col">Now</th></tr></thead>
<tbody>${after.map((d) => html`<tr><td><code>${d.id}</code> <small>(${d.rule})</small></td><td>${d.decision}</td><td>${time(d.at, v.tz)}</td><td>${d.state}${d.recipient ? html` · <a href="${BASE}/evidence${query({ msisdn: d.recipient })}">evidence</a>` : ''}</td></tr>`)}</tbody></table>`}
</section>`;
    return env.render(reply, req, 'review', 'Review queue', body);
  });

  app.post<{ Body: Form }>('/review/decide', async (req, reply) => {
    const b = req.body ?? {};
    let pairs: { id: string; decision: 'approve' | 'reject' }[];
    const single = one(b.one);
    if (single) {
      const [decision, id] = single.split(' ');
      pairs = id && (decision === 'approve' || decision === 'reject') ? [{ id, decision }] : [];
    } else {
      const decision = one(b.decision);
      const ids = (Array.isArray(b.ids) ? b.ids : b.ids ? [b.ids] : []).slice(0, MAX_SELECTED);
      pairs = decision === 'approve' || decision === 'reject' ? ids.map((id) => ({ id, decision })) : [];
    }
    if (pairs.length === 0) {
      await env.flash(req, { kind: 'error', text: 'Nothing selected.' });
      return reply.code(303).header('location', `${BASE}/review`).send();
    }
    const v = env.viewer(req);
    const done: string[] = [];
    for (const p of pairs) {
      // Read first (for the follow-up line), then decide through the API.
      const info = await env.api(req, 'GET', `/queue/messages/${encodeURIComponent(p.id)}`);
      const r = await env.api(req, 'POST', `/queue/review/${encodeURIComponent(p.id)}/${p.decision}`);
      if (r.status !== 200) {
        if (done.length === 0) return env.finish(req, reply, r, '', `${BASE}/review`, 'review');
        await env.flash(req, { kind: 'error', text: `${done.length} decided; then ${p.id}: ${r.body?.message ?? `HTTP ${r.status}`}` });
        return reply.code(303).header('location', `${BASE}/review`).send();
      }
      done.push(p.id);
      await env.sessions.remember(v.session, {
        id: p.id,
        decision: p.decision,
        at: Date.now(),
        rule: info.status === 200 ? info.body.rule : '',
        recipient: info.status === 200 ? info.body.destination_addr : '',
      });
    }
    const verb = pairs[0]!.decision === 'approve' ? 'Approved' : 'Rejected';
    await env.flash(req, { kind: 'ok', text: `${verb} ${done.length === 1 ? done[0] : `${done.length} messages`}.` });
    return reply.code(303).header('location', `${BASE}/review`).send();
  });

  app.post<{ Body: Form }>('/review/bulk', async (req, reply) => {
    const b = req.body ?? {};
    const rule = one(b.rule) ?? '';
    const decision = one(b.decision) ?? '';
    const r = await env.api(req, 'POST', '/queue/review/bulk', { rule, decision });
    return env.finish(req, reply, r, `${decision === 'approve' ? 'Approved' : 'Rejected'} ${r.body?.count ?? 0} message(s) held by ${rule}.`, `${BASE}/review`, 'review');
  });
}
