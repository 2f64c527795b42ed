/**
 * Bulk import of policy data — the do-not-disturb register, consent records, the sender registry —
 * from CSV or JSON-lines files (gzip or plain), streaming in constant memory.
 *
 *   importFile('dnd', 'national-dnd-2026-05-01.csv.gz', { redis, prefix, numbering, replace: true })
 *
 * - Lines are split by hand over the (gunzipped) byte stream; DND lines of the common shapes
 *   (`8613812345678`, `13812345678`, `+8613812345678`, `…,3`) are parsed straight from the bytes, and
 *   anything else goes through the general path (CSV fields, normaliseMsisdn), so both agree.
 * - A bad line is reported (onBadLine(line, reason)) and skipped; the summary counts everything.
 * - DND rows are collected in a Float64Array batch (`batchRows`), sorted, grouped per bucket and
 *   written as one SADD per (bucket, category) through pipelines, a few in flight. Memory is bounded
 *   by the batch and the pipelines in flight, not by the file.
 * - Re-runs are idempotent: SADD and HSET of the same values change nothing (the journal gets
 *   fresh entries, which is fine: it is evidence of the import).
 * - Replace mode (DND): the file is loaded into a new generation N (normally G+1) while lookups
 *   keep using G; `dnd:loading` = N (a lock with a TTL the importer keeps refreshing) makes live
 *   API writes go to both. At the end `dnd:gen` is set to N in one command, `dnd:loading` removed
 *   and "dnd-gen N" published; after a grace delay the keys of older generations are UNLINKed.
 *   A failed or aborted load removes its partial generation and leaves G current; a crashed one
 *   (kill -9) leaves keys of an unused generation number, which the next replace skips (it loads
 *   into a number above every existing key) and removes after its switch (docs/policy-data.md).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ChainableCommander, Redis } from 'ioredis';
import { bulk, isCluster, scanKeys } from './redis.js';
import { normaliseMsisdn } from '../policy/address.js';
import { type Numbering } from '../domain/address.js';
import { SenderInputSchema, senderId, senderProblems, type SenderRecord } from '../domain/sender.js';
import { BUCKET_BITS, Keys } from './keys.js';

export type ImportKind = 'dnd' | 'consent' | 'senders';
export type ImportFormat = 'csv' | 'jsonl';
export const IMPORT_KINDS: readonly ImportKind[] = ['dnd', 'consent', 'senders'];

/** A fatal problem: the import stopped (missing file, Redis unreachable, unusable header, …). */
export class ImportError extends Error {
  /** Data rows read before the failure (0: nothing was written). */
  read = 0;
}

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
  /** DND only: load a new generation and switch to it atomically (numbers absent from the file disappear). */
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
  /** Replace mode: wait this long after switching before deleting the old generation (default 2000 ms). */
  graceMs?: number;
  /** Replace mode: TTL of the dnd:loading lock, refreshed every third of it (default 60 s). */
  lockTtlMs?: number;
  onBadLine?: (line: number, reason: string) => void;
  /** Called about 5 times a second. */
  onProgress?: (p: ImportProgress) => void;
  signal?: AbortSignal;
}

export interface ImportSummary {
  kind: ImportKind;
  file: string;
  format: ImportFormat;
  gzip: boolean;
  dryRun: boolean;
  replace: boolean;
  /** Data rows read (blank lines, # comments and the header are not rows). */
  read: number;
  /** Rows that passed validation. */
  valid: number;
  /** Rows written (valid rows; 0 in a dry run). */
  imported: number;
  /** Bad lines (reported through onBadLine). */
  skipped: number;
  /**
   * Rows that added nothing new: DND numbers already in the list (or repeated in the file); consent
   * records and senders that replaced an existing one. null when unknown (dry run).
   */
  duplicates: number | null;
  /** Wall time of reading and writing (replace mode: up to the switch; cleanup is timed apart). */
  seconds: number;
  rowsPerSec: number;
  bytes: number;
  /** DND: the generation written to; replace mode: the one replaced. */
  generation?: number;
  previousGeneration?: number;
  /** Things an operator should know (e.g. DND buckets stored as hash tables: see docs/policy-data.md). */
  warnings: string[];
  /** Replace mode: keys of older generations removed, and how long that took (after the grace delay). */
  removedKeys?: number;
  cleanupSeconds?: number;
}

const DEFAULT_RETENTION_MS = 150 * 86_400_000;
const MAX_LINE = 1 << 20;
const BUCKET_SIZE = 2 ** BUCKET_BITS;
/** DND batch values are category * CAT_SCALE + number: exact in a double for ≤ 15-digit numbers and categories 0–7. */
const CAT_SCALE = 1e15;
const MAX_DIGITS = 15;

// ---------------------------------------------------------------------------------------------------
// Input: file or stream → (gunzipped) chunks, with bytes counted.

interface Input {
  chunks: AsyncIterable<Buffer>;
  /** Closes the file when the import stops before reading it. */
  close: () => void;
  bytesRead: () => number;
  totalBytes: number | null;
  gzip: boolean;
  name: string;
  firstBytes: Buffer;
}

async function openInput(src: string | Readable, opts: ImportOptions): Promise<Input> {
  let raw: Readable;
  let totalBytes: number | null = null;
  let name = opts.name ?? '<stream>';
  if (typeof src === 'string') {
    name = opts.name ?? src;
    try {
      const st = await stat(src);
      if (!st.isFile()) throw new ImportError(`${src}: not a file`);
      totalBytes = st.size;
    } catch (err) {
      if (err instanceof ImportError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new ImportError(`${src}: cannot read (${code === 'ENOENT' ? 'no such file' : (code ?? String(err))})`);
    }
    raw = createReadStream(src, { highWaterMark: 1 << 20 });
  } else {
    raw = src;
  }
  const it = (raw as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let bytes = 0;
  const asBuf = (c: Buffer | string) => (typeof c === 'string' ? Buffer.from(c) : c);
  const first = await it.next().catch((err: unknown) => {
    throw new ImportError(`${name}: cannot read (${(err as Error).message})`);
  });
  const head = first.done ? Buffer.alloc(0) : asBuf(first.value);
  bytes += head.length;
  const gzip = opts.gzip ?? (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b);
  async function* counted(): AsyncGenerator<Buffer> {
    try {
      if (head.length) yield head;
      if (first.done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        const b = asBuf(r.value);
        bytes += b.length;
        yield b;
      }
    } finally {
      // Stopped early (bad gzip, abort, Redis failure): close the file.
      await it.return?.();
    }
  }
  let chunks: AsyncIterable<Buffer> = counted();
  if (gzip) {
    const gun = createGunzip({ chunkSize: 1 << 20 });
    pipeline(Readable.from(counted(), { objectMode: false }), gun, () => undefined);
    chunks = gun;
  }
  return { chunks, close: () => raw.destroy(), bytesRead: () => bytes, totalBytes, gzip, name, firstBytes: head };
}

function formatOf(name: string, firstBytes: Buffer, gzip: boolean): ImportFormat {
  const base = name.toLowerCase().replace(/\.gz$/, '');
  if (/\.(jsonl|ndjson|json)$/.test(base)) return 'jsonl';
  if (/\.(csv|txt)$/.test(base)) return 'csv';
  if (!gzip) {
    const t = firstBytes.subarray(0, 64).toString('utf8').replace(/^\uFEFF/, '').trimStart();
    if (t.startsWith('{')) return 'jsonl';
  }
  return 'csv';
}

// ---------------------------------------------------------------------------------------------------
// Small parsing helpers.

/** Splits one CSV line: commas, optional double quotes ("" inside quotes is a quote). Null if a quote is unbalanced. */
export function splitCsv(line: string): string[] | null {
  if (line.indexOf('"') < 0) return line.split(',').map((f) => f.trim());
  const out: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return null;
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      while (line[i] === ' ' || line[i] === '\t') i++;
      out.push(v);
      if (i >= line.length) return out;
      if (line[i] !== ',') return null;
      i++;
    } else {
      const c = line.indexOf(',', i);
      if (c < 0) {
        out.push(line.slice(i).trim());
        return out;
      }
      out.push(line.slice(i, c).trim());
      i = c + 1;
    }
  }
}

const clip = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);

/** Normalised number, or the reason it is not one. */
function numberOf(raw: unknown, n: Numbering): { ok: string } | { bad: string } {
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw > 0) raw = String(raw);
  if (typeof raw !== 'string' || raw.trim() === '') return { bad: 'missing msisdn' };
  const v = normaliseMsisdn(raw, n);
  if (!v) return { bad: `not a phone number: ${clip(raw)}` };
  if (v.length > MAX_DIGITS) return { bad: `number longer than ${MAX_DIGITS} digits: ${clip(raw)}` };
  return { ok: v };
}

function categoryOf(raw: unknown, dflt: number): { ok: number } | { bad: string } {
  if (raw === undefined || raw === null || raw === '') return { ok: dflt };
  const n = typeof raw === 'number' ? raw : /^\d+$/.test(String(raw).trim()) ? Number(String(raw).trim()) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 7) return { bad: `category must be 0–7 (0 = all commercial): ${clip(String(raw))}` };
  return { ok: n };
}

type SenderKind = SenderRecord['kind'];
const SENDER_KINDS: readonly SenderKind[] = ['number', 'prefix', 'range', 'alpha'];

/** The canonical value of a sender of this kind, as the admin API makes it (numbers normalised). */
function senderValueOf(kind: SenderKind, raw: string, n: Numbering): { ok: string } | { bad: string } {
  switch (kind) {
    case 'number': {
      const v = numberOf(raw, n);
      return 'bad' in v ? { bad: `sender ${v.bad}` } : v;
    }
    case 'prefix':
      return /^\d{1,15}$/.test(raw) ? { ok: raw } : { bad: `prefix must be 1–15 digits in international form (no "+"): ${clip(raw)}` };
    case 'range':
      return /^\d{1,15}-\d{1,15}$/.test(raw) ? { ok: raw } : { bad: `range must be "from-to", each end 1–15 digits: ${clip(raw)}` };
    case 'alpha':
      return raw === raw.trim() && raw.length <= 20 && raw.length > 0
        ? { ok: raw }
        : { bad: `sender name must be 1–20 characters without leading or trailing spaces: ${clip(raw)}` };
  }
}

/** "sender:<kind>:<value>" | "brand:<name>" | "account:<system_id>", canonical as the admin API stores it. */
function scopeOf(raw: string | undefined, n: Numbering, accounts: ReadonlySet<string> | null): { ok: string } | { bad: string } {
  const usage = 'scope must be sender:<kind>:<value>, brand:<name> or account:<system_id>';
  if (!raw) return { bad: `missing scope (${usage})` };
  const colon = raw.indexOf(':');
  const type = raw.slice(0, colon);
  const rest = raw.slice(colon + 1);
  if (colon < 0 || rest === '') return { bad: `${usage}: ${clip(raw)}` };
  switch (type) {
    case 'sender': {
      const c2 = rest.indexOf(':');
      const kind = rest.slice(0, c2) as SenderKind;
      if (c2 < 0 || !SENDER_KINDS.includes(kind)) return { bad: `sender scope must be sender:<kind>:<value> (kind ${SENDER_KINDS.join(', ')}): ${clip(raw)}` };
      const v = senderValueOf(kind, rest.slice(c2 + 1), n);
      return 'bad' in v ? v : { ok: `sender:${senderId(kind, v.ok)}` };
    }
    case 'brand':
      return rest.length <= 18 ? { ok: raw } : { bad: `brand longer than 18 characters: ${clip(rest)}` };
    case 'account':
      return accounts && !accounts.has(rest) ? { bad: `no account ${clip(rest)} is configured` } : { ok: raw };
    default:
      return { bad: `${usage}: ${clip(raw)}` };
  }
}

/** ISO date-time or epoch milliseconds → ms. */
function timeOf(raw: unknown): number | null {
  if (typeof raw === 'number') return Number.isFinite(raw) && raw > 0 ? raw : null;
  const s = String(raw).trim();
  if (/^\d{10,}$/.test(s)) return Number(s);
  const t = Date.parse(s);
  return Number.isFinite(t) && /^\d{4}-\d{2}-\d{2}/.test(s) ? t : null;
}

const str = (v: unknown): string | undefined => (v === undefined || v === null || v === '' ? undefined : String(v));

// ---------------------------------------------------------------------------------------------------
// Pipelines in flight.

class Pipes {
  private readonly inflight = new Set<Promise<void>>();
  private failure: Error | null = null;

  constructor(
    private readonly max: number,
    private readonly label: string,
  ) {}

  /** Sends a pipeline; `onResults` gets the replies. Waits while `max` are in flight. */
  async send(p: ChainableCommander, onResults: (replies: unknown[]) => void): Promise<void> {
    if (this.failure) throw this.failure;
    const done = p.exec().then(
      (res) => {
        const replies: unknown[] = [];
        for (const [err, v] of res ?? []) {
          if (err) throw err;
          replies.push(v);
        }
        onResults(replies);
      },
    );
    const tracked = done.catch((err: unknown) => {
      this.failure ??= new ImportError(`Redis ${this.label} failed: ${(err as Error).message}`);
    }).finally(() => this.inflight.delete(tracked));
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
// Row sinks: one per kind. `line()` parses one line (bytes start..end of buf) and either takes the
// row or reports it bad; `full` asks the line loop to await `flush()` before going on.

interface Counters {
  read: number;
  valid: number;
  skipped: number;
  duplicates: number;
  header: boolean;
}

abstract class Sink {
  full = false;
  /** Set once the first data (or header) line has been seen. */
  protected started = false;
  constructor(
    protected readonly c: Counters,
    protected readonly format: ImportFormat,
    protected readonly bad: (reason: string) => void,
  ) {}

  /** One line of text; blank and # lines are ignored. */
  line(buf: Buffer, start: number, end: number): void {
    let s = buf.toString('utf8', start, end);
    if (!this.started && s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    s = s.trim();
    if (s === '' || s[0] === '#') return;
    const first = !this.started;
    this.started = true;
    if (this.format === 'jsonl') {
      this.c.read++;
      let o: unknown;
      try {
        o = JSON.parse(s);
      } catch (err) {
        this.bad(`invalid JSON: ${(err as Error).message}`);
        return;
      }
      if (typeof o !== 'object' || o === null || Array.isArray(o)) {
        this.bad('expected a JSON object');
        return;
      }
      this.row(o as Record<string, unknown>);
      return;
    }
    const f = splitCsv(s);
    if (!f) {
      this.c.read++;
      this.bad('unbalanced quotes');
      return;
    }
    if (first && this.isHeader(f) && this.useHeader(f.map((h) => h.toLowerCase()))) {
      this.c.header = true;
      return;
    }
    this.c.read++;
    this.csvRow(f);
  }

  abstract isHeader(fields: string[]): boolean;
  /** False when the line names no known column (it is then a data line, most likely a bad one). */
  abstract useHeader(names: string[]): boolean;
  abstract csvRow(fields: string[]): void;
  abstract row(o: Record<string, unknown>): void;
  abstract flush(): Promise<void>;
}

/** Maps CSV columns to names: default order, or the header's. */
class Columns {
  index: Record<string, number>;
  constructor(
    readonly names: readonly string[],
    private readonly aliases: Record<string, string> = {},
  ) {
    this.index = Object.fromEntries(names.map((n, i) => [n, i]));
  }
  useHeader(header: string[], required: readonly string[]): boolean {
    const idx: Record<string, number> = {};
    header.forEach((h, i) => {
      const n = this.aliases[h] ?? h;
      if (this.names.includes(n) && idx[n] === undefined) idx[n] = i;
    });
    if (Object.keys(idx).length === 0) return false;
    const missing = required.filter((r) => idx[r] === undefined);
    if (missing.length) throw new ImportError(`header names no column ${missing.join(', ')} (columns: ${this.names.join(', ')})`);
    this.index = idx;
    return true;
  }
  get(f: string[], name: string): string | undefined {
    const i = this.index[name];
    return i === undefined ? undefined : f[i];
  }
}

// ---- DND -------------------------------------------------------------------------------------------

interface DndTarget {
  gen: number;
  /** Counts SADD results toward duplicates (the primary generation only). */
  count: boolean;
}

class DndSink extends Sink {
  private readonly vals: Float64Array;
  private n = 0;
  private readonly cols = new Columns(['msisdn', 'category'], { number: 'msisdn', phone: 'msisdn', mobile: 'msisdn', cat: 'category' });
  /** False once a header changes the column order: every line then takes the general path. */
  fast = true;
  /** Whether the fast path reads a category after a comma (false: a comma sends the line to the general path). */
  private fastCategory = true;
  private readonly cc: number[];
  private readonly ccValue: number;
  private readonly intl: number[];
  private readonly natl: number[];
  /** Members sent to the counted generation, and how many SADD reported as new. */
  sent = 0;
  added = 0;
  /** A uniform sample of the keys written (for the encoding check at the end). */
  readonly sample: string[] = [];
  private groups = 0;

  constructor(
    c: Counters,
    format: ImportFormat,
    bad: (reason: string) => void,
    private readonly o: {
      numbering: Numbering;
      category: number;
      batchRows: number;
      keys: Keys;
      targets: DndTarget[];
      /** Add mode: re-reads the generations before each batch (a replace may have started or ended). */
      retarget: (() => Promise<DndTarget[]>) | null;
      redis: Redis | null;
      pipes: Pipes | null;
      pipelineCommands: number;
    },
  ) {
    super(c, format, bad);
    this.vals = new Float64Array(o.batchRows);
    const bytes = (s: string) => [...Buffer.from(s)];
    this.cc = bytes(o.numbering.country_code);
    this.ccValue = Number(o.numbering.country_code);
    this.intl = bytes(o.numbering.international_prefix);
    this.natl = bytes(o.numbering.national_prefix);
    if (format !== 'csv') this.fast = false;
  }

  private starts(buf: Buffer, at: number, end: number, p: number[]): boolean {
    if (p.length === 0 || end - at < p.length) return false;
    for (let k = 0; k < p.length; k++) if (buf[at + k] !== p[k]) return false;
    return true;
  }

  /** The hot path: `[+]digits[,category]` with optional spaces/CR; anything else goes to the general path. */
  override line(buf: Buffer, start: number, end: number): void {
    if (this.fast) {
      let i = start;
      while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
      let plus = false;
      if (buf[i] === 43) {
        plus = true;
        i++;
      }
      const ds = i;
      let v = 0;
      while (i < end) {
        const d = buf[i]! - 48;
        if (d < 0 || d > 9) break;
        v = v * 10 + d;
        i++;
      }
      let digits = i - ds;
      let ok = digits > 0 && digits <= MAX_DIGITS;
      if (ok && !plus) {
        if (this.starts(buf, ds, i, this.intl) || this.starts(buf, ds, i, this.natl)) ok = false;
        else if (!this.starts(buf, ds, i, this.cc)) {
          digits += this.cc.length;
          v = this.ccValue * 10 ** (i - ds) + v;
          ok = digits <= MAX_DIGITS;
        }
      }
      let cat = this.o.category;
      if (ok) {
        while (i < end && (buf[i] === 32 || buf[i] === 9 || buf[i] === 13)) i++;
        if (i < end && buf[i] === 44 && this.fastCategory) {
          i++;
          while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
          const d = buf[i]! - 48;
          if (i < end && d >= 0 && d <= 7) {
            cat = d;
            i++;
          } else if (i < end && buf[i] !== 13) ok = false;
          while (i < end && (buf[i] === 32 || buf[i] === 9 || buf[i] === 13)) i++;
        }
        if (i !== end) ok = false;
      }
      if (ok) {
        this.started = true;
        this.c.read++;
        this.take(v, cat);
        return;
      }
    }
    super.line(buf, start, end);
  }

  isHeader(f: string[]): boolean {
    return !/\d/.test(f[0] ?? '');
  }
  useHeader(names: string[]): boolean {
    if (!this.cols.useHeader(names, ['msisdn'])) return false;
    // The fast path reads `msisdn[,category]`; any other layout goes through the general path.
    const { msisdn, category } = this.cols.index;
    if (msisdn !== 0 || (category !== undefined && category !== 1)) this.fast = false;
    this.fastCategory = category === 1;
    return true;
  }
  csvRow(f: string[]): void {
    if (f.length > 2 && !this.c.header) {
      this.bad(`expected msisdn[,category], got ${f.length} fields`);
      return;
    }
    this.row({ msisdn: this.cols.get(f, 'msisdn'), category: this.cols.get(f, 'category') });
  }
  row(o: Record<string, unknown>): void {
    const num = numberOf(o.msisdn, this.o.numbering);
    if ('bad' in num) return this.bad(num.bad);
    const cat = categoryOf(o.category, this.o.category);
    if ('bad' in cat) return this.bad(cat.bad);
    this.take(Number(num.ok), cat.ok);
  }

  private take(v: number, cat: number): void {
    this.c.valid++;
    this.vals[this.n++] = cat * CAT_SCALE + v;
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
          this.c.duplicates++;
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

// ---- consent ---------------------------------------------------------------------------------------

const CONSENT_STATES: Record<string, 'granted' | 'revoked'> = {
  granted: 'granted',
  grant: 'granted',
  g: 'granted',
  yes: 'granted',
  revoked: 'revoked',
  revoke: 'revoked',
  r: 'revoked',
  no: 'revoked',
};

/**
 * Appends many journal entries in one call (the journal is one key, so this stays within one slot).
 * KEYS[1] journal stream; ARGV[1] MINID for trimming; then per entry: field count n, n fields.
 */
const JOURNAL_BATCH = `
local i = 2
local n = #ARGV
while i <= n do
  local c = tonumber(ARGV[i])
  redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[1], '*', unpack(ARGV, i + 1, i + c))
  i = i + c + 1
end
return 0
`;

/** Shared by consent and senders: rows become a few commands each, sent in pipelines of `rowsPerPipe` rows. */
abstract class RecordSink extends Sink {
  protected p: ChainableCommander | null = null;
  protected rows = 0;
  /** Commands queued in `p`, and the indexes of those whose reply 0 means "existed before" (HSET). */
  protected queued = 0;
  protected countIdx: number[] = [];
  /** Journal entries of this pipeline, flattened as (field count, fields…) for JOURNAL_BATCH. */
  private jargs: string[] = [];
  constructor(
    c: Counters,
    format: ImportFormat,
    bad: (reason: string) => void,
    protected readonly o: {
      redis: Redis | null;
      pipes: Pipes | null;
      keys: Keys;
      numbering: Numbering;
      who: string;
      channel: string;
      journalRetentionMs: number;
      rowsPerPipe: number;
      accounts: ReadonlySet<string> | null;
    },
  ) {
    super(c, format, bad);
    const r = o.redis as (Redis & { sgImportJournal?: unknown }) | null;
    if (r && !r.sgImportJournal) r.defineCommand('sgImportJournal', { numberOfKeys: 1, lua: JOURNAL_BATCH });
  }

  protected pipe(): ChainableCommander | null {
    if (!this.o.redis) return null;
    this.p ??= bulk(this.o.redis);
    return this.p;
  }

  protected cmd(counted = false): void {
    if (counted) this.countIdx.push(this.queued);
    this.queued++;
  }

  /** Journal entry in the same shape as PolicyStore.journal; written by one script call per pipeline. */
  protected journal(op: string, channel: string | undefined, evidence: string | undefined, fields: Record<string, string | number | undefined>): void {
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

  protected rowDone(): void {
    this.c.valid++;
    if (++this.rows >= this.o.rowsPerPipe) this.full = true;
  }

  async flush(): Promise<void> {
    this.full = false;
    this.rows = 0;
    const p = this.p;
    const idx = this.countIdx;
    const jargs = this.jargs;
    this.p = null;
    this.countIdx = [];
    this.jargs = [];
    this.queued = 0;
    if (!p || !this.o.pipes) return;
    if (jargs.length) {
      (p as ChainableCommander & { sgImportJournal(key: string, ...args: string[]): unknown }).sgImportJournal(
        this.o.keys.journal,
        `${Date.now() - this.o.journalRetentionMs}-0`,
        ...jargs,
      );
    }
    await this.o.pipes.send(p, (replies) => {
      for (const k of idx) if (replies[k] === 0) this.c.duplicates++;
    });
  }
}

class ConsentSink extends RecordSink {
  private readonly cols = new Columns(['msisdn', 'scope', 'state', 'channel', 'evidence', 'expires_at'], { expires: 'expires_at', number: 'msisdn' });

  isHeader(f: string[]): boolean {
    return !/\d/.test(f[0] ?? '');
  }
  useHeader(names: string[]): boolean {
    return this.cols.useHeader(names, ['msisdn', 'scope', 'state']);
  }
  csvRow(f: string[]): void {
    if (f.length < 3 || (!this.c.header && f.length > 6)) {
      this.bad(`expected msisdn,scope,state,channel,evidence[,expires_at], got ${f.length} fields`);
      return;
    }
    const o: Record<string, unknown> = {};
    for (const n of this.cols.names) o[n] = this.cols.get(f, n);
    this.row(o);
  }
  row(o: Record<string, unknown>): void {
    const num = numberOf(o.msisdn, this.o.numbering);
    if ('bad' in num) return this.bad(num.bad);
    const sc = scopeOf(str(o.scope), this.o.numbering, this.o.accounts);
    if ('bad' in sc) return this.bad(sc.bad);
    const scope = sc.ok;
    const state = CONSENT_STATES[String(o.state ?? '').trim().toLowerCase()];
    if (!state) return this.bad(`state must be granted or revoked: ${clip(String(o.state ?? ''))}`);
    let expires: number | null = null;
    if (str(o.expires_at)) {
      if (state !== 'granted') return this.bad('only a granted consent can expire (expires_at on a revocation)');
      expires = timeOf(o.expires_at);
      if (expires === null) return this.bad(`expires_at must be an ISO date-time or epoch milliseconds: ${clip(String(o.expires_at))}`);
      if (expires <= Date.now()) return this.bad(`expires_at is in the past: ${clip(String(o.expires_at))}`);
    }
    if (state === 'granted' && !str(o.evidence)) return this.bad('evidence is required when granting consent (where the consent can be proven)');
    const channel = str(o.channel);
    const evidence = str(o.evidence);
    const p = this.pipe();
    if (p) {
      const now = Date.now();
      const value = state === 'granted' ? `g:${now}${expires ? `:${expires}` : ''}` : `r:${now}`;
      const msisdn = num.ok;
      p.hset(this.o.keys.consent(msisdn), scope, value);
      this.cmd(true);
      this.journal(`consent.${state === 'granted' ? 'grant' : 'revoke'}`, channel ?? this.o.channel, evidence, { msisdn, scope, expires: expires ?? undefined });
    }
    this.rowDone();
  }
}

// ---- senders ---------------------------------------------------------------------------------------

class SenderSink extends RecordSink {
  private readonly cols = new Columns(['kind', 'value', 'account', 'class', 'status', 'valid_from', 'valid_until', 'signatures']);

  isHeader(f: string[]): boolean {
    return (f[0] ?? '').toLowerCase() === 'kind';
  }
  useHeader(names: string[]): boolean {
    return this.cols.useHeader(names, ['kind', 'value', 'account']);
  }
  csvRow(f: string[]): void {
    if (f.length < 3 || (!this.c.header && f.length > 8)) {
      this.bad(`expected kind,value,account,class,status,valid_from,valid_until,signatures, got ${f.length} fields`);
      return;
    }
    const o: Record<string, unknown> = {};
    for (const n of this.cols.names) {
      const v = this.cols.get(f, n);
      if (v === undefined || v === '') continue;
      o[n] = n === 'signatures' ? v.split('|').map((s) => s.trim()).filter(Boolean) : v;
    }
    this.row(o);
  }
  row(o: Record<string, unknown>): void {
    const r = SenderInputSchema.safeParse(o);
    if (!r.success) {
      return this.bad(r.error.issues.map((i) => `${i.path.join('.') || 'record'}: ${i.message}`).join('; '));
    }
    const value = senderValueOf(r.data.kind, r.data.value, this.o.numbering);
    if ('bad' in value) return this.bad(value.bad);
    const rec: SenderRecord = { ...r.data, value: value.ok, id: senderId(r.data.kind, value.ok), updated_at: new Date().toISOString(), updated_by: this.o.who };
    const problems = senderProblems(rec);
    if (problems.length) return this.bad(problems.join('; '));
    if (this.o.accounts && !this.o.accounts.has(rec.account)) return this.bad(`no account ${clip(rec.account)} is configured (accounts[].system_id)`);
    const p = this.pipe();
    if (p) {
      p.hset(this.o.keys.senders, rec.id, JSON.stringify(rec));
      this.cmd(true);
      this.journal('sender.put', this.o.channel, undefined, { sender: rec.id, account: rec.account, status: rec.status, class: rec.class });
      p.publish(this.o.keys.events, `sender ${rec.id}`);
      this.cmd();
    }
    this.rowDone();
  }
}

// ---------------------------------------------------------------------------------------------------
// Generations (replace mode).

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/** Calls `each` with every DND key name and its generation, as SCAN finds them. */
async function scanDndKeys(redis: Redis, prefix: string, each: (keys: string[], gens: number[]) => Promise<void> | void): Promise<void> {
  const re = /:g(\d+)(?::c\d+)?$/;
  await scanKeys(redis, `${globEscape(prefix)}dnd:{r:*}:g*`, async (found) => {
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

/** UNLINKs (in batches) every DND key of a generation matching `which`; returns how many. */
export async function removeDndGenerations(redis: Redis, prefix: string, which: (gen: number) => boolean): Promise<number> {
  let removed = 0;
  await scanDndKeys(redis, prefix, async (keys, gens) => {
    const doomed = keys.filter((_, i) => which(gens[i]!));
    for (let i = 0; i < doomed.length; i += 1000) {
      const slice = doomed.slice(i, i + 1000);
      // One UNLINK per key on a Cluster (keys of many slots), one per 1000 keys otherwise.
      removed += isCluster(redis) ? (await Promise.all(slice.map((k) => redis.unlink(k)))).reduce((a, b) => a + b, 0) : await redis.unlink(...slice);
    }
  });
  return removed;
}

/** The highest generation any DND key has (0 when none). */
async function highestDndGeneration(redis: Redis, prefix: string): Promise<number> {
  let max = 0;
  await scanDndKeys(redis, prefix, (_, gens) => {
    for (const g of gens) if (g > max) max = g;
  });
  return max;
}

/**
 * DND buckets stay compact (2 bytes a member) only while Redis keeps them as intsets, i.e. up to
 * set-max-intset-entries members (default 512); a denser bucket turns into a hash table at ~50 bytes
 * a member. Checks a sample of the keys written and says so.
 */
async function encodingCheck(redis: Redis, sample: string[]): Promise<string[]> {
  if (sample.length === 0) return [];
  try {
    const p = bulk(redis);
    for (const k of sample) p.object('ENCODING', k);
    const res = (await p.exec()) ?? [];
    const big = res.filter(([err, v]) => !err && v === 'hashtable').length;
    if (big === 0) return [];
    let limit = '?';
    try {
      limit = ((await redis.config('GET', 'set-max-intset-entries')) as string[])[1] ?? '?';
    } catch {
      // CONFIG may be disabled (managed Redis).
    }
    return [
      `${big} of ${sample.length} sampled DND keys are hash tables, not intsets (more than set-max-intset-entries = ${limit} members in a bucket): ` +
        `about 50 bytes per entry instead of 2–3. Set set-max-intset-entries ${BUCKET_SIZE} in redis.conf (see docs/policy-data.md); ` +
        'existing keys convert back only when rewritten (re-import with --replace).',
    ];
  } catch {
    return [];
  }
}

async function currentGen(redis: Redis, keys: Keys): Promise<{ gen: number; loading: number | null }> {
  // Two GETs, not MGET: the keys live in different Cluster slots.
  const [g, l] = await Promise.all([redis.get(keys.dndGen), redis.get(keys.dndLoading)]);
  return { gen: g ? Number(g) : 1, loading: l ? Number(l) : null };
}

/** Add mode writes to the current generation and, while a replace is loading, to that one too. */
function addTargets(g: { gen: number; loading: number | null }): DndTarget[] {
  return [{ gen: g.gen, count: true }, ...(g.loading !== null && g.loading !== g.gen ? [{ gen: g.loading, count: false }] : [])];
}

/** Holds dnd:loading = gen with a TTL, refreshed until released; `lost` once someone else's value is there. */
class LoadLock {
  lost = false;
  private timer: NodeJS.Timeout | null = null;
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    readonly gen: number,
    private readonly ttlMs: number,
  ) {}

  async acquire(expectGen: number): Promise<void> {
    const ok = await this.redis.set(this.keys.dndLoading, String(this.gen), 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') {
      const other = await this.redis.get(this.keys.dndLoading);
      throw new ImportError(
        `another replace import is loading DND generation ${other} (${this.keys.dndLoading} is set; it expires ${Math.round(this.ttlMs / 1000)} s after that import stops)`,
      );
    }
    const { gen } = await currentGen(this.redis, this.keys);
    if (gen !== expectGen) {
      await this.release();
      throw new ImportError(`DND generation changed from ${expectGen} to ${gen} while starting; run again`);
    }
    this.timer = setInterval(() => void this.refresh(), Math.max(50, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  async refresh(): Promise<void> {
    try {
      const v = await this.redis.get(this.keys.dndLoading);
      if (v !== String(this.gen)) this.lost = true;
      else await this.redis.pexpire(this.keys.dndLoading, this.ttlMs);
    } catch {
      // Redis trouble: the load itself will fail; the TTL then frees the lock.
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Removes dnd:loading if it is still ours. */
  async release(): Promise<void> {
    this.stop();
    const v = await this.redis.get(this.keys.dndLoading);
    if (v === String(this.gen)) await this.redis.del(this.keys.dndLoading);
  }
}

// ---------------------------------------------------------------------------------------------------
// The import.

export async function importFile(kind: ImportKind, src: string | Readable, opts: ImportOptions): Promise<ImportSummary> {
  if (!IMPORT_KINDS.includes(kind)) throw new ImportError(`unknown import kind ${kind} (dnd, consent, senders)`);
  if (opts.replace && kind !== 'dnd') throw new ImportError('--replace applies to dnd imports only');
  const category = opts.category ?? 0;
  if (!Number.isInteger(category) || category < 0 || category > 7) throw new ImportError('category must be 0–7 (0 = all commercial)');
  const dryRun = opts.dryRun ?? false;
  const redis = dryRun ? null : (opts.redis ?? null);
  if (!dryRun && !redis) throw new ImportError('a Redis client is needed (or dryRun)');
  const keys = new Keys(opts.prefix);
  const who = opts.who ?? 'import';
  const journalRetentionMs = opts.journalRetentionMs ?? DEFAULT_RETENTION_MS;
  const t0 = performance.now();

  const input = await openInput(src, opts);
  const format = opts.format ?? formatOf(input.name, input.firstBytes, input.gzip);
  const c: Counters = { read: 0, valid: 0, skipped: 0, duplicates: 0, header: false };
  let lineNo = 0;
  const bad = (reason: string) => {
    c.skipped++;
    opts.onBadLine?.(lineNo, reason);
  };
  const pipes = redis ? new Pipes(opts.inFlight ?? 4, kind === 'dnd' ? 'SADD' : 'write') : null;

  // Where DND rows go.
  let gens = { gen: 1, loading: null as number | null };
  let lock: LoadLock | null = null;
  let targets: DndTarget[] = [];
  if (redis && kind === 'dnd') {
    try {
      gens = await currentGen(redis, keys);
      if (opts.replace) {
        if (gens.loading !== null) {
          throw new ImportError(
            `another replace import is loading DND generation ${gens.loading} (${keys.dndLoading} is set; it expires ${Math.round((opts.lockTtlMs ?? 60_000) / 1000)} s after that import stops)`,
          );
        }
        // A generation number no key has yet: leftovers of a crashed load (an abandoned higher
        // generation) are never mixed into this one, and the cleanup after the switch removes them.
        const next = Math.max(gens.gen, await highestDndGeneration(redis, opts.prefix)) + 1;
        const l = new LoadLock(redis, keys, next, opts.lockTtlMs ?? 60_000);
        await l.acquire(gens.gen);
        lock = l;
        targets = [{ gen: next, count: true }];
      } else {
        targets = addTargets(gens);
      }
    } catch (err) {
      input.close();
      throw err instanceof ImportError ? err : new ImportError(`Redis: ${(err as Error).message}`);
    }
  }

  let sink: Sink;
  if (kind === 'dnd') {
    const d = new DndSink(c, format, bad, {
      numbering: opts.numbering,
      category,
      batchRows: opts.batchRows ?? 1_000_000,
      keys,
      targets,
      retarget: redis && !lock ? async () => addTargets(await currentGen(redis, keys)) : null,
      redis,
      pipes,
      pipelineCommands: opts.pipelineCommands ?? 2000,
    });
    sink = d;
  } else {
    const o = {
      redis,
      pipes,
      keys,
      numbering: opts.numbering,
      who,
      channel: opts.channel ?? 'import',
      journalRetentionMs,
      rowsPerPipe: opts.pipelineCommands ?? 2000,
      accounts: opts.accounts ? new Set(opts.accounts) : null,
    };
    sink = kind === 'consent' ? new ConsentSink(c, format, bad, o) : new SenderSink(c, format, bad, o);
  }

  const progress = () => opts.onProgress?.({ bytes: input.bytesRead(), totalBytes: input.totalBytes, rows: c.read, seconds: (performance.now() - t0) / 1000 });
  let lastProgress = 0;
  let loadSeconds: number;
  const warnings: string[] = [];
  let succeeded = false;
  try {
    // ---- the line loop -------------------------------------------------------------------------
    const check = () => {
      if (opts.signal?.aborted) throw new ImportError('aborted');
      if (lock?.lost) throw new ImportError(`lost the ${keys.dndLoading} lock (expired or taken over); the new generation is incomplete`);
    };
    const flush = async () => {
      check();
      await sink.flush();
    };
    let carry: Buffer | null = null;
    let overlong = false;
    try {
      for await (const chunk of input.chunks) {
        check();
        let pos = 0;
        if (carry !== null || overlong) {
          const nl = chunk.indexOf(10);
          if (nl < 0) {
            if (!overlong) {
              carry = carry ? Buffer.concat([carry, chunk]) : chunk;
              if (carry.length > MAX_LINE) {
                overlong = true;
                carry = null;
              }
            }
            continue;
          }
          lineNo++;
          if (overlong) {
            bad(`line longer than ${MAX_LINE} bytes`);
            overlong = false;
          } else {
            const line = Buffer.concat([carry!, chunk.subarray(0, nl)]);
            sink.line(line, 0, line.length);
            if (sink.full) await flush();
          }
          carry = null;
          pos = nl + 1;
        }
        for (;;) {
          const nl = chunk.indexOf(10, pos);
          if (nl < 0) break;
          lineNo++;
          if (nl - pos > MAX_LINE) bad(`line longer than ${MAX_LINE} bytes`);
          else sink.line(chunk, pos, nl);
          if (sink.full) await flush();
          pos = nl + 1;
        }
        if (pos < chunk.length) {
          carry = chunk.subarray(pos);
          if (carry.length > MAX_LINE) {
            overlong = true;
            carry = null;
          }
        }
        const now = performance.now();
        if (opts.onProgress && now - lastProgress >= 200) {
          lastProgress = now;
          progress();
        }
      }
      if (carry !== null || overlong) {
        lineNo++;
        if (overlong) bad(`line longer than ${MAX_LINE} bytes`);
        else sink.line(carry!, 0, carry!.length);
      }
    } catch (err) {
      if (err instanceof ImportError) throw err;
      throw new ImportError(`${input.name}: ${(err as Error).message}`);
    }
    await flush();
    await pipes?.drain();
    check();
    progress();

    if (kind === 'dnd' && sink instanceof DndSink && redis) {
      c.duplicates += sink.sent - sink.added;
      warnings.push(...(await encodingCheck(redis, sink.sample)));
    }

    // ---- replace: switch ------------------------------------------------------------------------
    if (lock && redis) {
      if (c.valid === 0) throw new ImportError('replace refused: the file has no valid rows (the DND list would be emptied)');
      await lock.refresh();
      if (lock.lost) throw new ImportError(`lost the ${keys.dndLoading} lock (expired or taken over); the new generation is incomplete`);
      lock.stop();
      // One SET: every lookup reads dnd:gen, so it sees G or N, never a mix.
      await redis.set(keys.dndGen, String(lock.gen));
      await redis.del(keys.dndLoading);
      await redis.publish(keys.events, `dnd-gen ${lock.gen}`);
    }
    loadSeconds = (performance.now() - t0) / 1000;
    if (redis && kind === 'dnd') {
      await redis
        .xadd(keys.journal, 'MINID', '~', `${Date.now() - journalRetentionMs}-0`, '*', 'op', opts.replace ? 'dnd.replace' : 'dnd.import', 'who', who, 'channel', opts.channel ?? 'import',
          'file', basename(input.name), 'rows', String(c.valid), 'generation', String(lock ? lock.gen : gens.gen), ...(category ? ['category', String(category)] : []))
        .catch(() => undefined);
    }
    succeeded = true;
  } catch (err) {
    const e = err instanceof ImportError ? err : new ImportError(`Redis: ${(err as Error).message}`);
    e.read = c.read;
    throw e;
  } finally {
    if (lock && redis && !succeeded) {
      // Leave G current; remove what was loaded. Best effort: if Redis is down the lock expires by
      // itself and the next replace removes the leftovers before loading.
      lock.stop();
      await pipes?.drain().catch(() => undefined);
      await lock.release().catch(() => undefined);
      // Unless the lock was lost to another import now loading into the same number.
      const other = await redis.get(keys.dndLoading).catch(() => null);
      if (other !== String(lock.gen)) await removeDndGenerations(redis, opts.prefix, (g) => g === lock!.gen).catch(() => undefined);
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
    duplicates: dryRun ? null : c.duplicates,
    seconds: loadSeconds,
    rowsPerSec: loadSeconds > 0 ? Math.round(c.read / loadSeconds) : 0,
    bytes: input.bytesRead(),
    warnings,
  };
  if (kind === 'dnd' && redis) {
    summary.generation = lock ? lock.gen : gens.gen;
    if (lock) summary.previousGeneration = gens.gen;
  }
  if (lock && redis) {
    const graceMs = opts.graceMs ?? 15_000;
    if (graceMs > 0) await new Promise((r) => setTimeout(r, graceMs));
    const t1 = performance.now();
    const current = lock.gen;
    summary.removedKeys = await removeDndGenerations(redis, opts.prefix, (g) => g < current);
    summary.cleanupSeconds = (performance.now() - t1) / 1000;
  }
  return summary;
}

/** One line for humans: what happened, with rates. */
export function formatSummary(s: ImportSummary): string {
  const parts = [
    `${s.kind}${s.dryRun ? ' (dry run)' : ''}${s.replace ? ' (replace)' : ''}: read ${s.read}`,
    s.dryRun ? `valid ${s.valid}` : `imported ${s.imported}`,
    `skipped ${s.skipped}`,
  ];
  if (s.duplicates !== null) parts.push(`${s.kind === 'dnd' ? 'already present' : 'replaced existing'} ${s.duplicates}`);
  parts.push(`${s.seconds.toFixed(2)} s`, `${s.rowsPerSec} rows/s`);
  if (s.replace && s.generation !== undefined) parts.push(`generation ${s.previousGeneration} -> ${s.generation}, ${s.removedKeys ?? 0} old keys removed`);
  else if (s.generation !== undefined) parts.push(`generation ${s.generation}`);
  return parts.join(', ');
}
