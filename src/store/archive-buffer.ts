/**
 * The archive writer's Redis side (archive/writer.ts): per shard of the decision buffer
 * (store/audit-stream.ts) its writer lease, its cursor, reading entries after the cursor, and
 * advancing the cursor with a trim of what the archive holds (audit-trim.lua, fenced by the
 * lease). Evidence reads the cursor here too (archive/reader.ts).
 *
 * Lease: `<p>auditlease:{a:S}` = the writer's token, SET NX PX, renewed by the holder (compare
 * and PEXPIRE in one script), released (compare and DEL) on close. Exactly one writer per shard at
 * a time across instances: a writer whose renewal fails stops touching the shard at once, and the
 * cursor script changes nothing for a token that is not the lease's.
 */
import type { Redis } from 'ioredis';
import { Keys } from './keys.js';
import { withScripts, type ScriptClient } from './scripts.js';

/** One buffer entry: its stream id, decisions in it and their lines. */
export interface BufferEntry {
  id: string;
  n: number;
  d: Buffer;
}

/** A shard's meta hash as read. */
export interface BufferMeta {
  bytes: number;
  /** Oldest entry's append time (ms), null when empty. */
  oldestMs: number | null;
  cursor: string | null;
  dropped: number;
}

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Compares stream ids "ms-seq": negative when a < b. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-');
  const [bm, bs] = b.split('-');
  const d = Number(am) - Number(bm);
  return d !== 0 ? d : Number(as) - Number(bs);
}

export class ArchiveBuffer {
  readonly keys: Keys;
  private readonly scripts: ScriptClient;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new Keys(prefix);
    this.scripts = withScripts(redis);
    if (!('sgLeaseRenew' in redis)) {
      redis.defineCommand('sgLeaseRenew', { lua: RENEW, numberOfKeys: 1 });
      redis.defineCommand('sgLeaseRelease', { lua: RELEASE, numberOfKeys: 1 });
    }
  }

  /** Takes the shard's lease if nobody holds it; true when the caller holds it now. */
  async acquire(shard: number, token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.auditLease(shard), token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Extends the caller's lease; false when it is no longer the caller's. */
  async renew(shard: number, token: string, ttlMs: number): Promise<boolean> {
    const r = await (this.redis as unknown as { sgLeaseRenew(k: string, t: string, ms: number): Promise<number> }).sgLeaseRenew(this.keys.auditLease(shard), token, ttlMs);
    return r === 1;
  }

  async release(shard: number, token: string): Promise<void> {
    await (this.redis as unknown as { sgLeaseRelease(k: string, t: string): Promise<number> }).sgLeaseRelease(this.keys.auditLease(shard), token);
  }

  /** The shard's archive cursor (the last stream id the archive published), null when none. */
  async cursor(shard: number): Promise<string | null> {
    return this.redis.hget(this.keys.auditMeta(shard), 'c');
  }

  async meta(shard: number): Promise<BufferMeta> {
    const [b, o, c, x] = await this.redis.hmget(this.keys.auditMeta(shard), 'b', 'o', 'c', 'x');
    return { bytes: Number(b ?? 0), oldestMs: o ? Number(o) : null, cursor: c, dropped: Number(x ?? 0) };
  }

  /** Every shard's meta (separate commands, sent together: on a Cluster the shards live in different slots). */
  async metas(shards: number): Promise<BufferMeta[]> {
    return Promise.all(Array.from({ length: shards }, (_, s) => this.meta(s)));
  }

  /** Entries after `after` (null: from the start), at most `count`. */
  async entriesAfter(shard: number, after: string | null, count: number): Promise<BufferEntry[]> {
    const raw = (await this.redis.xrangeBuffer(this.keys.audit(shard), after ? `(${after}` : '-', '+', 'COUNT', count)) as [Buffer, Buffer[]][];
    return raw.map(([id, f]) => {
      let n = 0;
      let d: Buffer = Buffer.alloc(0);
      for (let i = 0; i + 1 < f.length; i += 2) {
        const k = f[i]!.toString('latin1');
        if (k === 'n') n = Number(f[i + 1]!.toString('latin1'));
        else if (k === 'd') d = f[i + 1]!;
      }
      return { id: id.toString('latin1'), n, d };
    });
  }

  /**
   * Moves the shard's cursor forward to `cursor` ("" = not) and trims entries ≤ `upto` ("" = none;
   * never beyond the cursor). Null when the caller no longer holds the lease (nothing changed).
   */
  async archived(shard: number, token: string, cursor: string, upto: string, ttlMs: number): Promise<{ trimmed: number; bytes: number } | null> {
    const k = this.keys;
    const [ok, trimmed, bytes] = await this.scripts.sgAuditArchived(k.audit(shard), k.auditMeta(shard), k.auditLease(shard), token, cursor, upto, ttlMs);
    return ok === 1 ? { trimmed, bytes } : null;
  }
}
