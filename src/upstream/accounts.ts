/**
 * upstream/: the SMSC face the gateway shows ESMEs. This file holds the accounts from config with
 * what is shared across an account's binds: its throughput bucket and its live sessions.
 */
import type { AccountConfig } from '../config/schema.js';
import type { Limiter } from '../session/shared-rate.js';
import { TokenBucket } from '../session/token-bucket.js';
import { allowList, type AllowList } from './cidr.js';

/** Told the ESME's answer to a deliver_sm: its command_status, or null when it never answered. */
export type DeliverCallback = (status: number | null) => void;

/**
 * What an account needs of its bound sessions (EsmeSession is the one implementation; declared here
 * so this lower module does not import the session module that imports it).
 */
export interface BoundSession {
  /** Bound as receiver or transceiver, and the connection still open. */
  readonly canReceive: boolean;
  /** Room in the session's deliver_sm window. */
  readonly canTakeDeliver: boolean;
  /** Sends a deliver_sm; false when it cannot go now. */
  deliver(pdu: Buffer, done: DeliverCallback): boolean;
}

export class Account {
  /** Replaced on a live reload that changes the account's limits (binds read them at every use). */
  cidrs: AllowList;
  bucket: Limiter;
  readonly sessions = new Set<BoundSession>();
  private rr = 0;

  constructor(
    public cfg: AccountConfig,
    now: number,
    limiter?: Limiter,
  ) {
    this.cidrs = allowList(cfg.allowed_ips);
    // Burst of one second's worth (at least 1): an ESME may send its TPS in one go, not more.
    this.bucket = limiter ?? new TokenBucket(cfg.tps, Math.max(1, cfg.tps), now);
  }

  /** New limits and settings for the same credentials (live reload): they apply to the bound sessions at once. */
  update(cfg: AccountConfig, now: number, limiter?: Limiter): void {
    const tpsChanged = cfg.tps !== this.cfg.tps;
    this.cfg = cfg;
    this.cidrs = allowList(cfg.allowed_ips);
    if (tpsChanged) this.bucket = limiter ?? new TokenBucket(cfg.tps, Math.max(1, cfg.tps), now);
  }

  get id(): string {
    return this.cfg.system_id;
  }

  /** A bound receiver or transceiver session with room in its window, round-robin; null if none. */
  pickReceiver(): BoundSession | null {
    const list = [...this.sessions].filter((s) => s.canReceive && s.canTakeDeliver);
    if (list.length === 0) return null;
    this.rr = (this.rr + 1) % list.length;
    return list[this.rr]!;
  }

  hasReceiver(): boolean {
    for (const s of this.sessions) if (s.canReceive) return true;
    return false;
  }
}

export class AccountTable {
  private readonly byId = new Map<string, Account>();

  /** `limiter`: the TPS limit for an account (shared over instances); default a local token bucket. */
  constructor(
    accounts: readonly AccountConfig[],
    now: number,
    private readonly limiter?: (a: AccountConfig) => Limiter | undefined,
  ) {
    for (const a of accounts) this.byId.set(a.system_id, new Account(a, now, limiter?.(a)));
  }

  /**
   * A live reload's account changes: `added` can bind at once; `changed` keep their binds with the
   * new limits; `replaced` (new credentials) and `removed` leave the table — the caller unbinds
   * their sessions. Returns the Account objects that went away.
   */
  apply(change: { added: readonly AccountConfig[]; changed: readonly AccountConfig[]; replaced: readonly AccountConfig[]; removed: readonly string[] }, now: number): Account[] {
    const gone: Account[] = [];
    for (const id of change.removed) {
      const a = this.byId.get(id);
      if (a) gone.push(a);
      this.byId.delete(id);
    }
    for (const c of change.replaced) {
      const a = this.byId.get(c.system_id);
      if (a) gone.push(a);
      this.byId.set(c.system_id, new Account(c, now, this.limiter?.(c)));
    }
    for (const c of change.added) this.byId.set(c.system_id, new Account(c, now, this.limiter?.(c)));
    for (const c of change.changed) {
      const a = this.byId.get(c.system_id);
      if (a) a.update(c, now, c.tps !== a.cfg.tps ? this.limiter?.(c) : undefined);
    }
    return gone;
  }

  get(systemId: string): Account | undefined {
    return this.byId.get(systemId);
  }

  all(): Account[] {
    return [...this.byId.values()];
  }
}
