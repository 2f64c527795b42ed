/**
 * The wiring, and nothing else: config in, a running gateway out.
 *
 *   ESME ─submit_sm→ upstream/esme-session ─→ relay/relay (decision/) ─→ downstream/smsc-pool ─→ SMSC
 *   ESME ←deliver_sm─ upstream/esme-session ←─ relay/relay (store/)  ←─ downstream/smsc-link ←─ SMSC
 */
import { IntelStore } from './store/intel-store.js';
import { Feedback } from './decision/feedback.js';
import { IntelMetrics, TallyMetrics } from './telemetry/intel-metrics.js';
import { IntelTally } from './store/intel-tally.js';
import type { ComplaintCase } from './domain/complaint.js';
import { availableParallelism } from 'node:os';
import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { ConfigError, configWarnings, loadConfig } from './config/load.js';
import { reloadPlan, type ReloadPlan } from './config/reload-plan.js';
import { missingPaths } from './config/paths.js';
import type { Config } from './config/schema.js';
import { applyWorkerShare, smscsWithoutBind } from './config/workers.js';
import { buildHttp, type Readiness } from './admin/http.js';
import { SmscPool } from './downstream/smsc-pool.js';
import { smscPassword } from './downstream/smsc-link.js';
import { DecisionService } from './decision/service.js';
import { MtRouter } from './decision/mt-router.js';
import { ReplyHandler } from './decision/replies.js';
import { SenderRegistry } from './policy/senders.js';
import { normaliseAddress } from './policy/address.js';
import type { MessageView } from './protocol/message-view.js';
import { DndGeneration } from './store/dnd-generation.js';
import { BindThrottleStore } from './store/bind-throttle.js';
import { PolicyAdmin } from './store/policy-admin.js';
import { PolicyCheck } from './store/policy-check.js';
import { PolicySync } from './store/policy-sync.js';
import { RuleLoader } from './decision/rule-loader.js';
import { ModelLoader } from './decision/model-loader.js';
import { RateStore } from './store/rates.js';
import { Relay } from './relay/relay.js';
import { MessageQueue } from './queue/message-queue.js';
import { DeliveryWorker } from './queue/worker.js';
import { PrefixRoutes } from './relay/routes.js';
import { DlrMap } from './store/dlr-map.js';
import { AuditStream } from './store/audit-stream.js';
import { Archive, writerPlace } from './archive/service.js';
import { ComplaintStore } from './store/complaint-store.js';
import { LabelStore } from './store/label-store.js';
import { ComplaintDesk } from './complaints/desk.js';
import { HeldDeliveries } from './store/held-deliveries.js';
import { connectRedis, ConnectionWatch, createRedis, redisTls, type Redis } from './store/redis.js';
import { RespPipe } from './store/resp-pipe.js';
import { systemClock, type Clock } from './session/clock.js';
import { AuditLog, createLogger, setMasking, type Logger } from './telemetry/log.js';
import { redactUrl } from './telemetry/redact.js';
import { Metrics } from './telemetry/metrics.js';
import { AccountTable, type Account } from './upstream/accounts.js';
import { ipAllowed } from './upstream/cidr.js';
import { BindAuth } from './upstream/bind-auth.js';
import { FairLimiter } from './upstream/fair-limiter.js';
import { layoutProblems } from './store/slots.js';
import { SharedLimits } from './upstream/shared-limits.js';
import { CertReloader } from './upstream/cert-reloader.js';
import { UpstreamServer } from './upstream/server.js';
import { parseDuration } from './domain/time.js';
import { BehaviourStore } from './store/behaviour-store.js';
import { BehaviourActions } from './decision/behaviour-actions.js';
import { BehaviourFeed } from './decision/behaviour-feed.js';

/** The live MT routing table (swapped on reload). */
export interface Routing {
  router: MtRouter | null;
}

export interface GatewayOptions {
  log?: Logger;
  clock?: Clock;
  /** Collect Node process metrics (off in tests that start many gateways). */
  processMetrics?: boolean;
  /**
   * Worker `index` of `count` (config `workers`, cli/workers.ts): the config given is the box's and
   * is cut to this worker's share here and on every reload (config/workers.ts).
   */
  worker?: { index: number; count: number };
  /** Serves /metrics (workers: the box's, aggregated by the primary); default this process's registry. */
  metricsText?: () => Promise<string>;
  /** Answers /readyz (workers: the box's readiness, asked of every worker); default this process's. */
  readiness?: (own: () => Promise<Readiness>) => Promise<Readiness>;
}

export class Gateway {
  smppPort = 0;
  /** SMPP over TLS (listen.tls); 0 without it. */
  smppTlsPort = 0;
  httpPort = 0;
  private stopping: Promise<void> | null = null;
  /** Traffic intelligence (marks, reputation, memory; issue 18); null with policy or intel off. */
  intel: IntelStore | null = null;
  /** The intelligence counters counted in process (intel.share_ms); null: off. */
  tally: IntelTally | null = null;
  /** Content-score models (config models:; null with policy off). */
  models: ModelLoader | null = null;
  /** The labelled store reviewers and complaints feed (null when labels.enabled is false or policy off). */
  labels: LabelStore | null = null;
  /** The live MT routing table (set by start). */
  private routing: Routing = { router: null };
  /** Why the last config reload was refused (null: it was applied, or none yet). */
  private configError: string | null = null;
  private configLoadedAt = Date.now();
  private clock: Clock = systemClock;
  /** This process's place among the box's workers (null: the only process). */
  private worker: { index: number; count: number } | null = null;
  private firstLink = new Map<string, number>();

  private constructor(
    readonly cfg: Config,
    readonly log: Logger,
    readonly metrics: Metrics,
    readonly redis: Redis,
    readonly accounts: AccountTable,
    readonly pool: SmscPool,
    readonly relay: Relay,
    readonly upstream: UpstreamServer,
    readonly http: FastifyInstance,
    readonly store: PolicyAdmin,
    /** The per-message consent/DND/counter round trip (its pipe is the hot path's connection). */
    readonly policyCheck: PolicyCheck,
    readonly sync: PolicySync<SenderRegistry>,
    readonly decisions: DecisionService,
    readonly rules: RuleLoader | null,
    readonly queue: { store: MessageQueue; worker: DeliveryWorker; redis: Redis } | null,
    readonly limits: SharedLimits,
    /** Complaint intake (null with policy off) and the durable decision stream (null when off). */
    readonly complaints: ComplaintDesk | null,
    readonly auditStream: AuditStream | null,
    /** Why the main Redis client is down, for /readyz. */
    private readonly redisWatch: ConnectionWatch,
    /** The HTTPS port's certificate (http.tls), kept current like the SMPP listener's. */
    private readonly httpCerts: CertReloader | null,
    /** The decision archive (reader; writer when archive.enabled); null when decisions are not recorded. */
    readonly archive: Archive | null = null,
  ) {}

  static async start(cfg: Config, opts: GatewayOptions = {}): Promise<Gateway> {
    const log = opts.log ?? createLogger(cfg.log.level);
    const { firstLink } = opts.worker ? applyWorkerShare(cfg, opts.worker.index, opts.worker.count) : { firstLink: new Map<string, number>() };
    if (opts.worker) {
      const none = smscsWithoutBind(cfg, opts.worker.index, opts.worker.count);
      if (none.length > 0) log.warn({ smscs: none, workers: opts.worker.count }, 'these SMSCs have fewer binds than there are workers: this worker has none to them (their traffic from its ESMEs waits for, or fails over to, the SMSCs it has)');
    }
    // An SMSC password_env that is unset or empty stops the start here, naming the variable.
    for (const s of cfg.downstream.smscs) smscPassword(s);
    // A rules directory or TLS file that is not there stops the start, naming it (never "no rules").
    const missing = missingPaths(cfg);
    if (missing.length > 0) throw new Error(`the config names paths that do not exist:\n  ${missing.join('\n  ')}`);
    const layout = layoutProblems(cfg.redis.key_prefix, cfg.queue.prefix ?? `${cfg.redis.key_prefix}{q}`);
    if (layout.length > 0) throw new Error(`the Redis key layout would cross Cluster slots:\n  ${layout.join('\n  ')}`);
    setMasking(cfg.log.mask_msisdn);
    for (const w of configWarnings(cfg)) log.warn({ account: w.account }, w.message);
    const clock = opts.clock ?? systemClock;
    const metrics = new Metrics(opts.processMetrics ?? true);
    const redis = createRedis(cfg.redis);
    const redisWatch = new ConnectionWatch(redis, log, () => metrics.redisErrors.inc({ op: 'connection' }));
    // max_binds and TPS hold over every instance sharing this Redis (upstream/shared-limits.ts).
    const limits = new SharedLimits(redis, cfg.redis.key_prefix, metrics, () => clock.now());
    const accounts = new AccountTable(cfg.accounts, clock.now(), (a) => (a.tps > 0 ? limits.rateFor(a.system_id, a.tps, clock.now()) : undefined));
    const dlrMap = new DlrMap(redis, cfg.redis.key_prefix, cfg.receipts.map_ttl_s, () => clock.now(), (err) => {
      metrics.redisErrors.inc({ op: 'dlr_record' });
      log.warn({ err: String(err) }, 'could not record message id for receipt routing');
    });
    const held = new HeldDeliveries(
      redis,
      cfg.redis.key_prefix,
      { ttlMs: cfg.receipts.held_ttl_h * 3_600_000, maxPerAccount: cfg.receipts.held_max_per_account, deadLetterAfter: cfg.receipts.dead_letter_after },
      metrics,
      () => clock.now(),
    );
    const bcfg = cfg.behaviour;
    const profileTtlMs = parseDuration(bcfg.profile_ttl)!;
    const rates = new RateStore(redis, cfg.redis.key_prefix, {
      clock,
      behaviour: { alpha: 2 / (bcfg.baseline_days + 1), minDays: bcfg.baseline_min_days, ttlMs: profileTtlMs },
    });
    const behaviourStore = new BehaviourStore(redis, cfg.redis.key_prefix, {
      receiptsWindow: bcfg.receipts_window,
      ttlMs: profileTtlMs,
      onError: () => {
        metrics.redisErrors.inc({ op: 'behaviour_receipts' });
        metrics.behaviourReceipts.inc({ outcome: 'failed' });
      },
      onDropped: (n) => metrics.behaviourReceipts.inc({ outcome: 'dropped' }, n),
    });
    // The hot path's own connection for plain commands (store/resp-pipe.ts), and the decision
    // stream's: a single Redis only.
    const r = cfg.redis;
    const plainPipes = r.hot_path === 'commands' && !r.sentinel && !r.cluster && RespPipe.supports(r.url);
    const openPipe = () => new RespPipe(r.url, r.command_timeout_ms, () => metrics.redisErrors.inc({ op: 'connection' }), redisTls(r));
    // Policy off: only when a route needs the ported lookup (its one pipelined lookup a message).
    const pipe = plainPipes && (cfg.policy.enabled || cfg.routes.mt.some((m) => m.ported_to !== undefined)) ? openPipe() : null;
    const dndGeneration = new DndGeneration(redis, cfg.redis.key_prefix);
    const policyCheck = new PolicyCheck(redis, cfg.redis.key_prefix, dndGeneration, rates, pipe);
    const store = new PolicyAdmin(redis, cfg.redis.key_prefix, cfg.policy.journal_retention_days * 86_400_000, dndGeneration);
    const registry = new SenderRegistry();
    const sync = new PolicySync(store, registry, metrics, log, policyCheck.ported);
    // Content-score models first: rules naming one are checked against them (decision/model-loader.ts).
    const models = cfg.policy.enabled ? new ModelLoader(cfg.models, { registry: metrics.registry, log }) : null;
    if (models) {
      if (cfg.rules.watch) models.start();
      else models.load();
    }
    const rules = cfg.policy.enabled ? new RuleLoader(cfg.rules.dir, { registry: metrics.registry, log, allowQueue: cfg.queue.enabled, models: models ?? undefined }) : null;
    if (rules) {
      if (cfg.rules.watch) rules.start();
      else rules.load();
    }
    const st = cfg.audit.stream;
    // The decision stream's flushes on a connection of their own (store/audit-stream.ts says why).
    const streamPipe = plainPipes && cfg.policy.enabled && st.enabled ? openPipe() : null;
    const auditStream =
      cfg.policy.enabled && st.enabled
        ? new AuditStream(
            redis,
            cfg.redis.key_prefix,
            { shards: st.shards, maxBytes: st.buffer_max_bytes, maxAgeMs: st.buffer_max_age_s * 1000, flushMs: st.flush_ms, maxBuffer: st.max_buffer, instance: limits.instanceId },
            metrics,
            Date.now,
            streamPipe,
          )
        : null;
    // The decision archive: evidence reads it (and the buffer); its writer runs here when its place is the loop.
    // Its own connection: reads of thousands of entries and file-sized work want a longer timeout than a message's check.
    const archiveRedis = auditStream ? createRedis({ ...cfg.redis, command_timeout_ms: Math.max(cfg.redis.command_timeout_ms, 10_000) }) : null;
    archiveRedis?.on('error', () => metrics.redisErrors.inc({ op: 'archive_connection' }));
    const archive = archiveRedis ? new Archive(cfg, archiveRedis, { stream: auditStream!, runWriter: writerPlace(cfg) === 'loop', metrics, log, ownsRedis: true }) : null;
    const cases = cfg.policy.enabled ? new ComplaintStore(redis, cfg.redis.key_prefix) : null;
    // Traffic intelligence (issue 18): marks, reputation sets and the memory's campaign texts; the rules read its index.
    const ic = cfg.intel;
    const intel =
      cfg.policy.enabled && ic.enabled
        ? new IntelStore(redis, cfg.redis.key_prefix, {
            maxMarks: ic.max_marks,
            maxEntries: ic.max_reputation_entries,
            memoryTtlS: ic.memory_retention_s,
            maxTexts: ic.memory_max_texts,
            now: () => clock.now(),
          })
        : null;
    const intelMetrics = intel ? new IntelMetrics(metrics.registry, () => clock.now()) : null;
    if (intel && intelMetrics) {
      metrics.onCollect(() => {
        intelMetrics.collect();
        intelMetrics.marks.set(intel.index.markCount);
        for (const [set, n] of intel.index.setSizes()) intelMetrics.reputation.set({ set }, n);
      });
    }
    // The intelligence counters, counted here and shared once a second (store/intel-tally.ts).
    const tally =
      cfg.policy.enabled && ic.share_ms > 0
        ? new IntelTally(rates, {
            flushMs: ic.share_ms,
            maxKeys: ic.share_max_keys,
            now: () => clock.now(),
            onError: () => metrics.redisErrors.inc({ op: 'intel_tally' }),
            onFlush: (_groups, ms) => tallyMetrics?.flush.observe(ms / 1000),
          })
        : null;
    const tallyMetrics = tally ? new TallyMetrics(metrics.registry) : null;
    if (tally && tallyMetrics) metrics.onCollect(() => tallyMetrics.collect(tally));
    const feedback = intel ? new Feedback(intel, { markTtlMs: ic.mark_ttl_s * 1000, learn: ic.learn, decisions: archive?.reader ?? null, now: () => clock.now() }) : null;
    const complaintFeedback = feedback
      ? async (c: ComplaintCase) => {
          const r = await feedback.complaint(c);
          intelMetrics?.feedback.inc({ source: 'complaint', verdict: 'complained', found: r.from });
          log.info({ case: c.id, fingerprint: r.fingerprint, from: r.from, numbers: r.numbers.length, domains: r.domains.length }, 'complaint: campaign fingerprint marked');
        }
      : null;
    const reviewFeedback = feedback
      ? async (id: string, text: string, decision: 'approve' | 'reject') => {
          try {
            const r = await feedback.review(id, text, decision);
            intelMetrics?.feedback.inc({ source: 'review', verdict: decision === 'approve' ? 'allowed' : 'rejected', found: r.from });
          } catch (err) {
            metrics.redisErrors.inc({ op: 'intel_feedback' });
            log.warn({ id, err: String(err) }, 'review feedback (campaign marks) failed');
          }
        }
      : null;
    const labels =
      cfg.policy.enabled && cfg.labels.enabled
        ? new LabelStore(redis, cfg.redis.key_prefix, { retentionMs: cfg.labels.retention_days * 86_400_000, maxEntries: cfg.labels.max_entries }, (err) => {
            metrics.redisErrors.inc({ op: 'label_add' });
            log.warn({ err: String(err) }, 'labels: could not keep a label');
          })
        : null;
    const complaints = cases
      ? new ComplaintDesk({ cfg, cases, store, senders: registry, messages: dlrMap, metrics, log, now: () => clock.now(), feedback: complaintFeedback, labels })
      : null;
    if (cases) metrics.caseStats = () => cases.stats(clock.now());
    let relay: Relay | null = null;
    let worker: DeliveryWorker | null = null;
    // The MT routing table (routes.mt; docs/routing.md); null: every SMSC shares every message.
    const routing: Routing = { router: cfg.routes.mt.length > 0 ? new MtRouter(cfg.routes.mt) : null };
    const pool = new SmscPool(cfg, {
      metrics,
      log,
      clock,
      onDeliver: (link, pdu) => relay!.onDeliver(link, pdu),
      onLinkChange: () => worker?.linkChanged(),
      firstLink: (smsc) => firstLink.get(smsc) ?? 0,
    });
    // The queue: its own connection, with a longer timeout than the per-message checks.
    let queue: { store: MessageQueue; worker: DeliveryWorker; redis: Redis } | null = null;
    const auditLog = cfg.policy.enabled
      ? AuditLog.create(cfg.audit.destination, {
          failed: (err) =>
            log.error({ err: err.message, file: cfg.audit.destination }, 'audit log: cannot write; dropping lines until it can (tried again every 5 s and on SIGUSR2)'),
          dropped: (n) => metrics.auditLogDropped.inc(n),
          recovered: () => log.warn({ file: cfg.audit.destination }, 'audit log: writing again'),
        }, { maxBufferBytes: cfg.audit.max_buffer_bytes })
      : null;
    // The SMSC's id for a message it took, joined with the decision on the gateway id: the audit trail's
    // line, and (m given) the decision record's smsc_id record under the decision's sender and recipient.
    const recordSmscId =
      auditLog || auditStream
        ? (gatewayId: string, smscId: string, account: string, m: MessageView | null) => {
            auditLog?.writeSmscId(gatewayId, smscId, account);
            if (!auditStream || !m) return;
            const n = cfg.policy.numbering;
            const dst = m.recordDst || normaliseAddress(m.destinationAddr, m.destTon, n).value;
            const src = m.recordSrc || normaliseAddress(m.sourceAddr, m.sourceTon, n).value;
            auditStream.addSmscId(account, src, dst, gatewayId, smscId);
          }
        : null;
    if (cfg.queue.enabled) {
      const qRedis = createRedis({ ...cfg.redis, command_timeout_ms: cfg.queue.command_timeout_ms });
      qRedis.on('error', () => metrics.redisErrors.inc({ op: 'queue_connection' }));
      const store = new MessageQueue(cfg, qRedis, { metrics, log, clock });
      // A reviewer's decision (one message, a bulk decision, the console) is a label — approve → ham,
      // reject → spam (docs/model.md) — and campaign feedback: it marks the text's fingerprint (docs/intelligence.md).
      if (labels || reviewFeedback) {
        store.onReviewed((decision, m) => {
          if (labels) void labels.add(decision === 'approve' ? 'ham' : 'spam', m.text, 'review', m.id, m.account);
          if (reviewFeedback) void reviewFeedback(m.id, m.text, decision);
        });
      }
      worker = new DeliveryWorker({
        cfg,
        queue: store,
        pool,
        recordId: (smscId, account, gatewayId, m) => {
          recordSmscId?.(gatewayId, smscId, account, m);
          dlrMap.record(smscId, account, m?.sourceTon, m?.sourceAddr, m?.destinationAddr, gatewayId);
        },
        deliverReceipt: (account, pdu) => relay!.deliverOwn(account, pdu),
        // With policy off too: a queued message still takes its MT route.
        decideRelease: (account, view) => decisions.decideRelease(account, view),
        metrics,
        log,
        clock,
      });
      queue = { store, worker, redis: qRedis };
    }
    // Policy off is a configuration of the decision layer (everything forwarded as policy_off).
    const decisions = new DecisionService({
      cfg,
      accountConfig: (id) => accounts.get(id)?.cfg,
      registry,
      store: policyCheck,
      metrics,
      audit: auditLog,
      auditStream,
      clock,
      isLoaded: () => sync.loaded,
      rules: rules ? () => rules.current : undefined,
      rates,
      intel: intel?.index ?? null,
      tally,
      rememberText: intel !== null && ic.memory_retention_s > 0 ? (memo) => intel.rememberText(memo.fingerprint, memo.bands, memo.text) : null,
      intelMetrics,
      behaviour: new BehaviourActions({ admin: store, registry, metrics, log, now: () => clock.now() }),
      profiles: { peek: (needs, now) => behaviourStore.peek(needs, now, bcfg.baseline_min_days) },
      router: () => routing.router,
    });
    const behaviourFeed = new BehaviourFeed({
      cfg,
      store: behaviourStore,
      metrics,
      wanted: () => rules?.current?.signals.has('undeliverable_share') === true,
    });
    const replies = cfg.policy.enabled
      ? new ReplyHandler({
          cfg: cfg.policy,
          registry,
          store,
          metrics,
          log,
          sendMt: (pdu) => pool.submit(pdu, (_resp, status) => metrics.replies.inc({ kind: 'confirmation', outcome: status === 0 ? 'sent' : 'failed' })),
        })
      : null;
    relay = new Relay({
      pool,
      policy: decisions,
      accounts,
      dlrMap,
      held,
      moRoutes: new PrefixRoutes(cfg.routes.mo),
      numberOwner: (addr, ton) => registry.find(normaliseAddress(addr, ton, cfg.policy.numbering))?.account ?? null,
      replies,
      announceHeld: (account) => void redis.publish(store.keys.events, `held ${account}`).catch(() => metrics.redisErrors.inc({ op: 'announce_held' })),
      queue,
      clock,
      mapAllMessageIds: cfg.receipts.map_all,
      onReceipt: cfg.policy.enabled ? (m, view) => behaviourFeed.receipt(m, view) : undefined,
      // A decision line released with the SMSC's id (relay.ts) has it already: the trail's line only.
      recordSmscId: recordSmscId ? (view, smscId, account, recorded) => recordSmscId(view.gatewayId, smscId, account, recorded ? null : view) : null,
      heldRetryMs: cfg.receipts.held_retry_s * 1000,
      metrics,
      log,
    });
    // One answer and one scrypt for every failed bind; the dummy hash for unknown accounts is made here, once.
    // Failed binds are counted in Redis, shared by every instance (store/bind-throttle.ts).
    const bt = cfg.upstream.bind_throttle;
    const throttle = bt.enabled
      ? new BindThrottleStore(redis, cfg.redis.key_prefix, {
          windowMs: bt.window_s * 1000,
          maxFailures: bt.max_failures,
          maxFailuresPerIp: bt.max_failures_per_ip,
          lockoutMs: bt.lockout_s * 1000,
          maxLockoutMs: bt.max_lockout_s * 1000,
          maxSystemIdsPerIp: bt.max_system_ids_per_ip,
        })
      : undefined;
    // scrypt is CPU-bound: more checks at once than cores only slows each one down (workers share the cores).
    const checks = bt.max_concurrent_checks || Math.max(1, Math.floor(Math.min(4, availableParallelism()) / (opts.worker?.count ?? 1)));
    const limiter = new FairLimiter(checks, bt.max_queued_per_ip);
    const bindAuth = await BindAuth.create({ throttle, limiter, metrics, log });
    const upstream = new UpstreamServer(
      {
        host: cfg.listen.host,
        port: cfg.listen.port,
        maxConnections: cfg.listen.max_connections,
        maxConnectionsPerIp: cfg.listen.max_connections_per_ip,
        plain: cfg.listen.plain,
        tls: cfg.listen.tls,
        maxPduLength: cfg.max_pdu_length,
        idleTimeoutS: cfg.upstream.idle_timeout_s,
        bindTimeoutS: cfg.upstream.bind_timeout_s,
      },
      {
        accounts,
        handler: relay,
        metrics,
        log,
        clock,
        gatewayId: 'smppguard',
        sharedBinds: { reserve: (a, max) => limits.reserveBind(a, max), release: (a) => limits.releaseBind(a) },
        bindAuth,
        deliverTimeoutMs: cfg.downstream.response_timeout_ms,
      },
    );
    sync.onHeld = (account) => relay!.onHeldElsewhere(account);
    let gw: Gateway | null = null;
    const http = buildHttp({
      metrics,
      ...(opts.metricsText ? { metricsText: opts.metricsText } : {}),
      tls: cfg.http.tls,
      readiness: opts.readiness ? () => opts.readiness!(() => gw!.readiness()) : () => gw!.readiness(),
      consoleRedis: redis,
      admin: {
        cfg,
        store,
        registry,
        explain: (m) => decisions.explain(m),
        queue: queue?.store ?? null,
        complaints,
        cases,
        audit: archive?.reader ?? null,
        lockouts: throttle ?? null,
        held,
        announceHeld: (account) => {
          relay!.onHeldElsewhere(account);
          void redis.publish(store.keys.events, `held ${account}`).catch(() => metrics.redisErrors.inc({ op: 'announce_held' }));
        },
        log,
      },
    });
    // HTTPS certificates are reloaded as the SMPP listener's are (SIGHUP, file changes).
    const httpCerts = cfg.http.tls ? new CertReloader('http', cfg.http.tls, http.server as unknown as TlsServer, log) : null;
    gw = new Gateway(cfg, log, metrics, redis, accounts, pool, relay, upstream, http, store, policyCheck, sync, decisions, rules, queue, limits, complaints, auditStream, redisWatch, httpCerts, archive);
    gw.intel = intel;
    gw.tally = tally;
    gw.models = models;
    gw.labels = labels;
    gw.routing = routing;
    gw.clock = clock;
    gw.worker = opts.worker ?? null;
    gw.firstLink = firstLink;

    if (!(await connectRedis(redis, 3000))) {
      log.warn({ url: redactUrl(cfg.redis.url) }, 'Redis not answering yet; not ready until it does (retrying in the background)');
    } else await pipe?.whenReady(1000);
    await sync.start();
    await intel?.start();
    gw.tally?.start();
    limits.start();
    archive?.start();
    pool.start();
    if (queue) {
      await connectRedis(queue.redis, 3000);
      queue.store.start();
      queue.worker.start();
    }
    gw.smppPort = await upstream.listen();
    gw.smppTlsPort = upstream.tlsPort;
    await gw.http.listen({ host: cfg.http.host, port: cfg.http.port });
    const addr = gw.http.server.address();
    gw.httpPort = typeof addr === 'object' && addr ? addr.port : cfg.http.port;
    httpCerts?.watch();
    log.info({ smpp: cfg.listen.plain ? gw.smppPort : 'off', smpp_tls: gw.smppTlsPort || 'off', http: gw.httpPort, smscs: cfg.downstream.smscs.map((s) => s.name) }, 'smppguard listening');
    return gw;
  }

  /**
   * Reads the config file again (SIGHUP, file watch) and applies what changed as a diff
   * (config/reload-plan.ts): an invalid file keeps the last good config (logged with file:line,
   * counted, shown in /readyz). Returns the plan applied, or the problems.
   */
  reloadConfig(file: string): { ok: true; plan: ReloadPlan } | { ok: false; problems: string[] } {
    const rm = this.metrics.routing;
    let next: Config;
    try {
      next = loadConfig(file);
      if (this.worker) {
        // Link numbers of SMSCs whose binds change follow the new shares (updated in place: the pool reads this map).
        for (const [smsc, n] of applyWorkerShare(next, this.worker.index, this.worker.count).firstLink) this.firstLink.set(smsc, n);
      }
      const missing = missingPaths(next);
      for (const s of next.downstream.smscs) smscPassword(s);
      if (missing.length > 0) throw new ConfigError(missing.map((m) => `${file}: ${m}`));
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [`${file}: ${(err as Error).message}`];
      this.configError = problems.join('; ');
      rm.configReloads.inc({ result: 'invalid' });
      rm.configLastReloadOk.set(0);
      this.log.error({ file, problems }, 'config reload: the file is invalid; the last good config stays');
      return { ok: false, problems };
    }
    const plan = this.reconfigure(next);
    this.configError = null;
    this.configLoadedAt = Date.now();
    rm.configReloads.inc({ result: plan.changes > 0 ? 'applied' : 'unchanged' });
    rm.configLastReloadOk.set(1);
    return { ok: true, plan };
  }

  /**
   * Applies a new config as a diff. The live config object is updated in place for the sections
   * that apply at once (everything holding it sees them); the rest is named in a warning and kept.
   */
  reconfigure(next: Config): ReloadPlan {
    const cfg = this.cfg;
    const plan = reloadPlan(cfg, next);
    const now = this.clock.now();
    const a = plan.accounts;
    if (a.added.length + a.changed.length + a.removed.length + a.rebind.length > 0) {
      const gone = new Set<Account>(this.accounts.apply({ added: a.added, changed: a.changed, replaced: a.rebind, removed: a.removed }, now));
      cfg.accounts = next.accounts;
      const changed = new Set(a.changed.map((c) => c.system_id));
      const perAccount = new Map<string, number>();
      for (const s of this.upstream.sessions) {
        const acct = s.account;
        if (!acct) continue;
        if (gone.has(acct)) {
          s.unbind();
          continue;
        }
        if (!changed.has(acct.id)) continue;
        // New limits hold for the binds already up: an address no longer allowed, or binds beyond max_binds, are unbound.
        const n = (perAccount.get(acct.id) ?? 0) + 1;
        perAccount.set(acct.id, n);
        if (!ipAllowed(s.remoteAddress, acct.cidrs) || n > acct.cfg.max_binds) s.unbind();
      }
    }
    if (plan.smscs.added.length + plan.smscs.changed.length + plan.smscs.removed.length > 0 || plan.groupsOrRoutes) {
      cfg.downstream.smscs = next.downstream.smscs;
      cfg.downstream.groups = next.downstream.groups;
      void this.pool.reconfigure(cfg, plan.smscs, cfg.shutdown.drain_timeout_ms);
    }
    if (plan.groupsOrRoutes) {
      cfg.routes = next.routes;
      this.routing.router = next.routes.mt.length > 0 ? new MtRouter(next.routes.mt) : null;
      this.relay.setMoRoutes(new PrefixRoutes(next.routes.mo));
    }
    if (plan.adminTokens) cfg.admin.tokens = next.admin.tokens;
    if (plan.logLevel) {
      cfg.log.level = next.log.level;
      this.log.level = next.log.level;
    }
    if (plan.policy) {
      Object.assign(cfg.policy, { ...next.policy, enabled: cfg.policy.enabled, reassembly: cfg.policy.reassembly });
      this.decisions.reconfigure(cfg);
    }
    for (const w of configWarnings(next)) this.log.warn({ account: w.account }, w.message);
    if (plan.restartNeeded.length > 0) {
      this.log.warn({ settings: plan.restartNeeded }, 'config reload: these settings change only with a restart; they stay as they are');
    }
    this.log.info(
      {
        accounts: { added: a.added.map((x) => x.system_id), changed: a.changed.map((x) => x.system_id), rebound: a.rebind.map((x) => x.system_id), removed: a.removed },
        smscs: { added: plan.smscs.added.map((x) => x.name), changed: plan.smscs.changed.map((x) => x.name), removed: plan.smscs.removed },
        routes: plan.groupsOrRoutes,
        admin_tokens: plan.adminTokens,
        log_level: plan.logLevel,
        policy: plan.policy,
      },
      'config reloaded',
    );
    return plan;
  }

  /** Opens the audit file again after log rotation moved it away (SIGUSR2). */
  reopenLogs(): void {
    this.decisions.reopenAudit();
  }

  /** Re-reads the rule packs (SIGHUP); false when they are invalid (the last good set stays). */
  reloadRules(): boolean {
    // Models first: a rule set naming a model is compiled against the configured names.
    this.models?.reload();
    return this.rules?.reload() ?? false;
  }

  /**
   * Loads the TLS certificates again (SIGHUP; file changes are picked up by themselves): new
   * connections get the new ones, established binds are not touched. False when a listener's new
   * files are bad (it keeps its certificate; logged) or there is no TLS listener.
   */
  reloadCertificates(): boolean {
    const smpp = this.cfg.listen.tls ? this.upstream.reloadCertificates() : true;
    const http = this.httpCerts?.reload() ?? true;
    return (!!this.cfg.listen.tls || !!this.httpCerts) && smpp && http;
  }

  async readiness(): Promise<Readiness> {
    const bound = this.pool.boundCount;
    let redisOk = false;
    let redisDetail: string;
    try {
      redisOk = (await this.redis.ping()) === 'PONG';
      redisDetail = 'PONG';
    } catch (err) {
      redisDetail = String((err as Error).message ?? err);
      // "Stream isn't writeable" says little; the connection's own error says why (TLS, auth, refused).
      const why = this.redisWatch.lastError;
      if (why !== null && why !== redisDetail) redisDetail = `${redisDetail} (last connection error: ${why})`;
    }
    // The hot path's own connection: while it reconnects, checks go as scripts on the main client.
    const pipe = this.policyCheck.pipe;
    if (redisOk && pipe && !pipe.isReady) redisDetail = 'PONG; hot-path connection reconnecting (checks go as scripts meanwhile)';
    const draining = this.upstream.draining;
    const policyOk = !this.cfg.policy.enabled || this.sync.loaded;
    return {
      ready: bound > 0 && redisOk && !draining && policyOk,
      checks: {
        policy: { ok: policyOk, detail: this.cfg.policy.enabled ? `${this.sync.registry.size} senders, DND generation ${this.store.generation.current}` : 'policy off' },
        // A bad rule file keeps the last good set running: reported here, not a reason to stop traffic.
        rules: {
          ok: true,
          detail: this.rules
            ? `version ${this.rules.version}, ${this.rules.current.ruleIds.length} rules${this.rules.lastError ? `; last reload failed: ${this.rules.lastError}` : ''}`
            : 'no rules',
        },
        // Like rules: a model that failed to load keeps its last good version; reported, not fatal.
        models: {
          ok: true,
          detail:
            this.models && this.models.names().length > 0
              ? this.models
                  .status()
                  .map((m) => `${m.name}: ${m.version ?? 'not loaded'}${m.problem ? ` (last load failed: ${m.problem})` : ''}`)
                  .join('; ')
              : 'no models',
        },
        smsc: { ok: bound > 0, detail: `${bound}/${this.pool.links.length} binds up` },
        redis: { ok: redisOk, detail: redisDetail },
        accepting: { ok: !draining, detail: draining ? 'shutting down' : 'accepting binds' },
        // A refused reload keeps the last good config running: reported, not a reason to stop traffic.
        config: {
          ok: true,
          detail: `loaded ${new Date(this.configLoadedAt).toISOString()}${this.configError ? `; last reload failed: ${this.configError}` : ''}`,
        },
      },
    };
  }

  /**
   * Graceful shutdown: stop accepting binds, let in-flight submits finish (up to the drain
   * deadline), unbind ESMEs, unbind SMSCs, close Redis and HTTP.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const deadline = Date.now() + this.cfg.shutdown.drain_timeout_ms;
      this.upstream.stopAccepting();
      // Held parts of concatenated messages are decided now rather than waiting out their hold.
      this.decisions.flushHeld();
      this.log.info({ in_flight: this.upstream.inFlight }, 'shutting down: draining in-flight submits');
      while (this.upstream.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await this.upstream.unbindAll(Math.max(200, Math.min(2000, deadline - Date.now())));
      await this.limits.stop();
      // Queued jobs in hand: those with the SMSC finish, the waiting ones go back to the queue.
      await this.queue?.worker.close();
      await this.pool.stop(Math.max(100, deadline - Date.now()));
      await this.queue?.store.close();
      this.queue?.redis.disconnect();
      this.httpCerts?.close();
      await this.http.close();
      this.decisions.close();
      // The last decisions reach the stream before Redis closes; meanwhile the archive writer finishes
      // its batch in hand (or leaves it to the next writer) and gives its leases back.
      await Promise.all([this.auditStream?.close().catch(() => undefined), this.archive?.stop().catch(() => undefined)]);
      this.auditStream?.pipe?.close();
      this.rules?.close();
      this.models?.close();
      await this.sync.stop();
      await this.intel?.stop();
      await this.tally?.stop().catch(() => undefined);
      this.redis.disconnect();
      this.policyCheck.pipe?.close();
      this.log.info('stopped');
    })();
    return this.stopping;
  }
}
