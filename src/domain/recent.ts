/**
 * A bounded memo of recent values by key (a text's facts, fingerprint, n-grams; a sender's
 * campaign counters): bulk traffic repeats one text to many numbers, so most lookups hit.
 *
 * Two generations of at most half the size each: a hit in the older one moves the entry to the
 * newer; when the newer is full, the older is dropped whole and a new one begun. Not one Map that
 * drops its oldest entry on every insert: under a stream of keys never seen again (one-time codes,
 * personalised texts) V8 rebuilds such a Map's table every few hundred inserts, each table left
 * behind points at its successor, and once one has been promoted the scavenger keeps the chain and
 * every entry in it alive into the old generation (measured in a script: the heap grew ~0.3 MB a
 * scavenge and needed mark-compacts; with generations it stays flat; docs/architecture.md, "Garbage
 * collection").
 */
export class RecentCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;

  /** At most `size` entries are kept. */
  constructor(size: number) {
    this.half = Math.max(1, Math.ceil(size / 2));
  }

  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) this.set(key, o);
    return o;
  }

  set(key: K, value: V): void {
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }

  /** Entries kept (a key moved forward may be counted in both generations until the older goes). */
  get size(): number {
    return this.young.size + this.old.size;
  }
}
