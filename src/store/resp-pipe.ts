/**
 * The hot path's own connection to a single Redis: plain commands written as RESP text, a batch of
 * them per write, replies parsed in place. At tens of thousands of messages a second the policy
 * check and the rate counters cost Redis less than half as plain pipelined commands as inside one
 * Lua script (bench (d): ~12 against ~25 µs of Redis CPU a message: the script spends most of its
 * time making Lua strings from its input and crossing from Lua into each command), and the gateway
 * makes no ioredis Command, promise or argument array per command.
 *
 * Only for a single Redis given by a redis:// or rediss:// URL (user, password, database number
 * honoured; TLS as redis.ts redisTls() makes it from the config); Sentinel and Cluster keep the
 * script calls (policy-check.ts). Like the main client it
 * never queues while down: a batch sent while disconnected fails at once, a batch not answered
 * within the timeout fails together with every batch behind it (the connection is dropped so no
 * late reply is matched to a later batch), and reconnects run in the background with backoff.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { putAscii, putDecimal, putUtf8, type Utf8Writable } from '../domain/bytes.js';
import { redisTls, tlsFor } from './redis.js';

/** A reply: integer, bulk or simple string, nil, an array of those (one level: HMGET, a script's integers), or the error reply. */
export type RespValue = number | string | null | (string | number | null)[] | RespError;

/** An error reply (WRONGTYPE, …): it belongs to one command, the batch's other replies stand. */
export class RespError extends Error {}

export type BatchCallback = (err: Error | null, replies: RespValue[] | null) => void;

interface Batch {
  replies: number;
  values: RespValue[];
  deadline: number;
  done: BatchCallback;
}

/** One bulk string of a command (RESP counts bytes: UTF-8). */
export function bulk(s: string): string {
  return `$${Buffer.byteLength(s, 'utf8')}\r\n${s}\r\n`;
}

/** A whole command (its name and arguments as bulk strings). */
export function command(...args: string[]): string {
  let out = `*${args.length}\r\n`;
  for (const a of args) out += bulk(a);
  return out;
}

/** Size of the buffers a batch is written into (below malloc's mmap threshold: no fresh pages each time). */
const CHUNK = 64 * 1024;

/**
 * A batch of commands written straight into buffers that go to the socket as they are (one
 * writev): no string per message or per batch. One long string was the first version's cost: past
 * ~128 KB V8 makes a flat string in large-object space, and flattening a batch's thousands of pieces
 * cost ~4 µs a message; a string per message still made most of what the hot path allocated.
 *
 * Batches share a buffer, as Node's own Buffer pool does: take() hands out a view of the bytes
 * written since the last take() and the next batch is written after them; a new buffer is made only
 * when one is full. The socket keeps its views until written, and nothing is ever written before
 * `start` again. A new 64 KB buffer per batch (the policy check sends one batch a turn, ~1,200 a
 * second at 20,000 msg/s, of 1–2 KB each) was ~80 MB/s of external memory: V8 answers that with
 * "external memory pressure" garbage collections, and on this workload with a mark-compact every
 * 200–400 ms that held the event loop 3–10 ms each (bench/RESULTS.md, session 17).
 */
export class RespWriter {
  private chunks: Buffer[] = [];
  private buf: Utf8Writable | null = null;
  /** Where the batch being written starts in `buf` (what is before it belongs to earlier batches). */
  private start = 0;
  private at = 0;

  /** A buffer with room for `n` more bytes at `at` (a new one when the current is full). */
  private room(n: number): Utf8Writable {
    if (this.buf === null || this.at + n > this.buf.length) {
      if (this.buf !== null && this.at > this.start) this.chunks.push(this.buf.subarray(this.start, this.at));
      this.buf = Buffer.allocUnsafe(Math.max(CHUNK, n)) as Utf8Writable;
      this.start = 0;
      this.at = 0;
    }
    return this.buf;
  }

  /** Writes RESP text as it is (built with exact lengths: constants, bulk(), command()). */
  raw(s: string): void {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8. room() may start a new buffer (at = 0),
    // so it is asked before `at` is read.
    const buf = this.room(3 * s.length);
    this.at = putUtf8(buf, this.at, s);
  }

  /**
   * Writes RESP text built on the assumption that every character is ASCII (bulk lengths taken as
   * string lengths): true when it was; false, with nothing written, when `s` held anything else
   * (the caller then writes it field by field with bulk()). One write per command instead of one a
   * field: the consent import's per-row cost (bench/RESULTS.md, issue 23).
   */
  ascii(s: string): boolean {
    const buf = this.room(3 * s.length);
    const n = buf.utf8Write(s, this.at);
    if (n !== s.length) return false;
    this.at += n;
    return true;
  }

  /**
   * Writes `s` as one bulk string. The length is taken from the string (keys are almost always
   * ASCII; asking Buffer or scanning costs more than the write) and the bulk is written again with
   * its byte count when the bytes written say otherwise.
   */
  bulk(s: string): void {
    const buf = this.room(3 * s.length + 16);
    // ASCII (keys, members, numbers): straight into the buffer (putAscii), no string built.
    buf[this.at] = 0x24;
    let o = putDecimal(buf, this.at + 1, s.length);
    buf[o] = 13;
    buf[o + 1] = 10;
    o = putAscii(buf, o + 2, s);
    if (o >= 0) {
      buf[o] = 13;
      buf[o + 1] = 10;
      this.at = o + 2;
      return;
    }
    const head = `$${s.length}\r\n`;
    const n = buf.utf8Write(`${head}${s}\r\n`, this.at);
    this.at += n === head.length + s.length + 2 ? n : buf.utf8Write(`$${n - head.length - 2}\r\n${s}\r\n`, this.at);
  }

  /**
   * Writes `head`, the decimal digits of `n` (a whole number ≥ 0), `tail` and `rest` as one bulk
   * string: the key layout's `<prefix>dnd:{r:<bucket>}:g<gen>` without making the key. A key made by
   * concatenation is a rope that V8 makes flat on its first read, and that costs more than writing
   * the pieces (bench/RESULTS.md, session 27). Pieces that are not all ASCII are written again as
   * one string by bulk().
   */
  bulkKey(head: string, n: number, tail: string, rest = ''): void {
    let digits = 1;
    for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
    const len = head.length + digits + tail.length + rest.length;
    const buf = this.room(3 * len + 16);
    buf[this.at] = 0x24;
    let o = putDecimal(buf, this.at + 1, len);
    buf[o] = 13;
    buf[o + 1] = 10;
    o = putAscii(buf, o + 2, head);
    if (o >= 0) o = putAscii(buf, putDecimal(buf, o, n), tail);
    if (o >= 0) o = putAscii(buf, o, rest);
    if (o < 0) return this.bulk(`${head}${n}${tail}${rest}`);
    buf[o] = 13;
    buf[o + 1] = 10;
    this.at = o + 2;
  }

  /** What was written since the last take() (the socket keeps these views until written; the next batch goes after them). */
  take(): Buffer[] {
    if (this.buf !== null && this.at > this.start) this.chunks.push(this.buf.subarray(this.start, this.at));
    this.start = this.at;
    const out = this.chunks;
    this.chunks = [];
    return out;
  }
}

const retryDelay = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000);

export class RespPipe {
  private socket: Socket | null = null;
  private ready = false;
  private closed = false;
  private attempts = 0;
  private readonly queue: Batch[] = [];
  private rest: Buffer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;

  /** True for a URL this pipe can connect to by itself. */
  static supports(url: string): boolean {
    return /^rediss?:\/\//.test(url);
  }

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
    private readonly onError: (err: Error) => void = () => undefined,
    /** TLS options (redis.ts redisTls(): the config's CA, client certificate, …); null for plain TCP. */
    private readonly tls: ConnectionOptions | null = redisTls({ url }),
  ) {
    this.connect();
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** Waits until connected, at most `timeoutMs`; false when not connected by then (it keeps trying). */
  async whenReady(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!this.ready && !this.closed && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    return this.ready;
  }

  /**
   * Writes `resp` (`replies` commands) and calls `done` with the replies in order, or with the
   * error when the connection is down, fails or the replies do not come within the timeout.
   */
  send(resp: string | Buffer[], replies: number, done: BatchCallback): void {
    if (!this.ready || this.socket === null) return done(new Error('Redis hot-path connection is not ready'), null);
    if (replies === 0) return done(null, []);
    this.queue.push({ replies, values: [], deadline: Date.now() + this.timeoutMs, done });
    if (typeof resp === 'string') this.socket.write(resp, 'utf8');
    else {
      this.socket.cork();
      for (const b of resp) this.socket.write(b);
      this.socket.uncork();
    }
    if (this.timer === null) this.armTimer();
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.drop(new Error('Redis hot-path connection closed'));
  }

  private connect(): void {
    const u = new URL(this.url);
    const port = Number(u.port || 6379);
    const host = u.hostname || '127.0.0.1';
    const s = this.tls !== null ? tlsConnect({ host, port, ...tlsFor(host, this.tls) }) : netConnect({ host, port });
    this.socket = s;
    s.setNoDelay(true);
    s.once(this.tls !== null ? 'secureConnect' : 'connect', () => {
      const user = decodeURIComponent(u.username);
      const password = decodeURIComponent(u.password);
      const db = u.pathname.slice(1);
      // Ready once Redis answered the setup (until then batches go the fallback way); a refusal drops
      // the connection and retries after a backoff. The setup ends with a PING because a connection
      // is not Redis's until Redis answers on it: over TLS 1.3 the handshake ends on the client's
      // side before the server has checked the client's certificate, and a server that refuses it
      // says so only afterwards.
      const setup: string[] = [];
      if (password) setup.push(user ? command('AUTH', user, password) : command('AUTH', password));
      if (db && db !== '0') setup.push(command('SELECT', db));
      setup.push(command('PING'));
      this.queue.push({
        replies: setup.length,
        values: [],
        deadline: Date.now() + Math.max(this.timeoutMs, 1000),
        done: (err, r) => {
          const refused = err ?? r?.find((v): v is RespError => v instanceof RespError);
          // A refusal backs off like a failed connect (a wrong password is not retried 20 times a second).
          if (refused) return this.drop(refused);
          this.attempts = 0;
          this.ready = true;
        },
      });
      s.write(setup.join(''));
      this.armTimer();
    });
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', (err) => this.drop(err));
    s.on('close', () => this.drop(new Error('Redis hot-path connection lost')));
  }

  /** Fails every batch in flight and reconnects after a backoff (unless closed). */
  private drop(err: Error): void {
    const s = this.socket;
    if (s === null) return;
    this.socket = null;
    this.ready = false;
    this.rest = null;
    s.removeAllListeners('data');
    s.on('error', () => undefined);
    s.destroy();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const failed = this.queue.splice(0);
    for (const b of failed) b.done(err, null);
    if (this.closed) return;
    this.onError(err);
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.closed) this.connect();
    }, retryDelay(this.attempts++));
    this.retry.unref();
  }

  private armTimer(): void {
    const head = this.queue[0];
    if (!head) {
      this.timer = null;
      return;
    }
    const timer = setTimeout(() => {
      if (!(this.queue.length > 0 && this.queue[0]!.deadline <= Date.now())) return this.armTimer();
      // Timers run before the socket is read in an event-loop turn: after the loop was held past
      // the deadline (a long turn, a GC pause), replies that came in time are still unread here.
      // The verdict waits for this turn's reads (setImmediate runs after them): a late timeout
      // costs at most a turn, a false one failed the batch and every batch behind it closed.
      const late = this.queue[0]!;
      setImmediate(() => {
        // Meanwhile the queue emptied or the connection dropped (and maybe a new timer was armed):
        // this timer's watch is over.
        if (this.timer !== timer) return;
        this.timer = null;
        if (this.queue[0] === late) this.drop(new Error(`Redis did not answer within ${this.timeoutMs} ms`));
        else this.armTimer();
      });
    }, Math.max(1, head.deadline - Date.now()));
    timer.unref();
    this.timer = timer;
  }

  private onData(chunk: Buffer): void {
    const b = this.rest === null ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = null;
    let at = 0;
    for (;;) {
      const batch = this.queue[0];
      if (batch === undefined) {
        // A reply nobody asked for: the stream can no longer be trusted.
        if (at < b.length) this.drop(new Error('unexpected reply from Redis'));
        return;
      }
      const end = this.parse(b, at, batch.values);
      if (this.socket === null) return; // a broken stream was dropped
      if (end < 0) break;
      at = end;
      if (batch.values.length === batch.replies) {
        this.queue.shift();
        if (this.timer !== null && this.queue.length === 0) {
          clearTimeout(this.timer);
          this.timer = null;
        }
        batch.done(null, batch.values);
        if (this.socket === null) return; // the callback closed the pipe
      }
    }
    this.rest = at < b.length ? b.subarray(at) : null;
  }

  /** Parses one reply at `at` into `out`; the position after it, or -1 when it is not all here yet. */
  private parse(b: Buffer, at: number, out: RespValue[]): number {
    if (at >= b.length) return -1;
    const eol = b.indexOf(13, at);
    if (eol < 0 || eol + 1 >= b.length) return -1;
    const type = b[at];
    if (type === 0x3a /* : */) {
      out.push(intAt(b, at + 1, eol));
      return eol + 2;
    }
    if (type === 0x24 /* $ */) {
      const len = intAt(b, at + 1, eol);
      if (len < 0) {
        out.push(null);
        return eol + 2;
      }
      if (eol + 4 + len > b.length) return -1;
      out.push(b.toString('utf8', eol + 2, eol + 2 + len));
      return eol + 4 + len;
    }
    if (type === 0x2a /* * */) {
      const n = intAt(b, at + 1, eol);
      if (n < 0) {
        out.push(null);
        return eol + 2;
      }
      const items: (string | number | null)[] = new Array(n);
      let p = eol + 2;
      for (let i = 0; i < n; i++) {
        if (p >= b.length) return -1;
        const e = b.indexOf(13, p);
        if (e < 0 || e + 1 >= b.length) return -1;
        if (b[p] === 0x24) {
          const len = intAt(b, p + 1, e);
          if (len < 0) {
            items[i] = null;
            p = e + 2;
            continue;
          }
          if (e + 4 + len > b.length) return -1;
          items[i] = b.toString('utf8', e + 2, e + 2 + len);
          p = e + 4 + len;
        } else if (b[p] === 0x3a /* : */) {
          items[i] = intAt(b, p + 1, e);
          p = e + 2;
        } else {
          // The pipe's commands answer arrays of bulk strings and integers only; anything else is a broken stream.
          this.drop(new Error('unexpected nested reply from Redis'));
          return -1;
        }
      }
      out.push(items);
      return p;
    }
    const text = b.toString('utf8', at + 1, eol);
    out.push(type === 0x2d /* - */ ? new RespError(text) : text);
    return eol + 2;
  }
}

function intAt(b: Buffer, from: number, to: number): number {
  let neg = false;
  if (b[from] === 0x2d) {
    neg = true;
    from++;
  }
  let v = 0;
  for (let i = from; i < to; i++) v = v * 10 + (b[i]! - 0x30);
  return neg ? -v : v;
}
