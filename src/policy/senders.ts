/**
 * The sender registry (码号) as an in-process lookup: exact numbers, number prefixes, number ranges
 * and alphanumeric sender ids, each owned by one account. Pure data structure; store/ loads it from
 * Redis and keeps it current through pub/sub.
 */
import type { NormalAddress } from '../domain/address.js';
import type { SenderRecord } from '../domain/sender.js';

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
  /** Prefix registrations by prefix length: prefixLengths is rebuilt only when a length appears or goes (not on every upsert of thousands). */
  private readonly prefixLengthCount = new Map<number, number>();
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
        this.countPrefixLength(rec.value.length, 1);
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
      this.countPrefixLength(old.value.length, -1);
    } else this.ranges = this.ranges.filter((r) => r.rec.id !== id);
  }

  private countPrefixLength(len: number, delta: 1 | -1): void {
    const n = (this.prefixLengthCount.get(len) ?? 0) + delta;
    if (n > 0) this.prefixLengthCount.set(len, n);
    else this.prefixLengthCount.delete(len);
    if ((delta === 1 && n === 1) || n === 0) this.prefixLengths = [...this.prefixLengthCount.keys()].sort((a, b) => b - a);
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
