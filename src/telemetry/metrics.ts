/**
 * telemetry/: Prometheus metrics (this file; fast-metrics.ts for the hot-path primitives), pino logs
 * and MSISDN masking (log.ts).
 *
 * Hot-path counts (every PDU) are kept in plain Maps keyed by numbers and handed to prom-client
 * only when Prometheus scrapes, so counting costs a Map update rather than label hashing.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { Command } from '../protocol/commands.js';
import { Status } from '../protocol/status.js';
import { FastHistogram, LabelCounts } from './fast-metrics.js';
import { RoutingMetrics } from './routing-metrics.js';

export type Side = 'upstream' | 'downstream';
export type Direction = 'in' | 'out';

const SIDES: Side[] = ['upstream', 'downstream'];
const DIRS: Direction[] = ['in', 'out'];

/*
 * The label values of smppguard_pdus_total are a fixed set, whatever a peer sends: the command
 * names of protocol/commands.ts plus "unknown", the status names of protocol/status.ts plus
 * "other". The vendor range (0x400–0x4FF, the policy's configurable refusals) keeps its names
 * except on what an ESME sends (upstream, in): an unauthenticated peer chooses those freely.
 */
const COMMAND_LABELS: string[] = [...Object.keys(Command), 'unknown'];
const COMMAND_SLOT = new Map<number, number>(Object.values(Command).map((id, i) => [id, i]));
const UNKNOWN_COMMAND = COMMAND_LABELS.length - 1;
const VENDOR_FIRST = 0x400;
const VENDOR_LAST = 0x4ff;
const STATUS_LABELS: string[] = [
  ...Object.keys(Status),
  ...Array.from({ length: VENDOR_LAST - VENDOR_FIRST + 1 }, (_, i) => `VENDOR_0x${(VENDOR_FIRST + i).toString(16)}`),
  'other',
];
const STATUS_SLOT = new Map<number, number>(Object.values(Status).map((code, i) => [code, i]));
const VENDOR_SLOT = Object.keys(Status).length;
const OTHER_STATUS = STATUS_LABELS.length - 1;

function statusSlot(status: number, trusted: boolean): number {
  const known = STATUS_SLOT.get(status);
  if (known !== undefined) return known;
  return trusted && status >= VENDOR_FIRST && status <= VENDOR_LAST ? VENDOR_SLOT + status - VENDOR_FIRST : OTHER_STATUS;
}

/** Seconds: GC pauses of interest for an inline gateway are 0.5–50 ms. */
export const GC_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1];

export class Metrics {
  readonly registry = new Registry();
  /** MT routing: per route and per SMSC (telemetry/routing-metrics.ts). */
  readonly routing: RoutingMetrics;
  /**
   * PDU counts by slot (command × status × side × direction, ~40k slots): a typed array, where a Map
   * cost four hashed lookups and stores per message on the hot path (bench/RESULTS.md, issue 23).
   */
  private readonly pduCounts = new Float64Array(COMMAND_LABELS.length * STATUS_LABELS.length * 4);
  private readonly pduReported = new Float64Array(COMMAND_LABELS.length * STATUS_LABELS.length * 4);
  private readonly collectors: (() => void)[] = [];
  private readonly decisionCounts = new LabelCounts(['account', 'action', 'reason'] as const);

  readonly pdus: Counter<'side' | 'direction' | 'command' | 'status'>;
  readonly bindsActive: Gauge<'account' | 'type'>;
  readonly bindAttempts: Counter<'account' | 'outcome'>;
  /** Refused binds by their true reason (upstream/bind-auth.ts BIND_FAILURES: a fixed set); the ESME always sees ESME_RBINDFAIL. */
  readonly bindFailures: Counter<'reason'>;
  /** Bind lockouts started (upstream/bind-auth.ts): scope pair (source IP + system_id) or ip (every system_id). */
  readonly bindLockouts: Counter<'scope'>;
  readonly sessionsClosed: Counter<'side' | 'reason'>;
  readonly malformed: Counter<'side' | 'reason'>;
  readonly smscLinkUp: Gauge<'smsc' | 'link'>;
  readonly smscInFlight: Gauge<'smsc'>;
  readonly smscResponseSeconds: FastHistogram;
  readonly smscTimeouts: Counter<'smsc'>;
  readonly lateResponses: Counter<'side'>;
  readonly throttled: Counter<'account' | 'limit'>;
  readonly decisions: Counter<'account' | 'action' | 'reason'>;
  /** A submit_sm/data_sm's time in the gateway from its arrival to its verdict, by action (forward, reject, queue). */
  readonly decisionSeconds: FastHistogram;
  readonly receipts: Counter<'outcome'>;
  readonly mo: Counter<'outcome'>;
  readonly redisErrors: Counter<'op'>;
  readonly pendingSubmits: Gauge;
  readonly redisSeconds: FastHistogram;
  readonly spoofing: Counter<'account' | 'reason'>;
  readonly replies: Counter<'kind' | 'outcome'>;
  readonly senderLookups: Counter<'result'>;
  readonly partDecisions: Counter<'result'>;
  readonly policyData: Gauge<'kind'>;
  readonly queueDepth: Gauge<'queue' | 'account'>;
  readonly queueOldestAge: Gauge<'queue'>;
  readonly queueJobs: Counter<'queue' | 'outcome'>;
  /** Reads queue depths from Redis at scrape time (set by the queue). */
  private queueProbe: (() => Promise<void>) | null = null;
  readonly complaints: Counter<'source' | 'resolved_by'>;
  readonly suspensions: Counter<'trigger' | 'mode'>;
  readonly complaintCases: Gauge<'state'>;
  readonly complaintsOverdue: Gauge<'deadline'>;
  readonly senderRejections: Counter<'account' | 'sender'>;
  readonly auditStream: Counter<'outcome'>;
  readonly auditBufferDropped: Counter;
  readonly auditBufferBytes: Gauge;
  readonly auditBufferAge: Gauge;
  readonly archiveLag: Gauge;
  readonly archiveShardsHeld: Gauge;
  readonly archiveBatches: Counter<'outcome'>;
  readonly archiveDecisions: Counter;
  readonly archiveBytes: Counter;
  readonly archiveFiles: Counter;
  readonly archiveMerges: Counter;
  readonly archiveMergedBytes: Counter;
  readonly archiveDaysDropped: Counter;
  readonly archiveProcessUp: Gauge;
  readonly archiveProcessRestarts: Counter;
  readonly auditLogDropped: Counter;
  readonly logSuppressed: Counter;
  readonly connectionsRefused: Counter<'reason'>;
  /** Held receipts/MO dropped: past receipts.held_ttl_h (expired) or over held_max_per_account (cap). */
  readonly heldDropped: Counter<'account' | 'reason'>;
  /** Held receipts/MO moved to the dead-letter list (refused receipts.dead_letter_after times). */
  readonly deadLetters: Counter<'account'>;
  /** Sender behaviour conditions that matched, per signal and mode (issue 18). */
  readonly behaviourFlags: Counter<'signal' | 'mode'>;
  /** Senders flagged by a behaviour rule: once per sender and rule an hour (this instance). */
  readonly behaviourSenders: Counter<'signal' | 'mode'>;
  /** Behaviour flags not yet handed to behaviourFlags (a bulk sender over a threshold is flagged on every message). */
  private readonly flagCounts = new LabelCounts(['signal', 'mode'] as const);
  private readonly flagKeys = new Map<string, { enforce: string; monitor: string }>();
  /** Receipts for behaviour profiles: recorded, ignored (not final), dropped (buffer full), failed (Redis). */
  readonly behaviourReceipts: Counter<'outcome'>;
  /** Reads the shared case counts at scrape time (set by the gateway when complaints are on). */
  caseStats: (() => Promise<{ open: number; forwarded: number; overdueForward: number; overdueHandle: number }>) | null = null;
  private readonly rejectionCounts = new LabelCounts(['account', 'sender'] as const);
  private readonly rejectionKeys = new Map<string, Map<string, string>>();
  /** Distinct senders labelled in smppguard_sender_rejections_total; the rest count as "other". */
  static readonly MAX_REJECTED_SENDERS = 2000;

  /** One message a behaviour rule flagged: a Map update, no label hashing (per message). */
  behaviourFlag(signal: string, mode: 'enforce' | 'monitor'): void {
    let keys = this.flagKeys.get(signal);
    if (keys === undefined) {
      keys = { enforce: `${signal}\u0001enforce`, monitor: `${signal}\u0001monitor` };
      // Signals are the four behaviour.ts names: bounded.
      if (this.flagKeys.size < 16) this.flagKeys.set(signal, keys);
    }
    this.flagCounts.add(keys[mode]);
  }

  constructor(collectDefaults = true) {
    const r = this.registry;
    // GC pauses in nodejs_gc_duration_seconds{kind}: finer buckets than prom-client's
    // (0.001, 0.01, 0.1, …), so a 2–5 ms scavenge that shows up in the p99 shows up here too.
    if (collectDefaults) collectDefaultMetrics({ register: r, gcDurationBuckets: GC_BUCKETS });
    this.routing = new RoutingMetrics(r);
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
    this.bindFailures = new Counter({
      name: 'smppguard_bind_failures_total',
      help: 'Refused bind attempts by true reason: unknown_account, ip_not_allowed, bad_password, locked_out, busy',
      labelNames: ['reason'],
      registers: [r],
    });
    this.bindLockouts = new Counter({
      name: 'smppguard_bind_lockouts_total',
      help: 'Bind lockouts started, by scope: pair (source IP and system_id) or ip (source IP, every system_id)',
      labelNames: ['scope'],
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
    this.smscResponseSeconds = new FastHistogram(
      'smppguard_smsc_response_seconds',
      'Time from forwarding a request to the SMSC to its response',
      'smsc',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    );
    r.registerMetric(this.smscResponseSeconds as never);
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
      collect() {
        self.decisionCounts.flush((labels, n) => self.decisions.inc(labels, n));
      },
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
    this.redisSeconds = new FastHistogram(
      'smppguard_redis_seconds',
      'Latency of Redis calls on the message path, by operation',
      'op',
      [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    );
    r.registerMetric(this.redisSeconds as never);
    this.decisionSeconds = new FastHistogram(
      'smppguard_decision_seconds',
      'Time from a submit_sm/data_sm read off its ESME socket to its verdict (policy, rules and their Redis round trip), by action',
      'action',
      [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    );
    r.registerMetric(this.decisionSeconds as never);
    this.spoofing = new Counter({
      name: 'smppguard_spoofing_attempts_total',
      help: 'Submits with a hidden, unregistered or someone else\'s sender number, by account and reason',
      labelNames: ['account', 'reason'],
      registers: [r],
    });
    this.deadLetters = new Counter({
      name: 'smppguard_dead_letters_total',
      help: 'Held receipts/MO the receiver refused receipts.dead_letter_after times, moved to the dead-letter list (admin API: /dead-letters)',
      labelNames: ['account'],
      registers: [r],
    });
    this.behaviourFlags = new Counter({
      name: 'smppguard_behaviour_flags_total',
      help: 'Messages on which a sender behaviour rule matched, by signal (distinct_recipients, sequential_recipients, undeliverable_share, volume_over_baseline) and mode',
      labelNames: ['signal', 'mode'],
      registers: [r],
      collect() {
        self.flagCounts.flush((labels, n) => self.behaviourFlags.inc(labels, n));
      },
    });
    this.behaviourSenders = new Counter({
      name: 'smppguard_behaviour_senders_flagged_total',
      help: 'Senders flagged by a behaviour rule, counted once per sender and rule an hour on each instance, by signal and mode',
      labelNames: ['signal', 'mode'],
      registers: [r],
    });
    this.behaviourReceipts = new Counter({
      name: 'smppguard_behaviour_receipts_total',
      help: 'Receipts fed to sender behaviour profiles: recorded, not_final (intermediate states), unmapped (no sender known), dropped (buffer full), failed (Redis)',
      labelNames: ['outcome'],
      registers: [r],
    });
    this.replies = new Counter({
      name: 'smppguard_replies_total',
      help: 'MO replies recognised as opt-out / opt-in / help keywords, by outcome',
      labelNames: ['kind', 'outcome'],
      registers: [r],
    });
    this.senderLookups = new Counter({
      name: 'smppguard_sender_cache_lookups_total',
      help: 'Sender registry lookups in the in-process cache, by result (found / missing)',
      labelNames: ['result'],
      registers: [r],
      collect() {
        self.senderLookups.inc({ result: 'found' }, self.senderFound - self.senderReported[0]!);
        self.senderLookups.inc({ result: 'missing' }, self.senderMissing - self.senderReported[1]!);
        self.senderReported = [self.senderFound, self.senderMissing];
      },
    });
    this.partDecisions = new Counter({
      name: 'smppguard_concat_part_decisions_total',
      help: 'Concatenated messages decided, by how: complete (all parts arrived), timeout, evicted (memory bound), flushed',
      labelNames: ['result'],
      registers: [r],
    });
    this.complaints = new Counter({
      name: 'smppguard_complaints_total',
      help: 'Complaints taken in (API or import), by source (12321, 7726, customer_care) and how they resolved (message_id, sender, none)',
      labelNames: ['source', 'resolved_by'],
      registers: [r],
    });
    this.suspensions = new Counter({
      name: 'smppguard_sender_suspensions_total',
      help: 'Automatic sender suspensions by trigger (complaints; behaviour: a behaviour rule\'s suspend action; rules: a suspend rule matching on anything else) and mode (enforce: done; monitor: would have)',
      labelNames: ['trigger', 'mode'],
      registers: [r],
    });
    const readCases = async () => {
      if (!self.caseStats) return;
      try {
        const st = await self.caseStats();
        self.complaintCases.set({ state: 'open' }, st.open);
        self.complaintCases.set({ state: 'forwarded' }, st.forwarded);
        self.complaintsOverdue.set({ deadline: 'forward' }, st.overdueForward);
        self.complaintsOverdue.set({ deadline: 'handle' }, st.overdueHandle);
      } catch {
        self.redisErrors.inc({ op: 'complaint_stats' });
      }
    };
    let casesRead: Promise<void> | null = null;
    // Both gauges come from one Redis read per scrape.
    const onceper = () => {
      casesRead ??= readCases().finally(() => setImmediate(() => (casesRead = null)));
      return casesRead;
    };
    this.complaintCases = new Gauge({
      name: 'smppguard_complaint_cases', aggregator: 'max',
      help: 'Complaint cases not yet handled, by state (open, forwarded); shared by every instance (read from Redis: use max, not sum)',
      labelNames: ['state'],
      registers: [r],
      collect: onceper,
    });
    this.complaintsOverdue = new Gauge({
      name: 'smppguard_complaint_cases_overdue', aggregator: 'max',
      help: 'Complaint cases past a deadline (forward: not forwarded in time; handle: not handled in time); shared by every instance',
      labelNames: ['deadline'],
      registers: [r],
      collect: onceper,
    });
    this.senderRejections = new Counter({
      name: 'smppguard_sender_rejections_total',
      help: `Rejected messages by account and source address as submitted (at most ${Metrics.MAX_REJECTED_SENDERS} senders, then "other")`,
      labelNames: ['account', 'sender'],
      registers: [r],
      collect() {
        self.rejectionCounts.flush((labels, n) => self.senderRejections.inc(labels, n));
      },
    });
    this.auditStream = new Counter({
      name: 'smppguard_audit_stream_entries_total',
      help: 'Decisions for the Redis audit stream (evidence): written, or dropped (Redis unavailable longer than the buffer holds)',
      labelNames: ['outcome'],
      registers: [r],
    });
    // The decision buffer and its archive (docs/evidence.md).
    this.auditBufferDropped = new Counter({
      name: 'smppguard_audit_buffer_dropped_total',
      help: 'Decisions trimmed from the Redis decision buffer by its bounds (audit.stream.buffer_max_bytes / buffer_max_age) before the archive had them',
      registers: [r],
    });
    this.auditBufferBytes = new Gauge({
      name: 'smppguard_audit_buffer_bytes', aggregator: 'max',
      help: 'Bytes of decision lines in the Redis decision buffer, all shards (read by the archive writer; the same on every instance that runs one)',
      registers: [r],
    });
    this.auditBufferAge = new Gauge({
      name: 'smppguard_audit_buffer_age_seconds', aggregator: 'max',
      help: 'Age of the oldest entry in the Redis decision buffer, all shards (archived entries stay for trim_grace_seconds)',
      registers: [r],
    });
    this.archiveLag = new Gauge({
      name: 'smppguard_archive_lag_seconds', aggregator: 'max',
      help: 'How far behind this archive writer is: the age of the oldest not yet archived decision entry of the shards it holds',
      registers: [r],
    });
    this.archiveShardsHeld = new Gauge({
      name: 'smppguard_archive_shards_held',
      help: 'Buffer shards whose archive lease this instance holds',
      registers: [r],
    });
    this.archiveBatches = new Counter({
      name: 'smppguard_archive_batches_total',
      help: 'Archive writer batches: ok (files published, cursor advanced) or error (retried next cycle)',
      labelNames: ['outcome'],
      registers: [r],
    });
    this.archiveDecisions = new Counter({
      name: 'smppguard_archive_decisions_total',
      help: 'Decisions written to archive files',
      registers: [r],
    });
    this.archiveBytes = new Counter({
      name: 'smppguard_archive_bytes_total',
      help: 'Bytes of archive files published by batches (bytes per decision: rate of this over rate of smppguard_archive_decisions_total)',
      registers: [r],
    });
    this.archiveFiles = new Counter({
      name: 'smppguard_archive_files_total',
      help: 'Archive files published by batches',
      registers: [r],
    });
    this.archiveMerges = new Counter({
      name: 'smppguard_archive_merges_total',
      help: "Compactions: a shard-day's small archive files merged into one",
      registers: [r],
    });
    this.archiveMergedBytes = new Counter({
      name: 'smppguard_archive_merged_bytes_total',
      help: 'Bytes of archive files written by merges (its rate over that of smppguard_archive_bytes_total: how many times compaction rewrites what the batches wrote)',
      registers: [r],
    });
    this.archiveDaysDropped = new Counter({
      name: 'smppguard_archive_partitions_dropped_total',
      help: 'Archive day partitions (per shard) deleted by retention (archive.retention_days)',
      registers: [r],
    });
    this.archiveProcessUp = new Gauge({
      name: 'smppguard_archive_process_up',
      help: "Whether this gateway's archive writer process is running (archive.child_process; 0 between a death and its restart)",
      registers: [r],
    });
    this.archiveProcessRestarts = new Counter({
      name: 'smppguard_archive_process_restarts_total',
      help: "Times this gateway's archive writer process died and was started again",
      registers: [r],
    });
    this.auditLogDropped = new Counter({
      name: 'smppguard_audit_log_dropped_total',
      help: 'Audit lines not written because the audit file could not be written (disk full, file or directory gone) or stdout/the file did not keep up (more than audit.max_buffer_bytes waiting, e.g. a pipe nobody reads)',
      registers: [r],
    });
    this.heldDropped = new Counter({
      name: 'smppguard_held_dropped_total',
      help: 'Held receipts/MO dropped undelivered, by account and reason: expired (older than receipts.held_ttl_h) or cap (over receipts.held_max_per_account)',
      labelNames: ['account', 'reason'],
      registers: [r],
    });
    this.logSuppressed = new Counter({
      name: 'smppguard_log_lines_suppressed_total',
      help: 'Log lines about unauthenticated peers not written: at most one per source IP per minute (telemetry/peer-log.ts)',
      registers: [r],
    });
    this.connectionsRefused = new Counter({
      name: 'smppguard_connections_refused_total',
      help: 'ESME connections closed on accept, by the limit hit (max_connections, max_connections_per_ip)',
      labelNames: ['reason'],
      registers: [r],
    });
    this.policyData = new Gauge({
      name: 'smppguard_policy_data', aggregator: 'min',
      help: 'Policy data held in process: senders (registry entries), dnd_generation, loaded (1 once the registry is loaded)',
      labelNames: ['kind'],
      registers: [r],
    });
    this.queueDepth = new Gauge({
      name: 'smppguard_queue_depth', aggregator: 'max',
      help: 'Messages queued (answered ESME_ROK, not yet delivered) by queue (window, saf, review) and account',
      labelNames: ['queue', 'account'],
      registers: [r],
      async collect() {
        await self.probeQueue();
      },
    });
    this.queueOldestAge = new Gauge({
      name: 'smppguard_queue_oldest_age_seconds', aggregator: 'max',
      help: 'Age of the oldest queued message by queue',
      labelNames: ['queue'],
      registers: [r],
      async collect() {
        await self.probeQueue();
      },
    });
    this.queueJobs = new Counter({
      name: 'smppguard_queue_jobs_total',
      help: 'Queue events by queue and outcome: queued, refused_quota, timeout (not stored in time: answered 0x08), released, refused_at_release (the decision at release refused it: consent withdrawn, DND, sender suspended), retried, expired, approved, rejected, failed (permanent SMSC refusal)',
      labelNames: ['queue', 'outcome'],
      registers: [r],
    });
  }

  setQueueProbe(fn: () => Promise<void>): void {
    this.queueProbe = fn;
  }

  /** One Redis read per scrape for both queue gauges (prom-client collects metrics concurrently). */
  private probeQueue(): Promise<void> {
    if (!this.queueProbe) return Promise.resolve();
    this.probing ??= this.queueProbe()
      .catch(() => this.redisErrors.inc({ op: 'queue_metrics' }))
      .finally(() => (this.probing = null));
    return this.probing;
  }
  private probing: Promise<void> | null = null;
  /**
   * Counts a rejected message by account and source address, for "top rejected senders". The
   * label set is bounded: after MAX_REJECTED_SENDERS distinct senders new ones count as "other"
   * (spoofers cycle through random numbers).
   */
  countRejection(account: string, sender: string): void {
    let byAccount = this.rejectionKeys.get(account);
    if (!byAccount) this.rejectionKeys.set(account, (byAccount = new Map()));
    let key = byAccount.get(sender);
    if (key === undefined) {
      if (this.rejectionSenders >= Metrics.MAX_REJECTED_SENDERS) {
        key = byAccount.get('other') ?? `${account}\u0001other`;
        byAccount.set('other', key);
      } else {
        this.rejectionSenders++;
        byAccount.set(sender, (key = `${account}\u0001${sender}`));
      }
    }
    this.rejectionCounts.add(key);
  }
  private rejectionSenders = 0;

  /** Counts a sender registry lookup (found / not found) without label hashing. */
  countSenderLookup(found: boolean): void {
    if (found) this.senderFound++;
    else this.senderMissing++;
  }
  private senderFound = 0;
  private senderMissing = 0;
  private senderReported = [0, 0];

  /** Runs `fn` at every scrape, before gauges are read (for values owned elsewhere). */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  /** Counts one policy decision; the hot path (handed to prom-client at scrape time). */
  countDecision(account: string, action: string, reason: string): void {
    // Traffic repeats one tuple (a bulk sender's forwards): the last one's key without three lookups.
    if (account === this.lastDecision[0] && action === this.lastDecision[1] && reason === this.lastDecision[2]) {
      return this.decisionCounts.add(this.lastDecisionKey);
    }
    // The label key is built once per (action, reason, account), not per message.
    let byReason = this.decisionKeys.get(action);
    if (!byReason) this.decisionKeys.set(action, (byReason = new Map()));
    let byAccount = byReason.get(reason);
    if (!byAccount) byReason.set(reason, (byAccount = new Map()));
    let key = byAccount.get(account);
    if (key === undefined) byAccount.set(account, (key = `${account}\u0001${action}\u0001${reason}`));
    this.lastDecision = [account, action, reason];
    this.lastDecisionKey = key;
    this.decisionCounts.add(key);
  }
  private lastDecision: [string, string, string] = ['', '', ''];
  private lastDecisionKey = '';
  private readonly decisionKeys = new Map<string, Map<string, Map<string, string>>>();

  /** Counts one PDU; the hot path. Commands and statuses count under a fixed label set (above). */
  countPdu(side: Side, direction: Direction, commandId: number, status: number): void {
    const ci = COMMAND_SLOT.get(commandId) ?? UNKNOWN_COMMAND;
    const si = status === 0 ? 0 : statusSlot(status, side === 'downstream' || direction === 'out');
    const key = ((ci * STATUS_LABELS.length + si) * 2 + (side === 'upstream' ? 0 : 1)) * 2 + (direction === 'in' ? 0 : 1);
    this.pduCounts[key]!++;
  }

  private flushPduCounts(): void {
    const counts = this.pduCounts;
    for (let key = 0; key < counts.length; key++) {
      const n = counts[key]!;
      const done = this.pduReported[key]!;
      if (n === done) continue;
      const dir = DIRS[key % 2]!;
      const side = SIDES[Math.floor(key / 2) % 2]!;
      const rest = Math.floor(key / 4);
      const status = STATUS_LABELS[rest % STATUS_LABELS.length]!;
      const command = COMMAND_LABELS[Math.floor(rest / STATUS_LABELS.length)]!;
      this.pdus.inc({ side, direction: dir, command, status }, n - done);
      this.pduReported[key] = n;
    }
  }

  /**
   * The exposition text, as registry.metrics() gives it, one metric at a time with the event loop
   * yielded between them: a scrape with per-account series held the loop ~18 ms in one go
   * (bench/stalls.ts, 200 accounts), every answer due meanwhile waiting behind it (issue 23).
   * Metrics are read in registration order as before, each collect hook just before its metric.
   */
  async text(): Promise<string> {
    const parts: string[] = [];
    for (const metric of this.registry.getMetricsAsArray()) {
      if (this.registry.getSingleMetric(metric.name) === undefined) continue; // removed meanwhile
      parts.push(await this.registry.getSingleMetricAsString(metric.name));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return `${parts.join('\n\n')}\n`;
  }
}
