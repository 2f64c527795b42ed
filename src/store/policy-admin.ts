/**
 * The policy data's writes and reads outside the hot path: consent records, DND registrations and
 * sender registrations (admin API, complaints, replies, tools), each change journalled (who, when,
 * channel, evidence) and sender changes announced on the events channel for the other instances
 * (policy-sync.ts follows it). The per-message check is policy-check.ts.
 */
import type { Redis } from 'ioredis';
import type { SenderRecord } from '../domain/sender.js';
import { DndGeneration } from './dnd-generation.js';
import { bucketOf, Keys } from './keys.js';

export interface Actor {
  /** Who made the change: an API token's name, "import", "mo-reply", … */
  who: string;
  channel?: string;
  evidence?: string;
}

export type ConsentState = 'granted' | 'revoked';

export interface ConsentRecord {
  scope: string;
  state: ConsentState;
  at: number;
  expires: number | null;
}

export class PolicyAdmin {
  readonly keys: Keys;

  /** `generation`: the DND generation live edits go to (shared with PolicyCheck, kept current by PolicySync). */
  constructor(
    readonly redis: Redis,
    prefix: string,
    private readonly journalRetentionMs: number,
    readonly generation: DndGeneration = new DndGeneration(redis, prefix),
  ) {
    this.keys = new Keys(prefix);
  }

  // ---- journal ---------------------------------------------------------------------------------

  /** Appends a change to the journal stream, trimming entries older than the retention. */
  journal(op: string, actor: Actor, fields: Record<string, string | number | undefined>): Promise<unknown> {
    const minId = `${Date.now() - this.journalRetentionMs}-0`;
    const flat: string[] = ['op', op, 'who', actor.who];
    if (actor.channel) flat.push('channel', actor.channel);
    if (actor.evidence) flat.push('evidence', actor.evidence);
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) flat.push(k, String(v));
    return this.redis.xadd(this.keys.journal, 'MINID', '~', minId, '*', ...flat);
  }

  /**
   * Newest first. With a filter, pages back through the stream until `count` entries match or
   * `scanLimit` entries were read.
   */
  async journalEntries(
    filter: {
      msisdn?: string;
      match?: (e: Record<string, string>) => boolean;
      count?: number;
      scanLimit?: number;
      /** Only entries at or after / at or before these times (epoch ms). */
      from?: number;
      to?: number;
    } = {},
  ): Promise<Record<string, string>[]> {
    const want = filter.count ?? 1000;
    const keep = (e: Record<string, string>) => (!filter.msisdn || e.msisdn === filter.msisdn) && (!filter.match || filter.match(e));
    const out: Record<string, string>[] = [];
    const start = filter.from === undefined ? '-' : `${filter.from}-0`;
    let end = filter.to === undefined ? '+' : `${filter.to}-18446744073709551615`;
    let scanned = 0;
    const limit = filter.scanLimit ?? 100_000;
    while (out.length < want && scanned < limit) {
      const page = await this.redis.xrevrange(this.keys.journal, end, start, 'COUNT', 1000);
      for (const [id, kv] of page) {
        const o: Record<string, string> = { id, time: new Date(Number(id.split('-')[0])).toISOString() };
        for (let i = 0; i < kv.length; i += 2) o[kv[i]!] = kv[i + 1]!;
        if (keep(o) && out.length < want) out.push(o);
      }
      scanned += page.length;
      if (page.length < 1000) break;
      end = `(${page[page.length - 1]![0]}`;
    }
    return out;
  }

  // ---- consent ---------------------------------------------------------------------------------

  async setConsent(msisdn: string, scope: string, state: ConsentState, actor: Actor, expires: number | null = null): Promise<void> {
    const now = Date.now();
    const value = state === 'granted' ? `g:${now}${expires ? `:${expires}` : ''}` : `r:${now}`;
    await this.redis.hset(this.keys.consent(msisdn), scope, value);
    await this.journal(`consent.${state === 'granted' ? 'grant' : 'revoke'}`, actor, { msisdn, scope, expires: expires ?? undefined });
  }

  async deleteConsent(msisdn: string, scope: string, actor: Actor): Promise<boolean> {
    const n = await this.redis.hdel(this.keys.consent(msisdn), scope);
    if (n > 0) await this.journal('consent.delete', actor, { msisdn, scope });
    return n > 0;
  }

  async consentsOf(msisdn: string): Promise<ConsentRecord[]> {
    const all = await this.redis.hgetall(this.keys.consent(msisdn));
    return Object.entries(all).map(([scope, v]) => {
      const [st, at, exp] = v.split(':');
      return { scope, state: st === 'g' ? 'granted' : 'revoked', at: Number(at), expires: exp ? Number(exp) : null };
    });
  }

  // ---- DND ---------------------------------------------------------------------------------------

  /** The national list's sets for a number: the current generation and the one being loaded. */
  private dndTargets(msisdn: string, category: number | null): string[] {
    const { bucket } = bucketOf(msisdn);
    const { current, loading } = this.generation;
    const gens = [current, ...(loading && loading !== current ? [loading] : [])];
    return gens.map((g) => this.keys.dnd(bucket, g, category));
  }

  /**
   * Adds a number to the operator's own DND list (beside the national one, which only the bulk
   * import writes): the national list's `--replace` leaves it alone.
   */
  async addDnd(msisdn: string, category: number | null, actor: Actor): Promise<void> {
    const { bucket, member } = bucketOf(msisdn);
    await this.redis.sadd(this.keys.dndOperator(bucket, category), member);
    await this.journal('dnd.add', actor, { msisdn, category: category ?? undefined, list: 'operator' });
  }

  /**
   * Removes a registration from both lists (the operator's, and the national one until its next
   * import brings it back if the national register still has it). False when neither had it.
   */
  async removeDnd(msisdn: string, category: number | null, actor: Actor): Promise<boolean> {
    await this.generation.refresh();
    const { bucket, member } = bucketOf(msisdn);
    const keys = [this.keys.dndOperator(bucket, category), ...this.dndTargets(msisdn, category)];
    const removed = await Promise.all(keys.map((k) => this.redis.srem(k, member)));
    const any = removed.some((n) => n > 0);
    if (any) await this.journal('dnd.remove', actor, { msisdn, category: category ?? undefined });
    return any;
  }

  /** Categories (0 = all commercial) the number is registered for, on either list. */
  async dndOf(msisdn: string): Promise<number[]> {
    const { national, operator } = await this.dndLists(msisdn);
    return [...new Set([...national, ...operator])].sort((a, b) => a - b);
  }

  /** Categories (0 = all commercial) per list: the national register (current generation) and the operator's own. */
  async dndLists(msisdn: string): Promise<{ national: number[]; operator: number[] }> {
    await this.generation.refresh();
    const { bucket, member } = bucketOf(msisdn);
    const cats = [0, 1, 2, 3, 4, 5, 6, 7];
    const [nat, op] = await Promise.all([
      Promise.all(cats.map((c) => this.redis.sismember(this.keys.dnd(bucket, this.generation.current, c || null), member))),
      Promise.all(cats.map((c) => this.redis.sismember(this.keys.dndOperator(bucket, c || null), member))),
    ]);
    return { national: cats.filter((_, i) => nat[i] === 1), operator: cats.filter((_, i) => op[i] === 1) };
  }

  // ---- senders -----------------------------------------------------------------------------------

  /** `op`: the journal operation (sender.put; sender.suspend / sender.reinstate for status changes). */
  async putSender(rec: SenderRecord, actor: Actor, op = 'sender.put'): Promise<void> {
    await this.redis.hset(this.keys.senders, rec.id, JSON.stringify(rec));
    await this.senderChanged(op, rec, actor);
  }

  /** Creates a registration only if its id is free (HSETNX); false when it already exists. */
  async createSender(rec: SenderRecord, actor: Actor): Promise<boolean> {
    if ((await this.redis.hsetnx(this.keys.senders, rec.id, JSON.stringify(rec))) === 0) return false;
    await this.senderChanged('sender.create', rec, actor);
    return true;
  }

  private async senderChanged(op: string, rec: SenderRecord, actor: Actor): Promise<void> {
    await this.journal(op, actor, { sender: rec.id, account: rec.account, status: rec.status, class: rec.class, reason: rec.status_reason });
    await this.redis.publish(this.keys.events, `sender ${rec.id}`);
  }

  async deleteSender(id: string, actor: Actor): Promise<boolean> {
    const n = await this.redis.hdel(this.keys.senders, id);
    if (n > 0) {
      await this.journal('sender.delete', actor, { sender: id });
      await this.redis.publish(this.keys.events, `sender ${id}`);
    }
    return n > 0;
  }

  async getSender(id: string): Promise<SenderRecord | null> {
    const v = await this.redis.hget(this.keys.senders, id);
    return v ? (JSON.parse(v) as SenderRecord) : null;
  }

  async allSenders(): Promise<SenderRecord[]> {
    const all = await this.redis.hgetall(this.keys.senders);
    return Object.values(all).map((v) => JSON.parse(v) as SenderRecord);
  }

  /**
   * The registrations a page at a time (HSCAN, ~`count` a page), for a caller that yields the event
   * loop between pages: HGETALL of 10,000+ registrations is one reply to parse in one go. A
   * registration present throughout the scan is returned at least once (HSCAN's guarantee).
   */
  async *senderPages(count = 500): AsyncGenerator<SenderRecord[]> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.keys.senders, cursor, 'COUNT', count);
      cursor = next;
      const page: SenderRecord[] = [];
      for (let i = 1; i < flat.length; i += 2) page.push(JSON.parse(flat[i]!) as SenderRecord);
      if (page.length) yield page;
    } while (cursor !== '0');
  }
}
