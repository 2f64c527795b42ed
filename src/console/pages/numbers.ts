/**
 * A number's consent and do-not-disturb (/console/numbers): look a number up, grant or revoke
 * consent for a scope with channel and evidence (and an optional expiry), put it on or take it off
 * the DND register; and the explain form (/console/explain): what the gateway would do with a
 * message, nothing sent. Writes go through the consent and DND APIs (journaled with the
 * operator's token name, channel and evidence).
 */
import type { FastifyInstance } from 'fastify';
import { offsetMinutes } from '../../domain/time.js';
import { html, localToIso, query, time } from '../html.js';
import { one, type ConsoleEnv, type Form } from '../env.js';
import { badge, BASE, csrfField, field, problem, select } from '../ui.js';

const CATEGORIES: [string, string][] = [
  ['', 'all commercial messages'],
  ...['1', '2', '3', '4', '5', '6', '7'].map((c) => [c, `category ${c}`] as [string, string]),
];

export function numberPages(app: FastifyInstance, env: ConsoleEnv): void {
  const accounts = env.deps.cfg.accounts.map((a) => a.system_id);

  app.get<{ Querystring: { msisdn?: string } }>('/numbers', async (req, reply) => {
    const v = env.viewer(req);
    const msisdn = one(req.query.msisdn);
    const form = html`<form method="get" action="${BASE}/numbers" class="filters" role="search" aria-label="Look up a number">
${field('Number', 'msisdn', msisdn, { required: true })}
<button type="submit">Look up</button></form>`;
    if (!msisdn) return env.render(reply, req, 'numbers', 'Consent & DND', form);
    const [consent, dnd] = await Promise.all([env.api(req, 'GET', `/consent/${encodeURIComponent(msisdn)}`), env.api(req, 'GET', `/dnd/${encodeURIComponent(msisdn)}`)]);
    if (consent.status !== 200) return env.render(reply, req, 'numbers', 'Consent & DND', html`${form}${problem(consent.status, consent.body?.message ?? 'unavailable', `${BASE}/numbers`)}`, consent.status);
    const records = consent.body.consents as { scope: string; state: string; at: string; expires_at: string | null; effective: string }[];
    const d = dnd.body as { registered: boolean; all: boolean; categories: number[] };
    const canConsent = env.can(req, 'POST /consent');
    const canDnd = env.can(req, 'POST /dnd');
    const number = consent.body.msisdn as string;
    const body = html`${form}
<h2>Consent of ${number}</h2>
${records.length === 0
  ? html`<p>No consent records (no record counts as refusal for commercial messages).</p>`
  : html`<table><caption class="sr-only">Consent records</caption><thead><tr><th scope="col">Scope</th><th scope="col">State</th><th scope="col">Since</th><th scope="col">Expires</th><th scope="col">Effective</th></tr></thead>
<tbody>${records.map((c) => html`<tr><td>${c.scope}</td><td>${c.state}</td><td>${time(c.at, v.tz)}</td><td>${time(c.expires_at, v.tz)}</td><td>${badge(c.effective, c.effective === 'granted' ? 'ok' : 'bad')}</td></tr>`)}</tbody></table>`}
<h2>Do-not-disturb</h2>
<p>${dnd.status !== 200 ? `unknown (${dnd.body?.message ?? dnd.status})` : d.all ? 'On the register for all commercial messages.' : d.categories.length ? `On the register for categories ${d.categories.join(', ')}.` : 'Not on the register.'}</p>
${canConsent
  ? html`<section aria-labelledby="h-consent" class="card"><h2 id="h-consent">Record consent</h2>
<form method="post" action="${BASE}/numbers/consent">${csrfField(v)}<input type="hidden" name="msisdn" value="${number}">
${field('Scope', 'scope', '', { required: true, hint: 'sender:number:8610690001, brand:<brand> or account:<system_id>.' })}
${select('State', 'state', [['granted', 'granted'], ['revoked', 'revoked (explicit refusal)']], 'granted')}
${field('Channel', 'channel', 'console', { required: true, hint: 'How it came about: web-form, ivr, crm, sms…' })}
${field('Evidence', 'evidence', '', { hint: 'Required when granting: where the consent can be proven.' })}
${field(`Expires (${v.tz}, optional)`, 'expires_at', '', { type: 'datetime-local' })}
<button type="submit">Record</button>
</form></section>`
  : ''}
${canDnd
  ? html`<section aria-labelledby="h-dnd" class="card"><h2 id="h-dnd">Do-not-disturb register</h2>
<form method="post" action="${BASE}/numbers/dnd">${csrfField(v)}<input type="hidden" name="msisdn" value="${number}">
${select('What', 'category', CATEGORIES, '')}
${field('Channel', 'channel', 'console')}
${field('Evidence', 'evidence', '')}
<button type="submit" name="op" value="add">Put on the register</button> <button type="submit" name="op" value="remove" class="danger">Take off the register</button>
</form></section>`
  : ''}
<p><a href="${BASE}/evidence${query({ msisdn: number.includes('*') ? undefined : number })}">Evidence for this number</a></p>`;
    return env.render(reply, req, 'numbers', 'Consent & DND', body);
  });

  app.post<{ Body: Form }>('/numbers/consent', async (req, reply) => {
    const v = env.viewer(req);
    const b = req.body ?? {};
    const msisdn = one(b.msisdn) ?? '';
    const evidence = one(b.evidence);
    const expires = localToIso(one(b.expires_at), v.tz, offsetMinutes);
    const state = one(b.state) ?? '';
    const r = await env.api(req, 'POST', '/consent', {
      msisdn,
      scope: one(b.scope) ?? '',
      state,
      channel: one(b.channel) ?? 'console',
      ...(evidence ? { evidence } : {}),
      ...(expires ? { expires_at: expires } : {}),
    });
    return env.finish(req, reply, r, `Consent ${state} for ${one(b.scope)}.`, `${BASE}/numbers${query({ msisdn })}`, 'numbers');
  });

  app.post<{ Body: Form }>('/numbers/dnd', async (req, reply) => {
    const b = req.body ?? {};
    const msisdn = one(b.msisdn) ?? '';
    const category = one(b.category);
    const channel = one(b.channel);
    const evidence = one(b.evidence);
    const back = `${BASE}/numbers${query({ msisdn })}`;
    const r =
      one(b.op) === 'remove'
        ? await env.api(req, 'DELETE', `/dnd/${encodeURIComponent(msisdn)}${query({ category, channel, evidence })}`)
        : await env.api(req, 'POST', '/dnd', { msisdn, ...(category ? { category: Number(category) } : {}), ...(channel ? { channel } : {}), ...(evidence ? { evidence } : {}) });
    return env.finish(req, reply, r, one(b.op) === 'remove' ? 'Taken off the DND register.' : 'Put on the DND register.', back, 'numbers');
  });

  // ---- explain ----------------------------------------------------------------------------------

  const explainForm = (v: ReturnType<ConsoleEnv['viewer']>, b: Form) => html`<form method="post" action="${BASE}/explain" class="card">${csrfField(v)}
${select('Account', 'account', accounts.map((a) => [a, a] as const), one(b.account) ?? accounts[0])}
${field('Sender (source_addr)', 'source_addr', one(b.source_addr), { required: true })}
${select('Sender type (TON)', 'source_addr_ton', [['1', 'international number'], ['0', 'unknown'], ['2', 'national'], ['3', 'network specific'], ['5', 'alphanumeric']], one(b.source_addr_ton) ?? '1')}
${field('Recipient (destination_addr)', 'destination_addr', one(b.destination_addr), { required: true })}
${field('service_type', 'service_type', one(b.service_type))}
${field('Text', 'text', one(b.text))}
<button type="submit">Explain</button>
</form>`;

  app.get('/explain', async (req, reply) =>
    env.render(reply, req, 'explain', 'Explain: what would happen to this message', html`<p>Nothing is sent; consent and DND are read as stored, rate counters are not counted.</p>${explainForm(env.viewer(req), {})}`),
  );

  app.post<{ Body: Form }>('/explain', async (req, reply) => {
    const b = req.body ?? {};
    const v = env.viewer(req);
    const r = await env.api(req, 'POST', '/explain', {
      account: one(b.account) ?? '',
      source_addr: one(b.source_addr) ?? '',
      source_addr_ton: Number(one(b.source_addr_ton) ?? 1),
      destination_addr: one(b.destination_addr) ?? '',
      ...(one(b.service_type) ? { service_type: one(b.service_type) } : {}),
      ...(one(b.text) ? { text: one(b.text) } : {}),
    });
    const e = r.body as { action: string; reason: string; status_name: string; status: number; rule: string; class: string | null; explanation: string; trace: string[]; queue?: string; release_at?: string };
    const result =
      r.status === 200
        ? html`<section aria-labelledby="h-result" class="card result" role="status"><h2 id="h-result">Decision: ${badge(e.action, e.action === 'forward' ? 'ok' : e.action === 'reject' ? 'bad' : 'warn')}</h2>
<dl class="facts"><dt>Reason</dt><dd>${e.reason} — ${e.explanation}</dd>
<dt>Answer to the ESME</dt><dd>${e.status_name} (0x${e.status.toString(16)})</dd>
<dt>Decided by</dt><dd>${e.rule}</dd><dt>Class</dt><dd>${e.class ?? '—'}</dd>
${e.queue ? html`<dt>Queue</dt><dd>${e.queue}${e.release_at ? html`, released ${time(e.release_at, v.tz)}` : ''}</dd>` : ''}</dl>
<h3>Trace</h3><ol>${e.trace.map((t) => html`<li>${t}</li>`)}</ol></section>`
        : problem(r.status, r.body?.message ?? 'unavailable', `${BASE}/explain`);
    return env.render(reply, req, 'explain', 'Explain: what would happen to this message', html`${result}${explainForm(v, b)}`, r.status === 200 ? 200 : r.status);
  });
}
