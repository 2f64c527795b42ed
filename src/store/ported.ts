/**
 * The number portability table (携号转网 / MNP; docs/routing.md): ported numbers → the network tag
 * of the network they moved to, which MT routes match with `ported_to`. Redis I/O only: what a row
 * of an import file means is src/import/ported-rows.ts, the hot path's lookup rides the policy
 * check's round trip (policy-check.ts), routing is decision/mt-router.ts.
 *
 * Layout (keys.ts): one hash per 4096 consecutive numbers, `<p>ported:{r:B}:g<G>:<S>`, field the
 * number mod 4096 (Redis keeps it as a small integer), value the tag. At the densities of real
 * portability (a few per cent of a range) a hash holds well under Redis's hash-max-listpack-entries
 * (128 by default), so Redis keeps it as a listpack: a few bytes an entry (bench/ported.ts measures
 * it). Generations as the DND register's (dnd-replace.ts with PORTED_REGISTER): `import ported
 * --replace` loads a new generation and switches `ported:gen` in one SET.
 *
 * - PortedWriter: the importer's batches, grouped per hash (one HSET key f1 v1 f2 v2 … per hash and
 *   batch), written as RESP on a connection of its own on a single Redis over plain TCP (the
 *   consent rows' raw path of bulk-load.ts), through ioredis pipelines otherwise.
 * - PortedAdmin: one number at a time (admin API): read, set, remove, journaled.
 */
import { basename } from 'node:path';
import type { ChainableCommander, Redis } from 'ioredis';
import { bulk as pipelineOf } from './redis.js';
import { BulkLoadError, plainRedisUrl, type BulkWriterOptions } from './bulk-load.js';
import { currentGen, PORTED_REGISTER } from './dnd-generation.js';
import { addTargets, compactCheck } from './dnd-replace.js';
import { Keys, portedSlot } from './keys.js';
import { bulk, RespError, RespPipe, RespWriter } from './resp-pipe.js';
import type { Actor } from './policy-admin.js';

const RAW_READY_MS = 5000;
const RAW_TIMEOUT_MS = 60_000;

/** The importer's batch: `add()` rows until `full`, then `flush()` (grouped per hash, one HSET each). */
export class PortedWriter {
  full = false;
  /** Entries sent to the counted generation, and how many HSET reported as new. */
  sent = 0;
  added = 0;
  /** A sample of the keys written (listpackCheck at the end). */
  readonly sample: string[] = [];
  /** Per hash (bucket * 8 + sub): field, tag, field, tag, … */
  private groups = new Map<number, (number | string)[]>();
  private rows = 0;
  private hashes = 0;
  private readonly raw: RespPipe | null;
  private rawReady = false;

  constructor(
    private readonly o: BulkWriterOptions & {
      /** false: always through ioredis. Default: RESP on its own connection when plainRedisUrl() gives a URL. */
      raw?: boolean;
    },
  ) {
    const url = o.redis && o.raw !== false ? plainRedisUrl(o.redis) : null;
    this.raw = url ? new RespPipe(url, RAW_TIMEOUT_MS, () => undefined, null) : null;
  }

  /** One row: a number of at most 15 digits (as a number) and its network tag (checked). */
  add(number: number, tag: string): void {
    const q = Math.floor(number / 4096);
    let g = this.groups.get(q);
    if (g === undefined) this.groups.set(q, (g = []));
    g.push(number % 4096, tag);
    if (++this.rows >= this.o.batchRows) this.full = true;
  }

  /** Closes the RESP connection (after the last flush has been answered). */
  close(): void {
    this.raw?.close();
  }

  async flush(): Promise<void> {
    const groups = this.groups;
    this.groups = new Map();
    this.rows = 0;
    this.full = false;
    if (groups.size === 0 || !this.o.redis || !this.o.pipes) return;
    if (this.o.retarget) this.o.targets = await this.o.retarget();
    const { keys, targets, pipelineCommands } = this.o;
    const w = this.raw ? new RespWriter() : null;
    let p: ChainableCommander | null = null;
    let counted: boolean[] = [];
    let members = 0;
    const send = async () => {
      if (counted.length === 0) return;
      const which = counted;
      counted = [];
      members = 0;
      if (w) {
        await this.sendRaw(w.take(), which);
        return;
      }
      const pl = p!;
      p = null;
      await this.o.pipes!.send(pl, (replies) => this.count(replies, which));
    };
    for (const [q, g] of groups) {
      const bucket = Math.floor(q / 8);
      const sub = q % 8;
      for (const t of targets) {
        const key = keys.ported(bucket, sub, t.gen);
        if (t.count) {
          const j = this.hashes++;
          if (j < 256) this.sample.push(key);
          else if (Math.random() * j < 256) this.sample[Math.floor(Math.random() * 256)] = key;
          this.sent += g.length / 2;
        }
        if (w) {
          w.raw(`*${2 + g.length}\r\n$4\r\nHSET\r\n`);
          w.raw(bulk(key));
          for (let i = 0; i < g.length; i++) w.raw(bulk(String(g[i])));
        } else {
          p ??= pipelineOf(this.o.redis);
          p.hset(key, ...(g as string[]));
        }
        counted.push(t.count);
      }
      members += (g.length / 2) * targets.length;
      if (counted.length >= pipelineCommands || members >= 50 * pipelineCommands) await send();
    }
    await send();
  }

  private count(replies: unknown[], which: boolean[]): void {
    for (let k = 0; k < replies.length; k++) if (which[k]) this.added += replies[k] as number;
  }

  private async sendRaw(resp: Buffer[], which: boolean[]): Promise<void> {
    const pipe = this.raw!;
    if (!this.rawReady) {
      if (!(await pipe.whenReady(RAW_READY_MS))) throw new BulkLoadError(`Redis write connection not ready within ${RAW_READY_MS} ms`);
      this.rawReady = true;
    }
    const done = new Promise<void>((resolve, reject) => {
      pipe.send(resp, which.length, (err, replies) => {
        if (err || !replies) return reject(err ?? new Error('no replies'));
        for (const v of replies) if (v instanceof RespError) return reject(v);
        this.count(replies, which);
        resolve();
      });
    });
    await this.o.pipes!.track(done);
  }
}

/**
 * The table stays at a few bytes an entry only while every hash is a listpack: checks a sample of
 * the hashes written and says so when Redis made some of them hash tables.
 */
export async function listpackCheck(redis: Redis, sample: string[]): Promise<string[]> {
  return compactCheck(
    redis,
    sample,
    'hash-max-listpack-entries',
    (big, limit) =>
      `${big} of ${sample.length} sampled ported-number hashes are hash tables, not listpacks (more than hash-max-listpack-entries = ${limit} ported numbers in 4096): ` +
      'about 60 bytes per entry instead of a few. Raise hash-max-listpack-entries (e.g. 512; see docs/routing.md); existing keys convert back only when rewritten (re-import with --replace).',
  );
}

/** One journal entry per ported-number load; best effort, as the import itself is done. */
export async function journalPortedLoad(redis: Redis, keys: Keys, e: { replace: boolean; who: string; channel: string; file: string; rows: number; generation: number; retentionMs: number }): Promise<void> {
  await redis
    .xadd(keys.journal, 'MINID', '~', `${Date.now() - e.retentionMs}-0`, '*', 'op', e.replace ? 'ported.replace' : 'ported.import', 'who', e.who, 'channel', e.channel,
      'file', basename(e.file), 'rows', String(e.rows), 'generation', String(e.generation))
    .catch(() => undefined);
}

/** Single numbers (admin API): read from the current generation; writes go to it and to a generation being loaded. */
export class PortedAdmin {
  readonly keys: Keys;

  constructor(
    readonly redis: Redis,
    prefix: string,
    private readonly journalRetentionMs: number,
  ) {
    this.keys = new Keys(prefix);
  }

  private key(msisdn: string, gen: number): { key: string; field: string } {
    const { bucket, sub, field } = portedSlot(Number(msisdn));
    return { key: this.keys.ported(bucket, sub, gen), field: String(field) };
  }

  /** The network tag of a number in the current generation; null when it is not ported. */
  async get(msisdn: string): Promise<string | null> {
    const { gen } = await currentGen(this.redis, this.keys, PORTED_REGISTER);
    const { key, field } = this.key(msisdn, gen);
    return this.redis.hget(key, field);
  }

  /** Sets a number's tag; returns the tag it had (null: it was not ported). */
  async set(msisdn: string, network: string, actor: Actor): Promise<string | null> {
    const targets = addTargets(await currentGen(this.redis, this.keys, PORTED_REGISTER));
    const before = await this.get(msisdn);
    // A pipeline, not MULTI: on a Cluster the journal and the hashes live in different slots.
    const m = pipelineOf(this.redis);
    for (const t of targets) {
      const { key, field } = this.key(msisdn, t.gen);
      m.hset(key, field, network);
    }
    this.journal(m, 'ported.set', actor, { msisdn, network, ...(before !== null ? { previous: before } : {}) });
    await m.exec();
    return before;
  }

  /** Removes a number from the table (it is routed by its original range again); false when it was not there. */
  async remove(msisdn: string, actor: Actor): Promise<boolean> {
    const targets = addTargets(await currentGen(this.redis, this.keys, PORTED_REGISTER));
    let removed = false;
    for (const t of targets) {
      const { key, field } = this.key(msisdn, t.gen);
      const n = await this.redis.hdel(key, field);
      if (t.count && n > 0) removed = true;
    }
    if (removed) await this.journal(pipelineOf(this.redis), 'ported.remove', actor, { msisdn }).exec();
    return removed;
  }

  private journal(m: ChainableCommander, op: string, actor: Actor, fields: Record<string, string>): ChainableCommander {
    const flat: string[] = ['op', op, 'who', actor.who];
    if (actor.channel) flat.push('channel', actor.channel);
    if (actor.evidence) flat.push('evidence', actor.evidence);
    for (const [k, v] of Object.entries(fields)) flat.push(k, v);
    return m.xadd(this.keys.journal, 'MINID', '~', `${Date.now() - this.journalRetentionMs}-0`, '*', ...flat);
  }
}
