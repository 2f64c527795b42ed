/**
 * Bind authentication: one answer for every failure. An unknown system_id, a wrong password and a
 * source IP outside the account's allow-list all cost one scrypt check and get the same status
 * (ESME_RBINDFAIL), so neither the answer nor its timing tells an attacker which accounts exist.
 * An unknown account is checked against a dummy hash made once at start (same scrypt cost as
 * `smppguard hash-password`). The true reason is returned to the session for its log line and
 * the `smppguard_bind_failures_total{reason}` metric (reasons: BIND_FAILURES, a fixed set).
 */
import { randomBytes } from 'node:crypto';
import type { Account } from './accounts.js';
import { ipAllowed } from './cidr.js';
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
}

export class BindAuth {
  private readonly dummyHash: string;
  private readonly verify: VerifyFn;

  constructor(opts: BindAuthOptions) {
    this.dummyHash = opts.dummyHash;
    this.verify = opts.verify ?? verifyPassword;
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
    void systemId;
    const hash = account?.cfg.password_hash ?? this.dummyHash;
    const ok = await this.verify(password, hash).catch(() => false);
    if (!account) return 'unknown_account';
    if (!ipAllowed(ip, account.cidrs)) return 'ip_not_allowed';
    return ok ? null : 'bad_password';
  }
}

let fallback: Promise<BindAuth> | null = null;

/** The BindAuth of sessions whose environment names none (unit tests): no throttling, one dummy hash per process. */
export function defaultBindAuth(): Promise<BindAuth> {
  fallback ??= BindAuth.create();
  return fallback;
}
