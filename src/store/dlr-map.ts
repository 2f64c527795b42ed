/**
 * Message id → account, so a delivery receipt reaches the account that submitted the message.
 * Writes are buffered and sent as one HSET per event-loop turn into the current hour's bucket;
 * buckets expire whole after the configured TTL. Lookups try the id's normalised forms in every
 * live bucket in one script call.
 */
import type { Redis } from 'ioredis';
import { messageIdCandidates, normaliseMessageId } from '../protocol/receipt.js';
import { luaScript } from './redis.js';

const HOUR = 3_600_000;
/** Separates account and gateway id in a stored value (system_ids are printable). */
const SEP = '\u0001';

export interface DlrEntry {
  account: string;
  /** The id the ESME was given, when it is not the SMSC's (queued messages). */
  gatewayId: string | null;
}

export class DlrMap {
  private pending: string[] = [];
  private flushScheduled = false;
  private readonly buckets: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.buckets = Math.ceil((ttlSeconds * 1000) / HOUR) + 1;
    if (!('sgDlrLookup' in redis)) {
      redis.defineCommand('sgDlrLookup', { lua: luaScript('dlr-lookup.lua') });
    }
  }

  private key(hour: number): string {
    return `${this.prefix}{dlr}:${hour}`;
  }

  /**
   * Remembers that `messageId` (as the SMSC gave it) belongs to `account`; `gatewayId` when the ESME
   * was given the gateway's own id for it (a queued message), so its receipt quotes that id.
   */
  record(messageId: string, account: string, gatewayId?: string): void {
    const id = normaliseMessageId(messageId);
    if (id === '') return;
    this.pending.push(id, gatewayId ? `${account}${SEP}${gatewayId}` : account);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): Promise<void> {
    this.flushScheduled = false;
    if (this.pending.length === 0) return Promise.resolve();
    const fields = this.pending;
    this.pending = [];
    const key = this.key(Math.floor(this.now() / HOUR));
    return this.redis
      .multi()
      .hset(key, ...fields)
      .expire(key, this.ttlSeconds + 3600)
      .exec()
      .then(() => undefined, this.onError);
  }

  /** The account (and gateway id) for a receipt's id, null when unknown; rejects when Redis fails. */
  async lookup(receiptId: string): Promise<DlrEntry | null> {
    const hour = Math.floor(this.now() / HOUR);
    const keys = Array.from({ length: this.buckets }, (_, i) => this.key(hour - i));
    const r = (await (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>).sgDlrLookup!(
      keys.length,
      ...keys,
      ...messageIdCandidates(receiptId),
    )) as [string, string] | null;
    if (!r) return null;
    const sep = r[1].indexOf(SEP);
    return sep < 0 ? { account: r[1], gatewayId: null } : { account: r[1].slice(0, sep), gatewayId: r[1].slice(sep + 1) };
  }
}
