/**
 * Which generation of a bulk-loaded register is live: the DND register and the number portability
 * table (docs/routing.md) share the scheme. The importer's replace mode loads a new generation
 * beside the current one and then switches (docs/policy-data.md): the policy check reads the
 * current generation's keys, live edits write the current one and the one being loaded, and
 * policy-sync.ts keeps this copy current (change events, a poll). One object per register and
 * gateway, shared by PolicyCheck and PolicyAdmin; the bulk loader reads the same pair (currentGen,
 * dnd-replace.ts).
 */
import type { Redis } from 'ioredis';
import { Keys } from './keys.js';

/** What differs between the registers that switch generations: their keys, event and name. */
export interface GenRegister {
  /** In messages: "DND", "ported-number". */
  readonly label: string;
  genKey(keys: Keys): string;
  loadingKey(keys: Keys): string;
  /** The pub/sub event a switch publishes: "<event> <G>". */
  readonly event: string;
  /** SCAN pattern of every generation key (the prefix already glob-escaped). */
  glob(prefix: string): string;
  /** A generation key's generation number (group 1); keys it does not match are not the register's. */
  readonly genOf: RegExp;
}

export const DND_REGISTER: GenRegister = {
  label: 'DND',
  genKey: (k) => k.dndGen,
  loadingKey: (k) => k.dndLoading,
  event: 'dnd-gen',
  glob: (p) => `${p}dnd:{r:*}:g*`,
  genOf: /:g(\d+)(?::c\d+)?$/,
};

/** The number portability table (store/ported.ts): ported:{r:B}:g<G>:<S> hashes. */
export const PORTED_REGISTER: GenRegister = {
  label: 'ported-number',
  genKey: (k) => k.portedGen,
  loadingKey: (k) => k.portedLoading,
  event: 'ported-gen',
  glob: (p) => `${p}ported:{r:*}:g*`,
  genOf: /^.*ported:\{r:\d+\}:g(\d+):\d+$/,
};

export class DndGeneration {
  /** The generation the check reads. */
  current = 1;
  /** The generation a replace-mode import is loading, if any (live writes go to both). */
  loading: number | null = null;
  private readonly keys: Keys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly register: GenRegister = DND_REGISTER,
  ) {
    this.keys = new Keys(prefix);
  }

  /** Re-reads both from Redis. */
  async refresh(): Promise<void> {
    const g = await currentGen(this.redis, this.keys, this.register);
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

export async function currentGen(redis: Redis, keys: Keys, reg: GenRegister = DND_REGISTER): Promise<DndGenerations> {
  // Two GETs, not MGET: the keys live in different Cluster slots.
  const [g, l] = await Promise.all([redis.get(reg.genKey(keys)), redis.get(reg.loadingKey(keys))]);
  return { gen: g ? Number(g) : 1, loading: l ? Number(l) : null };
}

