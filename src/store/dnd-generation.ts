/**
 * Which DND generation is live. The importer's replace mode loads a new generation beside the
 * current one and then switches (docs/policy-data.md): the policy check reads the current
 * generation's sets, live DND edits write the current one and the one being loaded, and
 * policy-sync.ts keeps this copy current (change events, a poll). One object per gateway, shared
 * by PolicyCheck and PolicyAdmin; the bulk loader reads the same pair (currentGen, dnd-replace.ts).
 */
import type { Redis } from 'ioredis';
import { Keys } from './keys.js';

export class DndGeneration {
  /** The generation the check reads. */
  current = 1;
  /** The generation a replace-mode import is loading, if any (live writes go to both). */
  loading: number | null = null;
  private readonly keys: Keys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new Keys(prefix);
  }

  /** Re-reads both from Redis. */
  async refresh(): Promise<void> {
    const g = await currentGen(this.redis, this.keys);
    this.current = g.gen;
    this.loading = g.loading;
  }
}

export interface DndGenerations {
  /** The generation lookups use (`dnd:gen`, 1 when unset). */
  gen: number;
  /** The generation a replace is loading (`dnd:loading`), if one is. */
  loading: number | null;
}

export async function currentGen(redis: Redis, keys: Keys): Promise<DndGenerations> {
  // Two GETs, not MGET: the keys live in different Cluster slots.
  const [g, l] = await Promise.all([redis.get(keys.dndGen), redis.get(keys.dndLoading)]);
  return { gen: g ? Number(g) : 1, loading: l ? Number(l) : null };
}

