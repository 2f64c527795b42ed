/**
 * The per-message policy check, the gateway's hot path: DND flags and consent values for a
 * recipient's scopes, and (fetchThen) the bump of the rate counters the rules reached, every
 * message of an event-loop turn in one round trip. Three transports, chosen per batch:
 *
 *   plain commands  on the hot path's own connection to a single Redis (resp-pipe.ts), the default:
 *                   SISMEMBER, HMGET and the counters' HINCRBY/PEXPIRE/PFADD, one write per batch
 *   batched script  policy-check-batch.lua, one call per batch (redis.hot_path: script, Sentinel,
 *                   and while the pipe reconnects)
 *   per message     policy-check.lua and RateStore.bump() on Redis Cluster (a script's keys must
 *                   share a slot) and for counters the batch cannot carry
 *
 * Consent/DND/sender writes and the journal are policy-admin.ts; the DND generation the check reads
 * is dnd-generation.ts. A message whose route may depend on number portability (a route uses
 * ported_to, docs/routing.md) also asks for its recipient's network tag in the same round trip: one
 * HGET more on the pipe, a line more in the script call (only when some message of the batch asks),
 * an HGET beside the per-message calls on a Cluster; a message that asks nothing else pays that one
 * lookup, batched with the turn's others.
 */
import type { Redis } from 'ioredis';
import type { RateNeed, StoreFacts, StoreQuery } from '../domain/store-facts.js';
import { DndGeneration, PORTED_REGISTER } from './dnd-generation.js';
import { BUCKET_BITS, bucketOf, Keys, portedSlot } from './keys.js';
import { hasBehaviour } from './rate-layout.js';
import type { RateStore } from './rates.js';
import { bulk, RespError, RespWriter, type RespPipe } from './resp-pipe.js';
import { withScripts, type ScriptClient } from './scripts.js';

/** Gets the facts, or the error when Redis failed or timed out. */
export type CheckCallback = (err: unknown, facts: StoreFacts | null) => void;

/**
 * Gets the facts (null when nothing was asked) and the counters' values after the bump, one per
 * need in order (null when none were asked), and the recipient's ported network tag (null: not
 * ported, or not asked), or the error when Redis failed or timed out.
 */
export type FetchCallback = (err: unknown, facts: StoreFacts | null, counters: number[] | null, ported?: string | null) => void;

interface PendingCheck {
  q: StoreQuery | null;
  needs: readonly RateNeed[] | null;
  /** The needs as the batch script's lines (RateStore.lines()). */
  lines: string | null;
  /** The needs go as plain commands on the pipe (RateStore.pipeable()), written when the batch is. */
  piped: boolean;
  /** Their reply shape, once written (RateStore.writeCommands()). */
  shape: string;
  /** The number whose ported network tag is asked (digits as a number); -1: not asked. */
  port: number;
  done: FetchCallback;
}

const BUCKET_SIZE = 2 ** BUCKET_BITS;
const SUBSCRIBER = /^\d{1,15}$/;

/** Most messages one batched script call carries (bounds the script's run time inside Redis). */
const MAX_BATCH = 512;
/** Pending checks that are sent at once instead of at the end of the event-loop turn. */
const EARLY_BATCH = 256;
/** Count hashes noted for the after-bump call (RateStore.fieldsMade()) before it goes. */
const MAX_MADE = 4096;
const SISMEMBER = '*3\r\n$9\r\nSISMEMBER\r\n';

/** Hands one message its answer; a callback that throws must not leave the rest of the batch unanswered. */
function answer(p: PendingCheck, err: unknown, facts: StoreFacts | null, counters: number[] | null, ported: string | null = null): void {
  try {
    p.done(err, facts, counters, ported);
  } catch (e) {
    process.emitWarning(`policy check callback failed: ${String(e)}`);
  }
}

export class PolicyCheck {
  readonly keys: Keys;
  private readonly scripts: ScriptClient;
  private pending: PendingCheck[] = [];
  private flushScheduled = false;

  /**
   * `generation`: the DND generation to read (shared with PolicyAdmin, kept current by
   * PolicySync). `rates`: the rate counters' own script calls, used where one batched call cannot
   * carry a message's counters (Redis Cluster, keys with TAB or newline). `pipe`: the hot path's
   * plain-command connection to a single Redis (resp-pipe.ts); without it a batch is one script call.
   */
  constructor(
    readonly redis: Redis,
    prefix: string,
    readonly generation: DndGeneration = new DndGeneration(redis, prefix),
    private readonly rates: RateStore | null = null,
    readonly pipe: RespPipe | null = null,
    /** The number portability table's generation (store/ported.ts); its own poll keeps it current. */
    readonly ported: DndGeneration = new DndGeneration(redis, prefix, PORTED_REGISTER),
  ) {
    this.keys = new Keys(prefix);
    this.scripts = withScripts(redis);
  }

  /**
   * The per-message check: DND flags and consent values for the query's scopes. Checks asked in
   * the same event-loop turn go to Redis together (one round trip for all).
   */
  check(q: StoreQuery): Promise<StoreFacts> {
    return new Promise((resolve, reject) => this.checkThen(q, (err, facts) => (err ? reject(err) : resolve(facts!))));
  }

  /** check() with a callback: the message hot path, without a promise per message. */
  checkThen(q: StoreQuery, done: CheckCallback): void {
    this.enqueue({ q, needs: null, lines: null, piped: false, shape: '', port: -1, done });
  }

  /**
   * One message's whole store round trip: the policy check for `q` (when given) and the bump of its
   * rate counters (when given), batched with every other message of this event-loop turn into one
   * round trip on a single Redis (one write of plain commands on the pipe, or one script call).
   * `ported`: also the ported network tag of this number (international digits), in the same trip.
   */
  fetchThen(q: StoreQuery | null, needs: readonly RateNeed[] | null, done: FetchCallback, ported: string | null = null): void {
    if (needs !== null && needs.length === 0) needs = null;
    const port = ported !== null && SUBSCRIBER.test(ported) ? Number(ported) : -1;
    if (q === null && needs === null && port < 0) return done(null, null, null, null);
    let lines: string | null = null;
    let piped = false;
    if (needs !== null) {
      if (this.rates === null) return done(new Error('no rate store for counters'), null, null);
      // On Redis Cluster a script's keys must be declared and share a slot: counters go on their own.
      if (!this.cluster) {
        try {
          // Behaviour profiles (hasBehaviour) are Lua work: such a message rides a batched script call.
          if (this.pipe !== null && !hasBehaviour(needs)) piped = this.rates.pipeable(needs);
          else lines = this.rates.lines(needs);
        } catch (err) {
          return done(err, null, null);
        }
      }
    }
    this.enqueue({ q, needs, lines, piped, shape: '', port, done });
  }

  /** The ported network tag of one number (international digits); null when it is not ported. Batched with the turn's checks. */
  portedOf(msisdn: string): Promise<string | null> {
    return new Promise((resolve, reject) => this.fetchThen(null, null, (err, _f, _c, tag) => (err ? reject(err) : resolve(tag ?? null)), msisdn));
  }

  private get cluster(): boolean {
    return (this.redis as { isCluster?: boolean }).isCluster === true;
  }

  private enqueue(p: PendingCheck): void {
    if (p.q !== null && !SUBSCRIBER.test(p.q.msisdn)) {
      return p.done(new RangeError(`not a subscriber number (1-15 digits): ${p.q.msisdn}`), null, null);
    }
    this.pending.push(p);
    if (this.pending.length >= EARLY_BATCH) {
      // A full batch leaves now, so Redis works on it while this turn decides the next messages
      // (waiting for the end of the turn would make the gateway and Redis take turns).
      this.flushChecks();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flushChecks();
      });
    }
  }

  private flushChecks(): void {
    if (this.pending.length === 0) return;
    const pending = this.pending;
    this.pending = [];
    const cluster = this.cluster;
    // While the hot path's own connection is down (reconnecting after an outage), the batch goes as
    // one script call on the main client, which has its own view of Redis: the counters' commands
    // are made again as script lines.
    const fallback = this.pipe !== null && !this.pipe.isReady;
    let batch: PendingCheck[] = [];
    // With the pipe up, messages whose counters include a behaviour profile (lines, not piped) go
    // in one script call of their own: still one round trip per message.
    let scripted: PendingCheck[] = [];
    for (const p of pending) {
      if (fallback && p.piped) {
        p.lines = this.rates!.lines(p.needs!);
        p.piped = false;
      }
      // On Redis Cluster a script's keys must be declared and share a slot: calls per message.
      if (cluster || (p.needs !== null && p.lines === null && !p.piped)) this.fetchOne(p);
      else if (this.pipe !== null && !fallback && p.lines !== null) {
        scripted.push(p);
        if (scripted.length === MAX_BATCH) {
          this.runBatch(scripted, true);
          scripted = [];
        }
      } else {
        batch.push(p);
        if (batch.length === MAX_BATCH) {
          this.runBatch(batch, fallback);
          batch = [];
        }
      }
    }
    if (batch.length > 0) this.runBatch(batch, fallback);
    if (scripted.length > 0) this.runBatch(scripted, true);
  }

  /** One message on its own: policy-check.lua for the facts, rates.lua per counter slot, the ported HGET, concurrently. */
  private fetchOne(p: PendingCheck): void {
    const facts = p.q ? this.checkOne(p.q) : null;
    let tag: Promise<string | null> | null = null;
    if (p.port >= 0) {
      const { bucket, sub, field } = portedSlot(p.port);
      tag = this.redis.hget(this.keys.ported(bucket, sub, this.ported.current), String(field));
    }
    let counters: Promise<number[]> | null = null;
    const needs = p.needs;
    if (needs !== null) {
      // bump() plans once per key; every need gets its key's value.
      counters = this.rates ? this.rates.bump(needs).then((byKey) => needs.map((n) => byKey.get(n.key)!)) : Promise.reject(new Error('no rate store for counters'));
    }
    Promise.all([facts, counters, tag]).then(
      ([f, c, t]) => p.done(null, f, c, t),
      (err: unknown) => p.done(err, null, null, null),
    );
  }

  /** One batch: plain commands on the pipe, or (no pipe, or `script`) one script call. */
  private runBatch(batch: PendingCheck[], script: boolean): void {
    if (this.pipe !== null && !script) return this.runPipe(this.pipe, batch);
    // Scope lists repeat (one per sender registration): each distinct list goes once.
    const listIndex = new Map<readonly string[], number>();
    let lists = '';
    let lines = '';
    let counters = '';
    // The ported lookups, a line per message ("bucket sub field", "-": none), only when one asks.
    let asked = false;
    for (const p of batch) if (p.port >= 0) asked = true;
    let ported = '';
    for (const { q, needs, lines: cl, port } of batch) {
      if (asked) {
        if (port >= 0) {
          const { bucket, sub, field } = portedSlot(port);
          ported += `${bucket} ${sub} ${field}\n`;
        } else ported += '-\n';
      }
      const nc = needs === null ? 0 : needs.length;
      if (q !== null) {
        // bucketOf() without its object (the number was checked in enqueue).
        const n = Number(q.msisdn);
        let li = listIndex.get(q.scopes);
        if (li === undefined) {
          listIndex.set(q.scopes, (li = listIndex.size + 1));
          lists += `${q.scopes.join('\t')}\n`;
        }
        lines += `${Math.floor(n / BUCKET_SIZE)} ${n % BUCKET_SIZE} ${q.category ?? 0} ${q.msisdn} ${li} ${nc}\n`;
      } else lines += `0 0 0 0 0 ${nc}\n`;
      if (cl !== null) counters += cl;
    }
    const call = asked
      ? this.scripts.sgPolicyCheckBatch(this.keys.prefix, this.generation.current, lists, lines, counters, this.rates ? this.rates.horizon() : 0, ported, this.ported.current)
      : this.scripts.sgPolicyCheckBatch(this.keys.prefix, this.generation.current, lists, lines, counters, this.rates ? this.rates.horizon() : 0);
    call.then(
      (reply) => {
        // Fields joined by TAB, a "\n" field after each message (policy-check-batch.lua), read in
        // place: flags and counters as char codes, only consent values become strings.
        let at = 0;
        const skip = () => {
          const e = reply.indexOf('\t', at);
          at = e < 0 ? reply.length : e + 1;
        };
        for (let m = 0; m < batch.length; m++) {
          const p = batch[m]!;
          const dnd = reply.charCodeAt(at) === 49;
          skip();
          const dndCategory = reply.charCodeAt(at) === 49;
          skip();
          let facts: StoreFacts | null = null;
          if (p.q !== null) {
            const n = p.q.scopes.length;
            const consent: (string | null)[] = new Array(n);
            for (let s = 0; s < n; s++) {
              const e = reply.indexOf('\t', at);
              consent[s] = e > at ? reply.slice(at, e) : null;
              at = e + 1;
            }
            facts = { dnd, dndCategory, consent };
          }
          let values: number[] | null = null;
          if (p.needs !== null) {
            values = new Array<number>(p.needs.length);
            for (let c = 0; c < values.length; c++) {
              let v = 0;
              for (let ch = reply.charCodeAt(at); ch >= 48 && ch <= 57; ch = reply.charCodeAt(++at)) v = v * 10 + (ch - 48);
              values[c] = v;
              at++; // the TAB
            }
          }
          let tag: string | null = null;
          if (asked) {
            // Every message's row has the tag field when the batch asked (empty: not ported or not asked).
            const e = reply.indexOf('\t', at);
            if (e > at) tag = reply.slice(at, e);
            at = e + 1;
          }
          skip(); // the "\n" field
          answer(p, null, facts, values, tag);
        }
      },
      (err) => {
        for (const p of batch) answer(p, err, null, null);
      },
    );
  }

  /** Count hashes that got new fields while they existed, how many, and where their TTL goes (0: stays; see runPipe). */
  private madeKeys: string[] = [];
  private madeCounts: number[] = [];
  private madeEnds: number[] = [];
  private readonly writer = new RespWriter();

  /**
   * The batch as plain commands on the pipe: per message SISMEMBER (and the category's), HMGET of
   * the consent hash, then its counters (RateStore.writeCommands()). What the Lua path does inside its
   * script after a bump in a hash that existed — push its TTL out, count the fields made, purge past
   * 64 — is noted from the replies and done for all of them in one script call once the batch's
   * replies are read (RateStore.fieldsMade()).
   */
  private runPipe(pipe: RespPipe, batch: PendingCheck[]): void {
    const w = this.writer;
    // The counters' windows as of this batch: written with it, and its replies read with it (noteFieldsMade()).
    const now = this.rates?.now() ?? 0;
    let replies = 0;
    const prefix = this.keys.prefix;
    const gen = this.generation.current;
    const { dndHead, consentHead } = this.keys;
    const genTail = `}:g${gen}`;
    const portedGen = this.ported.current;
    for (const p of batch) {
      const q = p.q;
      if (q !== null) {
        const n = Number(q.msisdn);
        const b = Math.floor(n / BUCKET_SIZE);
        const member = String(n % BUCKET_SIZE);
        // The national list and the operator's own: each a SISMEMBER (and the category's). The
        // keys are written in pieces (RespWriter.bulkKey), not made.
        w.raw(SISMEMBER);
        w.bulkKey(dndHead, b, genTail);
        w.bulk(member);
        w.raw(SISMEMBER);
        w.bulkKey(dndHead, b, '}:op');
        w.bulk(member);
        if (q.category) {
          w.raw(SISMEMBER);
          w.bulkKey(dndHead, b, genTail, `:c${q.category}`);
          w.bulk(member);
          w.raw(SISMEMBER);
          w.bulkKey(dndHead, b, '}:op', `:c${q.category}`);
          w.bulk(member);
        }
        w.raw(`*${2 + q.scopes.length}\r\n$5\r\nHMGET\r\n`);
        w.bulkKey(consentHead, b, '}:', q.msisdn);
        w.raw(this.scopeList(q.scopes));
        replies += q.category ? 5 : 3;
      }
      if (p.piped) {
        p.shape = this.rates!.writeCommands(p.needs!, w, now);
        replies += p.shape.length;
      }
      if (p.port >= 0) {
        const { bucket, sub, field } = portedSlot(p.port);
        w.raw('*3\r\n$4\r\nHGET\r\n');
        w.bulk(`${prefix}ported:{r:${bucket}}:g${portedGen}:${sub}`);
        w.bulk(String(field));
        replies++;
      }
    }
    pipe.send(w.take(), replies, (err, values) => {
      if (err !== null || values === null) {
        for (const p of batch) answer(p, err, null, null);
        return;
      }
      let at = 0;
      for (const p of batch) {
        let failed: RespError | null = null;
        let facts: StoreFacts | null = null;
        const q = p.q;
        if (q !== null) {
          const dnd = values[at++];
          const dndOp = values[at++];
          const dndCategory = q.category ? values[at++] : 0;
          const dndCategoryOp = q.category ? values[at++] : 0;
          const consent = values[at++];
          if (dnd instanceof RespError) failed = dnd;
          else if (dndOp instanceof RespError) failed = dndOp;
          else if (dndCategory instanceof RespError) failed = dndCategory;
          else if (dndCategoryOp instanceof RespError) failed = dndCategoryOp;
          else if (consent instanceof RespError) failed = consent;
          else facts = { dnd: dnd === 1 || dndOp === 1, dndCategory: dndCategory === 1 || dndCategoryOp === 1, consent: consent as (string | null)[] };
        }
        let counters: number[] | null = null;
        if (p.piped) {
          const needs = p.needs!;
          counters = new Array<number>(needs.length);
          const shape = p.shape;
          let c = 0;
          let first = 0;
          let created = 0;
          for (let s = 0; s < shape.length; s++) {
            const v = values[at++];
            if (v instanceof RespError) failed ??= v;
            const kind = shape.charCodeAt(s);
            if (kind === 0x76 /* v */ || kind === 0x66 /* f */) {
              if (kind === 0x66) first = c;
              counters[c++] = v as number;
              if (v === 1) created++;
            } else if (kind === 0x6e /* n */) {
              // PEXPIRE NX answered 0: the hash existed, and `created` fields are new in it.
              if (v === 0 && created > 0) this.noteFieldsMade(needs, first, c, counters, now, created);
              created = 0;
            }
          }
        }
        let tag: string | null = null;
        if (p.port >= 0) {
          const v = values[at++];
          if (v instanceof RespError) failed ??= v;
          else if (typeof v === 'string') tag = v;
        }
        if (failed !== null) answer(p, failed, null, null);
        else answer(p, null, facts, counters, tag);
      }
      this.flushMade();
    });
  }

  /** Scope lists as bulk strings, kept per list (one list per sender registration, reused by every message). */
  private readonly scopeLists = new WeakMap<readonly string[], string>();
  private scopeList(scopes: readonly string[]): string {
    let s = this.scopeLists.get(scopes);
    if (s === undefined) {
      s = '';
      for (const scope of scopes) s += bulk(scope);
      this.scopeLists.set(scopes, s);
    }
    return s;
  }

  /** Notes `created` fields made in the existing count hash of the group needs[first..end) (`values` after the bump, windows as of `at`). */
  private noteFieldsMade(needs: readonly RateNeed[], first: number, end: number, values: readonly number[], at: number, created: number): void {
    if (this.madeKeys.length >= MAX_MADE) this.flushMade();
    this.madeKeys.push(this.rates!.countKey(needs[end - 1]!));
    this.madeCounts.push(created);
    this.madeEnds.push(this.rates!.pushOutTo(needs, first, end, values, at));
  }

  /**
   * Sends what noteFieldsMade() noted. When the call fails (Redis does), a hash whose TTL it would
   * have pushed out ends with its earlier window, its counters with it: as when Redis loses them.
   */
  private flushMade(): void {
    if (this.madeKeys.length === 0) return;
    this.rates?.fieldsMade(this.madeKeys, this.madeCounts, this.madeEnds).catch(() => undefined);
    this.madeKeys = [];
    this.madeCounts = [];
    this.madeEnds = [];
  }

  /** One message's check as its own script call (explain, tools). */
  async checkOne(q: StoreQuery): Promise<StoreFacts> {
    const { bucket, member } = bucketOf(q.msisdn);
    const gen = this.generation.current;
    const dnd = this.keys.dnd(bucket, gen);
    const op = this.keys.dndOperator(bucket);
    const r = await this.scripts.sgPolicyCheck(
      this.keys.consent(q.msisdn),
      dnd,
      q.category ? this.keys.dnd(bucket, gen, q.category) : dnd,
      op,
      q.category ? this.keys.dndOperator(bucket, q.category) : op,
      member,
      ...q.scopes,
    );
    return { dnd: r[0] === 1, dndCategory: r[1] === 1, consent: q.scopes.map((_, i) => (r[2 + i] as string | null) ?? null) };
  }
}
