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
  readonly cidrs: AllowList;
  readonly bucket: Limiter;
  readonly sessions = new Set<BoundSession>();
  private rr = 0;

  constructor(
    readonly cfg: AccountConfig,
    now: number,
    limiter?: Limiter,
  ) {
    this.cidrs = allowList(cfg.allowed_ips);
    // Burst of one second's worth (at least 1): an ESME may send its TPS in one go, not more.
    this.bucket = limiter ?? new TokenBucket(cfg.tps, Math.max(1, cfg.tps), now);
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
  constructor(accounts: readonly AccountConfig[], now: number, limiter?: (a: AccountConfig) => Limiter | undefined) {
    for (const a of accounts) this.byId.set(a.system_id, new Account(a, now, limiter?.(a)));
  }

  get(systemId: string): Account | undefined {
    return this.byId.get(systemId);
  }

  all(): Account[] {
    return [...this.byId.values()];
  }
}
