/**
 * The decision buffer: every decision goes to a Redis stream first, and from there the archive
 * writer (archive/writer.ts) moves it to Parquet files; evidence reads both (archive/reader.ts).
 * telemetry/log.ts's AuditLog stays the line-per-decision trail for log shipping.
 *
 * Layout: recipients are spread over `audit.stream.shards` streams by number mod shards
 * (`<p>audit:{a:<S>}`, with its meta hash `<p>auditm:{a:<S>}`: bytes, oldest entry, archive
 * cursor, dropped). Every `flush_ms` each shard that had decisions gets one entry: field `n` how
 * many, field `d` the decisions one line each, TAB-separated in LINE_FIELDS order (time is the
 * decision's, on the gateway; sender and recipient normalised, the full recipient: this is
 * evidence, not a log line). The entry id is when Redis appended it (`flush_ms` after the decision,
 * more while Redis was unavailable).
 *
 * Bounded: the append script (audit-append.lua) holds every shard under `buffer_max_bytes /
 * shards` bytes of lines and `buffer_max_age` of age by trimming its oldest entries; decisions
 * trimmed before the archive had them are counted (smppguard_audit_buffer_dropped_total). The
 * buffer never grows with the retention: that is the archive's.
 *
 * Why packed: Redis CPU goes per command. One XADD per decision measured 5.4 µs of Redis CPU per
 * decision, as much as the policy check, and cut the policy benchmark from ~60k to ~37k msg/s;
 * one XADD per shard and flush costs that once per shard instead.
 *
 * Hot path: add() encodes the decision's line into its shard's reusable byte buffer (no string
 * kept per decision); the flush sends every shard's block in one script call or transaction, at
 * most ~MAX_CALL_DECISIONS each. When Redis fails the blocks are kept for the next flush; beyond
 * `max_buffer` decisions new ones are dropped and counted.
 *
 * On a single Redis the stream has a connection of its own (store/resp-pipe.ts) and a flush is
 * one vectored write: the commands' text from one reused buffer, each shard's lines from its own
 * buffer, not copied (the buffers are reused once Redis has answered). Through ioredis a flush was
 * copied three times into fresh memory (the blocks, ioredis's command, its auto-pipeline), and
 * fresh memory costs a page fault every 4 KB: at 20,000 decisions a second each 250 ms flush held
 * the event loop for 10–30 ms, every message in flight waited, and it tripled the p99 at that rate
 * (bench/RESULTS.md, session 16); copying each line once into its shard's place still held it
 * ~1.7 ms (session 21). On that connection a flush is plain commands in MULTI/EXEC rather than the
 * append script: a block passed to Lua is copied into a Lua string and back, which cost Redis more
 * than the XADD itself (flushOnPipe()). Retried blocks, Sentinel and Cluster go through ioredis and
 * the script.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DecisionCache } from '../telemetry/decision-cache.js';
import type { Metrics } from '../telemetry/metrics.js';
import { Keys } from './keys.js';
import { bulk, type RespPipe } from './resp-pipe.js';
import { withScripts, type ScriptClient } from './scripts.js';

export interface AuditStreamOptions {
  shards: number;
  /** Bytes of decision lines the buffer holds over all shards (each shard a 1/shards share); 0 = no bound. */
  maxBytes: number;
  /** Entries older than this are trimmed (ms); 0 = no bound. */
  maxAgeMs: number;
  /** 0 = flush every event-loop turn. */
  flushMs: number;
  /** Decisions held in this process while Redis cannot take them. */
  maxBuffer: number;
  /** This gateway instance's id, the record's `instance` column. */
  instance?: string;
}

/**
 * The columns of a line, in order (archive/schema.ts). An empty field is NULL in the archive.
 * Two kinds of line: a decision (msg_id the gateway's message id; fingerprint when the message was
 * fingerprinted, the score columns when a score rule ran), and an `smsc_id` record: the SMSC's id
 * in smsc_id for a msg_id, under the same recipient. A live message's forward is one line: its
 * decision line is held until the SMSC answers (add() with `hold`) and carries the SMSC's id when one took it.
 * A message released from the queue, decided long before an SMSC takes it, gets the second line,
 * as every forward did before session 25 (readers take both: evidence/collect.ts).
 */
export const LINE_FIELDS = [
  'time',
  'instance',
  'account',
  'action',
  'reason',
  'rule',
  'status',
  'class',
  'sender',
  'recipient',
  'msg_id',
  'smsc_id',
  'fingerprint',
  'score',
  'model_version',
  'score_detail',
] as const;

/** The score columns a decision may fill (empty: NULL in the archive). */
export interface DecisionExtra {
  /** The first content score the decision's rules computed, its model (name@weights digest) and every score with its n-grams. */
  score?: number;
  modelVersion?: string;
  scoreDetail?: string;
}

/** The score fields of a line as text: TAB before each, NL at the end; TAB/NL inside a value become spaces. */
function scoreFields(e: DecisionExtra): string {
  const clean = (v: string | undefined) => (v === undefined ? '' : v.replace(/[\t\n]/g, ' '));
  return `\t${e.score === undefined ? '' : e.score.toFixed(4)}\t${clean(e.modelVersion)}\t${clean(e.scoreDetail)}\n`;
}

/** The action of the second line kind: the SMSC's message id for a decision's msg_id. */
export const SMSC_ID_ACTION = 'smsc_id';

/** Keys of the stream's TTL: idle this long after its last append, a shard's buffer and meta expire. */
export const BUFFER_TTL_MS = 7 * 86_400_000;

/** One decision as the stream holds it. */
export interface DecisionRecord {
  /** The stream entry's id (buffer) or "" (archive). */
  id: string;
  time: number;
  instance: string;
  account: string;
  decision: string;
  reason: string;
  rule: string;
  status: number;
  class: string | null;
  src: string;
  dst: string;
  /** The content scores the decision's rules computed, e.g. `spam-en=0.9731 "free"+0.41 …` (null: none). */
  score: string | null;
  /** The gateway's message id ("" on records from before it was kept). */
  msgId: string;
  /** The SMSC's message id: on a live forward's decision and on `smsc_id` records (decision `smsc_id`). */
  smscId: string | null;
  /** The message's campaign fingerprint, when it was fingerprinted. */
  fingerprint: string | null;
}

/** The score fields at the end of a line when no score rule ran. */
const SCORE_EMPTY = Buffer.from('\t\t\t\n', 'latin1');

/**
 * Decisions per script call or transaction at most (bounds its run time inside Redis, during which
 * every policy check waits): calls of 5,000 took up to 88 ms (slowlog, (d)). A shard's block is
 * never split, so a smaller figure adds calls, not stream entries.
 */
const MAX_CALL_DECISIONS = 1000;
/** A shard's line buffer at first (it doubles as needed, and is kept). */
const SHARD_BUFFER_BYTES = 16 * 1024;
/** Commands per shard in flushOnPipe()'s transaction: HGET, XADD, HINCRBY, HSET, HLEN, PEXPIRE, PEXPIRE. */
const PER_SHARD = 7;
/** Meta hash fields past which audit-buffer.lua's prune() runs (the HLEN the transaction asks for). */
const PRUNE_FIELDS = 40;
/**
 * How much later than its decision an entry may be appended and still be found by a `to` bound:
 * a flush, a retry while Redis was away, a held line's wait for the SMSC (a response timeout, twice
 * with a retry, plus a wait for a bind: seconds at the usual settings).
 */
export const APPEND_MARGIN_MS = 10 * 60_000;
const TAB = 9;
const NL = 10;

/** A shard's lines taken for a flush: `bytes` of its buffer `whole`. */
interface Taken {
  shard: number;
  decisions: number;
  bytes: Buffer;
  whole: Buffer;
}

/**
 * A decision line held until the SMSC's answer (AuditStream.add() with `hold`): a live forward's record is
 * then one line with the SMSC's id, not a decision line and an `smsc_id` line. Held lines are kept
 * in a list (linked through the lines themselves: no hashing a message), so close() writes any
 * still held.
 */
export class HeldLine {
  prev: HeldLine | null = null;
  next: HeldLine | null = null;
  constructor(
    private readonly stream: AuditStream | null,
    readonly tuple: Buffer,
    readonly time: number,
    readonly src: string,
    readonly dst: string,
    readonly msgId: string,
    readonly fingerprint: string,
    readonly scores: DecisionExtra | null,
  ) {}

  /** A ring's empty head: itself before and after it. */
  static sentinel(): HeldLine {
    const h = new HeldLine(null, Buffer.alloc(0), 0, '', '', '', '', null);
    h.prev = h.next = h;
    return h;
  }

  /** Writes the line, with the SMSC's id (`""`: no SMSC took the message). At most once. */
  release(smscId: string): void {
    this.stream?.releaseHeld(this, smscId);
  }
}

/** One shard's block of a flush, ready to append (kept for a retry when the call failed). */
interface Block {
  shard: number;
  /** The flush it was taken in: a retried block keeps it, so Redis can tell a block it already took. */
  seq: number;
  bytes: Buffer;
  decisions: number;
}

export class AuditStream {
  readonly keys: Keys;
  /**
   * The decisions since the last flush, each shard's encoded back to back in a reusable buffer of
   * its own (`shardUsed` bytes, `shardCount` lines), so that a flush sends them as they are: one
   * buffer with a per-decision index had to be copied line by line into the shards' places at every
   * flush, ~1.7 ms at 20,000 decisions a second and 250 ms flushes, and every message in flight
   * waited for it (bench/RESULTS.md, session 21). No string per decision is kept until the flush:
   * a second of retained strings is what old-generation garbage collection is made of at tens of
   * thousands of decisions a second.
   */
  private shardBuf: (Buffer | undefined)[] = [];
  private readonly shardUsed: Int32Array;
  private readonly shardCount: Int32Array;
  /** A flush's shard buffers come back here once Redis answered it: the shard's next buffer. */
  private spare: (Buffer | undefined)[] = [];
  /** Shards with lines since the last flush, in the order of their first line. */
  private dirty: number[] = [];
  /** Lines since the last flush, all shards. */
  private count = 0;
  /** Blocks of failed calls, sent again first. */
  private retry: Block[] = [];
  private retryDecisions = 0;
  /** The encoded "instance TAB account TAB decision TAB reason TAB rule TAB status TAB class TAB" of a verdict, once per tuple. */
  private readonly tuples = new DecisionCache((account, decision, reason, rule, status, cls) => {
    const clean = (v: string) => v.replace(/[\t\n]/g, ' ');
    return Buffer.from(`${clean(this.instance)}\t${clean(account)}\t${decision}\t${reason}\t${clean(rule)}\t${status}\t${cls ?? ''}\t`, 'latin1');
  });
  readonly instance: string;
  private lastMs = -1;
  /** Flushes so far (each block's seq). */
  private flushSeq = 0;
  private lastMsText = '';
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private inFlight: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly scripts: ScriptClient;
  /** The text of a flush's commands on the pipe (all but the lines), reused; busy until their replies are in (the socket may still hold it before). */
  private wire = Buffer.alloc(0);
  private wireBusy = false;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly opts: AuditStreamOptions,
    private readonly metrics: Metrics | null = null,
    /** The decisions' clock (the gateway's). */
    private readonly now: () => number = Date.now,
    /** The stream's own connection to a single Redis (null: every flush through ioredis); its owner closes it. */
    readonly pipe: RespPipe | null = null,
  ) {
    this.keys = new Keys(prefix);
    this.scripts = withScripts(redis);
    this.shardUsed = new Int32Array(opts.shards);
    this.shardCount = new Int32Array(opts.shards);
    // Without an id of its own (tools, tests) a stream still needs one: retried flushes are told apart by it.
    this.instance = opts.instance ?? randomBytes(6).toString('hex');
  }

  /** The shard of a recipient (international digits, at most 15). */
  shardOf(msisdn: string): number {
    return Number(msisdn) % this.opts.shards;
  }

  /** Decisions waiting to be written. */
  get buffered(): number {
    return this.count + this.retryDecisions;
  }

  /**
   * Records one decision. `dst`: the normalised recipient; decisions without a valid one
   * (invalid_destination) have no recipient to find them by and are not streamed. `msgId`: the
   * gateway's message id; `fingerprint`: the campaign fingerprint, "" when none was computed.
   * `hold` (a live forward): the line is not written now but returned, held until the SMSC answers;
   * it is written, with the decision's time, when its release() names the SMSC's id (or "" when no
   * SMSC took the message). Otherwise written now, and null returned.
   */
  add(
    account: string,
    decision: string,
    reason: string,
    rule: string,
    status: number,
    cls: string | null,
    src: string,
    dst: string,
    msgId = '',
    fingerprint = '',
    scores: DecisionExtra | null = null,
    hold = false,
  ): HeldLine | null {
    const tuple = this.tuples.get(account, decision, reason, rule, status, cls);
    if (!hold) {
      this.line(tuple, src, dst, msgId, '', fingerprint, scores);
      return null;
    }
    const h = new HeldLine(this, tuple, this.now(), src, dst, msgId, fingerprint, scores);
    const ring = this.heldRing;
    const last = ring.prev!;
    h.prev = last;
    h.next = ring;
    last.next = h;
    ring.prev = h;
    this.heldCount++;
    return h;
  }

  /** Held lines, oldest first (a ring through a sentinel), and how many. */
  private readonly heldRing = HeldLine.sentinel();
  private heldCount = 0;

  /** Decision lines held for an SMSC's answer. */
  get held(): number {
    return this.heldCount;
  }

  /** HeldLine.release(): unlinks the line and writes it (a line released before is not written again). */
  releaseHeld(h: HeldLine, smscId: string): void {
    if (h.prev === null) return;
    h.prev.next = h.next;
    h.next!.prev = h.prev;
    h.prev = h.next = null;
    this.heldCount--;
    this.line(h.tuple, h.src, h.dst, h.msgId, smscId, h.fingerprint, h.scores, h.time);
  }

  /** Records the SMSC's id of a message the SMSC took (the second line kind; see LINE_FIELDS). */
  addSmscId(account: string, src: string, dst: string, msgId: string, smscId: string): void {
    this.line(this.tuples.get(account, SMSC_ID_ACTION, '', '', 0, null), src, dst, msgId, smscId, '', null);
  }

  /** Appends one line: time, TAB, tuple (ends in TAB), src, dst, ids, score fields, NL (latin1: one byte a character but in the scores). */
  private line(tuple: Buffer, src: string, dst: string, msgId: string, smscId: string, fingerprint: string, scores: DecisionExtra | null, t = this.now()): void {
    if (this.closed || dst.length === 0 || dst.length > 15) return;
    // The recipient's shard (its number mod shards), read digit by digit: and a recipient that is not all digits has no line.
    const shards = this.opts.shards;
    let shard = 0;
    for (let i = 0; i < dst.length; i++) {
      const c = dst.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return;
      shard = (shard * 10 + c) % shards;
    }
    if (this.count + this.retryDecisions >= this.opts.maxBuffer) {
      this.metrics?.auditStream.inc({ outcome: 'dropped' });
      return;
    }
    if (t !== this.lastMs) {
      this.lastMs = t;
      this.lastMsText = String(t);
    }
    const tail = scores === null ? null : scoreFields(scores);
    const need =
      this.lastMsText.length + 1 + tuple.length + src.length + dst.length + msgId.length + smscId.length + fingerprint.length + 4 + (tail === null ? SCORE_EMPTY.length : Buffer.byteLength(tail));
    let b = this.shardBuf[shard];
    if (b === undefined || this.shardUsed[shard]! + need > b.length) b = this.grow(shard, need);
    let o = putLatin1(b, this.shardUsed[shard]!, this.lastMsText);
    b[o++] = TAB;
    b.set(tuple, o);
    o += tuple.length;
    // The sender as the ESME gave it and the ids an SMSC gave could hold the separators.
    o = writeClean(b, o, src);
    b[o++] = TAB;
    o = putLatin1(b, o, dst);
    b[o++] = TAB;
    o = writeClean(b, o, msgId);
    b[o++] = TAB;
    o = writeClean(b, o, smscId);
    b[o++] = TAB;
    o = putLatin1(b, o, fingerprint);
    if (tail === null) {
      b.set(SCORE_EMPTY, o);
      o += SCORE_EMPTY.length;
    } else o += b.write(tail, o, 'utf8');
    this.shardUsed[shard] = o;
    if (this.shardCount[shard]++ === 0) this.dirty.push(shard);
    this.count++;
    if (this.timer === null) {
      this.timer = this.opts.flushMs === 0 ? setImmediate(() => this.flush()) : setTimeout(() => this.flush(), this.opts.flushMs);
    }
  }

  /** The shard's buffer with room for `need` more bytes: its spare (a flush's, given back) or a bigger one. */
  private grow(shard: number, need: number): Buffer {
    const used = this.shardUsed[shard]!;
    const old = this.shardBuf[shard];
    const spare = this.spare[shard];
    let b: Buffer;
    this.spare[shard] = undefined;
    if (old === undefined && spare !== undefined && spare.length >= need) b = spare;
    else {
      let size = Math.max(SHARD_BUFFER_BYTES, 2 * (old?.length ?? 0));
      while (size < used + need) size *= 2;
      b = Buffer.allocUnsafe(size);
      if (old !== undefined) old.copy(b, 0, 0, used);
    }
    this.shardBuf[shard] = b;
    return b;
  }

  /** Sends what is buffered; resolves when Redis answered (failures are kept for the next flush). */
  flush(): Promise<void> {
    this.timer = null;
    if (this.count === 0 && this.retry.length === 0) return this.inFlight;
    if (this.retry.length === 0 && this.pipe?.isReady) {
      this.inFlight = this.flushOnPipe(this.pipe);
      return this.inFlight;
    }
    const blocks = this.retry.concat(this.takeBlocks());
    this.retry = [];
    this.retryDecisions = 0;
    this.inFlight = Promise.all(this.groups(blocks).map((g) => this.sendGroup(g))).then(() => undefined);
    return this.inFlight;
  }

  /** Blocks in script calls of about MAX_CALL_DECISIONS decisions (a shard's block is never split). */
  private groups<B extends { decisions: number }>(blocks: B[]): B[][] {
    const out: B[][] = [];
    let group: B[] = [];
    let size = 0;
    for (const b of blocks) {
      group.push(b);
      size += b.decisions;
      if (size >= MAX_CALL_DECISIONS) {
        out.push(group);
        group = [];
        size = 0;
      }
    }
    if (group.length > 0) out.push(group);
    return out;
  }

  /** One script call through ioredis; a failed one is kept for the next flush. */
  private sendGroup(group: Block[]): Promise<void> {
    return this.append(group).then(
      (dropped) => this.written(group, dropped),
      () => {
        this.metrics?.redisErrors.inc({ op: 'audit_stream' });
        this.keepForRetry(group);
      },
    );
  }

  private written(group: { decisions: number }[], dropped: number): void {
    let n = 0;
    for (const b of group) n += b.decisions;
    this.metrics?.auditStream.inc({ outcome: 'written' }, n);
    if (dropped > 0) this.metrics?.auditBufferDropped.inc(dropped);
  }

  /**
   * The shards' lines since the last flush, each shard's buffer handed over as it is (the shard
   * starts a new one), and the buffer emptied.
   */
  private takeShards(): Taken[] {
    const out = this.dirty.map((shard): Taken => {
      const whole = this.shardBuf[shard]!;
      const taken = { shard, decisions: this.shardCount[shard]!, bytes: whole.subarray(0, this.shardUsed[shard]), whole };
      this.shardBuf[shard] = undefined;
      this.shardUsed[shard] = 0;
      this.shardCount[shard] = 0;
      return taken;
    });
    this.dirty = [];
    this.count = 0;
    return out;
  }

  /** The buffered decisions as blocks of this flush (the ioredis path); empties the buffer. */
  private takeBlocks(): Block[] {
    const seq = ++this.flushSeq;
    return this.takeShards().map(({ shard, decisions, bytes }) => ({ shard, seq, decisions, bytes }));
  }

  /**
   * The flush as plain commands, their text in the reused wire buffer and each shard's lines in its
   * own buffer, in one vectored write (the module header says why), one MULTI/EXEC per group of
   * shards (the grouping append() uses): per shard HGET of its oldest entry's time, the XADD,
   * HINCRBY of its bytes, this instance's flush seq, HLEN, and both keys' TTL, the entry and fields
   * audit-append.lua writes. The block passes through no Lua: as an EVALSHA argument it cost Redis
   * more than the XADD (bench/RESULTS.md, session 20). From the replies: a shard without an oldest
   * time gets its entry's (HSETNX), and a shard past a bound or with more than PRUNE_FIELDS meta
   * fields gets audit-hold.lua. A transaction that failed, or was not answered in time, is kept and
   * sent again through ioredis with the next flush: the append script's seq check skips a block the
   * transaction had written after all.
   */
  private flushOnPipe(pipe: RespPipe): Promise<void> {
    const seq = ++this.flushSeq;
    const shards = this.takeShards();
    const calls = this.groups(shards);
    const ttl = bulk(String(BUFFER_TTL_MS));
    const seqField = bulk(`s:${this.instance}`) + bulk(`${seq}:${Date.now()}`);
    // The commands between the shards' lines, as text: gaps[i] goes before shard i's lines, the
    // last one after the last shard's. The lines themselves go out from their shard's buffer.
    const gaps: string[] = [];
    let gap = '';
    for (const call of calls) {
      gap += '*1\r\n$5\r\nMULTI\r\n';
      for (const b of call) {
        const key = bulk(this.keys.audit(b.shard));
        const meta = bulk(this.keys.auditMeta(b.shard));
        gaps.push(`${gap}*3\r\n$4\r\nHGET\r\n${meta}$1\r\no\r\n*7\r\n$4\r\nXADD\r\n${key}$1\r\n*\r\n$1\r\nn\r\n${bulk(String(b.decisions))}$1\r\nd\r\n$${b.bytes.length}\r\n`);
        gap =
          `\r\n*4\r\n$7\r\nHINCRBY\r\n${meta}$1\r\nb\r\n${bulk(String(b.bytes.length))}*4\r\n$4\r\nHSET\r\n${meta}${seqField}` +
          `*2\r\n$4\r\nHLEN\r\n${meta}*3\r\n$7\r\nPEXPIRE\r\n${key}${ttl}*3\r\n$7\r\nPEXPIRE\r\n${meta}${ttl}`;
      }
      gap += '*1\r\n$4\r\nEXEC\r\n';
    }
    gaps.push(gap);
    let need = 0;
    for (const g of gaps) need += Buffer.byteLength(g);
    const own = !this.wireBusy;
    if (own && this.wire.length < need) this.wire = Buffer.allocUnsafe(Math.max(need, 2 * this.wire.length));
    const wire = own ? this.wire : Buffer.allocUnsafe(need);
    if (own) this.wireBusy = true;
    const chunks: Buffer[] = [];
    let at = 0;
    for (let i = 0; i < gaps.length; i++) {
      const n = wire.write(gaps[i]!, at, 'utf8');
      chunks.push(wire.subarray(at, at + n));
      at += n;
      if (i < shards.length) chunks.push(shards[i]!.bytes);
    }
    // A transaction's blocks as ioredis would send them (a retry): copied, as their shards' buffers are reused.
    const blocksOf = (i: number): Block[] => calls[i]!.map((b) => ({ shard: b.shard, seq, decisions: b.decisions, bytes: Buffer.from(b.bytes) }));
    // Replies: MULTI's OK, QUEUED per command, then EXEC's array of the commands' replies.
    const replies = calls.reduce((n, c) => n + 2 + PER_SHARD * c.length, 0);
    return new Promise<void>((resolve) => {
      pipe.send(chunks, replies, (err, values) => {
        if (own) this.wireBusy = false;
        const oldest: Buffer[] = [];
        let olds = 0;
        const hold: number[] = [];
        const max = this.shardBytes;
        const age = this.opts.maxAgeMs;
        let r = 0;
        for (let c = 0; c < calls.length; c++) {
          const call = calls[c]!;
          r += 1 + PER_SHARD * call.length;
          const exec = err ? undefined : values?.[r++];
          if (!Array.isArray(exec) || exec.length !== PER_SHARD * call.length) {
            this.metrics?.redisErrors.inc({ op: 'audit_stream' });
            this.keepForRetry(blocksOf(c));
            continue;
          }
          for (let j = 0; j < call.length; j++) {
            const k = PER_SHARD * j;
            const id = String(exec[k + 1]);
            const ms = Number(id.slice(0, id.indexOf('-')));
            const o = exec[k] === null ? ms : Number(exec[k]);
            if (exec[k] === null) {
              oldest.push(Buffer.from(`*4\r\n$6\r\nHSETNX\r\n${bulk(this.keys.auditMeta(call[j]!.shard))}$1\r\no\r\n${bulk(String(ms))}`, 'utf8'));
              olds++;
            }
            if ((max > 0 && Number(exec[k + 2]) > max) || (age > 0 && o < ms - age) || Number(exec[k + 4]) > PRUNE_FIELDS) hold.push(call[j]!.shard);
          }
          this.written(call, 0);
        }
        // Redis has read every byte of them (or the connection is gone): the shards' buffers can be written again.
        for (const t of shards) if ((this.spare[t.shard]?.length ?? 0) < t.whole.length) this.spare[t.shard] = t.whole;
        const oldestSet =
          olds === 0
            ? Promise.resolve()
            : new Promise<void>((done) =>
                pipe.send(oldest, olds, (e) => {
                  if (e) this.metrics?.redisErrors.inc({ op: 'audit_stream' });
                  done();
                }),
              );
        void oldestSet.then(() => this.hold(hold)).then(() => resolve());
      });
    });
  }

  /** audit-hold.lua for each of these shards (through ioredis, which loads the script where Redis lacks it); counts what they dropped. */
  private async hold(shards: number[]): Promise<void> {
    if (shards.length === 0) return;
    const dropped = await Promise.all(
      shards.map((s) =>
        this.scripts.sgAuditHold(this.keys.audit(s), this.keys.auditMeta(s), this.shardBytes, this.opts.maxAgeMs).catch(() => {
          this.metrics?.redisErrors.inc({ op: 'audit_stream' });
          return 0;
        }),
      ),
    );
    const n = dropped.reduce((a, b) => a + b, 0);
    if (n > 0) this.metrics?.auditBufferDropped.inc(n);
  }

  /** A failed call's blocks are sent again with the next flush (up to max_buffer; the rest dropped). */
  private keepForRetry(group: Block[]): void {
    let dropped = 0;
    for (const b of group) {
      if (this.count + this.retryDecisions + b.decisions > this.opts.maxBuffer) {
        dropped += b.decisions;
        continue;
      }
      this.retry.push(b);
      this.retryDecisions += b.decisions;
    }
    if (dropped > 0) this.metrics?.auditStream.inc({ outcome: 'dropped' }, dropped);
    if (!this.closed && this.timer === null && this.retry.length > 0) this.timer = setTimeout(() => this.flush(), Math.max(this.opts.flushMs, 1000));
  }

  /** Resolves to the decisions the bounds dropped before the archive had them. */
  private async append(group: Block[]): Promise<number> {
    const client = this.scripts;
    const bounds = this.bounds();
    if (!(this.redis as { isCluster?: boolean }).isCluster) {
      const args: (string | Buffer)[] = [this.keys.prefix, ...bounds];
      for (const b of group) args.push(String(b.shard), String(b.seq), String(b.decisions), b.bytes);
      return (await client.sgAuditAppend(0, ...args))[1];
    }
    // Cluster: one call per shard, its stream and meta hash declared.
    const r = await Promise.all(
      group.map((b) => client.sgAuditAppend(2, this.keys.audit(b.shard), this.keys.auditMeta(b.shard), this.keys.prefix, ...bounds, String(b.shard), String(b.seq), String(b.decisions), b.bytes),
      ),
    );
    return r.reduce((sum, x) => sum + x[1], 0);
  }

  /** The script's ARGV[2..5]: byte bound per shard, age bound, this instance, the keys' TTL. */
  private bounds(): string[] {
    return [String(this.shardBytes), String(this.opts.maxAgeMs), this.instance, String(BUFFER_TTL_MS)];
  }

  /** Each shard's byte bound. */
  get shardBytes(): number {
    return this.opts.maxBytes > 0 ? Math.max(1, Math.floor(this.opts.maxBytes / this.opts.shards)) : 0;
  }

  /** Flushes and stops taking decisions (shutdown). */
  async close(): Promise<void> {
    // Lines still held for an answer that will not come now (a message parked for a bind at shutdown).
    for (let h = this.heldRing.next!; h !== this.heldRing; h = this.heldRing.next!) this.releaseHeld(h, '');
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
    }
    await this.flush();
    this.closed = true;
  }

  /**
   * Decisions for one recipient in the buffer, oldest first: those in entries after `after` (a
   * stream id: the archive cursor; absent = all), with decision times within [from, to], reading
   * at most `scanLimit` entries of the recipient's shard. Every match is returned (the caller
   * merges them with the archive's and applies its limit).
   */
  async bufferedFor(
    msisdn: string,
    q: { after?: string | null; from?: number; to?: number; scanLimit?: number; match?: (d: DecisionRecord) => boolean } = {},
  ): Promise<{ decisions: DecisionRecord[]; truncated: boolean; scanned: number }> {
    const key = this.keys.audit(this.shardOf(msisdn));
    const scanLimit = q.scanLimit ?? 200_000;
    let start = q.after ? `(${q.after}` : q.from === undefined ? '-' : `${q.from}-0`;
    if (q.after && q.from !== undefined && q.from > Number(q.after.split('-')[0])) start = `${q.from}-0`;
    const end = q.to === undefined ? '+' : `${q.to + APPEND_MARGIN_MS}-18446744073709551615`;
    const found: DecisionRecord[] = [];
    let scanned = 0;
    let truncated = false;
    const PAGE = 500;
    const needle = `\t${msisdn}\t`;
    for (;;) {
      const page = await this.redis.xrange(key, start, end, 'COUNT', PAGE);
      scanned += page.length;
      for (const [id, kv] of page) {
        const d = kv[kv.indexOf('d') + 1] ?? '';
        // Cheap test before splitting: the block names the recipient at all.
        if (!d.includes(needle)) continue;
        for (const line of d.split('\n')) {
          if (!line.includes(needle)) continue;
          const r = recordOf(id, line);
          if (r === null || r.dst !== msisdn) continue;
          if ((q.from !== undefined && r.time < q.from) || (q.to !== undefined && r.time > q.to)) continue;
          if (q.match && !q.match(r)) continue;
          found.push(r);
        }
      }
      if (page.length < PAGE) break;
      if (scanned >= scanLimit) {
        truncated = true;
        break;
      }
      start = `(${page[page.length - 1]![0]}`;
    }
    // Appended in flush order; shown in decision order.
    found.sort((a, b) => a.time - b.time);
    return { decisions: found, truncated, scanned };
  }

  /**
   * Decisions for one recipient in the buffer alone, oldest first: the newest `limit` within
   * [from, to] (epoch ms). Evidence reads archive and buffer together (archive/reader.ts).
   */
  async decisionsFor(
    msisdn: string,
    q: { from?: number; to?: number; limit?: number; scanLimit?: number; match?: (d: DecisionRecord) => boolean } = {},
  ): Promise<{ decisions: DecisionRecord[]; truncated: boolean; scanned: number }> {
    const limit = q.limit ?? 1000;
    const r = await this.bufferedFor(msisdn, q);
    const over = r.decisions.length > limit;
    return { decisions: over ? r.decisions.slice(r.decisions.length - limit) : r.decisions, truncated: r.truncated || over, scanned: r.scanned };
  }
}

/** A line as a record (a decision, or an `smsc_id` record); null for a torn one. */
export function recordOf(id: string, line: string): DecisionRecord | null {
  const f = line.split('\t');
  if (f.length < LINE_FIELDS.length) return null;
  return {
    id,
    time: Number(f[0]),
    instance: f[1]!,
    account: f[2]!,
    decision: f[3]!,
    reason: f[4]!,
    rule: f[5]!,
    status: Number(f[6]),
    class: f[7] ? f[7] : null,
    src: f[8]!,
    dst: f[9]!,
    msgId: f[10]!,
    smscId: f[11] ? f[11] : null,
    fingerprint: f[12] ? f[12] : null,
    score: f[15] ? f[15] : null,
  };
}

/**
 * `s` as latin1 (each UTF-16 unit's low byte, as Buffer#write(s, 'latin1')) at `o`; the position
 * after it. A loop, not Buffer#write: a line's fields are short, and the binding's call cost more
 * than the copy (292 against 108 ns for a line's five fields, a throwaway script; bench/RESULTS.md, session 16).
 */
function putLatin1(b: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[o + i] = s.charCodeAt(i);
  return o + s.length;
}

/** As putLatin1, with TAB and NL made spaces (fields a peer chose). */
function writeClean(b: Buffer, o: number, v: string): number {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i) & 0xff;
    b[o + i] = c === TAB || c === NL ? 32 : c;
  }
  return o + v.length;
}
