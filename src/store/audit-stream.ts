/**
 * The durable decision audit: every decision also goes to a Redis stream, where evidence queries
 * find the decisions for one recipient (evidence/). telemetry/log.ts's AuditLog stays the
 * line-per-decision trail for log shipping; this is the queryable copy.
 *
 * Layout: recipients are spread over `audit.stream.shards` streams by number mod shards
 * (`<p>audit:{a:<S>}`); an evidence query reads one shard's time range and keeps that recipient's
 * entries. Fields: t (the decision's time on the gateway), account, decision, reason, rule,
 * status, class, src and dst (normalised sender and full recipient: this is evidence, not a log
 * line, and lives beside the consent data). The stream id is when Redis appended the entry:
 * `flush_ms` later, or more while Redis was unavailable; queries select by id with a margin of
 * APPEND_MARGIN_MS and then by t.
 *
 * Hot path: add() appends one line to a string buffer; every `flush_ms` (or event-loop turn) the
 * buffer goes to Redis in one script call (audit-append.lua), per up to 1000 decisions. When Redis
 * fails the lines are kept (up to `max_buffer`, then the oldest are dropped and counted) and sent
 * with the next flush. Retention: XADD MINID ~ (retention_days), optionally XTRIM MAXLEN ~.
 */
import type { Redis } from 'ioredis';
import type { Metrics } from '../telemetry/metrics.js';
import { Keys } from './keys.js';
import { luaScript } from './redis.js';

export interface AuditStreamOptions {
  shards: number;
  retentionMs: number;
  /** Per-shard cap (0 = none). */
  maxLen: number;
  /** 0 = flush every event-loop turn. */
  flushMs: number;
  maxBuffer: number;
}

/** One decision as the stream holds it. */
export interface DecisionRecord {
  id: string;
  time: number;
  account: string;
  decision: string;
  reason: string;
  rule: string;
  status: number;
  class: string | null;
  src: string;
  dst: string;
}

type ScriptClient = Redis & { sgAuditAppend(numKeys: number, ...args: string[]): Promise<number> };

const BATCH = 1000;
/** How much later than its decision an entry may be appended and still be found by a `to` bound. */
export const APPEND_MARGIN_MS = 10 * 60_000;
const CLEAN = /[\t\n]/g;

export class AuditStream {
  readonly keys: Keys;
  private lines: string[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private inFlight: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly opts: AuditStreamOptions,
    private readonly metrics: Metrics | null = null,
    /** The decisions' clock (the gateway's). */
    private readonly now: () => number = Date.now,
  ) {
    this.keys = new Keys(prefix);
    if (!('sgAuditAppend' in redis)) redis.defineCommand('sgAuditAppend', { lua: luaScript('audit-append.lua') });
  }

  /** The shard of a recipient (international digits, at most 15). */
  shardOf(msisdn: string): number {
    return Number(msisdn) % this.opts.shards;
  }

  /**
   * Records one decision. `dst`: the normalised recipient; decisions without a valid one
   * (invalid_destination) have no recipient to find them by and are not streamed.
   */
  add(account: string, decision: string, reason: string, rule: string, status: number, cls: string | null, src: string, dst: string): void {
    if (this.closed || dst.length === 0 || dst.length > 15 || !isDigits(dst)) return;
    const s = src.includes('\t') || src.includes('\n') ? src.replace(CLEAN, ' ') : src;
    this.lines.push(`${this.shardOf(dst)}\t${this.now()}\t${account}\t${decision}\t${reason}\t${rule}\t${status}\t${cls ?? ''}\t${s}\t${dst}\n`);
    if (this.lines.length > this.opts.maxBuffer) {
      const drop = this.lines.length - this.opts.maxBuffer;
      this.lines.splice(0, drop);
      this.metrics?.auditStream.inc({ outcome: 'dropped' }, drop);
    }
    if (this.timer === null) {
      this.timer = this.opts.flushMs === 0 ? setImmediate(() => this.flush()) : setTimeout(() => this.flush(), this.opts.flushMs);
    }
  }

  /** Sends what is buffered; resolves when Redis answered (failures are kept for the next flush). */
  flush(): Promise<void> {
    this.timer = null;
    if (this.lines.length === 0) return this.inFlight;
    const lines = this.lines;
    this.lines = [];
    // Stream ids are Redis wall-clock times: retention is measured on the wall clock too.
    const cut = Date.now() - this.opts.retentionMs;
    const minId = this.opts.retentionMs > 0 && cut > 0 ? `${cut}-0` : '0';
    const calls: Promise<void>[] = [];
    for (let i = 0; i < lines.length; i += BATCH) {
      const batch = lines.slice(i, i + BATCH);
      calls.push(
        this.append(batch, minId).then(
          () => void this.metrics?.auditStream.inc({ outcome: 'written' }, batch.length),
          () => {
            this.metrics?.redisErrors.inc({ op: 'audit_stream' });
            // Kept for the next flush, ahead of newer lines.
            this.lines = batch.concat(this.lines);
            if (!this.closed && this.timer === null) this.timer = setTimeout(() => this.flush(), Math.max(this.opts.flushMs, 1000));
          },
        ),
      );
    }
    this.inFlight = Promise.all(calls).then(() => undefined);
    return this.inFlight;
  }

  private append(batch: string[], minId: string): Promise<unknown> {
    const client = this.redis as ScriptClient;
    const maxLen = String(this.opts.maxLen);
    if (!(this.redis as { isCluster?: boolean }).isCluster) return client.sgAuditAppend(0, this.keys.prefix, minId, maxLen, batch.join(''));
    // Cluster: one call per shard, its stream declared.
    const byShard = new Map<string, string[]>();
    for (const l of batch) {
      const shard = l.slice(0, l.indexOf('\t'));
      let g = byShard.get(shard);
      if (!g) byShard.set(shard, (g = []));
      g.push(l);
    }
    return Promise.all(
      [...byShard].map(([shard, ls]) => client.sgAuditAppend(1, this.keys.audit(Number(shard)), this.keys.prefix, minId, maxLen, ls.join(''))),
    );
  }

  /** Flushes and stops taking decisions (shutdown). */
  async close(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
    }
    await this.flush();
    this.closed = true;
  }

  /**
   * Decisions for one recipient, oldest first: the newest `limit` within [from, to] (epoch ms),
   * reading at most `scanLimit` entries of the recipient's shard.
   */
  async decisionsFor(
    msisdn: string,
    q: { from?: number; to?: number; limit?: number; scanLimit?: number; match?: (d: DecisionRecord) => boolean } = {},
  ): Promise<{ decisions: DecisionRecord[]; truncated: boolean; scanned: number }> {
    const key = this.keys.audit(this.shardOf(msisdn));
    const limit = q.limit ?? 1000;
    const scanLimit = q.scanLimit ?? 2_000_000;
    const start = q.from === undefined ? '-' : `${q.from}-0`;
    let end = q.to === undefined ? '+' : `${q.to + APPEND_MARGIN_MS}-18446744073709551615`;
    const out: DecisionRecord[] = [];
    let scanned = 0;
    let truncated = false;
    const PAGE = 2000;
    for (;;) {
      const page = await this.redis.xrevrange(key, end, start, 'COUNT', PAGE);
      scanned += page.length;
      for (const [id, kv] of page) {
        if (kv[17] !== msisdn) continue;
        const d = recordOf(id, kv);
        if ((q.from !== undefined && d.time < q.from) || (q.to !== undefined && d.time > q.to)) continue;
        if (q.match && !q.match(d)) continue;
        if (out.length >= limit) {
          truncated = true;
          break;
        }
        out.push(d);
      }
      if (truncated || page.length < PAGE) break;
      if (scanned >= scanLimit) {
        truncated = true;
        break;
      }
      end = `(${page[page.length - 1]![0]}`;
    }
    // Appended in flush order; shown in decision order.
    return { decisions: out.sort((a, b) => a.time - b.time), truncated, scanned };
  }
}

function recordOf(id: string, kv: string[]): DecisionRecord {
  const f: Record<string, string> = {};
  for (let i = 0; i < kv.length; i += 2) f[kv[i]!] = kv[i + 1]!;
  return {
    id,
    time: f.t ? Number(f.t) : Number(id.slice(0, id.indexOf('-'))),
    account: f.account ?? '',
    decision: f.decision ?? '',
    reason: f.reason ?? '',
    rule: f.rule ?? '',
    status: Number(f.status ?? 0),
    class: f.class ? f.class : null,
    src: f.src ?? '',
    dst: f.dst ?? '',
  };
}

function isDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
