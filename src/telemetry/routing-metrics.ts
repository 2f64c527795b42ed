/**
 * Metrics of MT routing (docs/routing.md): messages and answers per route and per SMSC, failovers,
 * retries, the latency per route, and which priority each SMSC group runs on. Counted on the hot
 * path in plain maps (fast-metrics.ts) and handed to Prometheus at scrape time. Route, group and
 * SMSC names come from the config; statuses are folded to the catalogue's names, vendor codes
 * (0x400–0x4FF) and "other", so no label grows without bound.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { statusName } from '../protocol/status.js';
import { FastHistogram, LabelCounts } from './fast-metrics.js';

/** Statuses labelled by name; anything else from an SMSC counts as "other". */
function statusLabel(status: number): string {
  const n = statusName(status);
  return n.startsWith('0x') ? 'other' : n;
}

export class RoutingMetrics {
  private readonly routeCounts = new LabelCounts<'route' | 'smsc' | 'status'>(['route', 'smsc', 'status']);
  private readonly smscCounts = new LabelCounts<'smsc' | 'status'>(['smsc', 'status']);
  private readonly keys = new Map<string, Map<string, Map<string, string>>>();
  /** Per SMSC (configured names: bounded), its ESME_ROK key. */
  private readonly okKeys = new Map<string, string>();
  readonly routeSeconds: FastHistogram;
  readonly failovers: Counter<'group' | 'reason'>;
  readonly retries: Counter<'group' | 'from' | 'to'>;
  readonly groupPriority: Gauge<'group'>;
  readonly groupOnBackup: Gauge<'group'>;
  readonly memberHeldDown: Gauge<'group' | 'smsc'>;
  /** Live reconfiguration (SIGHUP, file watch): reloads by result, and whether the last one was good. */
  readonly configReloads: Counter<'result'>;
  readonly configLastReloadOk: Gauge;

  constructor(r: Registry) {
    const self = this;
    new Counter({
      name: 'smppguard_route_messages_total',
      help: 'MT messages by route, the SMSC that answered (none: not sent) and the final status (ESME_ROK, the SMSC status, no_bind, timeout, throttled)',
      labelNames: ['route', 'smsc', 'status'],
      registers: [r],
      collect() {
        self.routeCounts.flush((l, n) => this.inc(l, n));
      },
    });
    new Counter({
      name: 'smppguard_smsc_responses_total',
      help: 'submit_sm/data_sm answers by SMSC and status (timeouts: smppguard_smsc_timeouts_total)',
      labelNames: ['smsc', 'status'],
      registers: [r],
      collect() {
        self.smscCounts.flush((l, n) => this.inc(l, n));
      },
    });
    this.routeSeconds = new FastHistogram(
      'smppguard_route_seconds',
      'Time from the forward decision to the final SMSC answer (retries included), by route',
      'route',
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    );
    r.registerMetric(this.routeSeconds as never);
    this.failovers = new Counter({
      name: 'smppguard_route_failovers_total',
      help: 'Messages sent past their group\'s first priority, by group and why: down (every member of a priority down or set aside), busy (its pending limit reached)',
      labelNames: ['group', 'reason'],
      registers: [r],
    });
    this.retries = new Counter({
      name: 'smppguard_route_retries_total',
      help: 'Messages tried again on another SMSC after a retry_on answer (or a timeout with retry_on_timeout)',
      labelNames: ['group', 'from', 'to'],
      registers: [r],
    });
    this.groupPriority = new Gauge({
      name: 'smppguard_smsc_group_priority', aggregator: 'max',
      help: 'The priority an SMSC group sends on now (its lowest priority with a member up); 0 when none is up',
      labelNames: ['group'],
      registers: [r],
    });
    this.groupOnBackup = new Gauge({
      name: 'smppguard_smsc_group_on_backup', aggregator: 'max',
      help: '1 while an SMSC group sends on a priority after its first (its primary members are all down or set aside)',
      labelNames: ['group'],
      registers: [r],
    });
    this.memberHeldDown = new Gauge({
      name: 'smppguard_smsc_group_member_held_down', aggregator: 'max',
      help: '1 while a group member is set aside after failover_after failover_on answers in a row',
      labelNames: ['group', 'smsc'],
      registers: [r],
    });
    this.configReloads = new Counter({
      name: 'smppguard_config_reloads_total',
      help: 'Config file reloads (SIGHUP, file change) by result: applied, unchanged, invalid (the last good config stays)',
      labelNames: ['result'],
      registers: [r],
    });
    this.configLastReloadOk = new Gauge({
      name: 'smppguard_config_last_reload_ok', aggregator: 'min',
      help: '0 when the last config reload found the file invalid (the gateway runs on the last good config)',
      registers: [r],
    });
    this.configLastReloadOk.set(1);
  }

  /** One message's final outcome on its route. `smsc` null: never sent. The label key is built once per (route, smsc, status). */
  countRoute(route: string, smsc: string | null, status: number | string): void {
    let bySmsc = this.keys.get(route);
    if (!bySmsc) this.keys.set(route, (bySmsc = new Map()));
    const sm = smsc ?? 'none';
    let byStatus = bySmsc.get(sm);
    if (!byStatus) bySmsc.set(sm, (byStatus = new Map()));
    // Folded first, so SMSC statuses outside the catalogue cannot grow the cache.
    const s = typeof status === 'string' ? status : status === 0 ? 'ESME_ROK' : statusLabel(status);
    let key = byStatus.get(s);
    if (key === undefined) byStatus.set(s, (key = `${route}\u0001${sm}\u0001${s}`));
    this.routeCounts.add(key);
  }

  /** One answer from an SMSC. */
  countSmsc(smsc: string, status: number): void {
    if (status !== 0) return this.smscCounts.add(`${smsc}\u0001${statusLabel(status)}`);
    // The common answer's key once per SMSC, not a new string per message.
    let key = this.okKeys.get(smsc);
    if (key === undefined) this.okKeys.set(smsc, (key = `${smsc}\u0001ESME_ROK`));
    this.smscCounts.add(key);
  }
}
