/**
 * The archive writer: moves decisions from the Redis buffer (store/audit-stream.ts) to Parquet
 * files under `archive.dir` (docs/evidence.md). It runs inside the gateway (archive.enabled) or
 * alone (`smppguard archive`); with several of them on one Redis each shard has exactly one writer
 * at a time (a lease, store/archive-buffer.ts).
 *
 * Per shard it holds:
 *   1. a batch = the buffer's entries after the cursor, at the shard's turn in each `batch_seconds`
 *      (so none waits longer; the shards' turns are spread evenly over the period, see slotBefore())
 *      or once they hold `batch_decisions`; their lines go to a temp TSV file and DuckDB writes them as
 *      zstd Parquet (sorted by recipient then time when over one row group: schema.ts SORT), one
 *      file per day the decisions fall in (`<first id>_<last id>[-<k>of<n>].parquet` under
 *      `decisions/day=…/shard=…/`);
 *   2. each file written under a hidden temp name, fsync'd, renamed, its directory fsync'd (a
 *      reader never sees a partial file);
 *   3. THEN the cursor advances in Redis (fenced by the lease);
 *   4. THEN, `trim_grace_seconds` later (longer than an evidence read may take), the archived
 *      entries are trimmed from the buffer. A reader that read the old cursor still finds them.
 * On taking a shard's lease it recovers: cursor = max(Redis cursor, newest complete batch in the
 * file names); temp files and incomplete k-of-n batches after it are removed (a writer killed
 * mid-batch), and so are files a finished merge contains.
 * Housekeeping: day partitions older than `retention_days` are deleted whole; a shard-day's small
 * files are merged by size tiers (sameSize: when `compact_files` of about one size have piled up),
 * and all of them into one when the day has closed. Merged files are sorted.
 *
 * Nothing here holds the event loop: DuckDB and the file writes are asynchronous, directory
 * listings are one shard at a time.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, readdir, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { compareIds, type ArchiveBuffer, type BufferMeta } from '../store/archive-buffer.js';
import type { Metrics } from '../telemetry/metrics.js';
import { Duck, sqlList, sqlString } from './duck.js';
import { listDays, listPartition, partitionDir, withoutContained, type ListedFile } from './layout.js';
import { CSV_OPTIONS, PARQUET_OPTIONS, PARQUET_SELECT, ROW_GROUP_ROWS, SORT, dayOf, fileName, tempName } from './schema.js';

export interface ArchiveWriterOptions {
  dir: string;
  shards: number;
  batchDecisions: number;
  batchMs: number;
  leaseMs: number;
  graceMs: number;
  retentionDays: number;
  compactFiles: number;
  compactTargetBytes: number;
  threads: number;
  /** How often the loop runs. */
  tickMs: number;
  /** Test only: pause this long after writing a temp file and before its rename (kill -9 tests). */
  slowPublishMs?: number;
}

interface Held {
  cursor: string | null;
  /** Cursors advanced and when: trimmed once older than the grace. */
  advanced: { at: number; id: string }[];
  lastHousekeeping: number;
  /**
   * The append time (ms) of the oldest entry after the cursor, as last read (the lag gauge's); null:
   * not known (none then, or the cursor moved since). Known, it is not read again until its batch
   * is written: the read returns the entry's whole block of lines (~20 KB a shard at 20,000
   * decisions a second), and asking every shard for it every tick cost the writer 50–100 ms of CPU
   * a second between batches (bench/RESULTS.md, session 22).
   */
  pendingSince: number | null;
}

const DAY_MS = 86_400_000;
/** How long stop() waits, in all, for the batch in hand and the leases' release (a shutdown stays within its bound; an unfinished batch is the next writer's). */
const STOP_WAIT_MS = 1000;
/** Entries read from the buffer per XRANGE at most… */
const PAGE = 2000;
/**
 * … and about this many bytes: Redis builds a reply whole while every other client waits, and
 * entries are 20–100 KB at tens of thousands of decisions a second (a shard's flush), so a page
 * of 2,000 was a reply of megabytes (the first page of a batch is one entry; later pages are sized
 * from the entries seen).
 */
const PAGE_BYTES = 1 << 20;
/** Buffers per writev (the kernel takes at most IOV_MAX, 1,024, a call). */
const WRITEV_MAX = 1024;

export class ArchiveWriter {
  readonly token = randomBytes(8).toString('hex');
  private readonly held = new Map<number, Held>();
  /** One DuckDB per lane: `threads` shards are worked on at once (a file's work is mostly one thread's). */
  private readonly ducks: Duck[];
  private timer: NodeJS.Timeout | null = null;
  /** When this writer was made: the shards' turns in the batch period count from it (slotBefore()). */
  private readonly epoch: number;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly pendingDeletes = new Set<NodeJS.Timeout>();

  constructor(
    private readonly buffer: ArchiveBuffer,
    readonly opts: ArchiveWriterOptions,
    private readonly deps: { metrics?: Metrics | null; log?: Logger | null; now?: () => number } = {},
  ) {
    this.ducks = Array.from({ length: Math.max(1, opts.threads) }, () => new Duck(1));
    this.epoch = this.now();
  }

  /**
   * The last time at or before `t` that the shard's batch fell due: shard s's turn comes at
   * (s + 1) / shards of each batch period after this writer started. All shards at once, every
   * batch meant a burst: the batches' reads from Redis (megabytes each, every other client
   * waiting) and their DuckDB work together, then the buffer's trims together, and Redis, given
   * back hundreds of megabytes at once, fetched fresh pages for new decisions later (a page fault
   * every 4 KB, ~14 µs each on a VM; bench/RESULTS.md, session 22). One shard at a time, each
   * trim frees about what the next second appends.
   */
  private slotBefore(shard: number, t: number): number {
    const period = this.opts.batchMs;
    const first = this.epoch + Math.floor(((shard + 1) * period) / this.opts.shards);
    return t - ((((t - first) % period) + period) % period);
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** Shards this writer holds now. */
  get shards(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  start(): void {
    mkdirSync(this.opts.dir, { recursive: true });
    const loop = () => {
      this.timer = null;
      if (this.stopped) return;
      this.running = this.tick()
        .catch((err: unknown) => {
          this.deps.metrics?.archiveBatches.inc({ outcome: 'error' });
          this.deps.log?.warn({ err }, 'archive writer: cycle failed');
        })
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(loop, this.opts.tickMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  /**
   * Stops after the batch in hand (its files published and the cursor advanced, or left for the
   * next writer), and gives the leases back.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // The batch in hand gets a few seconds; past them (Redis unreachable, a slow disk) it is left to
    // the next writer, which recovers it from the buffer and the file names. A shutdown never waits long.
    // One deadline for both steps: the batch in hand, then giving the leases back.
    const deadline = Date.now() + STOP_WAIT_MS;
    let wait: NodeJS.Timeout | undefined;
    const settled = await Promise.race([(this.running ?? Promise.resolve()).then(() => true), new Promise<boolean>((r) => (wait = setTimeout(() => r(false), STOP_WAIT_MS)))]);
    clearTimeout(wait);
    for (const t of this.pendingDeletes) clearTimeout(t);
    await Promise.race([this.releaseAll([...this.held.keys()]), new Promise((r) => (wait = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
    clearTimeout(wait);
    this.held.clear();
    // DuckDB is closed only when no statement of the batch is still running on it.
    if (settled) for (const d of this.ducks) d.close();
  }

  /** One round: leases, a batch for every held shard that is due, trims, housekeeping. */
  async tick(force = false): Promise<void> {
    // Every shard's lease renewed or asked for at once: the calls go out together (one pipelined
    // round trip on a single Redis, not one a shard, each waking Redis and this process).
    const all = Array.from({ length: this.opts.shards }, (_, s) => s);
    const leases = await Promise.all(all.map((s) => (this.held.has(s) ? this.buffer.renew(s, this.token, this.opts.leaseMs) : this.buffer.acquire(s, this.token, this.opts.leaseMs))));
    const won: number[] = [];
    for (const s of all) {
      if (this.held.has(s)) {
        if (!leases[s]) {
          this.deps.log?.warn({ shard: s }, 'archive writer: lost the lease of a shard');
          this.held.delete(s);
        }
      } else if (leases[s]) won.push(s);
    }
    for (let i = 0; i < won.length; i++) {
      if (this.stopped) {
        await this.releaseAll(won.slice(i));
        return;
      }
      try {
        await this.recover(won[i]!);
      } catch (err) {
        await this.releaseAll(won.slice(i));
        throw err;
      }
    }
    // Every shard's meta, also at once: the due-by-size check and the gauges read it.
    const metas = await this.buffer.metas(this.opts.shards);
    // The held shards in `threads` lanes, each with its own DuckDB: while one lane waits for an
    // fsync or Redis, another writes.
    const queue = this.shards;
    await Promise.all(
      this.ducks.map(async (duck) => {
        for (let s = queue.shift(); s !== undefined && !this.stopped; s = queue.shift()) {
          const h = this.held.get(s);
          if (!h) continue;
          // A batch at a time while the shard is due (a backlog drains at full speed).
          for (let i = 0; i < 1000 && !this.stopped; i++) {
            if (!(await this.batch(duck, s, h, force, i === 0 ? metas[s]!.bytes : null))) break;
          }
          await this.trim(s, h);
          if (this.now() - h.lastHousekeeping >= Math.min(60_000, this.opts.batchMs) || force) {
            h.lastHousekeeping = this.now();
            await this.housekeeping(duck, s, h.cursor);
          }
        }
      }),
    );
    this.updateGauges(metas);
  }

  private async releaseAll(shards: number[]): Promise<void> {
    await Promise.all(shards.map((s) => this.buffer.release(s, this.token).catch(() => undefined)));
  }

  /** Takes over a shard: the cursor from Redis and the file names, leftovers of a dead writer removed. */
  private async recover(shard: number): Promise<void> {
    const redisCursor = await this.buffer.cursor(shard);
    const files: ListedFile[] = [];
    for (const day of listDays(this.opts.dir)) {
      const dir = partitionDir(this.opts.dir, day, shard, this.opts.shards);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      // Temp files: a writer died before their rename.
      for (const n of names) if (n.startsWith('.')) await unlink(join(dir, n)).catch(() => undefined);
      const listed = listPartition(this.opts.dir, day, shard, this.opts.shards);
      const { live, contained } = withoutContained(listed);
      // Merged away: a merge finished but its sources were not yet deleted.
      for (const f of contained) await unlink(f.path).catch(() => undefined);
      files.push(...live);
    }
    // Batches split over n days are complete when all n pieces are there.
    const pieces = new Map<string, ListedFile[]>();
    let newest: string | null = null;
    for (const f of files) {
      if (f.n === null) {
        if (newest === null || compareIds(f.last, newest) > 0) newest = f.last;
        continue;
      }
      const key = `${f.first}_${f.last}`;
      pieces.set(key, [...(pieces.get(key) ?? []), f]);
    }
    for (const group of pieces.values()) {
      const f = group[0]!;
      if (group.length === f.n && (newest === null || compareIds(f.last, newest) > 0)) newest = f.last;
    }
    let cursor = redisCursor;
    if (newest !== null && (cursor === null || compareIds(newest, cursor) > 0)) cursor = newest;
    for (const group of pieces.values()) {
      const f = group[0]!;
      // Published pieces of a batch whose other pieces never were, after the cursor: written again.
      if (group.length < f.n! && (cursor === null || compareIds(f.last, cursor) > 0)) {
        for (const g of group) await unlink(g.path).catch(() => undefined);
        this.deps.log?.warn({ shard, batch: `${f.first}_${f.last}`, pieces: group.length, of: f.n }, 'archive writer: removed an incomplete batch');
      }
    }
    if (cursor !== null && cursor !== redisCursor) {
      if (!(await this.buffer.archived(shard, this.token, cursor, '', this.opts.leaseMs * 4 + DAY_MS))) return;
    }
    this.held.set(shard, { cursor, advanced: cursor ? [{ at: this.now(), id: cursor }] : [], lastHousekeeping: 0, pendingSince: null });
    this.deps.log?.info({ shard, cursor, redis_cursor: redisCursor }, 'archive writer: took a shard');
  }

  /**
   * One batch of a shard if due; true when one was written (another may be due). `buffered`: the
   * shard's buffered bytes when the caller has just read them (null: read them here).
   */
  private async batch(duck: Duck, shard: number, h: Held, force: boolean, buffered: number | null): Promise<boolean> {
    if (h.pendingSince === null) {
      const first = await this.buffer.entriesAfter(shard, h.cursor, 1);
      if (first.length === 0) return false;
      h.pendingSince = Number(first[0]!.id.split('-')[0]);
    }
    if (!force && h.pendingSince > this.slotBefore(shard, this.now())) {
      // Not due (its oldest came after the shard's last turn); due by size only when the shard
      // holds about batch_decisions' bytes.
      if ((buffered ?? (await this.buffer.meta(shard)).bytes) < this.opts.batchDecisions * 60) return false;
    }
    // A fresh lease for the batch (seconds of work), so that it cannot lapse while the files are written.
    if (!(await this.buffer.renew(shard, this.token, this.opts.leaseMs))) {
      this.held.delete(shard);
      return false;
    }
    const t0 = performance.now();
    const tsv = join(tmpdir(), `smppguard-archive-${process.pid}-${this.token}-${shard}.tsv`);
    let batch: { firstId: string; lastId: string; bytes: number; files: number; rows: number } | null = null;
    try {
      const read = await this.readBatch(shard, h.cursor, tsv);
      // What the read found is the oldest now: the one known may have been trimmed by the buffer's bounds since.
      const since = read === null ? null : Number(read.firstId.split('-')[0]);
      h.pendingSince = since;
      if (read !== null && since !== null && (force || read.decisions >= this.opts.batchDecisions || since <= this.slotBefore(shard, this.now()))) {
        batch = { firstId: read.firstId, lastId: read.lastId, ...(await this.publish(duck, shard, tsv, read.days, read.firstId, read.lastId, read.decisions > ROW_GROUP_ROWS)) };
      }
    } finally {
      await unlink(tsv).catch(() => undefined);
    }
    if (batch === null) return false;
    const { firstId, lastId, bytes, files, rows } = batch;
    // Only now, with every file of the batch published, does the cursor move.
    const ok = await this.buffer.archived(shard, this.token, lastId, '', this.opts.leaseMs * 4 + DAY_MS);
    if (!ok) {
      this.deps.log?.warn({ shard }, 'archive writer: lost the lease before advancing the cursor; the next writer recovers the batch from its files');
      this.held.delete(shard);
      return false;
    }
    h.cursor = lastId;
    h.pendingSince = null;
    h.advanced.push({ at: this.now(), id: lastId });
    const m = this.deps.metrics;
    m?.archiveBatches.inc({ outcome: 'ok' });
    m?.archiveDecisions.inc(rows);
    m?.archiveBytes.inc(bytes);
    m?.archiveFiles.inc(files);
    this.deps.log?.debug({ shard, first: firstId, last: lastId, decisions: rows, files, bytes, ms: Math.round(performance.now() - t0) }, 'archive writer: batch published');
    return true;
  }

  /**
   * The shard's entries after `after`, up to about batch_decisions, written to `tsv` page by page as
   * they are read, and the days their decisions fall in (a line starts with its time in ms); null
   * when there were none. A page's buffers are dropped once written. A batch is megabytes; when it
   * was held whole until its files were published, it outlived young-generation collections, only a
   * full collection freed it, and the gateway's event loop paid for those (bench/RESULTS.md,
   * session 17).
   * The buffers go out as they came (writev), not concatenated: a fresh buffer of megabytes
   * page-faults its way through the copy on the event loop (10 ms and more on a VM; the decision
   * stream's flush had the same, store/audit-stream.ts).
   */
  private async readBatch(shard: number, after: string | null, tsv: string): Promise<{ firstId: string; lastId: string; decisions: number; days: Set<string> } | null> {
    const days = new Set<string>();
    let lastDayStart = -1;
    let decisions = 0;
    let firstId: string | null = null;
    let lastId = '';
    const fh = await open(tsv, 'w');
    try {
      // Entries and bytes so far: the next page's count (PAGE_BYTES).
      let count = 1;
      let read = 0;
      let bytes = 0;
      while (decisions < this.opts.batchDecisions) {
        const page = await this.buffer.entriesAfter(shard, after, count);
        const blocks: Buffer[] = [];
        for (const e of page) {
          blocks.push(e.d);
          firstId ??= e.id;
          lastId = e.id;
          const d = e.d;
          read++;
          bytes += d.length;
          let i = 0;
          while (i < d.length) {
            let t = 0;
            let j = i;
            while (j < d.length && d[j]! >= 48 && d[j]! <= 57) t = t * 10 + (d[j++]! - 48);
            if (j > i && (t < lastDayStart || t >= lastDayStart + DAY_MS)) {
              lastDayStart = t - (t % DAY_MS);
              days.add(dayOf(t));
            }
            const nl = d.indexOf(10, j);
            if (nl < 0) break;
            i = nl + 1;
          }
          decisions += e.n;
          if (decisions >= this.opts.batchDecisions) break;
        }
        for (let i = 0; i < blocks.length; i += WRITEV_MAX) {
          const part = blocks.slice(i, i + WRITEV_MAX);
          const { bytesWritten } = await fh.writev(part);
          // A short write to a regular file means a full disk or the like: the batch fails, the cursor stays.
          if (bytesWritten !== part.reduce((n, b) => n + b.length, 0)) throw new Error(`short write to ${tsv}`);
        }
        if (page.length < count) break;
        after = lastId;
        count = Math.max(1, Math.min(PAGE, Math.floor(PAGE_BYTES / Math.max(1, bytes / read))));
      }
    } finally {
      await fh.close();
    }
    return firstId === null ? null : { firstId, lastId, decisions, days };
  }

  /** Writes a batch's files from its lines in `tsv` (one file per day, sorted when `sort`: schema.ts SORT); resolves to rows and bytes written. */
  private async publish(duck: Duck, shard: number, tsv: string, days: Set<string>, firstId: string, lastId: string, sort: boolean): Promise<{ bytes: number; files: number; rows: number }> {
    const sorted = [...days].sort();
    const source = `read_csv(${sqlString(tsv)}, ${CSV_OPTIONS}, ignore_errors = true)`;
    let rows = 0;
    let bytes = 0;
    const n = sorted.length;
    if (n > 1) await duck.run(`CREATE OR REPLACE TEMP TABLE batch AS SELECT * FROM ${source}`);
    for (let k = 0; k < n; k++) {
      const day = sorted[k]!;
      const dir = partitionDir(this.opts.dir, day, shard, this.opts.shards);
      mkdirSync(dir, { recursive: true });
      const name = fileName(firstId, lastId, k + 1, n);
      const tmp = join(dir, tempName(name));
      const start = Date.parse(`${day}T00:00:00Z`);
      const order = sort ? ` ORDER BY ${SORT}` : '';
      const select =
        n > 1
          ? `SELECT ${PARQUET_SELECT} FROM batch WHERE time >= ${start} AND time < ${start + DAY_MS}${order}`
          : `SELECT ${PARQUET_SELECT} FROM ${source}${order}`;
      rows += await duck.run(`COPY (${select}) TO ${sqlString(tmp)} (${PARQUET_OPTIONS})`);
      bytes += await this.commit(tmp, join(dir, name), dir);
    }
    if (n > 1) await duck.run('DROP TABLE IF EXISTS batch');
    return { bytes, files: n, rows };
  }

  /** fsync the temp file, rename it to its published name, fsync the directory; resolves to its size. */
  private async commit(tmp: string, final: string, dir: string): Promise<number> {
    const fh = await open(tmp, 'r+');
    let size: number;
    try {
      await fh.sync();
      size = (await fh.stat()).size;
    } finally {
      await fh.close();
    }
    if (this.opts.slowPublishMs) await new Promise((r) => setTimeout(r, this.opts.slowPublishMs));
    await rename(tmp, final);
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    return size;
  }

  /** Trims the buffer up to the newest cursor advanced at least the grace ago. */
  private async trim(shard: number, h: Held): Promise<void> {
    const cut = this.now() - this.opts.graceMs;
    let upto: string | null = null;
    while (h.advanced.length > 0 && h.advanced[0]!.at <= cut) upto = h.advanced.shift()!.id;
    if (upto === null) return;
    const r = await this.buffer.archived(shard, this.token, '', upto, this.opts.leaseMs * 4 + DAY_MS);
    if (!r) this.held.delete(shard);
  }

  /** Retention and compaction of one shard. */
  private async housekeeping(duck: Duck, shard: number, cursor: string | null): Promise<void> {
    const days = listDays(this.opts.dir);
    const today = dayOf(this.now());
    const oldestKept = dayOf(this.now() - this.opts.retentionDays * DAY_MS);
    for (const day of days) {
      if (day < oldestKept) {
        await rm(partitionDir(this.opts.dir, day, shard, this.opts.shards), { recursive: true, force: true });
        // The day's directory goes with its last shard.
        await rmdir(join(partitionDir(this.opts.dir, day, shard, this.opts.shards), '..')).catch(() => undefined);
        this.deps.metrics?.archiveDaysDropped.inc();
      }
    }
    if (cursor === null) return;
    // Recent days: today, and the days before it that late decisions may still reach.
    for (const day of days.filter((d) => d >= oldestKept).slice(-3)) {
      // A merge can complete a tier of merged files, which is merged next (a few tiers at most).
      for (let tier = 0; tier < 4; tier++) if (!(await this.compact(duck, shard, day, day < today, cursor))) break;
    }
  }

  /**
   * Merges a shard-day's newest archived small files of about one size (sameSize), once
   * compact_files of them are there, into one named by their range; once the day has closed, its
   * whole trailing run of small files. The sources are deleted after the grace (a reader listing
   * both ignores the contained ones). True when it merged.
   */
  private async compact(duck: Duck, shard: number, day: string, closed: boolean, cursor: string): Promise<boolean> {
    const { live } = withoutContained(listPartition(this.opts.dir, day, shard, this.opts.shards, true));
    const small: ListedFile[] = [];
    for (const f of live) {
      if (compareIds(f.last, cursor) > 0) break;
      if (f.bytes >= this.opts.compactTargetBytes) small.length = 0;
      else small.push(f);
    }
    const run = closed ? small : sameSize(small, this.opts.compactFiles);
    if (run.length < 2 || (!closed && run.length < this.opts.compactFiles)) return false;
    const dir = partitionDir(this.opts.dir, day, shard, this.opts.shards);
    const name = fileName(run[0]!.first, run[run.length - 1]!.last);
    const tmp = join(dir, tempName(name));
    await duck.run(`COPY (SELECT * FROM read_parquet(${sqlList(run.map((f) => f.path))}, union_by_name = true) ORDER BY ${SORT}) TO ${sqlString(tmp)} (${PARQUET_OPTIONS})`);
    const bytes = await this.commit(tmp, join(dir, name), dir);
    this.deps.metrics?.archiveMerges.inc();
    this.deps.metrics?.archiveMergedBytes.inc(bytes);
    const t = setTimeout(() => {
      this.pendingDeletes.delete(t);
      for (const f of run) void unlink(f.path).catch(() => undefined);
    }, this.opts.graceMs);
    t.unref();
    this.pendingDeletes.add(t);
    return true;
  }

  private updateGauges(metas: BufferMeta[]): void {
    const m = this.deps.metrics;
    if (!m) return;
    const now = this.now();
    let bytes = 0;
    let age = 0;
    for (const x of metas) {
      bytes += x.bytes;
      if (x.oldestMs !== null) age = Math.max(age, (now - x.oldestMs) / 1000);
    }
    m.auditBufferBytes.set(bytes);
    m.auditBufferAge.set(age);
    let lag = 0;
    for (const h of this.held.values()) if (h.pendingSince !== null) lag = Math.max(lag, (now - h.pendingSince) / 1000);
    m.archiveLag.set(lag);
    m.archiveShardsHeld.set(this.held.size);
  }
}

/**
 * The newest files of `files` (oldest first) that are of about one size: going back from the
 * newest, up to the first file more than max(2, compactFiles / 2) times the mean of those taken.
 * Merged compactFiles at a time, batch files make a merged file, compactFiles merged files one of
 * the next size, and so on: a decision is rewritten about log_compactFiles(target / batch file)
 * times on its way to a file of compact_target_mb. Merging every small file of the day each time
 * rewrote the growing merged file with every compactFiles - 1 new batches: ~7.5 times a decision
 * at 20,000 msg/s, ~47 times at 2,000 (bench/RESULTS.md, session 23), at 1.2–2.8 µs of DuckDB
 * CPU a row each time.
 */
export function sameSize<F extends { bytes: number }>(files: F[], compactFiles: number): F[] {
  const factor = Math.max(2, compactFiles / 2);
  let sum = 0;
  let i = files.length;
  for (; i > 0; i--) {
    const taken = files.length - i;
    const f = files[i - 1]!;
    if (taken > 0 && f.bytes > (factor * sum) / taken) break;
    sum += f.bytes;
  }
  return files.slice(i);
}
