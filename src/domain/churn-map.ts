/**
 * A Map for entries that come and go all the time (a message's parts while they are reassembled,
 * a decision in flight, a recipient's queue chain), each entry living milliseconds.
 *
 * A plain Map under constant set/delete rebuilds its table every few hundred operations, and each
 * table it leaves behind points at its successor. Once one of those has been promoted to the old
 * generation, the scavenger takes that pointer as a root and keeps the next table, and every entry
 * in it, alive and promotes it in turn, until the next full collection (session/window.ts measured
 * it: ~600 bytes a message promoted, 13 ms scavenges). Here, every `renewEvery` deletions the live
 * entries move to a new Map, in order, so such a chain ends there. Iterating while deleting the
 * entry at hand, as a plain Map allows, stays safe: the iterator goes on over the Map it began with.
 */
export class ChurnMap<K, V> implements Iterable<[K, V]> {
  private map = new Map<K, V>();
  private deletes = 0;

  constructor(private readonly renewEvery = 1024) {}

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): this {
    this.map.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    if (!this.map.delete(key)) return false;
    if (++this.deletes >= this.renewEvery) {
      this.deletes = 0;
      this.map = new Map(this.map);
    }
    return true;
  }

  keys(): MapIterator<K> {
    return this.map.keys();
  }

  values(): MapIterator<V> {
    return this.map.values();
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.map[Symbol.iterator]();
  }
}
