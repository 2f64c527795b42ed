/**
 * Traffic-intelligence metrics (issue 18), registered on the gateway's registry:
 *
 *   smppguard_intel_key_matches_total{key, mode}    matches of rules that use an intelligence key
 *                                                   (campaign.senders_over, content.numbers_in, …)
 *   smppguard_intel_feedback_total{source, verdict, found}  complaints and reviews turned into marks
 *   smppguard_intel_marks                           live fingerprint marks in this instance's copy
 *   smppguard_intel_reputation_entries{set}         entries per reputation set ("<kind>:<name>")
 *   smppguard_campaign_top_messages{fingerprint}    forwarded commercial messages in the last full
 *                                                   minute of the 20 busiest fingerprints (bounded:
 *                                                   20 label values at a time; Grafana's top campaigns)
 *
 * And the shared tally's (TallyMetrics; store/intel-tally.ts):
 *   smppguard_intel_tally_answers_total{where}      intelligence counters answered in process
 *                                                   (local) or in the message's round trip (redis)
 *   smppguard_intel_tally_flush_seconds             one share of the tally with Redis
 *   smppguard_intel_tally_counters                  counters held in process
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LabelCounts } from './fast-metrics.js';

export class TallyMetrics {
  readonly answers: Counter<'where'>;
  readonly flush: Histogram;
  readonly counters: Gauge;
  private seen = { warm: 0, cold: 0 };

  constructor(registry: Registry) {
    const r = [registry];
    this.answers = new Counter({
      name: 'smppguard_intel_tally_answers_total',
      help: 'Traffic-intelligence counters answered in process (local) or in the message round trip to Redis (redis)',
      labelNames: ['where'],
      registers: r,
    });
    this.flush = new Histogram({
      name: 'smppguard_intel_tally_flush_seconds',
      help: 'Time one share of the in-process intelligence counters with Redis took',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: r,
    });
    this.counters = new Gauge({ name: 'smppguard_intel_tally_counters', aggregator: 'sum', help: 'Traffic-intelligence counters held in process', registers: r });
  }

  /** At scrape time: the tally's running totals into the counters. */
  collect(t: { warm: number; cold: number; size: { keys: number } }): void {
    if (t.warm > this.seen.warm) this.answers.inc({ where: 'local' }, t.warm - this.seen.warm);
    if (t.cold > this.seen.cold) this.answers.inc({ where: 'redis' }, t.cold - this.seen.cold);
    this.seen = { warm: t.warm, cold: t.cold };
    this.counters.set(t.size.keys);
  }
}

/** Fingerprints counted per minute at most (beyond, new ones in that minute are not counted). */
const MAX_TRACKED = 10_000;
const TOP = 20;

export class IntelMetrics {
  readonly keyMatches: Counter<'key' | 'mode'>;
  readonly feedback: Counter<'source' | 'verdict' | 'found'>;
  readonly marks: Gauge;
  readonly reputation: Gauge<'set'>;
  readonly top: Gauge<'fingerprint'>;
  private minute = 0;
  private counts = new Map<string, number>();

  constructor(
    registry: Registry,
    private readonly now: () => number = Date.now,
  ) {
    const r = [registry];
    this.keyMatches = new Counter({ name: 'smppguard_intel_key_matches_total', help: 'Matches of rules that use a traffic-intelligence key (campaign.*, content.*), by key and mode', labelNames: ['key', 'mode'], registers: r });
    this.feedback = new Counter({
      name: 'smppguard_intel_feedback_total',
      help: 'Complaints and reviewer decisions turned into fingerprint marks, by source, verdict and whether the message was found (memory, text, none)',
      labelNames: ['source', 'verdict', 'found'],
      registers: r,
    });
    this.marks = new Gauge({ name: 'smppguard_intel_marks', aggregator: 'max', help: 'Live campaign fingerprint marks (complained, rejected, allowed) in this instance', registers: r });
    this.reputation = new Gauge({ name: 'smppguard_intel_reputation_entries', aggregator: 'max', help: 'Entries per reputation set (kind:name) in this instance', labelNames: ['set'], registers: r });
    this.top = new Gauge({
      name: 'smppguard_campaign_top_messages',
      help: 'Forwarded commercial messages in the last full minute, for the 20 busiest campaign fingerprints',
      labelNames: ['fingerprint'],
      registers: r,
    });
  }

  /** Matches per key and mode not yet handed to keyMatches (collect() does, at scrape time). */
  private readonly keyCounts = new LabelCounts(['key', 'mode'] as const);

  /**
   * One match of a rule using an intelligence key, as a rule hit keeps it: "<key>\u0001<mode>"
   * (rules/counts.ts Hit.intelCells). One Map update, no label hashing (per message).
   */
  keyMatch(cell: string): void {
    this.keyCounts.add(cell);
  }

  /** One forwarded commercial message of fingerprint `fp` (the hot path: one Map update). */
  countCampaign(fp: string): void {
    const m = Math.floor(this.now() / 60_000);
    if (m !== this.minute) this.roll(m);
    const n = this.counts.get(fp);
    if (n !== undefined) this.counts.set(fp, n + 1);
    else if (this.counts.size < MAX_TRACKED) this.counts.set(fp, 1);
  }

  /** A new minute: the last one's busiest fingerprints become the gauge. */
  private roll(minute: number): void {
    const last = minute === this.minute + 1 ? this.counts : new Map<string, number>();
    this.minute = minute;
    this.counts = new Map();
    this.top.reset();
    const best = [...last].sort((a, b) => b[1] - a[1]).slice(0, TOP);
    for (const [fp, n] of best) this.top.set({ fingerprint: fp }, n);
  }

  /** Called at scrape time: rolls an idle minute over and hands the key matches counted since to the counter. */
  collect(): void {
    this.keyCounts.flush((labels, n) => this.keyMatches.inc(labels, n));
    const m = Math.floor(this.now() / 60_000);
    if (m !== this.minute) this.roll(m);
  }
}
