/**
 * Console sessions, kept in Redis so any instance (or worker) serves any request. The browser holds
 * only a random session id (cookie); Redis holds, under the id's SHA-256 (a copy of Redis does not
 * hand out live cookies), who signed in, the CSRF token, the operator's time zone, when it started,
 * a one-time flash message and the last review decisions made in it. Every key expires: idle
 * timeout refreshed on each request, and a hard end `maxMs` after sign-in. The admin token itself is
 * never stored — a session names its token by name and looks the role up in the config on each use,
 * so a token removed or demoted in the config takes effect at once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from '../store/redis.js';

export interface Session {
  /** The (hashed) key in Redis. */
  key: string;
  who: string;
  csrf: string;
  tz: string;
  created: number;
  flash: Flash | null;
}

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

export interface RecentDecision {
  id: string;
  decision: string;
  at: number;
  /** The rule and recipient, for the follow-up line. */
  rule: string;
  recipient: string;
}

/** At most this many review decisions remembered per session. */
const RECENT_MAX = 50;

export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly idleMs: number,
    private readonly maxMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private keyOf(id: string): string {
    // Hash-tagged: the session and its decisions list share a Cluster slot (one pipeline, one DEL).
    return `${this.prefix}console:{${createHash('sha256').update(id).digest('hex')}}`;
  }

  /** A new session: its id (for the cookie only) and its CSRF token. */
  async create(who: string, tz: string): Promise<{ id: string; csrf: string }> {
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    const key = this.keyOf(id);
    await this.redis
      .multi()
      .hset(key, { who, csrf, tz, created: String(this.now()) })
      .pexpire(key, Math.min(this.idleMs, this.maxMs))
      .exec();
    return { id, csrf };
  }

  /** The live session for a cookie value (its idle timer restarted, its flash taken), or null. */
  async get(id: string | undefined): Promise<Session | null> {
    if (!id || id.length > 100) return null;
    const key = this.keyOf(id);
    const h = await this.redis.hgetall(key);
    if (!h.who || !h.csrf) return null;
    const created = Number(h.created);
    const left = created + this.maxMs - this.now();
    if (!(left > 0)) {
      await this.redis.del(key, `${key}:recent`);
      return null;
    }
    const ttl = Math.min(this.idleMs, left);
    const p = this.redis.pipeline().pexpire(key, ttl).pexpire(`${key}:recent`, ttl);
    if (h.flash) p.hdel(key, 'flash');
    await p.exec();
    let flash: Flash | null = null;
    if (h.flash) {
      try {
        flash = JSON.parse(h.flash) as Flash;
      } catch {
        flash = null;
      }
    }
    return { key, who: h.who, csrf: h.csrf, tz: h.tz || 'UTC', created, flash };
  }

  async setFlash(s: Session, flash: Flash): Promise<void> {
    await this.redis.hset(s.key, 'flash', JSON.stringify(flash));
  }

  async remember(s: Session, d: RecentDecision): Promise<void> {
    const k = `${s.key}:recent`;
    await this.redis.pipeline().lpush(k, JSON.stringify(d)).ltrim(k, 0, RECENT_MAX - 1).pexpire(k, Math.max(1, s.created + this.maxMs - this.now())).exec();
  }

  async recent(s: Session): Promise<RecentDecision[]> {
    const items = await this.redis.lrange(`${s.key}:recent`, 0, RECENT_MAX - 1);
    return items.flatMap((x) => {
      try {
        return [JSON.parse(x) as RecentDecision];
      } catch {
        return [];
      }
    });
  }

  async destroy(s: Session): Promise<void> {
    await this.redis.del(s.key, `${s.key}:recent`);
  }
}

/** Constant-time equality of a presented CSRF token and the session's. */
export function sameToken(presented: unknown, expected: string): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
