/**
 * The sender registry (码号) as an in-process lookup: exact numbers, number prefixes, number ranges
 * and alphanumeric sender ids, each owned by one account. Pure data structure; store/ loads it from
 * Redis and keeps it current through pub/sub.
 */
import { z } from 'zod';
import type { NormalAddress } from './address.js';

export const SENDER_CLASSES = ['commercial', 'service', 'otp'] as const;
export type SenderClass = (typeof SENDER_CLASSES)[number];

export const SenderInputSchema = z.strictObject({
  /** number: one number; prefix: every number starting with value; range: "from-to" (same length); alpha: a sender name. */
  kind: z.enum(['number', 'prefix', 'range', 'alpha']),
  value: z.string().min(1).max(41),
  account: z.string().min(1).max(15),
  /** Unset: the owning account's default_class applies. */
  class: z.enum(SENDER_CLASSES).optional(),
  status: z.enum(['active', 'suspended', 'revoked']).default('active'),
  /** Why the status is what it is (e.g. "5 complaints in 7d"); set with a status change. */
  status_reason: z.string().min(1).max(500).optional(),
  /** Who set the current status ("auto:complaints" for an automatic suspension) and when (RFC 3339). */
  status_by: z.string().min(1).max(64).optional(),
  status_at: z.iso.datetime({ offset: true }).optional(),
  valid_from: z.iso.datetime({ offset: true }).optional(),
  valid_until: z.iso.datetime({ offset: true }).optional(),
  /** Brand names allowed in the 【品牌】 signature; the first is the consent scope brand. */
  signatures: z.array(z.string().min(1).max(18)).default([]),
});
export type SenderInput = z.input<typeof SenderInputSchema>;
export type SenderRecord = z.output<typeof SenderInputSchema> & { id: string; updated_at?: string; updated_by?: string };

export function senderId(kind: SenderRecord['kind'], value: string): string {
  return `${kind}:${kind === 'alpha' ? value.toUpperCase() : value}`;
}

interface Range {
  from: string;
  to: string;
  rec: SenderRecord;
}

export class SenderRegistry {
  private readonly exact = new Map<string, SenderRecord>();
  private readonly alpha = new Map<string, SenderRecord>();
  private readonly prefixes = new Map<string, SenderRecord>();
  private prefixLengths: number[] = [];
  private ranges: Range[] = [];
  private readonly byId = new Map<string, SenderRecord>();

  get size(): number {
    return this.byId.size;
  }

  all(): SenderRecord[] {
    return [...this.byId.values()];
  }

  get(id: string): SenderRecord | undefined {
    return this.byId.get(id);
  }

  upsert(rec: SenderRecord): void {
    this.remove(rec.id);
    this.byId.set(rec.id, rec);
    switch (rec.kind) {
      case 'number':
        this.exact.set(rec.value, rec);
        break;
      case 'alpha':
        this.alpha.set(rec.value.toUpperCase(), rec);
        break;
      case 'prefix':
        this.prefixes.set(rec.value, rec);
        this.prefixLengths = [...new Set([...this.prefixes.keys()].map((p) => p.length))].sort((a, b) => b - a);
        break;
      case 'range': {
        const [from, to] = rec.value.split('-') as [string, string];
        this.ranges.push({ from, to, rec });
        break;
      }
    }
  }

  remove(id: string): void {
    const old = this.byId.get(id);
    if (!old) return;
    this.byId.delete(id);
    if (old.kind === 'number') this.exact.delete(old.value);
    else if (old.kind === 'alpha') this.alpha.delete(old.value.toUpperCase());
    else if (old.kind === 'prefix') {
      this.prefixes.delete(old.value);
      this.prefixLengths = [...new Set([...this.prefixes.keys()].map((p) => p.length))].sort((a, b) => b - a);
    } else this.ranges = this.ranges.filter((r) => r.rec.id !== id);
  }

  /** The registration covering an address: exact number, then the longest prefix, then a range. */
  find(addr: NormalAddress): SenderRecord | null {
    if (addr.kind === 'alpha') return this.alpha.get(addr.value) ?? null;
    if (addr.kind !== 'number') return null;
    const v = addr.value;
    const hit = this.exact.get(v);
    if (hit) return hit;
    for (const len of this.prefixLengths) {
      if (len > v.length) continue;
      const p = this.prefixes.get(v.slice(0, len));
      if (p) return p;
    }
    for (const r of this.ranges) {
      if (v.length === r.from.length && v >= r.from && v <= r.to) return r.rec;
    }
    return null;
  }
}

/** Checks a sender input beyond its schema: range shape, normalised values, validity order. */
export function senderProblems(rec: SenderRecord): string[] {
  const out: string[] = [];
  if (rec.kind === 'range') {
    const m = rec.value.match(/^(\d+)-(\d+)$/);
    if (!m) out.push('range value must be "from-to" with digits');
    else if (m[1]!.length !== m[2]!.length || m[1]! > m[2]!) out.push('range ends must have the same length and from <= to');
  }
  if ((rec.kind === 'number' || rec.kind === 'prefix') && !/^\d{1,20}$/.test(rec.value)) {
    out.push(`${rec.kind} value must be digits (international form, no +)`);
  }
  if (rec.valid_from && rec.valid_until && Date.parse(rec.valid_from) >= Date.parse(rec.valid_until)) {
    out.push('valid_from must be before valid_until');
  }
  return out;
}
