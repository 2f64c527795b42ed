/**
 * The DND generations of a bulk load in replace mode (docs/policy-data.md): which generation(s) a load writes to,
 * the `dnd:loading` lock a replace holds while it loads a new one, the switch, and the removal of
 * old or abandoned generations. Redis I/O only; the load itself is driven by src/import/.
 *
 * Replace mode: the file is loaded into a new generation N (normally G+1) while lookups keep using
 * G; `dnd:loading` = N (a lock with a TTL the importer keeps refreshing) makes live API writes go to
 * both. At the end `dnd:gen` is set to N in one command, `dnd:loading` removed and "dnd-gen N"
 * published; after a grace delay the keys of older generations are UNLINKed. A failed or aborted
 * load removes its partial generation and leaves G current; a crashed one (kill -9) leaves keys of
 * an unused generation number, which the next replace skips (it loads into a number above every
 * existing key) and removes after its switch.
 */
import type { Redis } from 'ioredis';
import { bulk, isCluster, scanKeys } from './redis.js';
import { BUCKET_BITS, Keys } from './keys.js';
import { BulkLoadError, type DndTarget } from './bulk-load.js';
import { currentGen, DND_REGISTER, type DndGenerations, type GenRegister } from './dnd-generation.js';

const BUCKET_SIZE = 2 ** BUCKET_BITS;

/** Add mode writes to the current generation and, while a replace is loading, to that one too. */
export function addTargets(g: DndGenerations): DndTarget[] {
  return [{ gen: g.gen, count: true }, ...(g.loading !== null && g.loading !== g.gen ? [{ gen: g.loading, count: false }] : [])];
}

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/** Calls `each` with every key name of the register's generations and its generation, as SCAN finds them. */
async function scanDndKeys(redis: Redis, prefix: string, each: (keys: string[], gens: number[]) => Promise<void> | void, reg: GenRegister = DND_REGISTER): Promise<void> {
  const re = reg.genOf;
  await scanKeys(redis, reg.glob(globEscape(prefix)), async (found) => {
    const keys: string[] = [];
    const gens: number[] = [];
    for (const k of found) {
      const m = re.exec(k);
      if (m) {
        keys.push(k);
        gens.push(Number(m[1]));
      }
    }
    await each(keys, gens);
  });
}

/** UNLINKs (in batches) every key of the register (default DND) of a generation matching `which`; returns how many. */
export async function removeDndGenerations(redis: Redis, prefix: string, which: (gen: number) => boolean, reg: GenRegister = DND_REGISTER): Promise<number> {
  let removed = 0;
  await scanDndKeys(redis, prefix, async (keys, gens) => {
    const doomed = keys.filter((_, i) => which(gens[i]!));
    for (let i = 0; i < doomed.length; i += 1000) {
      const slice = doomed.slice(i, i + 1000);
      // One UNLINK per key on a Cluster (keys of many slots), one per 1000 keys otherwise.
      removed += isCluster(redis) ? (await Promise.all(slice.map((k) => redis.unlink(k)))).reduce((a, b) => a + b, 0) : await redis.unlink(...slice);
    }
  }, reg);
  return removed;
}

/** The highest generation any key of the register has (0 when none). */
async function highestDndGeneration(redis: Redis, prefix: string, reg: GenRegister): Promise<number> {
  let max = 0;
  await scanDndKeys(redis, prefix, (_, gens) => {
    for (const g of gens) if (g > max) max = g;
  }, reg);
  return max;
}

/**
 * DND buckets stay compact (2 bytes a member) only while Redis keeps them as intsets, i.e. up to
 * set-max-intset-entries members (default 512); a denser bucket turns into a hash table at ~50 bytes
 * a member. Checks a sample of the keys written and says so.
 */
export async function encodingCheck(redis: Redis, sample: string[]): Promise<string[]> {
  return compactCheck(
    redis,
    sample,
    'set-max-intset-entries',
    (big, limit) =>
      `${big} of ${sample.length} sampled DND keys are hash tables, not intsets (more than set-max-intset-entries = ${limit} members in a bucket): ` +
      `about 50 bytes per entry instead of 2–3. Set set-max-intset-entries ${BUCKET_SIZE} in redis.conf (see docs/policy-data.md); ` +
      'existing keys convert back only when rewritten (re-import with --replace).',
  );
}

/**
 * How many of the sampled keys Redis turned into hash tables (past its compact-encoding limit
 * `setting`, read for the message); `[]` when none (or when Redis cannot say), else the warning.
 * The DND register (intsets) and the ported-number table (listpacks) stay small only while compact.
 */
export async function compactCheck(redis: Redis, sample: string[], setting: string, warning: (big: number, limit: string) => string): Promise<string[]> {
  if (sample.length === 0) return [];
  try {
    const p = bulk(redis);
    for (const k of sample) p.object('ENCODING', k);
    const res = (await p.exec()) ?? [];
    const big = res.filter(([err, v]) => !err && v === 'hashtable').length;
    if (big === 0) return [];
    let limit = '?';
    try {
      limit = ((await redis.config('GET', setting)) as string[])[1] ?? '?';
    } catch {
      // CONFIG may be disabled (managed Redis).
    }
    return [warning(big, limit)];
  } catch {
    return [];
  }
}

const lockedMessage = (keys: Keys, gen: number | string | null, ttlMs: number, reg: GenRegister) =>
  `another replace import is loading ${reg.label} generation ${gen} (${reg.loadingKey(keys)} is set; it expires ${Math.round(ttlMs / 1000)} s after that import stops)`;

/** Holds dnd:loading (ported:loading, …) = gen with a TTL, refreshed until released; `lost` once someone else's value is there. */
export class LoadLock {
  lost = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly loadingKey: string;
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    readonly gen: number,
    private readonly ttlMs: number,
    readonly reg: GenRegister = DND_REGISTER,
  ) {
    this.loadingKey = reg.loadingKey(keys);
  }

  async acquire(expectGen: number): Promise<void> {
    const ok = await this.redis.set(this.loadingKey, String(this.gen), 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') throw new BulkLoadError(lockedMessage(this.keys, await this.redis.get(this.loadingKey), this.ttlMs, this.reg));
    const { gen } = await currentGen(this.redis, this.keys, this.reg);
    if (gen !== expectGen) {
      await this.release();
      throw new BulkLoadError(`${this.reg.label} generation changed from ${expectGen} to ${gen} while starting; run again`);
    }
    this.timer = setInterval(() => void this.refresh(), Math.max(50, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  async refresh(): Promise<void> {
    try {
      const v = await this.redis.get(this.loadingKey);
      if (v !== String(this.gen)) this.lost = true;
      else await this.redis.pexpire(this.loadingKey, this.ttlMs);
    } catch {
      // Redis trouble: the load itself will fail; the TTL then frees the lock.
    }
  }

  /** Throws once the lock is lost: the generation being loaded may then be incomplete. */
  check(): void {
    if (this.lost) throw new BulkLoadError(`lost the ${this.loadingKey} lock (expired or taken over); the new generation is incomplete`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Removes the loading key if it is still ours. */
  async release(): Promise<void> {
    this.stop();
    const v = await this.redis.get(this.loadingKey);
    if (v === String(this.gen)) await this.redis.del(this.loadingKey);
  }
}

/**
 * Starts a replace: refuses while another holds dnd:loading, picks a generation number no key has
 * yet (leftovers of a crashed load — an abandoned higher generation — are never mixed into this one,
 * and the cleanup after the switch removes them) and takes the lock on it.
 */
export async function beginReplace(redis: Redis, keys: Keys, prefix: string, lockTtlMs: number, reg: GenRegister = DND_REGISTER): Promise<{ lock: LoadLock; previous: DndGenerations }> {
  const gens = await currentGen(redis, keys, reg);
  if (gens.loading !== null) throw new BulkLoadError(lockedMessage(keys, gens.loading, lockTtlMs, reg));
  const next = Math.max(gens.gen, await highestDndGeneration(redis, prefix, reg)) + 1;
  const lock = new LoadLock(redis, keys, next, lockTtlMs, reg);
  await lock.acquire(gens.gen);
  return { lock, previous: gens };
}

/** Makes the loaded generation current: one SET (every lookup reads dnd:gen, so it sees G or N, never a mix), then the event. */
export async function switchGeneration(redis: Redis, keys: Keys, lock: LoadLock): Promise<void> {
  await lock.refresh();
  lock.check();
  lock.stop();
  await redis.set(lock.reg.genKey(keys), String(lock.gen));
  await redis.del(lock.reg.loadingKey(keys));
  await redis.publish(keys.events, `${lock.reg.event} ${lock.gen}`);
}

/**
 * A replace that failed: leaves G current and removes what was loaded. Best effort: if Redis is
 * down the lock expires by itself and the next replace removes the leftovers after its switch.
 */
export async function abandonReplace(redis: Redis, keys: Keys, prefix: string, lock: LoadLock): Promise<void> {
  lock.stop();
  await lock.release().catch(() => undefined);
  // Unless the lock was lost to another import now loading into the same number.
  const other = await redis.get(lock.reg.loadingKey(keys)).catch(() => null);
  if (other !== String(lock.gen)) await removeDndGenerations(redis, prefix, (g) => g === lock.gen, lock.reg).catch(() => undefined);
}
