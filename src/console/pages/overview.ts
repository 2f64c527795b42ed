/**
 * The overview page (/console/): the figures the metrics already have, read from this instance's
 * Prometheus registry — decisions per minute by action and reason (from samples of
 * smppguard_decisions_total taken here once a minute, ring of 16), top refused senders, queue
 * depths and oldest ages, complaint cases and overdue ones, rule reload state and the readiness
 * checks — plus the overdue cases themselves from the complaints API.
 */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../telemetry/metrics.js';
import { duration, html, time } from '../html.js';
import type { ConsoleEnv } from '../env.js';
import { badge, BASE } from '../ui.js';

interface Value {
  labels: Record<string, string | number>;
  value: number;
}

async function values(metrics: Metrics, name: string): Promise<Value[]> {
  const m = metrics.registry.getSingleMetric(name);
  if (!m) return [];
  const got = await m.get();
  return got.values as Value[];
}

/** Sums of a metric's values grouped by some labels ("a|b" → total). */
function sumBy(vs: Value[], labels: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of vs) {
    const k = labels.map((l) => String(v.labels[l] ?? '')).join('|');
    out.set(k, (out.get(k) ?? 0) + v.value);
  }
  return out;
}

/** Samples of decisions by action|reason, for a per-minute rate without Prometheus. */
export class DecisionSampler {
  private readonly samples: { at: number; counts: Map<string, number> }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
    private readonly keep = 16,
  ) {}

  start(everyMs = 60_000): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async counts(): Promise<Map<string, number>> {
    return sumBy(await values(this.metrics, 'smppguard_decisions_total'), ['action', 'reason']);
  }

  async sample(): Promise<void> {
    this.samples.push({ at: this.now(), counts: await this.counts() });
    if (this.samples.length > this.keep) this.samples.shift();
  }

  /** Per minute since the oldest sample (null before there is one a second old). */
  async rates(): Promise<{ minutes: number; rows: { action: string; reason: string; perMinute: number; total: number }[] } | null> {
    const first = this.samples[0];
    const now = this.now();
    const cur = await this.counts();
    if (!first || now - first.at < 1000) return { minutes: 0, rows: [...cur].map(([k, total]) => ({ ...split(k), perMinute: 0, total })) };
    const minutes = (now - first.at) / 60_000;
    const rows = [...cur].map(([k, total]) => ({ ...split(k), total, perMinute: (total - (first.counts.get(k) ?? 0)) / minutes }));
    return { minutes, rows };
  }
}

function split(k: string): { action: string; reason: string } {
  const [action, reason] = k.split('|');
  return { action: action!, reason: reason! };
}

const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));

export function overviewPages(app: FastifyInstance, env: ConsoleEnv): void {
  const { metrics } = env.deps;
  const sampler = new DecisionSampler(metrics);
  sampler.start();
  app.addHook('onClose', async () => sampler.stop());

  app.get('/', async (req, reply) => {
    const v = env.viewer(req);
    const [rates, rejected, depth, oldest, cases, overdue, ready, rulesOk, overdueCases] = await Promise.all([
      sampler.rates(),
      values(metrics, 'smppguard_sender_rejections_total'),
      values(metrics, 'smppguard_queue_depth'),
      values(metrics, 'smppguard_queue_oldest_age_seconds'),
      values(metrics, 'smppguard_complaint_cases'),
      values(metrics, 'smppguard_complaint_cases_overdue'),
      env.deps.readiness(),
      values(metrics, 'smppguard_rules_last_reload_success'),
      env.api(req, 'GET', '/complaints?overdue=true&count=5'),
    ]);
    const decisionRows = (rates?.rows ?? []).filter((r) => r.total > 0).sort((a, b) => b.perMinute - a.perMinute || b.total - a.total);
    const topRefused = [...sumBy(rejected, ['sender', 'account'])]
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10);
    const depths = sumBy(depth, ['queue']);
    const ages = sumBy(oldest, ['queue']);
    const queues = [...new Set([...depths.keys(), ...ages.keys()])].sort();
    const list: { id: string; sender: string | null; recipient: string; forward_due: string; handle_due: string; state: string }[] =
      overdueCases.status === 200 ? overdueCases.body.cases : [];

    const body = html`
<section aria-labelledby="h-decisions">
<h2 id="h-decisions">Decisions per minute</h2>
<p class="note">This instance, ${rates && rates.minutes > 0 ? `over the last ${fmt(rates.minutes)} minutes` : 'since the console started (no minute sampled yet)'}; totals since the gateway started.</p>
${decisionRows.length === 0
    ? html`<p>No decisions yet.</p>`
    : html`<table><caption class="sr-only">Decisions by action and reason</caption>
<thead><tr><th scope="col">Action</th><th scope="col">Reason</th><th scope="col" class="num">Per minute</th><th scope="col" class="num">Total</th></tr></thead>
<tbody>${decisionRows.map((r) => html`<tr><td>${badge(r.action, r.action === 'forward' ? 'ok' : r.action === 'reject' ? 'bad' : 'warn')}</td><td>${r.reason}</td><td class="num">${fmt(r.perMinute)}</td><td class="num">${r.total}</td></tr>`)}</tbody></table>`}
</section>

<section aria-labelledby="h-refused">
<h2 id="h-refused">Top refused senders</h2>
${topRefused.length === 0
    ? html`<p>No refused messages since the gateway started.</p>`
    : html`<table><caption class="sr-only">Senders with the most refused messages</caption>
<thead><tr><th scope="col">Source address</th><th scope="col">Account</th><th scope="col" class="num">Refused</th></tr></thead>
<tbody>${topRefused.map(([k, n]) => {
        const [sender, account] = k.split('|');
        return html`<tr><td>${sender}</td><td>${account}</td><td class="num">${n}</td></tr>`;
      })}</tbody></table>`}
</section>

<section aria-labelledby="h-queues">
<h2 id="h-queues">Queues</h2>
${queues.length === 0
    ? html`<p>${env.deps.cfg.queue.enabled ? 'Nothing queued.' : 'This gateway runs without its queue.'}</p>`
    : html`<table><caption class="sr-only">Queue depth and oldest message</caption>
<thead><tr><th scope="col">Queue</th><th scope="col" class="num">Messages</th><th scope="col" class="num">Oldest</th></tr></thead>
<tbody>${queues.map((q) => html`<tr><td>${q === 'review' ? html`<a href="${BASE}/review">review</a>` : q}</td><td class="num">${depths.get(q) ?? 0}</td><td class="num">${(ages.get(q) ?? 0) > 0 ? duration((ages.get(q) ?? 0) * 1000) : '—'}</td></tr>`)}</tbody></table>`}
</section>

<section aria-labelledby="h-complaints">
<h2 id="h-complaints">Complaints</h2>
<ul class="figures">
${cases.map((c) => html`<li>${String(c.labels.state)}: <strong>${c.value}</strong></li>`)}
${overdue.map((c) => html`<li>overdue to ${String(c.labels.deadline)}: <strong>${c.value}</strong></li>`)}
</ul>
${list.length === 0
    ? html`<p>No overdue cases.</p>`
    : html`<table><caption>Overdue cases (up to 5; <a href="${BASE}/complaints?overdue=true">all</a>)</caption>
<thead><tr><th scope="col">Case</th><th scope="col">Sender</th><th scope="col">Forward by</th><th scope="col">Handle by</th><th scope="col">State</th></tr></thead>
<tbody>${list.map((c) => html`<tr><td><a href="${BASE}/complaints/${c.id}">${c.id}</a></td><td>${c.sender ?? '—'}</td><td>${time(c.forward_due, v.tz)}</td><td>${time(c.handle_due, v.tz)}</td><td>${c.state}</td></tr>`)}</tbody></table>`}
</section>

<section aria-labelledby="h-health">
<h2 id="h-health">Rules and readiness</h2>
<p>Rule set: last reload ${rulesOk.length === 0 ? 'n/a (no rule loader)' : rulesOk[0]!.value === 1 ? html`${badge('succeeded', 'ok')}` : html`${badge('failed', 'bad')}`}</p>
<table><caption class="sr-only">Readiness checks</caption>
<thead><tr><th scope="col">Check</th><th scope="col">State</th><th scope="col">Detail</th></tr></thead>
<tbody>${Object.entries(ready.checks).map(([k, c]) => html`<tr><td>${k}</td><td>${c.ok ? badge('ok', 'ok') : badge('not ok', 'bad')}</td><td>${c.detail}</td></tr>`)}</tbody></table>
</section>`;
    return env.render(reply, req, 'overview', 'Overview', body);
  });
}
