/**
 * The wiring, and nothing else: config in, a running gateway out.
 *
 *   ESME ─submit_sm→ upstream/esme-session ─→ relay/relay (decision/) ─→ downstream/smsc-pool ─→ SMSC
 *   ESME ←deliver_sm─ upstream/esme-session ←─ relay/relay (store/)  ←─ downstream/smsc-link ←─ SMSC
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { configWarnings } from './config/load.js';
import type { Config } from './config/schema.js';
import { buildHttp, type Readiness } from './admin/http.js';
import { SmscPool } from './downstream/smsc-pool.js';
import { smscPassword } from './downstream/smsc-link.js';
import { DecisionService } from './decision/service.js';
import { ReplyHandler } from './decision/replies.js';
import { SenderRegistry } from './policy/senders.js';
import { normaliseAddress } from './policy/address.js';
import { DndGeneration } from './store/dnd-generation.js';
import { BindThrottleStore } from './store/bind-throttle.js';
import { PolicyAdmin } from './store/policy-admin.js';
import { PolicyCheck } from './store/policy-check.js';
import { PolicySync } from './store/policy-sync.js';
import { RuleLoader } from './decision/rule-loader.js';
import { RateStore } from './store/rates.js';
import { Relay } from './relay/relay.js';
import { MessageQueue } from './queue/message-queue.js';
import { DeliveryWorker } from './queue/worker.js';
import { PrefixRoutes } from './relay/routes.js';
import { DlrMap } from './store/dlr-map.js';
import { AuditStream } from './store/audit-stream.js';
import { ComplaintStore } from './store/complaint-store.js';
import { ComplaintDesk } from './complaints/desk.js';
import { HeldDeliveries } from './store/held-deliveries.js';
import { connectRedis, ConnectionWatch, createRedis, redisTls, type Redis } from './store/redis.js';
import { RespPipe } from './store/resp-pipe.js';
import { systemClock, type Clock } from './session/clock.js';
import { AuditLog, createLogger, setMasking, type Logger } from './telemetry/log.js';
import { redactUrl } from './telemetry/redact.js';
import { Metrics } from './telemetry/metrics.js';
import { AccountTable } from './upstream/accounts.js';
import { BindAuth } from './upstream/bind-auth.js';
import { FairLimiter } from './upstream/fair-limiter.js';
import { layoutProblems } from './store/slots.js';
import { SharedLimits } from './upstream/shared-limits.js';
import { CertReloader } from './upstream/cert-reloader.js';
import { UpstreamServer } from './upstream/server.js';

export interface GatewayOptions {
  log?: Logger;
  clock?: Clock;
  /** Collect Node process metrics (off in tests that start many gateways). */
  processMetrics?: boolean;
}

export class Gateway {
  smppPort = 0;
  /** SMPP over TLS (listen.tls); 0 without it. */
  smppTlsPort = 0;
  httpPort = 0;
  private stopping: Promise<void> | null = null;

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
  ) {}

  static async start(cfg: Config, opts: GatewayOptions = {}): Promise<Gateway> {
    const log = opts.log ?? createLogger(cfg.log.level);
    // An SMSC password_env that is unset or empty stops the start here, naming the variable.
    for (const s of cfg.downstream.smscs) smscPassword(s);
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
    const rates = new RateStore(redis, cfg.redis.key_prefix, { clock });
    // The hot path's own connection for plain commands (store/resp-pipe.ts): a single Redis only.
    const r = cfg.redis;
    const pipe =
      cfg.policy.enabled && r.hot_path === 'commands' && !r.sentinel && !r.cluster && RespPipe.supports(r.url)
        ? new RespPipe(r.url, r.command_timeout_ms, () => metrics.redisErrors.inc({ op: 'connection' }), redisTls(r))
        : null;
    const dndGeneration = new DndGeneration(redis, cfg.redis.key_prefix);
    const policyCheck = new PolicyCheck(redis, cfg.redis.key_prefix, dndGeneration, rates, pipe);
    const store = new PolicyAdmin(redis, cfg.redis.key_prefix, cfg.policy.journal_retention_days * 86_400_000, dndGeneration);
    const registry = new SenderRegistry();
    const sync = new PolicySync(store, registry, metrics, log);
    const rules = cfg.policy.enabled && existsSync(cfg.rules.dir) ? new RuleLoader(cfg.rules.dir, { registry: metrics.registry, log, allowQueue: cfg.queue.enabled }) : null;
    if (rules) {
      if (cfg.rules.watch) rules.start();
      else rules.load();
    }
    const st = cfg.audit.stream;
    const auditStream =
      cfg.policy.enabled && st.enabled
        ? new AuditStream(
            redis,
            cfg.redis.key_prefix,
            { shards: st.shards, retentionMs: st.retention_days * 86_400_000, maxLen: st.max_len, flushMs: st.flush_ms, maxBuffer: st.max_buffer },
            metrics,
          )
        : null;
    const cases = cfg.policy.enabled ? new ComplaintStore(redis, cfg.redis.key_prefix) : null;
    const complaints = cases
      ? new ComplaintDesk({ cfg, cases, store, senders: registry, messages: dlrMap, metrics, log, now: () => clock.now() })
      : null;
    if (cases) metrics.caseStats = () => cases.stats(clock.now());
    let relay: Relay | null = null;
    let worker: DeliveryWorker | null = null;
    const pool = new SmscPool(cfg, {
      metrics,
      log,
      clock,
      onDeliver: (link, pdu) => relay!.onDeliver(link, pdu),
      onLinkChange: () => worker?.linkChanged(),
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
    if (cfg.queue.enabled) {
      const qRedis = createRedis({ ...cfg.redis, command_timeout_ms: cfg.queue.command_timeout_ms });
      qRedis.on('error', () => metrics.redisErrors.inc({ op: 'queue_connection' }));
      const store = new MessageQueue(cfg, qRedis, { metrics, log, clock });
      worker = new DeliveryWorker({
        cfg,
        queue: store,
        pool,
        recordId: (smscId, account, gatewayId, m) => {
          auditLog?.writeSmscId(gatewayId, smscId, account);
          dlrMap.record(smscId, account, m?.sourceTon, m?.sourceAddr, m?.destinationAddr, gatewayId);
        },
        deliverReceipt: (account, pdu) => relay!.deliverOwn(account, pdu),
        decideRelease: cfg.policy.enabled ? (account, view) => decisions.decideRelease(account, view) : undefined,
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
      audit: auditLog,
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
    // scrypt is CPU-bound: more checks at once than cores only slows each one down.
    const checks = bt.max_concurrent_checks || Math.min(4, availableParallelism());
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
      tls: cfg.http.tls,
      readiness: () => gw!.readiness(),
      admin: {
        cfg,
        store,
        registry,
        explain: cfg.policy.enabled ? (m) => decisions.explain(m) : null,
        queue: queue?.store ?? null,
        complaints,
        cases,
        audit: auditStream,
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
    gw = new Gateway(cfg, log, metrics, redis, accounts, pool, relay, upstream, http, store, policyCheck, sync, decisions, rules, queue, limits, complaints, auditStream, redisWatch, httpCerts);

    if (!(await connectRedis(redis, 3000))) {
      log.warn({ url: redactUrl(cfg.redis.url) }, 'Redis not answering yet; not ready until it does (retrying in the background)');
    } else await pipe?.whenReady(1000);
    await sync.start();
    limits.start();
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

  /** Opens the audit file again after log rotation moved it away (SIGUSR2). */
  reopenLogs(): void {
    this.decisions.reopenAudit();
  }

  /** Re-reads the rule packs (SIGHUP); false when they are invalid (the last good set stays). */
  reloadRules(): boolean {
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
        smsc: { ok: bound > 0, detail: `${bound}/${this.pool.links.length} binds up` },
        redis: { ok: redisOk, detail: redisDetail },
        accepting: { ok: !draining, detail: draining ? 'shutting down' : 'accepting binds' },
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
      // The last decisions reach the stream before Redis closes.
      await this.auditStream?.close().catch(() => undefined);
      this.rules?.close();
      await this.sync.stop();
      this.redis.disconnect();
      this.policyCheck.pipe?.close();
      this.log.info('stopped');
    })();
    return this.stopping;
  }
}
