/**
 * importFile: bulk import of policy data — the do-not-disturb register, consent records, the sender
 * registry — and the number portability table, from CSV or JSON-lines files (gzip or plain),
 * streaming in constant memory.
 *
 *   importFile('dnd', 'national-dnd-2026-05-01.csv.gz', { redis, prefix, numbering, replace: true })
 *
 * The driver: the input (input.ts: gzip, format) is split into lines (lines.ts); DND lines of the
 * common shapes, ported-number lines `msisdn,network` and plain consent lines are read straight
 * from the bytes (dnd-rows.ts, ported-rows.ts, consent-rows.ts fastLine), every other line becomes a CSV record (csv.ts, csv-parse)
 * or a JSON object (jsonl.ts); one validator per kind (dnd-rows.ts, consent-rows.ts,
 * sender-rows.ts, ported-rows.ts) checks it as the admin API would, and a good row goes to the
 * writers of store/bulk-load.ts and store/ported.ts, which the driver awaits when their batch is
 * full. A bad row is reported (onBadLine(line, reason)) and skipped; the summary (summary.ts)
 * counts everything. Replace mode (DND, ported) loads a new generation under a lock and switches to
 * it at the end (store/dnd-replace.ts); a failed or aborted replace leaves the current generation
 * in use.
 */
import type { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import type { Numbering } from '../domain/address.js';
import { BulkLoadError, DndWriter, journalDndLoad, Pipes, RecordWriter, type DndTarget } from '../store/bulk-load.js';
import { abandonReplace, addTargets, beginReplace, encodingCheck, removeDndGenerations, switchGeneration, type LoadLock } from '../store/dnd-replace.js';
import { currentGen, DND_REGISTER, PORTED_REGISTER, type DndGenerations } from '../store/dnd-generation.js';
import { journalPortedLoad, listpackCheck, PortedWriter } from '../store/ported.js';
import { PortedRows } from './ported-rows.js';
import { Keys } from '../store/keys.js';
import { ConsentRows } from './consent-rows.js';
import { CsvDecoder, type CsvItem } from './csv.js';
import { DndRows } from './dnd-rows.js';
import type { Checked, RowValidator } from './fields.js';
import { formatOf, openInput } from './input.js';
import { jsonLine } from './jsonl.js';
import { GENERATION_KINDS, ImportError, IMPORT_KINDS, type ImportFormat, type ImportKind } from './kinds.js';
import { LineSplitter, MAX_LINE } from './lines.js';
import { SenderRows } from './sender-rows.js';
import type { ImportSummary } from './summary.js';

export interface ImportProgress {
  /** Bytes read from the file (compressed bytes for a gzip file). */
  bytes: number;
  /** The file's size, when known (a path); null for a stream. */
  totalBytes: number | null;
  rows: number;
  seconds: number;
}

export interface ImportOptions {
  /** Needed unless dryRun. The importer issues long pipelines: give it a client whose command timeout allows seconds. */
  redis?: Redis;
  /** Key prefix (config redis.key_prefix). */
  prefix: string;
  /** How numbers are normalised (config policy.numbering). */
  numbering: Numbering;
  /** Default: from the file name (.csv/.txt → csv, .jsonl/.ndjson/.json → jsonl, after .gz), else sniffed. */
  format?: ImportFormat;
  /** Default: detected from the gzip magic bytes. */
  gzip?: boolean;
  /** DND and ported only: load a new generation and switch to it atomically (numbers absent from the file disappear). */
  replace?: boolean;
  /** DND only: category of rows that give none (0 or null = all commercial; 1–7). */
  category?: number | null;
  /** Parse and validate only; nothing is written. */
  dryRun?: boolean;
  /** Journal actor (default "import"). */
  who?: string;
  /** Journal channel (default "import"). */
  channel?: string;
  /** Journal trimming, as the gateway does it (config policy.journal_retention_days). Default 150 days. */
  journalRetentionMs?: number;
  /**
   * Configured account names (config accounts[].system_id). When given, a sender's account and an
   * account:<id> consent scope must be one of them, as the admin API checks.
   */
  accounts?: Iterable<string>;
  /** Name used in messages and the journal, for a stream source. */
  name?: string;
  /** DND rows per batch (sorted and grouped per bucket before writing). Default 1,000,000. */
  batchRows?: number;
  /** Commands per pipeline (default 2,000) and pipelines in flight (default 4). */
  pipelineCommands?: number;
  inFlight?: number;
  /** Replace mode: wait this long after switching before deleting the old generation (default 15,000 ms). */
  graceMs?: number;
  /** Replace mode: TTL of the dnd:loading lock, refreshed every third of it (default 60 s). */
  lockTtlMs?: number;
  onBadLine?: (line: number, reason: string) => void;
  /** Called about 5 times a second. */
  onProgress?: (p: ImportProgress) => void;
  signal?: AbortSignal;
}

const DEFAULT_RETENTION_MS = 150 * 86_400_000;

/** A validator and where its good rows go, with the row type hidden from the driver. */
interface Lane {
  header(fields: string[]): boolean;
  /** Checks a CSV record or a JSON object and hands a good row on; null, or the reason it is bad. */
  csv(fields: string[]): string | null;
  json(o: Record<string, unknown>): string | null;
}

function lane<T>(v: RowValidator<T>, take: (row: T) => void): Lane {
  const use = (r: Checked<T>) => {
    if ('bad' in r) return r.bad;
    take(r.ok);
    return null;
  };
  return { header: (f) => v.header(f), csv: (f) => use(v.csv(f)), json: (o) => use(v.json(o)) };
}

function asImportError(err: unknown, prefix: string): ImportError {
  if (err instanceof ImportError) return err;
  if (err instanceof BulkLoadError) return new ImportError(err.message);
  return new ImportError(`${prefix}${(err as Error).message}`);
}

export async function importFile(kind: ImportKind, src: string | Readable, opts: ImportOptions): Promise<ImportSummary> {
  if (!IMPORT_KINDS.includes(kind)) throw new ImportError(`unknown import kind ${kind} (${IMPORT_KINDS.join(', ')})`);
  if (opts.replace && !GENERATION_KINDS.includes(kind)) throw new ImportError('--replace applies to dnd and ported imports only');
  const category = opts.category ?? 0;
  if (!Number.isInteger(category) || category < 0 || category > 7) throw new ImportError('category must be 0–7 (0 = all commercial)');
  const dryRun = opts.dryRun ?? false;
  const redis = dryRun ? null : (opts.redis ?? null);
  if (!dryRun && !redis) throw new ImportError('a Redis client is needed (or dryRun)');
  const keys = new Keys(opts.prefix);
  const who = opts.who ?? 'import';
  const channel = opts.channel ?? 'import';
  const journalRetentionMs = opts.journalRetentionMs ?? DEFAULT_RETENTION_MS;
  const t0 = performance.now();

  const input = await openInput(src, opts);
  const format = opts.format ?? formatOf(input.name, input.firstBytes, input.gzip);
  const c = { read: 0, valid: 0, skipped: 0 };
  const bad = (line: number, reason: string) => {
    c.skipped++;
    opts.onBadLine?.(line, reason);
  };
  const pipes = redis ? new Pipes(opts.inFlight ?? 4, kind === 'dnd' ? 'SADD' : kind === 'ported' ? 'HSET' : 'write') : null;

  // Where DND and ported rows go: which generation(s).
  const generations = GENERATION_KINDS.includes(kind);
  const reg = kind === 'ported' ? PORTED_REGISTER : DND_REGISTER;
  let gens: DndGenerations = { gen: 1, loading: null };
  let lock: LoadLock | null = null;
  let targets: DndTarget[] = [];
  if (redis && generations) {
    try {
      if (opts.replace) {
        const r = await beginReplace(redis, keys, opts.prefix, opts.lockTtlMs ?? 60_000, reg);
        lock = r.lock;
        gens = r.previous;
        targets = [{ gen: lock.gen, count: true }];
      } else {
        gens = await currentGen(redis, keys, reg);
        targets = addTargets(gens);
      }
    } catch (err) {
      input.close();
      throw asImportError(err, 'Redis: ');
    }
  }

  // The validator of the kind, and the writer its rows go to (none for consent and senders in a dry run).
  const accounts = opts.accounts ? new Set(opts.accounts) : null;
  const pipelineCommands = opts.pipelineCommands ?? 2000;
  const dnd = kind === 'dnd' ? new DndRows(opts.numbering, category) : null;
  const dndWriter = dnd
    ? new DndWriter({
        batchRows: opts.batchRows ?? 1_000_000,
        keys,
        targets,
        retarget: redis && !lock ? async () => addTargets(await currentGen(redis, keys)) : null,
        redis,
        pipes,
        pipelineCommands,
      })
    : null;
  const ported = kind === 'ported' ? new PortedRows(opts.numbering) : null;
  const portedWriter = ported
    ? new PortedWriter({
        batchRows: opts.batchRows ?? 500_000,
        keys,
        targets,
        retarget: redis && !lock ? async () => addTargets(await currentGen(redis, keys, reg)) : null,
        redis,
        pipes,
        pipelineCommands,
      })
    : null;
  const records = redis && pipes && !dnd && !ported ? new RecordWriter({ redis, pipes, keys, who, channel, journalRetentionMs, rowsPerPipe: pipelineCommands }) : null;
  const consent = kind === 'consent' ? new ConsentRows(opts.numbering, accounts) : null;
  const rows: Lane = dnd
    ? lane(dnd, (r) => dndWriter!.add(r.number, r.category))
    : ported
      ? lane(ported, (r) => portedWriter!.add(r.number, r.network))
      : consent
      ? lane(consent, (r) => records?.consent(r))
      : lane(new SenderRows(opts.numbering, accounts, who), (r) => records?.sender(r));
  const full = () => dndWriter?.full || portedWriter?.full || records?.full;

  const progress = () => opts.onProgress?.({ bytes: input.bytesRead(), totalBytes: input.totalBytes, rows: c.read, seconds: (performance.now() - t0) / 1000 });
  let lastProgress = 0;
  let loadSeconds: number;
  const warnings: string[] = [];
  let succeeded = false;
  try {
    const check = () => {
      if (opts.signal?.aborted) throw new ImportError('aborted');
      lock?.check();
    };
    const flush = async () => {
      check();
      await (dndWriter ?? portedWriter ?? records)?.flush();
    };

    // ---- the line loop -------------------------------------------------------------------------
    const lines = new LineSplitter(MAX_LINE);
    const csv = format === 'csv' ? new CsvDecoder(MAX_LINE) : null;
    // The first line that is neither blank nor a comment has been seen (only it can be a header);
    // it went to the CSV decoder and its record is not out yet (the DND fast path waits for it: a
    // header may change the columns).
    let started = false;
    let firstPending = false;
    const csvItem = (r: CsvItem) => {
      const first = !started;
      started = true;
      firstPending = false;
      if (r.bad !== undefined) {
        c.read++;
        return bad(r.line, r.bad);
      }
      if (first && rows.header(r.fields)) return;
      c.read++;
      const reason = rows.csv(r.fields);
      if (reason === null) c.valid++;
      else bad(r.line, reason);
    };
    /** The CSV records decoded so far, through the validator to the writer. */
    const drain = async () => {
      for (let r: CsvItem | undefined; (r = csv!.take()); ) {
        csvItem(r);
        if (full()) await flush();
      }
    };
    /** The kind whose lines fastLine() reads straight from the bytes (DND, ported, consent), if any. */
    const fast = dnd ?? ported ?? consent;
    /**
     * Rows written in file order (consent: the last write of a scope wins, the journal follows the
     * file): a fast line waits until the decoder has handed over every line before it. DND and
     * ported rows are sets and per-batch sorted: their order does not matter.
     */
    const ordered = consent !== null;
    /** A line fastLine() has read. */
    const takeFast = (): Promise<void> | undefined => {
      started = true;
      c.read++;
      c.valid++;
      if (dnd) dndWriter!.add(dnd.number, dnd.category);
      else if (ported) portedWriter!.add(ported.number, ported.network);
      else records?.consent(consent!.row!);
      return full() ? flush() : undefined;
    };
    /**
     * A line fastLine() could read, while a quoted field may be open (the line may be inside it)
     * or the first record is still in the decoder (a header may change the columns): csv-parse is
     * given what it has, then fastLine() asked again.
     */
    const fastAfterAll = async (): Promise<boolean> => {
      csv!.flush();
      if (ordered) csv!.release();
      await drain();
      return !firstPending && !csv!.open && !(ordered && csv!.held) && fast!.fastLine(lines.buf, lines.start, lines.end);
    };
    /** Any other line: true when the caller must await settle() before the next line. */
    const general = (): boolean => {
      if (lines.overlong) return true;
      if (csv) {
        if (csv.line(lines.buf, lines.start, lines.end, lines.line) && !started) firstPending = true;
        return false;
      }
      const j = jsonLine(lines.buf, lines.start, lines.end);
      if (!j) return false;
      started = true;
      c.read++;
      if ('invalid' in j) bad(lines.line, `invalid JSON: ${j.invalid}`);
      else if ('notObject' in j) bad(lines.line, 'expected a JSON object');
      else {
        const reason = rows.json(j.object);
        if (reason === null) c.valid++;
        else bad(lines.line, reason);
      }
      return !!full();
    };
    const settle = async () => {
      if (lines.overlong) {
        // Reported in file order: the records before it first.
        if (csv) {
          csv.flush();
          await drain();
        }
        bad(lines.line, `line longer than ${MAX_LINE} bytes`);
        return;
      }
      if (full()) await flush();
    };
    const fastPath = fast !== null && csv !== null;
    /** One line; a promise only when it has to wait (the batch is full, csv-parse must be asked, …). */
    const line = (): Promise<void> | undefined => {
      if (fastPath && !lines.overlong && fast.fastLine(lines.buf, lines.start, lines.end)) {
        if (!firstPending && !csv.open && !(ordered && csv.held)) return takeFast();
        return fastAfterAll().then((yes) => (yes ? takeFast() : general() ? settle() : undefined));
      }
      return general() ? settle() : undefined;
    };
    try {
      for await (const chunk of input.chunks) {
        check();
        lines.feed(chunk);
        while (lines.next()) {
          const wait = line();
          if (wait) await wait;
        }
        if (csv) {
          csv.flush();
          await drain();
        }
        const now = performance.now();
        if (opts.onProgress && now - lastProgress >= 200) {
          lastProgress = now;
          progress();
        }
      }
      if (lines.last()) await line();
      if (csv) {
        await csv.end();
        await drain();
      }
    } catch (err) {
      throw asImportError(err, `${input.name}: `);
    }
    await flush();
    await pipes?.drain();
    check();
    progress();

    if (dndWriter && redis) warnings.push(...(await encodingCheck(redis, dndWriter.sample)));
    if (portedWriter && redis) warnings.push(...(await listpackCheck(redis, portedWriter.sample)));

    // ---- replace: switch ------------------------------------------------------------------------
    if (lock && redis) {
      if (c.valid === 0) throw new ImportError(`replace refused: the file has no valid rows (the ${kind === 'ported' ? 'ported-number table' : 'DND list'} would be emptied)`);
      await switchGeneration(redis, keys, lock);
    }
    loadSeconds = (performance.now() - t0) / 1000;
    if (redis && kind === 'dnd') {
      await journalDndLoad(redis, keys, {
        replace: opts.replace ?? false,
        who,
        channel,
        file: input.name,
        rows: c.valid,
        generation: lock ? lock.gen : gens.gen,
        category,
        retentionMs: journalRetentionMs,
      });
    }
    if (redis && kind === 'ported') {
      await journalPortedLoad(redis, keys, { replace: opts.replace ?? false, who, channel, file: input.name, rows: c.valid, generation: lock ? lock.gen : gens.gen, retentionMs: journalRetentionMs });
    }
    succeeded = true;
  } catch (err) {
    const e = asImportError(err, 'Redis: ');
    e.read = c.read;
    throw e;
  } finally {
    records?.close();
    portedWriter?.close();
    if (lock && redis && !succeeded) {
      lock.stop();
      await pipes?.drain().catch(() => undefined);
      await abandonReplace(redis, keys, opts.prefix, lock);
    }
  }

  const summary: ImportSummary = {
    kind,
    file: input.name,
    format,
    gzip: input.gzip,
    dryRun,
    replace: opts.replace ?? false,
    read: c.read,
    valid: c.valid,
    imported: dryRun ? 0 : c.valid,
    skipped: c.skipped,
    // DND: repeats inside a batch, and members SADD found present; consent and senders: HSETs of an existing field.
    duplicates: dryRun ? null : dndWriter ? dndWriter.repeats + dndWriter.sent - dndWriter.added : portedWriter ? portedWriter.sent - portedWriter.added : (records?.replaced ?? 0),
    seconds: loadSeconds,
    rowsPerSec: loadSeconds > 0 ? Math.round(c.read / loadSeconds) : 0,
    bytes: input.bytesRead(),
    warnings,
  };
  if (generations && redis) {
    summary.generation = lock ? lock.gen : gens.gen;
    if (lock) summary.previousGeneration = gens.gen;
  }
  if (lock && redis) {
    const graceMs = opts.graceMs ?? 15_000;
    if (graceMs > 0) await new Promise((r) => setTimeout(r, graceMs));
    const t1 = performance.now();
    const current = lock.gen;
    summary.removedKeys = await removeDndGenerations(redis, opts.prefix, (g) => g < current, reg);
    summary.cleanupSeconds = (performance.now() - t1) / 1000;
  }
  return summary;
}
