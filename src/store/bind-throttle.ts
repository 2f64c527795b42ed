/**
 * Bind throttling's Redis side (the rules are in store/lua/bind-throttle.lua; upstream/bind-auth.ts
 * decides when to ask): failed binds counted per (source IP, system_id) and per source IP, lockouts,
 * the list of current lockouts and lifting one (admin API). Counted in Redis so every instance and
 * worker process shares the counts. Every key carries the `{bind-throttle}` hash tag: one slot on
 * Redis Cluster, so the script's keys never cross slots.
 */
import type { Redis } from 'ioredis';
import { withScripts, type ScriptClient } from './scripts.js';

export interface ThrottleLimits {
  /** Failures are counted in a window this long from the first one. */
  windowMs: number;
  /** Failures per (source IP, system_id) in a window that lock the pair out. */
  maxFailures: number;
  /** Failures per source IP over every system_id that lock the IP out. */
  maxFailuresPerIp: number;
  /** The first lockout; each further one (while the last is remembered) doubles, up to maxLockoutMs. */
  lockoutMs: number;
  maxLockoutMs: number;
  /** Distinct system_ids counted per source IP in a window; beyond them failures count only toward the IP. */
  maxSystemIdsPerIp: number;
}

export type LockScope = 'pair' | 'ip';

export interface ThrottleState {
  /** The lockout in force (null: none). */
  locked: LockScope | null;
  /** Its time left (ms). */
  ms: number;
  /** Lockouts this failure started. */
  started: LockScope[];
}

export interface Lockout {
  ip: string;
  /** null: the whole source IP is locked out (every system_id). */
  systemId: string | null;
  /** When it ends (ms since the epoch). */
  until: number;
}

const SCOPES: (LockScope | null)[] = [null, 'pair', 'ip'];

export class BindThrottleStore {
  private readonly scripts: ScriptClient;
  private readonly base: string;

  constructor(
    redis: Redis,
    prefix: string,
    readonly limits: ThrottleLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.scripts = withScripts(redis);
    this.base = `${prefix}{bind-throttle}`;
  }

  /** The lockout index (zset member → until). */
  get indexKey(): string {
    return `${this.base}:locks`;
  }

  private run(mode: string, ip: string, systemId: string): Promise<[number, number, number, number]> {
    const pair = `${ip}|${systemId}`;
    const b = this.base;
    const l = this.limits;
    return this.scripts.sgBindThrottle(
      `${b}:fail:${pair}`,
      `${b}:lock:${pair}`,
      `${b}:level:${pair}`,
      `${b}:fail:${ip}`,
      `${b}:lock:${ip}`,
      `${b}:level:${ip}`,
      `${b}:ids:${ip}`,
      this.indexKey,
      mode,
      pair,
      ip,
      systemId,
      this.now(),
      l.windowMs,
      l.maxFailures,
      l.maxFailuresPerIp,
      l.lockoutMs,
      l.maxLockoutMs,
      l.maxSystemIdsPerIp,
    );
  }

  private static state([s, ms, pairNow, ipNow]: [number, number, number, number]): ThrottleState {
    const started: LockScope[] = [];
    if (pairNow) started.push('pair');
    if (ipNow) started.push('ip');
    return { locked: SCOPES[s] ?? null, ms, started };
  }

  /** Whether this source IP, or this IP with this system_id, is locked out now. */
  async check(ip: string, systemId: string): Promise<ThrottleState> {
    return BindThrottleStore.state(await this.run('check', ip, systemId));
  }

  /** Counts a failed bind; the state after it (and the lockouts it started). */
  async fail(ip: string, systemId: string): Promise<ThrottleState> {
    return BindThrottleStore.state(await this.run('fail', ip, systemId));
  }

  /** A successful bind forgets the pair's failures and back-off (the IP's count stays). */
  async succeeded(ip: string, systemId: string): Promise<void> {
    await this.run('ok', ip, systemId);
  }

  /** Current lockouts, soonest to end first. */
  async list(): Promise<Lockout[]> {
    const flat = await this.scripts.zrangebyscore(this.indexKey, this.now() + 1, '+inf', 'WITHSCORES');
    const out: Lockout[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const member = flat[i]!;
      const bar = member.indexOf('|');
      out.push({ ip: bar < 0 ? member : member.slice(0, bar), systemId: bar < 0 ? null : member.slice(bar + 1), until: Number(flat[i + 1]) });
    }
    return out;
  }

  /** Lifts a lockout (systemId null: the IP-wide one) and forgets its failures; false if there was none. */
  async lift(ip: string, systemId: string | null): Promise<boolean> {
    const [removed] = await this.run(systemId === null ? 'lift_ip' : 'lift_pair', ip, systemId ?? '');
    return removed > 0;
  }
}
