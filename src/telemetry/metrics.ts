/**
 * telemetry/: Prometheus metrics (this file), pino logs and MSISDN masking (log.ts).
 *
 * Hot-path counts (every PDU) are kept in plain Maps keyed by numbers and handed to prom-client
 * only when Prometheus scrapes, so counting costs a Map update rather than label hashing.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { commandName } from '../protocol/commands.js';
import { statusName } from '../protocol/status.js';

export type Side = 'upstream' | 'downstream';
export type Direction = 'in' | 'out';

const SIDES: Side[] = ['upstream', 'downstream'];
const DIRS: Direction[] = ['in', 'out'];

export class Metrics {
  readonly registry = new Registry();
  private readonly pduCounts = new Map<number, number>();
  private readonly pduReported = new Map<number, number>();
  private readonly commandIndex = new Map<number, number>();
  private readonly commandIds: number[] = [];
  private readonly collectors: (() => void)[] = [];

  readonly pdus: Counter<'side' | 'direction' | 'command' | 'status'>;
  readonly bindsActive: Gauge<'account' | 'type'>;
  readonly bindAttempts: Counter<'account' | 'outcome'>;
  readonly sessionsClosed: Counter<'side' | 'reason'>;
  readonly malformed: Counter<'side' | 'reason'>;
  readonly smscLinkUp: Gauge<'smsc' | 'link'>;
  readonly smscInFlight: Gauge<'smsc'>;
  readonly smscResponseSeconds: Histogram<'smsc'>;
  readonly smscTimeouts: Counter<'smsc'>;
  readonly lateResponses: Counter<'side'>;
  readonly throttled: Counter<'account' | 'limit'>;
  readonly decisions: Counter<'account' | 'action' | 'reason'>;
  readonly receipts: Counter<'outcome'>;
  readonly mo: Counter<'outcome'>;
  readonly redisErrors: Counter<'op'>;
  readonly pendingSubmits: Gauge;

  constructor(collectDefaults = true) {
    const r = this.registry;
    if (collectDefaults) collectDefaultMetrics({ register: r, prefix: 'smppguard_' });
    const self = this;
    this.pdus = new Counter({
      name: 'smppguard_pdus_total',
      help: 'PDUs by side (upstream = ESMEs, downstream = SMSCs), direction, command and status',
      labelNames: ['side', 'direction', 'command', 'status'],
      registers: [r],
      collect() {
        self.flushPduCounts();
      },
    });
    this.bindsActive = new Gauge({
      name: 'smppguard_binds_active',
      help: 'Bound ESME sessions by account and bind type',
      labelNames: ['account', 'type'],
      registers: [r],
    });
    this.bindAttempts = new Counter({
      name: 'smppguard_bind_attempts_total',
      help: 'ESME bind attempts by account and outcome (ok or the refusal status)',
      labelNames: ['account', 'outcome'],
      registers: [r],
    });
    this.sessionsClosed = new Counter({
      name: 'smppguard_sessions_closed_total',
      help: 'Sessions closed, by side and reason',
      labelNames: ['side', 'reason'],
      registers: [r],
    });
    this.malformed = new Counter({
      name: 'smppguard_malformed_pdus_total',
      help: 'PDUs answered with generic_nack or an error status because they were malformed',
      labelNames: ['side', 'reason'],
      registers: [r],
    });
    this.smscLinkUp = new Gauge({
      name: 'smppguard_smsc_link_up',
      help: '1 when the bind to the SMSC is up',
      labelNames: ['smsc', 'link'],
      registers: [r],
    });
    this.smscInFlight = new Gauge({
      name: 'smppguard_smsc_in_flight',
      help: 'Requests sent to the SMSC and not yet answered (window use)',
      labelNames: ['smsc'],
      registers: [r],
      collect() {
        for (const fn of self.collectors) fn();
      },
    });
    this.smscResponseSeconds = new Histogram({
      name: 'smppguard_smsc_response_seconds',
      help: 'Time from forwarding a request to the SMSC to its response',
      labelNames: ['smsc'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [r],
    });
    this.smscTimeouts = new Counter({
      name: 'smppguard_smsc_timeouts_total',
      help: 'Requests the SMSC did not answer in time (the ESME got ESME_RSYSERR)',
      labelNames: ['smsc'],
      registers: [r],
    });
    this.lateResponses = new Counter({
      name: 'smppguard_late_responses_total',
      help: 'Responses that matched no pending request (late after a timeout, or unknown)',
      labelNames: ['side'],
      registers: [r],
    });
    this.throttled = new Counter({
      name: 'smppguard_throttled_total',
      help: 'Submits refused with ESME_RTHROTTLED, by account and the limit hit (tps, window, pending)',
      labelNames: ['account', 'limit'],
      registers: [r],
    });
    this.decisions = new Counter({
      name: 'smppguard_decisions_total',
      help: 'Policy decisions on submit_sm/data_sm by account, action and reason code',
      labelNames: ['account', 'action', 'reason'],
      registers: [r],
    });
    this.receipts = new Counter({
      name: 'smppguard_receipts_total',
      help: 'Delivery receipts from SMSCs: routed (to a bound receiver), held (stored until one binds), released (held then delivered), unmatched (no id mapping), deferred (temporary error to the SMSC)',
      labelNames: ['outcome'],
      registers: [r],
    });
    this.mo = new Counter({
      name: 'smppguard_mo_total',
      help: 'MO messages from SMSCs: routed, held, released, unroutable, deferred',
      labelNames: ['outcome'],
      registers: [r],
    });
    this.redisErrors = new Counter({
      name: 'smppguard_redis_errors_total',
      help: 'Redis calls that failed or timed out, by operation',
      labelNames: ['op'],
      registers: [r],
    });
    this.pendingSubmits = new Gauge({
      name: 'smppguard_pending_submits',
      help: 'Submits waiting for SMSC window or throughput',
      registers: [r],
    });
  }

  /** Runs `fn` at every scrape, before gauges are read (for values owned elsewhere). */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  /** Counts one PDU; the hot path. */
  countPdu(side: Side, direction: Direction, commandId: number, status: number): void {
    let ci = this.commandIndex.get(commandId);
    if (ci === undefined) {
      ci = this.commandIds.length;
      this.commandIds.push(commandId);
      this.commandIndex.set(commandId, ci);
    }
    const key = ((ci * 0x10000 + (status & 0xffff)) * 2 + (side === 'upstream' ? 0 : 1)) * 2 + (direction === 'in' ? 0 : 1);
    this.pduCounts.set(key, (this.pduCounts.get(key) ?? 0) + 1);
  }

  private flushPduCounts(): void {
    for (const [key, n] of this.pduCounts) {
      const done = this.pduReported.get(key) ?? 0;
      if (n === done) continue;
      const dir = DIRS[key % 2]!;
      const side = SIDES[Math.floor(key / 2) % 2]!;
      const rest = Math.floor(key / 4);
      const status = rest % 0x10000;
      const commandId = this.commandIds[Math.floor(rest / 0x10000)]!;
      this.pdus.inc({ side, direction: dir, command: commandName(commandId), status: statusName(status) }, n - done);
      this.pduReported.set(key, n);
    }
  }

  /** Total PDUs counted so far matching the filter (tests and the demo read this). */
  pduTotal(side: Side, direction: Direction, commandId: number): number {
    const ci = this.commandIndex.get(commandId);
    if (ci === undefined) return 0;
    let sum = 0;
    for (const [key, n] of this.pduCounts) {
      const d = key % 2;
      const s = Math.floor(key / 2) % 2;
      const c = Math.floor(Math.floor(key / 4) / 0x10000);
      if (c === ci && DIRS[d] === direction && SIDES[s] === side) sum += n;
    }
    return sum;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
