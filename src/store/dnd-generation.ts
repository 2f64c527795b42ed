/**
 * Which DND generation is live. The importer's replace mode loads a new generation beside the
 * current one and then switches (docs/policy-data.md): the policy check reads the current
 * generation's sets, live DND edits write the current one and the one being loaded, and
 * policy-sync.ts keeps this copy current (change events, a poll). One object per gateway, shared
 * by PolicyCheck and PolicyAdmin.
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
    // Two GETs, not MGET: the keys live in different Cluster slots.
    const [gen, loading] = await Promise.all([this.redis.get(this.keys.dndGen), this.redis.get(this.keys.dndLoading)]);
    this.current = gen ? Number(gen) : 1;
    this.loading = loading ? Number(loading) : null;
  }
}
