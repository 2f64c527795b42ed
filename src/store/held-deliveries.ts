/**
 * deliver_sm (receipts and MO) held for an account that has no receiving bind: the raw PDU bytes in
 * a Redis list per account, written before the SMSC is answered, removed only after the ESME
 * acknowledged them. Delivery is at-least-once: a crash between the ESME's answer and the trim
 * delivers those PDUs again.
 *
 * Bounded (docs/security.md, "Bounded Redis and buffers"): each entry carries when it was held and
 * an id; entries older than the TTL are dropped, and past the per-account cap the oldest go, both
 * counted in smppguard_held_dropped_total. The list key expires a TTL after its last write.
 * The list operations are one script (lua/held.lua), so a drop never lands between a read and its trim.
 *
 * An entry the receiver refuses `deadLetterAfter` times moves to the account's dead-letter list
 * (<p>{held:<account>}:dead, bounded the same way), so it stops blocking the entries behind it; the
 * admin API lists dead letters and moves one back to the end of the held list (retryDead).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { withScripts, type ScriptClient } from './scripts.js';
import type { Metrics } from '../telemetry/metrics.js';

/** One held PDU as read back. */
export interface HeldEntry {
  /** Names the entry for ack (and the dead-letter list); "-" for one stored before entries had ids. */
  id: string;
  pdu: Buffer;
  /** When it was held (ms); null for an entry stored before entries had a header. */
  heldAt: number | null;
  /** How many times a receiver refused it. */
  refusals: number;
}

export interface HeldLimits {
  /** Entries older than this are dropped (receipts.held_ttl_h). */
  ttlMs: number;
  /** Entries per account beyond which the oldest are dropped (receipts.held_max_per_account). */
  maxPerAccount: number;
  /** Refusals after which an entry moves to the dead-letter list (receipts.dead_letter_after). */
  deadLetterAfter: number;
}

export const DEFAULT_HELD_LIMITS: HeldLimits = { ttlMs: 72 * 3_600_000, maxPerAccount: 100_000, deadLetterAfter: 5 };

/** A dead letter: a held PDU the receiver refused too often. */
export interface DeadLetter {
  id: string;
  pdu: Buffer;
  /** When it moved to the dead-letter list (ms). */
  deadAt: number;
  /** When it was first held (ms); null if stored before entries had a header. */
  heldAt: number | null;
  refusals: number;
  /** The receiver's last answer (command_status). */
  lastStatus: number;
}

/** What a refusal did: still held (refused so many times so far), moved to dead letters, or gone (no longer the oldest). */
export type Refusal = { outcome: 'kept'; refusals: number } | { outcome: 'dead' } | { outcome: 'gone' };

type HeldCall = (key: string, deadKey: string, ...args: (string | number | Buffer)[]) => Promise<(number | Buffer)[] | number>;

/** An entry as stored: header "\xff<held at>:<refusals>:<id>[:…]\n" and the PDU. */
export function encodeEntry(pdu: Buffer, heldAt: number, refusals: number, id: string, extra: (string | number)[] = []): Buffer {
  return Buffer.concat([Buffer.from(`\xff${[heldAt, refusals, id, ...extra].join(':')}\n`, 'latin1'), pdu]);
}

/** An entry read back; `fields` are the header's extra fields (after the id). */
export function decodeEntry(raw: Buffer): HeldEntry & { fields: string[] } {
  const nl = raw[0] === 0xff ? raw.indexOf(0x0a, 1) : -1;
  if (nl < 0) return { id: '-', pdu: raw, heldAt: null, refusals: 0, fields: [] };
  const [at, refusals, id, ...fields] = raw.toString('latin1', 1, nl).split(':');
  return { id: id ?? '-', pdu: raw.subarray(nl + 1), heldAt: Number(at), refusals: Number(refusals) || 0, fields };
}

export class HeldDeliveries {
  private readonly scripts: ScriptClient;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: HeldLimits = DEFAULT_HELD_LIMITS,
    private readonly metrics: Pick<Metrics, 'heldDropped'> | null = null,
    private readonly now: () => number = Date.now,
  ) {
    this.scripts = withScripts(redis);
  }

  key(account: string): string {
    return `${this.prefix}{held:${account}}`;
  }

  deadKey(account: string): string {
    return `${this.prefix}{held:${account}}:dead`;
  }

  private get call(): HeldCall {
    return (this.scripts as unknown as { sgHeldBuffer: HeldCall }).sgHeldBuffer.bind(this.scripts);
  }

  private dropped(account: string, reason: 'expired' | 'cap', n: number): void {
    if (n > 0) this.metrics?.heldDropped.inc({ account, reason }, n);
  }

  /** Stores a copy of the PDU; resolves once Redis has it. Drops (and counts) what expired or is over the cap. */
  async hold(account: string, pdu: Buffer): Promise<void> {
    const now = this.now();
    const entry = encodeEntry(pdu, now, 0, randomBytes(6).toString('hex'));
    const r = (await this.call(this.key(account), this.deadKey(account), 'push', now, this.limits.ttlMs, this.limits.maxPerAccount, entry)) as number[];
    this.dropped(account, 'expired', r[0]!);
    this.dropped(account, 'cap', r[1]!);
  }

  /** The oldest `n` held PDUs, without removing them (those past the TTL are dropped first). */
  async peek(account: string, n: number): Promise<HeldEntry[]> {
    const [expired, ...raw] = (await this.call(this.key(account), this.deadKey(account), 'peek', this.now(), this.limits.ttlMs, n)) as [number, ...Buffer[]];
    this.dropped(account, 'expired', expired);
    return raw.map((b) => {
      const { fields: _, ...e } = decodeEntry(b);
      return e;
    });
  }

  /** Removes the acknowledged entries (by id, oldest first) from the head of the list. */
  async ack(account: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.call(this.key(account), this.deadKey(account), 'ack', ...ids);
  }

  /**
   * The receiver refused the oldest entry (`id`) with `status`: counted on the entry; at
   * deadLetterAfter refusals it moves to the dead-letter list.
   */
  async refused(account: string, id: string, status: number): Promise<Refusal> {
    const l = this.limits;
    const [n, expired, capped] = (await this.call(this.key(account), this.deadKey(account), 'refused', this.now(), l.ttlMs, l.maxPerAccount, id, status, l.deadLetterAfter)) as number[];
    this.dropped(account, 'expired', expired!);
    this.dropped(account, 'cap', capped!);
    return n === -1 ? { outcome: 'gone' } : n === 0 ? { outcome: 'dead' } : { outcome: 'kept', refusals: n! };
  }

  /** The account's dead letters, oldest first (those past the TTL are dropped first). */
  async listDead(account: string, limit: number): Promise<DeadLetter[]> {
    const [expired, ...raw] = (await this.call(this.key(account), this.deadKey(account), 'dead', this.now(), this.limits.ttlMs, limit)) as [number, ...Buffer[]];
    this.dropped(account, 'expired', expired);
    return raw.map((b) => {
      const e = decodeEntry(b);
      const heldAt = Number(e.fields[1]);
      return { id: e.id, pdu: e.pdu, deadAt: e.heldAt ?? 0, heldAt: Number.isFinite(heldAt) ? heldAt : null, refusals: e.refusals, lastStatus: Number(e.fields[0]) || 0 };
    });
  }

  /** Moves one dead letter back to the end of the held list (refusals reset); false if there is no such dead letter. */
  async retryDead(account: string, id: string): Promise<boolean> {
    const [found, capped] = (await this.call(this.key(account), this.deadKey(account), 'retry', this.now(), this.limits.ttlMs, this.limits.maxPerAccount, id)) as number[];
    this.dropped(account, 'cap', capped!);
    return found === 1;
  }

  count(account: string): Promise<number> {
    return this.redis.llen(this.key(account));
  }
}
