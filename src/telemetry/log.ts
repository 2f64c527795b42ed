/**
 * Logging: pino JSON lines. MSISDNs are masked by default (keep the country/operator prefix and the
 * last three digits) so logs can be shipped without exposing subscribers.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { putDecimal, putJsonPlain, putUtf8 } from '../domain/bytes.js';
import { DecisionCache } from './decision-cache.js';
import { censor } from './redact.js';

export type { Logger };

/** Log bytes allowed to wait for stdout; beyond it log lines are dropped (a pipe nobody reads). */
const LOG_BUFFER_BYTES = 1024 * 1024;

/**
 * Log lines to stdout through a bounded buffer. pino's own stdout destination buffers without
 * bound while a pipe is not read, and flushes synchronously at exit — forever, on a full pipe, so
 * SIGTERM never ended. Here a line is dropped when the pipe already has LOG_BUFFER_BYTES waiting,
 * and nothing runs at exit (main.ts waits a bounded time for stdout to drain before exiting).
 */
export const boundedStdout = {
  dropped: 0,
  write(line: string): boolean {
    if (process.stdout.writableLength > LOG_BUFFER_BYTES) {
      this.dropped++;
      return false;
    }
    return process.stdout.write(line);
  },
};

/**
 * What every smppguard log line shares with the audit lines: `time` as ISO-8601 UTC
 * ("2026-12-05T02:08:30.123Z") and `level` as its name ("info", "warn", …), so lines from both
 * sort and filter together in any log shipper without a lookup table.
 */
export const LOG_OPTIONS = {
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label: string) => ({ level: label }) },
} as const;

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  // A net under the call sites (redact.ts): no URL's password and no `password` field reaches a line.
  const redact = { paths: ['url', '*.url', 'password', '*.password'], censor };
  return pino({ level, base: { svc: 'smppguard' }, redact, ...LOG_OPTIONS }, (destination ?? boundedStdout) as never);
}

/** Resolves once stdout has written what waits for it, or after `ms` (a pipe nobody reads). */
export function stdoutDrained(ms: number): Promise<void> {
  if (process.stdout.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    process.stdout.once('drain', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

let maskingOn = true;

export function setMasking(on: boolean): void {
  maskingOn = on;
}

const STARS = Array.from({ length: 24 }, (_, n) => '*'.repeat(n));

/**
 * "8613812345678" → "86138*****678" (a leading "+" dropped); short or alphanumeric ids (sender
 * names) are kept. Runs for every audit line: a char loop, no regex.
 */
export function maskMsisdn(addr: string): string {
  if (!maskingOn) return addr;
  const start = addr.charCodeAt(0) === 43 /* + */ ? 1 : 0;
  const len = addr.length - start;
  if (len < 7) return addr;
  for (let i = start; i < addr.length; i++) {
    const c = addr.charCodeAt(i);
    if (c < 48 || c > 57) return addr;
  }
  const keep = Math.min(5, len - 6);
  const stars = len - keep - 3;
  return addr.slice(start, start + keep) + (stars < STARS.length ? STARS[stars]! : '*'.repeat(stars)) + addr.slice(addr.length - 3);
}

/** One decision, as the audit trail records it. */
export interface AuditEntry {
  account: string;
  decision: string;
  reason: string;
  rule: string;
  status: number;
  class: string | null;
  src: string;
  /** Already masked. */
  dst: string;
  seq: number;
  /** Sender behaviour evidence: which profile value decided, with its counts (only when a behaviour rule matched). */
  evidence?: string;
  /** Content scores the rules computed, with the n-grams that pushed each most (only when a score rule read one). */
  score?: string;
  /** The gateway's id for the message (relay/ gives one to every submit; a queued message's is the id its ESME got). */
  id?: string;
}

/** Bytes of audit lines collected before they are handed to the stream (more go out at once). */
const CHUNK_BYTES = 64 * 1024;
/** The longest an audit line waits in the chunk before it is written (AuditLog). */
const FLUSH_MS = 10;
/** An audit line's bytes besides the values AuditLog.write() and writeSmscId() are given (keys, quotes, separators, the sequence number), with room to spare. */
const FIXED_BYTES = 160;
/** Default bound on audit bytes waiting for stdout or the file (audit.max_buffer_bytes). */
export const AUDIT_BUFFER_BYTES = 4 * 1024 * 1024;

/** What the gateway hears about the audit file (it logs them and counts the dropped lines). */
export interface AuditLogEvents {
  /** The file could not be written (disk full, file or directory gone, …): lines are dropped until it can. */
  failed(err: Error): void;
  /** `n` lines dropped because the file could not be written, or stdout/the file is not keeping up (buffer full). */
  dropped(n: number): void;
  /** A write succeeded again after a failure. */
  recovered(): void;
}

/**
 * The audit trail: one JSON line per decision, to stdout, a file, or nowhere. Each line is one
 * template string (fixed keys; only values that come from the ESME are escaped) encoded straight
 * into a chunk buffer, and the chunk is written every FLUSH_MS (or when it is full): a generic
 * logger, an array of pieces joined at flush, or one write per line each cost several µs a line,
 * more than the decision itself at tens of thousands of decisions a second; so did one write per
 * event-loop turn at a fixed 20,000 msg/s (a write and its thread-pool job for a handful of lines:
 * ~5 µs of gateway CPU a message in bench (c), bench/RESULTS.md session 14). A line reaches the
 * file at most FLUSH_MS after its decision; a kill -9 loses what is buffered, as it did before
 * (the decision record itself is the decision buffer's, store/audit-stream.ts).
 *
 * A file that cannot be written never stops the gateway: the failure is reported once, lines are
 * dropped (and counted, those of a failed write included) meanwhile, and the file is opened again
 * every `retryMs` and on reopen().
 *
 * Bounded: at most `maxBufferBytes` wait in the stream for stdout or the file. A pipe nobody reads
 * (or a file slower than the decisions) does not grow memory: chunks beyond the bound are dropped
 * and counted through `dropped` (smppguard_audit_log_dropped_total).
 */
export class AuditLog {
  /** Lines are encoded into this chunk at `at`; what is before `start` has gone to the stream. */
  private buf = Buffer.allocUnsafe(CHUNK_BYTES);
  private start = 0;
  private at = 0;
  /** Lines in `buf`. */
  private lines = 0;
  private timer: NodeJS.Timeout | null = null;
  private out: Writable;
  /** When writing last failed; null while the file is writable. */
  private failedAt: number | null = null;
  /** Opened again after a failure, no write confirmed yet. */
  private recovering = false;

  /** `file`: the path appended to (null for stdout), opened again by reopen() and after a failure. */
  private constructor(
    private readonly file: string | null,
    private readonly events: AuditLogEvents | null,
    private readonly retryMs: number,
    private readonly maxBufferBytes: number,
  ) {
    this.out = file === null ? process.stdout : this.open(file);
  }

  static create(destination: string, events: AuditLogEvents | null = null, opts: { retryMs?: number; maxBufferBytes?: number } = {}): AuditLog | null {
    if (destination === 'off') return null;
    const max = opts.maxBufferBytes ?? AUDIT_BUFFER_BYTES;
    if (destination === 'stdout') return new AuditLog(null, events, 0, max);
    mkdirSync(dirname(destination), { recursive: true });
    return new AuditLog(destination, events, opts.retryMs ?? 5000, max);
  }

  private open(file: string): Writable {
    const out = createWriteStream(file, { flags: 'a' });
    out.on('error', (err) => {
      if (out !== this.out) return; // a stream already replaced
      if (this.failedAt === null && !this.recovering) this.events?.failed(err);
      this.failedAt = Date.now();
      this.recovering = false;
    });
    return out;
  }

  /**
   * After log rotation moved the file away (logrotate's `create`, then SIGUSR2): the lines so far go
   * to the old file, the next ones to a new file at the configured path. Nothing for stdout.
   */
  reopen(): void {
    if (this.file === null) return;
    this.flush();
    this.replace(this.file);
  }

  private replace(file: string): void {
    const old = this.out;
    this.out = this.open(file);
    if (this.failedAt !== null) this.recovering = true;
    this.failedAt = null;
    old.end();
  }

  /** The middle of a line, from "account" to "class" (values JSON-escaped), encoded once per decision tuple: a line is a few copies, not twenty pieces. */
  private readonly middles = new DecisionCache((account, decision, reason, rule, status, cls) =>
    Buffer.from(
      `"account":${JSON.stringify(account)},"decision":${JSON.stringify(decision)},"reason":${JSON.stringify(reason)},"rule":${JSON.stringify(rule)},"status":${status},"class":${cls === null ? 'null' : JSON.stringify(cls)},`,
      'utf8',
    ),
  );
  private lastMs = -1;
  private lastHead: Buffer = Buffer.alloc(0);

  /** `{"time":"<ISO-8601>","level":"info"`, encoded once per millisecond. */
  private head(): Buffer {
    const t = Date.now();
    if (t !== this.lastMs) {
      this.lastMs = t;
      this.lastHead = Buffer.from(`{"time":"${new Date(t).toISOString()}","level":"info"`, 'latin1');
    }
    return this.lastHead;
  }

  /** The last evidence written and its escaped field: a flagged sender's lines carry the same one for a while. */
  private lastEvidence: string | null = null;
  private lastEvidenceField = '';

  /**
   * A decision: `{"time":…,"level":"info","log":"audit","id":<gateway id>,"account":…,"decision":…,
   * "reason":…,"rule":…,"status":…,"class":…,"src":…,"dst":…,"seq":…}`.
   *
   * Encoded piece by piece into the chunk, no string made for the line: its fixed pieces, the time
   * and the decision tuple's middle are bytes already, copied in; the ESME's values are escaped
   * byte by byte (JSON.stringify only for those that need an escape). The audit log had cost ~4 µs
   * of gateway CPU a message in bench (c) at saturation (13.1 against 17.0 µs with it off); a
   * template string with three JSON.stringify calls, written with Buffer#write, and a copy of every
   * chunk took 1.7 µs a message for its two lines, this 1.0 µs (a throwaway loop into /dev/null;
   * bench/RESULTS.md, session 17).
   */
  write(e: AuditEntry): void {
    // src and dst come from the ESME, the id from the gateway: JSON-escaped on every line.
    let extra = '';
    if (e.evidence !== undefined) {
      if (e.evidence !== this.lastEvidence) {
        this.lastEvidence = e.evidence;
        this.lastEvidenceField = `,"evidence":${JSON.stringify(e.evidence)}`;
      }
      extra = this.lastEvidenceField;
    }
    if (e.score !== undefined) extra += `,"score":${JSON.stringify(e.score)}`;
    const id = e.id ?? '';
    const head = this.head();
    const middle = this.middles.get(e.account, e.decision, e.reason, e.rule, e.status, e.class);
    const b = this.room(FIXED_BYTES + head.length + middle.length + 6 * (id.length + e.src.length + e.dst.length) + 3 * extra.length);
    let o = this.at;
    o = put(b, o, head);
    o = put(b, o, AUDIT_ID);
    o = putJson(b, o, id);
    o = put(b, o, COMMA);
    o = put(b, o, middle);
    o = put(b, o, SRC);
    o = putJson(b, o, e.src);
    o = put(b, o, DST);
    o = putJson(b, o, e.dst);
    o = put(b, o, SEQ);
    o = Number.isSafeInteger(e.seq) && e.seq >= 0 ? putDecimal(b, o, e.seq) : putUtf8(b, o, String(e.seq));
    if (extra.length > 0) o = putUtf8(b, o, extra);
    this.wrote(o);
  }

  /**
   * The SMSC accepted a message and named its own id for it (the id receipts and complaints quote):
   * `{"time":…,"level":"info","log":"audit_smsc","id":<gateway id>,"smsc_id":…,"account":…}`.
   * Joined with the decision line on `id`.
   */
  writeSmscId(id: string, smscId: string, account: string): void {
    const head = this.head();
    const b = this.room(FIXED_BYTES + head.length + 6 * (id.length + smscId.length + account.length));
    let o = this.at;
    o = put(b, o, head);
    o = put(b, o, SMSC_ID);
    o = putJson(b, o, id);
    o = put(b, o, SMSC_SMSC_ID);
    o = putJson(b, o, smscId);
    o = put(b, o, SMSC_ACCOUNT);
    o = putJson(b, o, account);
    this.wrote(o);
  }

  /**
   * The chunk a line of at most `max` bytes is written into from `at`: this one, or when it lacks
   * room a new one (as long as the line, if that is longer), this one written out first.
   */
  private room(max: number): Buffer {
    if (this.at + max <= this.buf.length) return this.buf;
    this.flush();
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, max));
    this.start = 0;
    this.at = 0;
    return this.buf;
  }

  /** A line was written into the chunk up to `o`, but for its closing `}` and newline. */
  private wrote(o: number): void {
    const b = this.buf;
    b[o] = 0x7d; // }
    b[o + 1] = 0x0a;
    this.at = o + 2;
    this.lines++;
    // Not holding the process open: close() flushes at shutdown.
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
  }

  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.at === this.start) return;
    // The stream keeps what it is given until written: a view of the chunk, which is written on
    // after it and never before it again (a full chunk is replaced, not reused).
    const chunk = this.buf.subarray(this.start, this.at);
    const n = this.lines;
    this.start = this.at;
    this.lines = 0;
    this.send(chunk, n);
  }

  /** Writes `n` lines, or drops them while the file cannot be written (retrying every retryMs). */
  private send(chunk: Buffer, n: number): void {
    if (this.failedAt !== null) {
      if (this.file === null || Date.now() - this.failedAt < this.retryMs) return this.events?.dropped(n);
      this.replace(this.file);
    }
    const out = this.out;
    // Not read (a pipe nobody drains) or not keeping up: drop rather than grow without bound.
    if (out.writableLength + chunk.length > this.maxBufferBytes) return this.events?.dropped(n);
    out.write(chunk, (err) => {
      if (err) return this.events?.dropped(n);
      if (out === this.out && this.recovering) {
        this.recovering = false;
        this.events?.recovered();
      }
    });
  }

  close(): void {
    this.flush();
    if (this.out !== process.stdout) this.out.end();
  }
}

// The lines' fixed pieces, encoded once.
const AUDIT_ID = Buffer.from(',"log":"audit","id":');
const COMMA = Buffer.from(',');
const SRC = Buffer.from('"src":');
const DST = Buffer.from(',"dst":');
const SEQ = Buffer.from(',"seq":');
const SMSC_ID = Buffer.from(',"log":"audit_smsc","id":');
const SMSC_SMSC_ID = Buffer.from(',"smsc_id":');
const SMSC_ACCOUNT = Buffer.from(',"account":');

/** `piece` at `o`; the position after it. */
function put(b: Buffer, o: number, piece: Buffer): number {
  b.set(piece, o);
  return o + piece.length;
}

/** `s` at `o` as a JSON string, escaped as JSON.stringify does; the position after it. */
function putJson(b: Buffer, o: number, s: string): number {
  const end = putJsonPlain(b, o, s);
  return end >= 0 ? end : putUtf8(b, o, JSON.stringify(s));
}
