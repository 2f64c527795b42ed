/**
 * Bind authentication: one answer for every failure. An unknown system_id, a wrong password and a
 * source IP outside the account's allow-list all cost one scrypt check and get the same status
 * (ESME_RBINDFAIL), so neither the answer nor its timing tells an attacker which accounts exist.
 * An unknown account is checked against a dummy hash made once at start (same scrypt cost as
 * `smppguard hash-password`). The true reason is returned to the session for its log line and
 * the `smppguard_bind_failures_total{reason}` metric (reasons: BIND_FAILURES, a fixed set).
 *
 * Throttling (store/bind-throttle.ts, counted in Redis so every instance shares it): a source IP,
 * or a source IP with one system_id, locked out after too many failures is refused without running
 * scrypt, whatever the password. Each lockout started gets one metric increment and one log line.
 * If Redis cannot be asked, binds are checked without throttling (counted in redis errors).
 *
 * Password checks run through a FairLimiter (fair-limiter.ts): a few scrypts at a time, queued per
 * source IP and served round-robin, so a flood from one IP cannot starve binds from another. A bind
 * whose IP already has a full queue is refused at once (reason `busy`, not counted as a failure).
 * The lockout is checked when the bind's turn comes, so a flood stops costing scrypt work as soon
 * as it is locked out.
 */
import { randomBytes } from 'node:crypto';
import type { BindThrottleStore, LockScope } from '../store/bind-throttle.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Account } from './accounts.js';
import { ipAllowed } from './cidr.js';
import type { FairLimiter } from './fair-limiter.js';
import { hashPassword, verifyPassword } from './password.js';

/** Why a bind was refused (never told to the ESME); the metric's label set. */
export const BIND_FAILURES = ['unknown_account', 'ip_not_allowed', 'bad_password', 'locked_out', 'busy'] as const;
export type BindFailure = (typeof BIND_FAILURES)[number];

export type VerifyFn = (password: string, stored: string) => Promise<boolean>;

export interface BindAuthOptions {
  /** The hash an unknown account's password is checked against (made once at start). */
  dummyHash: string;
  /** The password check (upstream/password.ts); tests count calls through it. */
  verify?: VerifyFn;
  /** Failure counts and lockouts in Redis; absent: no throttling. */
  throttle?: BindThrottleStore;
  /** Bounded, per-IP fair password checks; absent: unbounded. */
  limiter?: FairLimiter;
  metrics?: Metrics;
  log?: Logger;
}

export class BindAuth {
  private readonly dummyHash: string;
  private readonly verify: VerifyFn;
  private readonly throttle: BindThrottleStore | null;

  constructor(private readonly opts: BindAuthOptions) {
    this.dummyHash = opts.dummyHash;
    this.verify = opts.verify ?? verifyPassword;
    this.throttle = opts.throttle ?? null;
  }

  /** A BindAuth with a fresh dummy hash (a random password nobody knows, standard cost). */
  static async create(opts: Omit<BindAuthOptions, 'dummyHash'> = {}): Promise<BindAuth> {
    return new BindAuth({ ...opts, dummyHash: await hashPassword(randomBytes(24).toString('base64')) });
  }

  /**
   * Checks a bind: null if it may proceed, else the true reason. Every path that reaches the
   * password check runs exactly one scrypt, whether or not the account exists or the IP is allowed.
   */
  async check(ip: string, systemId: string, password: string, account: Account | undefined): Promise<BindFailure | null> {
    const limiter = this.opts.limiter;
    if (!limiter) return this.checkNow(ip, systemId, password, account);
    const queued = limiter.run(ip, () => this.checkNow(ip, systemId, password, account));
    return queued ?? 'busy';
  }

  private async checkNow(ip: string, systemId: string, password: string, account: Account | undefined): Promise<BindFailure | null> {
    if (await this.lockedOut(ip, systemId)) return 'locked_out';
    const hash = account?.cfg.password_hash ?? this.dummyHash;
    const ok = await this.verify(password, hash).catch(() => false);
    const failure: BindFailure | null = !account ? 'unknown_account' : !ipAllowed(ip, account.cidrs) ? 'ip_not_allowed' : ok ? null : 'bad_password';
    if (failure) await this.failed(ip, systemId);
    else this.throttle?.succeeded(ip, systemId).catch(() => this.redisError());
    return failure;
  }

  private async lockedOut(ip: string, systemId: string): Promise<boolean> {
    if (!this.throttle) return false;
    try {
      return (await this.throttle.check(ip, systemId)).locked !== null;
    } catch {
      this.redisError();
      return false;
    }
  }

  private async failed(ip: string, systemId: string): Promise<void> {
    if (!this.throttle) return;
    try {
      const st = await this.throttle.fail(ip, systemId);
      for (const scope of st.started) this.lockout(scope, ip, systemId, st.ms);
    } catch {
      this.redisError();
    }
  }

  private lockout(scope: LockScope, ip: string, systemId: string, ms: number): void {
    this.opts.metrics?.bindLockouts.inc({ scope });
    this.opts.log?.warn(
      { scope, ip, ...(scope === 'pair' ? { system_id: systemId } : {}), lockout_s: Math.round(ms / 1000) },
      scope === 'pair' ? 'bind lockout: too many failed binds for this system_id from this IP' : 'bind lockout: too many failed binds from this IP',
    );
  }

  private redisError(): void {
    this.opts.metrics?.redisErrors.inc({ op: 'bind_throttle' });
  }
}

let fallback: Promise<BindAuth> | null = null;

/** The BindAuth of sessions whose environment names none (unit tests): no throttling, one dummy hash per process. */
export function defaultBindAuth(): Promise<BindAuth> {
  fallback ??= BindAuth.create();
  return fallback;
}
