/**
 * Bulk writes of policy data, for the importer (src/import/): pipelines kept in flight, the DND
 * batch, consent and sender records. Redis I/O only — what a row means and whether it is valid is
 * decided in src/import/; which DND generation a load writes to, the load lock and the switch are
 * in dnd-replace.ts.
 *
 * - DND rows are collected in a Float64Array batch (`category * 10^15 + number`), sorted (which
 *   groups them by category and bucket and puts repeats side by side) and written as one
 *   `SADD key m1 m2 …` per (bucket, category), in pipelines of `pipelineCommands`, a few in flight.
 *   Memory is bounded by the batch and the pipelines in flight, not by the file.
 * - Consent and sender rows become HSETs in pipelines of `rowsPerPipe` rows, plus one script call
 *   per pipeline that appends all their journal entries (the journal is one key: cluster-safe).
 *   On a single Redis over plain TCP, consent rows skip ioredis: each row's HSET and its journal
 *   XADD are written as RESP straight into buffers on a connection of their own (resp-pipe.ts; one
 *   string per row, the batch's first XADD carrying the journal's trim), with
 *   no Command object, promise and argument array per row (the profile's largest cost, most of it
 *   garbage collection); without ioredis's per-command cost the journal needs no script either
 *   (plain XADDs cost Redis less than the same XADDs made from Lua, see resp-pipe.ts).
 * - Re-runs are idempotent: SADD and HSET of the same values change nothing (the journal gets fresh
 *   entries, which is fine: it is evidence of the import).
 */
import { basename } from 'node:path';
import type { ChainableCommander, Redis } from 'ioredis';
import type { SenderRecord } from '../domain/sender.js';
import { bulk, isCluster } from './redis.js';
import { bulk as respBulk, RespError, RespPipe, RespWriter } from './resp-pipe.js';
import { withScripts, type ScriptClient } from './scripts.js';
import { BUCKET_BITS, Keys } from './keys.js';

/** A fatal problem on the Redis side of a load (a pipeline failed, the lock is taken or lost, …). */
export class BulkLoadError extends Error {}

const BUCKET_SIZE = 2 ** BUCKET_BITS;
/** DND batch values are category * CAT_SCALE + number: exact in a double for ≤ 15-digit numbers and categories 0–7. */
const CAT_SCALE = 1e15;
/** The longest number a DND batch holds exactly (see CAT_SCALE). */
export const DND_MAX_DIGITS = 15;

// ---------------------------------------------------------------------------------------------------
// Pipelines in flight.

export class Pipes {
  private readonly inflight = new Set<Promise<void>>();
  private failure: Error | null = null;

  constructor(
    private readonly max: number,
    private readonly label: string,
  ) {}

  /** Sends a pipeline; `onResults` gets the replies. Waits while `max` are in flight. */
  async send(p: ChainableCommander, onResults: (replies: unknown[]) => void): Promise<void> {
    if (this.failure) throw this.failure;
    const done = p.exec().then((res) => {
      const replies: unknown[] = [];
      for (const [err, v] of res ?? []) {
        if (err) throw err;
        replies.push(v);
      }
      onResults(replies);
    });
    await this.track(done);
  }

  /** Counts `done` (any write in flight: a pipeline, a RESP batch) toward `max`; waits while `max` are in flight. */
  async track(done: Promise<void>): Promise<void> {
    if (this.failure) throw this.failure;
    const tracked = done
      .catch((err: unknown) => {
        this.failure ??= new BulkLoadError(`Redis ${this.label} failed: ${(err as Error).message}`);
      })
      .finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
    while (this.inflight.size >= this.max) await Promise.race(this.inflight);
    if (this.failure) throw this.failure;
  }

  async drain(): Promise<void> {
    while (this.inflight.size) await Promise.race(this.inflight);
    if (this.failure) throw this.failure;
  }
}

// ---------------------------------------------------------------------------------------------------
// DND.

export interface DndTarget {
  gen: number;
  /** Counts SADD results toward duplicates (the primary generation only). */
  count: boolean;
}

/** What a generation-register writer (DND, ported numbers) writes into and how. */
export interface BulkWriterOptions {
  batchRows: number;
  keys: Keys;
  targets: DndTarget[];
  /** Add mode: re-reads the generations before each batch (a replace may have started or ended). */
  retarget: (() => Promise<DndTarget[]>) | null;
  /** Null: a dry run (batches are sorted and counted, nothing is sent). */
  redis: Redis | null;
  pipes: Pipes | null;
  pipelineCommands: number;
}

/** The DND batch: `add()` rows until `full`, then `flush()` (sorts, groups per bucket, SADDs). */
export class DndWriter {
  full = false;
  /** Rows repeated inside a batch (sent once). */
  repeats = 0;
  /** Members sent to the counted generation, and how many SADD reported as new. */
  sent = 0;
  added = 0;
  /** A uniform sample of the keys written (for encodingCheck at the end). */
  readonly sample: string[] = [];
  private readonly vals: Float64Array;
  private n = 0;
  private groups = 0;

  constructor(private readonly o: BulkWriterOptions) {
    this.vals = new Float64Array(o.batchRows);
  }

  /** One row: a number of at most DND_MAX_DIGITS digits (as a number) and its category 0–7. */
  add(number: number, category: number): void {
    this.vals[this.n++] = category * CAT_SCALE + number;
    if (this.n === this.vals.length) this.full = true;
  }

  async flush(): Promise<void> {
    const n = this.n;
    this.n = 0;
    this.full = false;
    if (n === 0) return;
    const vals = this.vals.subarray(0, n).sort();
    if (this.o.retarget) this.o.targets = await this.o.retarget();
    const { keys, targets, redis, pipes, pipelineCommands } = this.o;
    // Repeats inside the batch are adjacent once sorted: count them, send each value once.
    let p: ChainableCommander | null = null;
    let counted: boolean[] = [];
    let members = 0;
    const send = async () => {
      if (!p) return;
      const which = counted;
      const pl = p;
      p = null;
      counted = [];
      members = 0;
      await pipes!.send(pl, (replies) => {
        for (let k = 0; k < replies.length; k++) if (which[k]) this.added += replies[k] as number;
      });
    };
    let i = 0;
    while (i < n) {
      const v0 = vals[i]!;
      const cat = Math.floor(v0 / CAT_SCALE);
      const bucket = Math.floor((v0 - cat * CAT_SCALE) / BUCKET_SIZE);
      const base = cat * CAT_SCALE + bucket * BUCKET_SIZE;
      const end = base + BUCKET_SIZE;
      const group: number[] = [];
      let prev = -1;
      for (; i < n && vals[i]! < end; i++) {
        const v = vals[i]!;
        if (v === prev) {
          this.repeats++;
          continue;
        }
        prev = v;
        group.push(v - base);
      }
      if (!redis || !pipes) continue;
      for (const t of targets) {
        p ??= bulk(redis);
        const key = keys.dnd(bucket, t.gen, cat || null);
        if (t.count) {
          const j = this.groups++;
          if (j < 256) this.sample.push(key);
          else if (Math.random() * j < 256) this.sample[Math.floor(Math.random() * 256)] = key;
        }
        p.sadd(key, group);
        counted.push(t.count);
        if (t.count) this.sent += group.length;
      }
      members += group.length * targets.length;
      if (counted.length >= pipelineCommands || members >= 100 * pipelineCommands) await send();
    }
    await send();
  }
}

/** One journal entry per DND load (not per number); best effort, as the import itself is done. */
export async function journalDndLoad(
  redis: Redis,
  keys: Keys,
  e: { replace: boolean; who: string; channel: string; file: string; rows: number; generation: number; category: number; retentionMs: number },
): Promise<void> {
  await redis
    .xadd(keys.journal, 'MINID', '~', `${Date.now() - e.retentionMs}-0`, '*', 'op', e.replace ? 'dnd.replace' : 'dnd.import', 'who', e.who, 'channel', e.channel,
      'file', basename(e.file), 'rows', String(e.rows), 'generation', String(e.generation), ...(e.category ? ['category', String(e.category)] : []))
    .catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------------
// Consent and senders.

/** A consent row as the importer checked it (msisdn normalised, scope canonical). */
export interface ConsentWrite {
  msisdn: string;
  scope: string;
  state: 'granted' | 'revoked';
  /** Epoch ms; grants only. */
  expires: number | null;
  /** Journal channel (default: the writer's). */
  channel?: string;
  evidence?: string;
}

/**
 * The redis:// URL of a single Redis over plain TCP that `redis` talks to, for a RESP connection of
 * the importer's own; null for TLS, a Unix socket, Sentinel or Cluster (they keep ioredis).
 */
export function plainRedisUrl(redis: Redis): string | null {
  if (isCluster(redis)) return null;
  const o = redis.options;
  if (o.tls || o.path || (o.sentinels && o.sentinels.length > 0)) return null;
  const auth = o.password ? `${encodeURIComponent(o.username ?? '')}:${encodeURIComponent(o.password)}@` : '';
  return `redis://${auth}${o.host ?? '127.0.0.1'}:${o.port ?? 6379}/${o.db ?? 0}`;
}

/** The consent rows' RESP path (see the header): its connection and the batch being written. */
interface RawPath {
  pipe: RespPipe;
  w: RespWriter;
  /** Rows in the batch being written (an HSET and an XADD each). */
  rows: number;
  /** XADD <journal> MINID ~ as bulk strings (the batch's first XADD trims; *<n> is per row). */
  xaddTrim: string;
  /** XADD <journal> as bulk strings (the batch's other XADDs). */
  xaddHead: string;
  /** The writer's `who` and default channel as bulk strings; null when not ASCII (rows then go field by field). */
  whoBulk: string | null;
  channelBulk: string | null;
  ready: boolean;
}

const isAscii = (s: string) => Buffer.byteLength(s) === s.length;

/** How long the importer waits for its RESP connection, and for a batch's replies. */
const RAW_READY_MS = 5000;
const RAW_TIMEOUT_MS = 60_000;

/**
 * Consent records and senders: each row becomes a few commands, sent in pipelines of `rowsPerPipe`
 * rows (`full` asks the caller to await `flush()`); `replaced` counts HSETs of a field that existed.
 * `close()` when done (the consent rows' connection).
 */
export class RecordWriter {
  full = false;
  replaced = 0;
  private raw: RawPath | null = null;
  private p: ChainableCommander | null = null;
  private rows = 0;
  /** Commands queued in `p`, and the indexes of those whose reply 0 means "existed before" (HSET). */
  private queued = 0;
  private countIdx: number[] = [];
  /** Journal entries of this pipeline, flattened as (field count, fields…) for lua/journal-batch.lua. */
  private jargs: string[] = [];
  /** consent()'s values for rows written in millisecond `valueMs`. */
  private valueMs = -1;
  private granted = '';
  private revoked = '';

  constructor(
    private readonly o: {
      redis: Redis;
      pipes: Pipes;
      keys: Keys;
      who: string;
      channel: string;
      journalRetentionMs: number;
      rowsPerPipe: number;
      /** false: always through ioredis (tests of that path). Default: RESP for consent rows when plainRedisUrl() gives a URL. */
      raw?: boolean;
    },
  ) {
    withScripts(o.redis);
    const url = o.raw === false ? null : plainRedisUrl(o.redis);
    if (url) {
      const j = o.keys.journal;
      const xaddHead = `$4\r\nXADD\r\n$${Buffer.byteLength(j)}\r\n${j}\r\n`;
      this.raw = {
        pipe: new RespPipe(url, RAW_TIMEOUT_MS, () => undefined, null),
        w: new RespWriter(),
        rows: 0,
        xaddTrim: `${xaddHead}$5\r\nMINID\r\n$1\r\n~\r\n`,
        xaddHead,
        whoBulk: isAscii(o.who) ? respBulk(o.who) : null,
        channelBulk: isAscii(o.channel) ? respBulk(o.channel) : null,
        ready: false,
      };
    }
  }

  /** Closes the consent rows' connection (after the last flush has been answered). */
  close(): void {
    this.raw?.pipe.close();
  }

  /** HSET consent:<msisdn> scope g:<now>[:<expires>] | r:<now>, as PolicyAdmin.setConsent stores it, journaled. */
  consent(c: ConsentWrite): void {
    const now = Date.now();
    if (now !== this.valueMs) {
      // Rows of one millisecond share their value's text (a number's text per row was a cost of its own).
      this.valueMs = now;
      this.granted = `g:${now}`;
      this.revoked = `r:${now}`;
    }
    const value = c.state === 'granted' ? (c.expires ? `${this.granted}:${c.expires}` : this.granted) : this.revoked;
    const raw = this.raw;
    if (raw) {
      this.consentRaw(raw, c, value, now);
      this.rowDone();
      return;
    }
    this.pipe().hset(this.o.keys.consent(c.msisdn), c.scope, value);
    this.cmd(true);
    this.journal(`consent.${c.state === 'granted' ? 'grant' : 'revoke'}`, c.channel ?? this.o.channel, c.evidence, {
      msisdn: c.msisdn,
      scope: c.scope,
      expires: c.expires ?? undefined,
    });
    this.rowDone();
  }

  /**
   * A consent row's HSET and journal XADD as RESP. The batch's first XADD carries the trim
   * (MINID ~ the retention as of that row), the others none: trimming once per batch instead of
   * once per row saves Redis a trim check per entry and three arguments (the journal keeps the
   * same entries; `~` trims whole nodes only anyway). Fields in the order journal() gives the
   * script path: op who [channel] [evidence] msisdn scope [expires].
   */
  private consentRaw(raw: RawPath, c: ConsentWrite, value: string, now: number): void {
    const w = raw.w;
    const key = this.o.keys.consent(c.msisdn);
    const first = raw.rows++ === 0;
    const minId = first ? `${now - this.o.journalRetentionMs}-0` : '';
    const granted = c.state === 'granted';
    const channel = c.channel ?? this.o.channel;
    const pairs = 4 + (channel ? 1 : 0) + (c.evidence ? 1 : 0) + (c.expires != null ? 1 : 0);
    const op = granted ? '$2\r\nop\r\n$13\r\nconsent.grant\r\n$3\r\nwho\r\n' : '$2\r\nop\r\n$14\r\nconsent.revoke\r\n$3\r\nwho\r\n';
    const head = first ? `*${6 + 2 * pairs}\r\n${raw.xaddTrim}$${minId.length}\r\n${minId}\r\n` : `*${3 + 2 * pairs}\r\n${raw.xaddHead}`;
    // The usual row: all ASCII, one string, one write (RespWriter.ascii() says when it was not).
    if (raw.whoBulk !== null && (c.channel !== undefined || raw.channelBulk !== null || !this.o.channel)) {
      const expires = c.expires != null ? String(c.expires) : '';
      const s =
        `*4\r\n$4\r\nHSET\r\n$${key.length}\r\n${key}\r\n$${c.scope.length}\r\n${c.scope}\r\n$${value.length}\r\n${value}\r\n` +
        `${head}$1\r\n*\r\n${op}${raw.whoBulk}` +
        (channel ? (c.channel === undefined ? `$7\r\nchannel\r\n${raw.channelBulk}` : `$7\r\nchannel\r\n$${channel.length}\r\n${channel}\r\n`) : '') +
        (c.evidence ? `$8\r\nevidence\r\n$${c.evidence.length}\r\n${c.evidence}\r\n` : '') +
        `$6\r\nmsisdn\r\n$${c.msisdn.length}\r\n${c.msisdn}\r\n$5\r\nscope\r\n$${c.scope.length}\r\n${c.scope}\r\n` +
        (c.expires != null ? `$7\r\nexpires\r\n$${expires.length}\r\n${expires}\r\n` : '');
      if (w.ascii(s)) return;
    }
    w.raw('*4\r\n$4\r\nHSET\r\n');
    w.bulk(key);
    w.bulk(c.scope);
    w.bulk(value);
    w.raw(`${head}$1\r\n*\r\n${op}`);
    w.bulk(this.o.who);
    if (channel) {
      w.raw('$7\r\nchannel\r\n');
      w.bulk(channel);
    }
    if (c.evidence) {
      w.raw('$8\r\nevidence\r\n');
      w.bulk(c.evidence);
    }
    w.raw('$6\r\nmsisdn\r\n');
    w.bulk(c.msisdn);
    w.raw('$5\r\nscope\r\n');
    w.bulk(c.scope);
    if (c.expires != null) {
      w.raw('$7\r\nexpires\r\n');
      w.bulk(String(c.expires));
    }
  }

  /** HSET senders id <record JSON>, journaled, and the "sender <id>" event gateways reload on. */
  sender(rec: SenderRecord): void {
    const p = this.pipe();
    p.hset(this.o.keys.senders, rec.id, JSON.stringify(rec));
    this.cmd(true);
    this.journal('sender.put', this.o.channel, undefined, { sender: rec.id, account: rec.account, status: rec.status, class: rec.class });
    p.publish(this.o.keys.events, `sender ${rec.id}`);
    this.cmd();
    this.rowDone();
  }

  async flush(): Promise<void> {
    this.full = false;
    this.rows = 0;
    if (this.raw && this.raw.rows > 0) await this.flushRaw(this.raw);
    const p = this.p;
    const idx = this.countIdx;
    const jargs = this.jargs;
    this.p = null;
    this.countIdx = [];
    this.jargs = [];
    this.queued = 0;
    if (!p) return;
    if (jargs.length) {
      (p as ChainableCommander & Pick<ScriptClient, 'sgImportJournal'>).sgImportJournal(
        this.o.keys.journal,
        `${Date.now() - this.o.journalRetentionMs}-0`,
        ...jargs,
      );
    }
    await this.o.pipes.send(p, (replies) => {
      for (const k of idx) if (replies[k] === 0) this.replaced++;
    });
  }

  /** The batch's HSETs and XADDs as one RESP write; every second reply is an HSET's. */
  private async flushRaw(raw: RawPath): Promise<void> {
    const rows = raw.rows;
    raw.rows = 0;
    const resp = raw.w.take();
    if (!raw.ready) {
      if (!(await raw.pipe.whenReady(RAW_READY_MS))) throw new BulkLoadError(`Redis write connection not ready within ${RAW_READY_MS} ms`);
      raw.ready = true;
    }
    const done = new Promise<void>((resolve, reject) => {
      raw.pipe.send(resp, 2 * rows, (err, replies) => {
        if (err || !replies) return reject(err ?? new Error('no replies'));
        for (let k = 0; k < replies.length; k++) {
          const v = replies[k];
          if (v instanceof RespError) return reject(v);
          if ((k & 1) === 0 && v === 0) this.replaced++;
        }
        resolve();
      });
    });
    await this.o.pipes.track(done);
  }

  private pipe(): ChainableCommander {
    this.p ??= bulk(this.o.redis);
    return this.p;
  }

  private cmd(counted = false): void {
    if (counted) this.countIdx.push(this.queued);
    this.queued++;
  }

  private rowDone(): void {
    if (++this.rows >= this.o.rowsPerPipe) this.full = true;
  }

  /** Journal entry in the same shape as PolicyAdmin's journal; written by one script call per pipeline. */
  private journal(op: string, channel: string | undefined, evidence: string | undefined, fields: Record<string, string | number | undefined>): void {
    const j = this.jargs;
    const at = j.length;
    j.push('', 'op', op, 'who', this.o.who);
    if (channel) j.push('channel', channel);
    if (evidence) j.push('evidence', evidence);
    for (const k in fields) {
      const v = fields[k];
      if (v !== undefined) j.push(k, String(v));
    }
    j[at] = String(j.length - at - 1);
  }
}
