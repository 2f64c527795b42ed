/**
 * Complaint cases in Redis. Every key carries the {complaints} hash tag, so a case and its indexes
 * change together in one MULTI (one slot on Redis Cluster). Case volume is small (thousands a
 * month), so listing reads the index and filters in process.
 *
 *   cases         hash  id → JSON ComplaintCase
 *   index         zset  id → received ms (newest-first listing, retention)
 *   due:forward   zset  id → forward deadline, while the case is open
 *   due:handle    zset  id → handle deadline, while the case is open or forwarded
 *   seq           counter for case ids
 *   sender:<id>   zset  id → received ms, a sender's complaints within the auto-suspend window
 */
import type { Redis } from 'ioredis';
import type { CaseState, ComplaintCase } from '../domain/complaint.js';
import { Keys } from './keys.js';

export interface CaseFilter {
  state?: CaseState;
  account?: string;
  sender?: string;
  recipient?: string;
  /** Only cases past a deadline at `now`. */
  overdue?: boolean;
  now?: number;
  /** Received within [from, to] (epoch ms). */
  from?: number;
  to?: number;
  count?: number;
}

export interface CaseStats {
  open: number;
  forwarded: number;
  overdueForward: number;
  overdueHandle: number;
}

export class ComplaintStore {
  readonly keys: Keys;

  constructor(readonly redis: Redis, prefix: string) {
    this.keys = new Keys(prefix);
  }

  private k(part: string): string {
    return this.keys.complaints(part);
  }

  async nextSeq(): Promise<number> {
    return this.redis.incr(this.k('seq'));
  }

  /** Writes a case and keeps the deadline indexes in step with its state. */
  async save(c: ComplaintCase): Promise<void> {
    const m = this.redis.multi().hset(this.k('cases'), c.id, JSON.stringify(c)).zadd(this.k('index'), c.received_at, c.id);
    if (c.state === 'open') m.zadd(this.k('due:forward'), c.forward_due, c.id);
    else m.zrem(this.k('due:forward'), c.id);
    if (c.state === 'open' || c.state === 'forwarded') m.zadd(this.k('due:handle'), c.handle_due, c.id);
    else m.zrem(this.k('due:handle'), c.id);
    await execOrThrow(m.exec());
  }

  async get(id: string): Promise<ComplaintCase | null> {
    const v = await this.redis.hget(this.k('cases'), id);
    return v ? (JSON.parse(v) as ComplaintCase) : null;
  }

  /** Newest first. */
  async list(f: CaseFilter = {}): Promise<ComplaintCase[]> {
    const want = f.count ?? 100;
    const now = f.now ?? Date.now();
    const out: ComplaintCase[] = [];
    const max = f.to ?? '+inf';
    const min = f.from ?? '-inf';
    let offset = 0;
    const page = 500;
    for (;;) {
      const ids = await this.redis.zrevrangebyscore(this.k('index'), max, min, 'LIMIT', offset, page);
      if (ids.length === 0) break;
      const values = await this.redis.hmget(this.k('cases'), ...ids);
      for (const v of values) {
        if (!v) continue;
        const c = JSON.parse(v) as ComplaintCase;
        if (f.state && c.state !== f.state) continue;
        if (f.account && c.account !== f.account) continue;
        if (f.sender && c.sender !== f.sender) continue;
        if (f.recipient && c.recipient !== f.recipient) continue;
        if (f.overdue && !((c.state === 'open' && now >= c.forward_due) || ((c.state === 'open' || c.state === 'forwarded') && now >= c.handle_due))) continue;
        out.push(c);
        if (out.length >= want) return out;
      }
      if (ids.length < page) break;
      offset += page;
    }
    return out;
  }

  /**
   * Adds a case to its sender's complaint window and returns how many of the sender's cases were
   * received since `since`. Older entries than the window are trimmed; the key expires with it.
   */
  async countForSender(sender: string, id: string, receivedAt: number, since: number, windowMs: number, now: number): Promise<number> {
    const key = this.k(`sender:${sender}`);
    const r = await execOrThrow(
      this.redis
        .multi()
        .zadd(key, receivedAt, id)
        .zremrangebyscore(key, '-inf', `(${now - windowMs}`)
        .pexpire(key, windowMs + 60_000)
        .zcount(key, since, '+inf')
        .exec(),
    );
    return Number(r[3]);
  }

  /** Takes a case out of its sender's window (rejected: it no longer counts). */
  async uncount(sender: string, id: string): Promise<void> {
    await this.redis.zrem(this.k(`sender:${sender}`), id);
  }

  /** Case counts for metrics: open, forwarded, and how many are past each deadline at `now`. */
  async stats(now: number): Promise<CaseStats> {
    const r = await execOrThrow(
      this.redis
        .multi()
        .zcard(this.k('due:forward'))
        .zcard(this.k('due:handle'))
        .zcount(this.k('due:forward'), '-inf', now)
        .zcount(this.k('due:handle'), '-inf', now)
        .exec(),
    );
    const [open, openOrForwarded, overdueForward, overdueHandle] = r.map(Number) as [number, number, number, number];
    return { open, forwarded: openOrForwarded - open, overdueForward, overdueHandle };
  }

  /** Removes handled and rejected cases received before `before`; returns how many. */
  async prune(before: number): Promise<number> {
    const ids = await this.redis.zrangebyscore(this.k('index'), '-inf', `(${before}`, 'LIMIT', 0, 1000);
    if (ids.length === 0) return 0;
    const values = await this.redis.hmget(this.k('cases'), ...ids);
    const closed = ids.filter((_, i) => {
      const v = values[i];
      if (!v) return true;
      const st = (JSON.parse(v) as ComplaintCase).state;
      return st === 'handled' || st === 'rejected';
    });
    if (closed.length === 0) return 0;
    await execOrThrow(this.redis.multi().hdel(this.k('cases'), ...closed).zrem(this.k('index'), ...closed).exec());
    return closed.length;
  }
}

/** MULTI results, throwing the first command error (ioredis reports them per command). */
async function execOrThrow(p: Promise<[Error | null, unknown][] | null>): Promise<unknown[]> {
  const r = await p;
  if (!r) throw new Error('transaction aborted');
  for (const [err] of r) if (err) throw err;
  return r.map(([, v]) => v);
}
