/**
 * One-shot, in-process identities that let the console call the admin API as its signed-in user.
 * The console never holds an admin token (the browser's session names only who signed in), yet
 * every write must take the admin API's own code path — role check, input checks, journal with
 * "who". So the console issues a grant (32 random bytes) for one request it injects into /api/v1
 * (fastify inject: no socket), and the admin scope (admin/scope.ts) takes it instead of a bearer
 * token. A grant works once and only within seconds of being issued; at most MAX are outstanding.
 */
import { randomBytes } from 'node:crypto';
import type { AdminRole } from '../domain/admin-role.js';

/** The request header that carries a grant (never sent by a browser: the console sets it on injected requests). */
export const GRANT_HEADER = 'x-smppguard-console-grant';
const TTL_MS = 10_000;
const MAX = 10_000;

export interface Grantee {
  who: string;
  role: AdminRole;
}

export class ConsoleGrants {
  private readonly open = new Map<string, Grantee & { at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new grant for one injected request. */
  issue(g: Grantee): string {
    const t = this.now();
    // Oldest first (Map keeps insertion order): drop the stale ones and, past MAX, the oldest.
    for (const [k, v] of this.open) {
      if (t - v.at < TTL_MS && this.open.size < MAX) break;
      this.open.delete(k);
    }
    const key = randomBytes(32).toString('base64url');
    this.open.set(key, { who: g.who, role: g.role, at: t });
    return key;
  }

  /** The grantee for a header value, once; null when unknown, used or stale. */
  take(value: string | string[] | undefined): Grantee | null {
    if (typeof value !== 'string') return null;
    const g = this.open.get(value);
    if (!g) return null;
    this.open.delete(value);
    return this.now() - g.at < TTL_MS ? { who: g.who, role: g.role } : null;
  }

  get size(): number {
    return this.open.size;
  }
}
