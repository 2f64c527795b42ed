/**
 * Bearer-token authentication for the admin API. Tokens never appear in the config: each entry of
 * `admin.tokens` is a name (journaled as "who" on every write) and the SHA-256 hex of the token.
 * A presented token is hashed and compared with every configured digest in constant time
 * (timingSafeEqual on equal-length digests, no early exit), so neither the match nor its position
 * leaks through timing. Each token carries its role (admin/roles.ts); one without is `admin`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdminRole } from '../domain/admin-role.js';

export interface TokenEntry {
  name: string;
  sha256: string;
  /** Absent in configs from before roles: read as admin (api.ts warns at start-up). */
  role?: AdminRole;
}

export type AuthResult = { ok: true; who: string; role: AdminRole } | { ok: false; reason: 'missing' | 'malformed' | 'invalid'; message: string };

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export class TokenTable {
  private list: readonly TokenEntry[] = [];
  private cache: { name: string; digest: Buffer; role: AdminRole }[] = [];

  /** `tokens`: the list, or where to read the current one (a live reload replaces admin.tokens). */
  constructor(private readonly tokens: readonly TokenEntry[] | (() => readonly TokenEntry[])) {}

  private get entries(): { name: string; digest: Buffer; role: AdminRole }[] {
    const list = typeof this.tokens === 'function' ? this.tokens() : this.tokens;
    if (list !== this.list) {
      this.list = list;
      this.cache = list.map((t) => ({ name: t.name, digest: Buffer.from(t.sha256, 'hex'), role: t.role ?? 'admin' }));
    }
    return this.cache;
  }

  get empty(): boolean {
    return this.entries.length === 0;
  }

  /** The token's name for an `Authorization: Bearer <token>` header, or why not. */
  authenticate(header: string | undefined): AuthResult {
    if (!header) return { ok: false, reason: 'missing', message: 'missing Authorization header (expected "Authorization: Bearer <token>")' };
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!m) return { ok: false, reason: 'malformed', message: 'Authorization header must be "Bearer <token>"' };
    const digest = tokenDigest(m[1]!);
    let found: (typeof this.entries)[number] | null = null;
    for (const e of this.entries) {
      if (e.digest.length === digest.length && timingSafeEqual(e.digest, digest) && found === null) found = e;
    }
    return found === null ? { ok: false, reason: 'invalid', message: 'invalid bearer token' } : { ok: true, who: found.name, role: found.role };
  }
}
