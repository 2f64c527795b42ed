/**
 * The Redis key layout, in one place. Laid out for Redis Cluster from the start: every key a
 * message's policy check touches carries the recipient's bucket as hash tag `{r:<bucket>}`, so the
 * one script call per message never crosses slots.
 *
 * A recipient number n (international digits, at most 15) lives in bucket floor(n / 2^15) as member
 * n mod 2^15. DND buckets are Redis sets of those small integers: Redis keeps them as int16
 * intsets (2 bytes a member) while a bucket holds ≤ set-max-intset-entries members (default 512;
 * 1 % density averages 328). See docs/policy-data.md for the measured bytes per entry.
 *
 *   <p>dnd:{r:B}:g<G>          set of members refusing all commercial messages (generation G)
 *   <p>dnd:{r:B}:g<G>:c<K>     set of members refusing category K (1–7)
 *   <p>dnd:{r:B}:op            the operator's own DND list (numbers added through the API): not
 *                              touched by the national list's replace; checked beside it
 *   <p>dnd:{r:B}:op:c<K>       the operator list's category K registrations
 *   <p>dnd:gen                 current DND generation (the import's replace mode bumps it)
 *   <p>dnd:loading             generation being loaded, if any (live writes go to both)
 *   <p>ported:{r:B}:g<G>:<S>   number portability table (store/ported.ts), generation G: a hash per
 *                              4096 numbers (S = floor(n / 4096) mod 8 within the bucket), field
 *                              n mod 4096 → the network tag
 *   <p>ported:gen, ported:loading  its current generation and the one a replace loads (as dnd:…)
 *   <p>consent:{r:B}:<msisdn>  hash per recipient: "<scope>" → "g:<ms>[:<expires ms>]" | "r:<ms>"
 *   <p>senders                 hash sender id → JSON registration
 *   <p>journal                 stream: every consent/DND/sender change with who, when, channel, evidence
 *   <p>events                  pub/sub channel: "sender <id>", "dnd-gen <G>", "ported-gen <G>"
 *   <p>audit:{a:<S>}           stream: decisions for recipients n with n mod shards = S, one entry per flush (audit-stream.ts);
 *                              a bounded buffer (bytes, age), drained by the archive writer (archive/writer.ts)
 *   <p>auditm:{a:<S>}          hash: that stream's bytes, oldest entry, archive cursor, dropped count (same TTL)
 *   <p>auditlease:{a:<S>}      the shard's archive writer lease (SET NX PX, renewed)
 *   <p>{complaints}:cases      hash case id → JSON case (complaint-store.ts; all complaint keys share one slot)
 *   <p>{complaints}:index      zset case id → received ms
 *   <p>{complaints}:due:forward, :due:handle   zsets case id → deadline ms, while that step is to do
 *   <p>{complaints}:seq        case number counter
 *   <p>{complaints}:sender:<id>  zset case id → received ms: a sender's recent complaints
 */
import { digitsOnly } from '../domain/address.js';

export const BUCKET_BITS = 15;
const BUCKET_SIZE = 2 ** BUCKET_BITS;

export interface Slotted {
  bucket: number;
  member: number;
}

/** Bucket and member of a normalised number (digits, at most 15). */
export function bucketOf(msisdn: string): Slotted {
  const n = subscriberNumber(msisdn);
  return { bucket: Math.floor(n / BUCKET_SIZE), member: n % BUCKET_SIZE };
}

/** A normalised number's value; RangeError unless it is 1–15 digits (checked by a loop: the consent import's per-row cost). */
function subscriberNumber(msisdn: string): number {
  // Beyond 15 digits (E.164's maximum) Number() loses precision and numbers would collide.
  if (!digitsOnly(msisdn, 15)) throw new RangeError(`not a subscriber number (1-15 digits): ${msisdn}`);
  return Number(msisdn);
}

/** The number back from bucket and member (for listing and export). */
export function msisdnOf(bucket: number, member: number): string {
  return String(bucket * BUCKET_SIZE + member);
}

/** Numbers per ported-table hash: few enough that a hash stays a listpack at realistic densities (docs/routing.md). */
export const PORTED_BITS = 12;
const PORTED_SIZE = 2 ** PORTED_BITS;
const PORTED_SUBS = BUCKET_SIZE / PORTED_SIZE;

/** Where a number (at most 15 digits, as a number) lives in the ported table: bucket, sub-hash, field. */
export function portedSlot(n: number): { bucket: number; sub: number; field: number } {
  const q = Math.floor(n / PORTED_SIZE);
  return { bucket: Math.floor(q / PORTED_SUBS), sub: q % PORTED_SUBS, field: n % PORTED_SIZE };
}

export class Keys {
  /** The DND and consent keys up to their bucket (the policy check writes its keys from these in pieces). */
  readonly dndHead: string;
  readonly consentHead: string;
  constructor(readonly prefix: string) {
    this.dndHead = `${prefix}dnd:{r:`;
    this.consentHead = `${prefix}consent:{r:`;
  }
  dnd(bucket: number, gen: number, category: number | null = null): string {
    return `${this.dndHead}${bucket}}:g${gen}${category ? `:c${category}` : ''}`;
  }
  /** The operator's own DND list (admin API writes), beside the national generations. */
  dndOperator(bucket: number, category: number | null = null): string {
    return `${this.dndHead}${bucket}}:op${category ? `:c${category}` : ''}`;
  }
  /** One hash per recipient, fields = consent scopes (the check reads them with one HMGET). */
  consent(msisdn: string): string {
    return `${this.consentHead}${Math.floor(subscriberNumber(msisdn) / BUCKET_SIZE)}}:${msisdn}`;
  }
  /** The number portability table's hash of (bucket, sub) in generation `gen`. */
  ported(bucket: number, sub: number, gen: number): string {
    return `${this.prefix}ported:{r:${bucket}}:g${gen}:${sub}`;
  }
  get portedGen(): string {
    return `${this.prefix}ported:gen`;
  }
  get portedLoading(): string {
    return `${this.prefix}ported:loading`;
  }
  get dndGen(): string {
    return `${this.prefix}dnd:gen`;
  }
  get dndLoading(): string {
    return `${this.prefix}dnd:loading`;
  }
  get senders(): string {
    return `${this.prefix}senders`;
  }
  get journal(): string {
    return `${this.prefix}journal`;
  }
  get events(): string {
    return `${this.prefix}events`;
  }
  /** One decision stream per recipient shard. */
  audit(shard: number): string {
    return `${this.prefix}audit:{a:${shard}}`;
  }
  /** A decision stream's meta hash: b bytes, o oldest entry ms, c archive cursor, x dropped (audit-append.lua). */
  auditMeta(shard: number): string {
    return `${this.prefix}auditm:{a:${shard}}`;
  }
  /** The lease of the one archive writer of a shard (archive/lease.ts). */
  auditLease(shard: number): string {
    return `${this.prefix}auditlease:{a:${shard}}`;
  }
  /** Complaint keys (one hash slot: a case and its indexes change in one MULTI). */
  complaints(part: string): string {
    return `${this.prefix}{complaints}:${part}`;
  }
}

export const DND_CATEGORIES = {
  1: 'banking/insurance/financial',
  2: 'real estate',
  3: 'education',
  4: 'health',
  5: 'consumer goods/automobiles',
  6: 'communication/broadcasting/entertainment/IT',
  7: 'tourism/leisure',
} as const;
