/**
 * The wiring, and nothing else: config in, a running gateway out.
 *
 *   ESME ─submit_sm→ upstream/esme-session ─→ relay/relay (policy/) ─→ downstream/smsc-pool ─→ SMSC
 *   ESME ←deliver_sm─ upstream/esme-session ←─ relay/relay (store/)  ←─ downstream/smsc-link ←─ SMSC
 */
import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/schema.js';
import { buildHttp, type Readiness } from './admin/http.js';
import { SmscPool } from './downstream/smsc-pool.js';
import { forwardAll, type Policy } from './policy/verdict.js';
import { GatewayPolicy } from './policy/gateway-policy.js';
import { ReplyHandler } from './policy/replies.js';
import { SenderRegistry } from './policy/senders.js';
import { normaliseAddress } from './policy/address.js';
import { PolicyStore } from './store/policy-store.js';
import { PolicySync } from './store/policy-sync.js';
import { RuleLoader } from './rules/loader.js';
import { RateStore } from './store/rates.js';
import { Relay } from './relay/relay.js';
import { PrefixRoutes } from './relay/routes.js';
import { DlrMap } from './store/dlr-map.js';
import { HeldStore } from './store/held.js';
import { connectRedis, createRedis, type Redis } from './store/redis.js';
import { systemClock, type Clock } from './session/clock.js';
import { AuditLog, createLogger, setMasking, type Logger } from './telemetry/log.js';
import { Metrics } from './telemetry/metrics.js';
import { AccountTable } from './upstream/accounts.js';
import { UpstreamServer } from './upstream/server.js';

export interface GatewayOptions {
  policy?: Policy;
  log?: Logger;
  clock?: Clock;
  /** Collect Node process metrics (off in tests that start many gateways). */
  processMetrics?: boolean;
}

export class Gateway {
  smppPort = 0;
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
    readonly store: PolicyStore,
    readonly sync: PolicySync,
    readonly policy: Policy,
    readonly rules: RuleLoader | null,
  ) {}

  static async start(cfg: Config, opts: GatewayOptions = {}): Promise<Gateway> {
    const log = opts.log ?? createLogger(cfg.log.level);
    setMasking(cfg.log.mask_msisdn);
    const clock = opts.clock ?? systemClock;
    const metrics = new Metrics(opts.processMetrics ?? true);
    const redis = createRedis(cfg.redis);
    redis.on('error', () => metrics.redisErrors.inc({ op: 'connection' }));
    const accounts = new AccountTable(cfg.accounts, clock.now());
    const dlrMap = new DlrMap(redis, cfg.redis.key_prefix, cfg.receipts.map_ttl_s, () => clock.now(), (err) => {
      metrics.redisErrors.inc({ op: 'dlr_record' });
      log.warn({ err: String(err) }, 'could not record message id for receipt routing');
    });
    const held = new HeldStore(redis, cfg.redis.key_prefix);
    const rates = new RateStore(redis, cfg.redis.key_prefix, { clock });
    const store = new PolicyStore(redis, cfg.redis.key_prefix, cfg.policy.journal_retention_days * 86_400_000, rates);
    const registry = new SenderRegistry();
    const sync = new PolicySync(store, registry, metrics, log);
    const rules = cfg.policy.enabled && existsSync(cfg.rules.dir) ? new RuleLoader(cfg.rules.dir, { registry: metrics.registry, log }) : null;
    if (rules) {
      if (cfg.rules.watch) rules.start();
      else rules.load();
    }
    let relay: Relay | null = null;
    const pool = new SmscPool(cfg, { metrics, log, clock, onDeliver: (link, pdu) => relay!.onDeliver(link, pdu) });
    const policy =
      opts.policy ??
      (cfg.policy.enabled
        ? new GatewayPolicy({
            cfg,
            accounts,
            registry,
            store,
            metrics,
            audit: AuditLog.create(cfg.audit.destination),
            clock,
            isLoaded: () => sync.loaded,
            rules: rules ? () => rules.current : undefined,
            rates,
          })
        : forwardAll);
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
      policy,
      accounts,
      dlrMap,
      held,
      moRoutes: new PrefixRoutes(cfg.routes.mo),
      numberOwner: (addr, ton) => registry.find(normaliseAddress(addr, ton, cfg.policy.numbering))?.account ?? null,
      replies,
      metrics,
      log,
    });
    const upstream = new UpstreamServer(
      {
        host: cfg.listen.host,
        port: cfg.listen.port,
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
        deliverTimeoutMs: cfg.downstream.response_timeout_ms,
      },
    );
    let gw: Gateway | null = null;
    const http = buildHttp({
      metrics,
      readiness: () => gw!.readiness(),
      admin: { cfg, store, registry, explain: policy instanceof GatewayPolicy ? (m) => policy.explain(m) : null },
    });
    gw = new Gateway(cfg, log, metrics, redis, accounts, pool, relay, upstream, http, store, sync, policy, rules);

    if (!(await connectRedis(redis, 3000))) {
      log.warn({ url: cfg.redis.url }, 'Redis not answering yet; not ready until it does (retrying in the background)');
    }
    await sync.start();
    pool.start();
    gw.smppPort = await upstream.listen();
    await gw.http.listen({ host: cfg.http.host, port: cfg.http.port });
    const addr = gw.http.server.address();
    gw.httpPort = typeof addr === 'object' && addr ? addr.port : cfg.http.port;
    log.info({ smpp: gw.smppPort, http: gw.httpPort, smscs: cfg.downstream.smscs.map((s) => s.name) }, 'smppguard listening');
    return gw;
  }

  /** Re-reads the rule packs (SIGHUP); false when they are invalid (the last good set stays). */
  reloadRules(): boolean {
    return this.rules?.reload() ?? false;
  }

  async readiness(): Promise<Readiness> {
    const bound = this.pool.boundCount;
    let redisOk = false;
    let redisDetail: string = this.redis.status;
    try {
      redisOk = (await this.redis.ping()) === 'PONG';
      redisDetail = 'PONG';
    } catch (err) {
      redisDetail = String((err as Error).message ?? err);
    }
    const draining = this.upstream.draining;
    const policyOk = !this.cfg.policy.enabled || this.sync.loaded;
    return {
      ready: bound > 0 && redisOk && !draining && policyOk,
      checks: {
        policy: { ok: policyOk, detail: this.cfg.policy.enabled ? `${this.sync.registry.size} senders, DND generation ${this.store.dndGen}` : 'policy off' },
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
      if (this.policy instanceof GatewayPolicy) this.policy.reassembler.flushAll();
      this.log.info({ in_flight: this.upstream.inFlight }, 'shutting down: draining in-flight submits');
      while (this.upstream.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await this.upstream.unbindAll(Math.max(200, Math.min(2000, deadline - Date.now())));
      await this.pool.stop(Math.max(100, deadline - Date.now()));
      await this.http.close();
      if (this.policy instanceof GatewayPolicy) this.policy.close();
      this.rules?.close();
      await this.sync.stop();
      this.redis.disconnect();
      this.log.info('stopped');
    })();
    return this.stopping;
  }
}
