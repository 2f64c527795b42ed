/**
 * Message id → account, so a delivery receipt reaches the account that submitted the message, and
 * → sender and recipient, so a complaint quoting the id resolves to who sent what to whom.
 * Writes are buffered and sent as one HSET per event-loop turn into the current hour's bucket;
 * buckets expire whole after the configured TTL. Lookups try the id's normalised forms in every
 * live bucket in one script call.
 *
 * Value: "<account>\t<source TON>\t<source_addr>\t<destination_addr>" as the ESME sent them (an
 * entry written before the sender/recipient were added is just "<account>").
 */
import type { Redis } from 'ioredis';
import { messageIdCandidates, normaliseMessageId } from '../protocol/receipt.js';
import { withScripts, type ScriptClient } from './scripts.js';

const HOUR = 3_600_000;

/** What the map knows about a forwarded message. */
export interface MappedMessage {
  account: string;
  /** Source address and TON as submitted; null for entries written without them. */
  sourceTon: number | null;
  source: string | null;
  destination: string | null;
  /** The id the ESME was given, when it is not the SMSC's (a queued message); null otherwise. */
  gatewayId: string | null;
}

/** A stored value: "account" or "account\tTON\tsource\tdestination[\tgateway id]". */
export function parseMapped(value: string): MappedMessage {
  const f = value.split('\t');
  if (f.length < 4) return { account: f[0]!, sourceTon: null, source: null, destination: null, gatewayId: null };
  return { account: f[0]!, sourceTon: Number(f[1]), source: f[2]!, destination: f[3]!, gatewayId: f[4] || null };
}

export class DlrMap {
  private pending: string[] = [];
  private flushScheduled = false;
  private readonly buckets: number;
  private readonly scripts: ScriptClient;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.buckets = Math.ceil((ttlSeconds * 1000) / HOUR) + 1;
    this.scripts = withScripts(redis);
  }

  private key(hour: number): string {
    return `${this.prefix}{dlr}:${hour}`;
  }

  /**
   * Remembers that `messageId` (as the SMSC gave it) belongs to `account`, from `source` to
   * `destination`; `gatewayId` when the ESME was given the gateway's own id for it (a queued
   * message), so its receipt quotes that id.
   */
  record(messageId: string, account: string, sourceTon?: number, source?: string, destination?: string, gatewayId?: string): void {
    const id = normaliseMessageId(messageId);
    if (id === '') return;
    const tail = gatewayId ? `\t${gatewayId}` : '';
    this.pending.push(id, source === undefined && !gatewayId ? account : `${account}\t${sourceTon ?? 0}\t${source ?? ''}\t${destination ?? ''}${tail}`);
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

  /** The account for a receipt's id, null when unknown; rejects when Redis fails. */
  async lookup(receiptId: string): Promise<string | null> {
    return (await this.lookupMessage(receiptId))?.account ?? null;
  }

  /** Account, sender and recipient of a message id, null when unknown; rejects when Redis fails. */
  async lookupMessage(receiptId: string): Promise<MappedMessage | null> {
    const hour = Math.floor(this.now() / HOUR);
    const keys = Array.from({ length: this.buckets }, (_, i) => this.key(hour - i));
    const r = await this.scripts.sgDlrLookup(keys.length, ...keys, ...messageIdCandidates(receiptId));
    return r ? parseMapped(r[1]) : null;
  }
}
