/**
 * An open-loop ESME load generator: a fixed offered rate whose send times are scheduled in advance
 * (message i at start + i / rate), independent of responses, so a server that stalls cannot slow
 * the generator down and hide its own stall (no coordinated omission). Latency is measured from the
 * SCHEDULED send time to the submit_sm_resp, so time a message spent waiting in the generator
 * (behind a full window, or behind a late timer) counts against the server, as it would for a real
 * ESME's traffic.
 *
 * Messages go to the binds round-robin. A bind never has more than `window` submits outstanding (a
 * real ESME respects its window): past that, scheduled messages wait in the bind's backlog and go
 * out as responses free slots, their latency still counted from their scheduled time. With a window
 * larger than rate × stall, sends follow the schedule straight through a stall.
 *
 * Shares the submit_sm template (one encoded PDU, digits patched) and the histogram with loadgen.ts.
 * Module: `runOpenLoop(opts)`. Child process: `node dist/bench/open-loop.js --json '{...opts}'` prints
 * one JSON result line on stdout; phase events go to stderr as `{"phase":…}` lines (as loadgen.js).
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { BIND_COMMAND, Command, INTERFACE_VERSION_34, encodeEmpty, encodePdu, statusName } from '../src/protocol/index.js';
import { PduConnection } from '../src/session/connection.js';
import { Histogram } from './histogram.js';
import { DELIVER_RESP, SEQ_LIMIT, Template, generatorMain, sleep, type LoadOptions, type LoadPhase } from './loadgen.js';

export interface OpenLoopOptions extends Omit<LoadOptions, 'count' | 'window' | 'onPhase'> {
  /** Offered rate, messages per second over all binds. */
  rate: number;
  /** Most submits outstanding per bind; scheduled messages beyond it wait in the generator. Default 1000. */
  window?: number;
  /** Timer period of the scheduler in ms (default 1): each tick sends every message that has come due. */
  tickMs?: number;
  onPhase?: (phase: LoadPhase) => void;
}

export interface OpenLoopResult {
  mode: 'open-loop';
  binds: number;
  window: number;
  offeredPerSec: number;
  /** Messages scheduled inside the measured interval, and how many of them were sent / answered / answered with status 0. */
  scheduled: number;
  sent: number;
  acked: number;
  ok: number;
  /** Non-zero statuses (generic_nack included) of the measured messages, by name. */
  errors: Record<string, number>;
  measuredMs: number;
  /** Answered measured messages per second: over the measured interval, or until the last answer when that came later (a server that falls behind does not get credit for the offered rate). */
  achievedPerSec: number;
  /** Scheduled send → submit_sm_resp, ms. Messages still unanswered when the drain ended are counted at that moment (a lower bound). */
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** Scheduled → actual send time, ms: the generator's own lateness (timer granularity, a busy loop, a full window). */
  sendLagMs: { p99: number; max: number };
  /** Largest number of scheduled messages waiting in the generator for a window slot, in the measured interval. */
  maxBacklog: number;
  /**
   * Warm-up messages still unanswered (in flight, or waiting for a window slot) when the measured
   * interval began. Far above rate × p50, the server had not reached its steady state: the measured
   * interval starts by draining a start-up backlog, and its tail is the start-up's, not the rate's.
   */
  carried: number;
  /** Measured messages never answered (drain ended, or their link closed). */
  unacked: number;
  deliverSm: number;
  cpuPct: number;
  elu: number;
  closedEarly: number;
  /**
   * The worst stretches of the measured interval: per 50 ms of scheduled send time, the slowest
   * answer; the 10 worst as [ms after the start of the measured interval, latency ms], by time.
   * Their spacing tells periodic work (a timer every 1 s, every 250 ms) from GC or chance.
   */
  worst: [number, number][];
  /**
   * When the slowest answers per 50 ms rise and fall with a period (0.2–1.5 s): the period in ms and
   * how strongly (autocorrelation of the slots' series at that lag, ≥ 0.3); null otherwise.
   */
  periodic: { ms: number; r: number } | null;
}

/** Width of a timeline slot (ms of scheduled send time) for `worst`. */
const SLOT_MS = 50;
/** The periods `periodic` looks for, and how strong a correlation it reports. */
const PERIOD_MIN_MS = 200;
const PERIOD_MAX_MS = 1500;
const PERIOD_MIN_R = 0.3;

/**
 * The lag (ms, a multiple of slotMs in [minMs, maxMs]) at which the series `slots` (one value per
 * slotMs) correlates best with itself, and that autocorrelation; null when it is below `minR` or
 * the series is too short or flat. Evenly spaced bad moments (a timer, a kernel thread waking every
 * 500 ms) show as one lag and its multiples; GC at a steady allocation rate does too.
 */
export function strongestPeriod(slots: ArrayLike<number>, slotMs: number, minMs = PERIOD_MIN_MS, maxMs = PERIOD_MAX_MS, minR = PERIOD_MIN_R): { ms: number; r: number } | null {
  const n = slots.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += slots[i]!;
  mean /= n;
  let v0 = 0;
  for (let i = 0; i < n; i++) v0 += (slots[i]! - mean) ** 2;
  if (!(v0 > 0)) return null;
  let bestLag = 0;
  let bestR = minR;
  for (let lag = Math.ceil(minMs / slotMs); lag * slotMs <= maxMs && lag < n / 2; lag++) {
    let c = 0;
    for (let i = 0; i + lag < n; i++) c += (slots[i]! - mean) * (slots[i + lag]! - mean);
    if (c / v0 >= bestR) {
      bestR = c / v0;
      bestLag = lag;
    }
  }
  return bestLag ? { ms: bestLag * slotMs, r: Math.round(bestR * 100) / 100 } : null;
}

interface Shared {
  tpl: Template;
  hist: Histogram;
  lag: Histogram;
  errors: Map<number, number>;
  t0: number;
  t1: number;
  sent: number;
  acked: number;
  ok: number;
  lastAck: number;
  backlog: number;
  maxBacklog: number;
  deliverSm: number;
  dirty: OpenBind[];
  pumpScheduled: boolean;
  /** Per SLOT_MS of scheduled time in the measured interval, the slowest answer (µs). */
  slots: Float64Array;
}

class OpenBind {
  conn!: PduConnection;
  bound = false;
  closed = false;
  inflight = 0;
  private dirtyFlag = false;
  private readonly slotBits: number;
  private readonly slotMask: number;
  private readonly genMask: number;
  private gen = 0;
  private readonly seqAt: Int32Array;
  private readonly schedAt: Float64Array;
  private readonly free: Int32Array;
  private freeTop: number;
  /** Scheduled times of messages due but not yet sent (FIFO from `head`). */
  private pending: number[] = [];
  private head = 0;
  private dlrSeqs: number[] = [];
  private onBound: ((err?: Error) => void) | null = null;
  private onUnbound: (() => void) | null = null;

  constructor(
    readonly window: number,
    private readonly s: Shared,
  ) {
    this.slotBits = Math.max(1, Math.ceil(Math.log2(window)));
    this.slotMask = (1 << this.slotBits) - 1;
    this.genMask = Math.floor(SEQ_LIMIT / (1 << this.slotBits)) - 1;
    this.seqAt = new Int32Array(window);
    this.schedAt = new Float64Array(window);
    this.free = new Int32Array(window);
    for (let i = 0; i < window; i++) this.free[i] = window - 1 - i;
    this.freeTop = window;
  }

  get backlog(): number {
    return this.pending.length - this.head;
  }

  open(o: OpenLoopOptions, idx: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const ms = o.bindTimeoutMs ?? 10_000;
      const timeout = setTimeout(() => done(new Error(`bind ${idx}: no bind_resp within ${ms} ms`)), ms);
      const done = (err?: Error) => {
        if (!this.onBound) return;
        this.onBound = null;
        clearTimeout(timeout);
        if (err) {
          this.conn?.destroy('bind failed');
          reject(err);
        } else resolve();
      };
      this.onBound = done;
      const socket: Socket = connect({ host: o.host ?? '127.0.0.1', port: o.port });
      socket.once('error', (err) => done(new Error(`bind ${idx}: ${err.message}`)));
      this.conn = new PduConnection(
        socket,
        {
          onPdu: (pdu) => this.onPdu(pdu),
          onClose: (reason) => {
            this.closed = true;
            this.onBound?.(new Error(`bind ${idx}: closed before bind_resp (${reason})`));
            this.onUnbound?.();
          },
        },
        64 * 1024,
      );
      socket.once('connect', () => {
        this.conn.send(
          encodePdu(BIND_COMMAND[o.bindType ?? 'transmitter'], 0, SEQ_LIMIT, {
            system_id: o.systemId ?? 'bench',
            password: o.password ?? 'benchpw',
            system_type: o.systemType ?? '',
            interface_version: INTERFACE_VERSION_34,
          }),
        );
      });
    });
  }

  private onPdu(pdu: Buffer): void {
    const id = pdu.readUInt32BE(4);
    if (id === Command.submit_sm_resp || id === Command.generic_nack) {
      const seq = pdu.readUInt32BE(12);
      const slot = (seq - 1) & this.slotMask;
      if (slot >= this.window || this.seqAt[slot] !== seq) return; // late/unknown
      this.ack(slot, pdu.readUInt32BE(8), performance.now());
      return;
    }
    switch (id) {
      case Command.bind_transmitter_resp:
      case Command.bind_transceiver_resp: {
        const status = pdu.readUInt32BE(8);
        if (status !== 0) this.onBound?.(new Error(`bind refused: ${statusName(status)}`));
        else {
          this.bound = true;
          this.onBound?.();
        }
        return;
      }
      case Command.enquire_link:
        this.conn.send(encodeEmpty(Command.enquire_link_resp, 0, pdu.readUInt32BE(12)));
        return;
      case Command.deliver_sm:
        this.s.deliverSm++;
        this.dlrSeqs.push(pdu.readUInt32BE(12));
        this.markDirty();
        return;
      case Command.unbind:
        this.conn.send(encodeEmpty(Command.unbind_resp, 0, pdu.readUInt32BE(12)));
        this.conn.close('peer unbound');
        return;
      case Command.unbind_resp:
        this.onUnbound?.();
        return;
      default:
        return;
    }
  }

  private measured(sched: number): boolean {
    return sched >= this.s.t0 && sched < this.s.t1;
  }

  private ack(slot: number, status: number, now: number): void {
    const s = this.s;
    const sched = this.schedAt[slot]!;
    this.seqAt[slot] = 0;
    this.free[this.freeTop++] = slot;
    this.inflight--;
    if (this.measured(sched)) {
      s.acked++;
      s.lastAck = now;
      s.hist.record((now - sched) * 1000);
      noteSlot(s, sched, now);
      if (status === 0) s.ok++;
      else s.errors.set(status, (s.errors.get(status) ?? 0) + 1);
    }
    if (this.backlog > 0) this.markDirty();
  }

  /** Adds a message scheduled at `sched` (ms, performance.now() clock) to this bind's queue. */
  enqueue(sched: number): void {
    this.pending.push(sched);
  }

  markDirty(): void {
    if (this.dirtyFlag) return;
    this.dirtyFlag = true;
    this.s.dirty.push(this);
    if (!this.s.pumpScheduled) {
      this.s.pumpScheduled = true;
      setImmediate(pump, this.s);
    }
  }

  /** Answers pending deliver_sm, then sends as many due messages as the window allows, in one buffer. */
  fill(now: number): void {
    this.dirtyFlag = false;
    if (this.closed || !this.bound) return;
    const s = this.s;
    let n = this.backlog;
    if (n > this.freeTop) n = this.freeTop;
    const dlrs = this.dlrSeqs;
    if (n === 0 && dlrs.length === 0) return;
    const tpl = s.tpl;
    const len = tpl.len;
    const batch = Buffer.allocUnsafe(dlrs.length * DELIVER_RESP.length + n * len);
    let off = 0;
    for (let i = 0; i < dlrs.length; i++, off += DELIVER_RESP.length) {
      DELIVER_RESP.copy(batch, off);
      batch.writeUInt32BE(dlrs[i]!, off + 12);
    }
    if (dlrs.length) this.dlrSeqs = [];
    // The template block holds `window` copies: n ≤ freeTop ≤ window.
    tpl.block.copy(batch, off, 0, n * len);
    const pending = this.pending;
    for (let i = 0; i < n; i++, off += len) {
      const sched = pending[this.head++]!;
      const slot = this.free[--this.freeTop]!;
      const g = this.gen;
      this.gen = g >= this.genMask ? 0 : g + 1;
      const seq = ((g << this.slotBits) | slot) + 1;
      this.seqAt[slot] = seq;
      this.schedAt[slot] = sched;
      batch.writeUInt32BE(seq, off + 12);
      tpl.patchDest(batch, off);
      tpl.patchText(batch, off);
      if (this.measured(sched)) {
        s.sent++;
        s.lag.record((now - sched) * 1000);
      }
    }
    s.backlog -= n;
    this.inflight += n;
    if (this.head > 4096 && this.head * 2 > pending.length) {
      this.pending = pending.slice(this.head);
      this.head = 0;
    }
    this.conn.send(batch);
    this.conn.flush();
  }

  /** Measured messages never answered, each recorded at `now` (a lower bound of their latency). */
  abandon(now: number): number {
    let n = 0;
    for (let slot = 0; slot < this.window; slot++) {
      if (this.seqAt[slot] === 0) continue;
      const sched = this.schedAt[slot]!;
      if (!this.measured(sched)) continue;
      this.s.hist.record((now - sched) * 1000);
      n++;
    }
    for (let i = this.head; i < this.pending.length; i++) {
      const sched = this.pending[i]!;
      if (!this.measured(sched)) continue;
      this.s.hist.record((now - sched) * 1000);
      n++;
    }
    return n;
  }

  unbind(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(finish, ms);
      const self = this;
      function finish() {
        clearTimeout(t);
        self.onUnbound = null;
        self.conn.destroy('done');
        resolve();
      }
      this.onUnbound = finish;
      this.conn.send(encodeEmpty(Command.unbind, 0, SEQ_LIMIT - 1));
      this.conn.flush();
    });
  }
}

function noteSlot(s: Shared, sched: number, now: number): void {
  const i = Math.floor((sched - s.t0) / SLOT_MS);
  const us = (now - sched) * 1000;
  if (i >= 0 && i < s.slots.length && us > s.slots[i]!) s.slots[i] = us;
}

function pump(s: Shared): void {
  s.pumpScheduled = false;
  const list = s.dirty;
  s.dirty = [];
  const now = performance.now();
  for (const b of list) b.fill(now);
}

export async function runOpenLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  if (!(o.rate > 0)) throw new RangeError('rate must be > 0 msg/s');
  const nBinds = o.binds ?? 4;
  const window = o.window ?? 1000;
  const durationMs = o.durationMs ?? 10_000;
  const warmupMs = o.warmupMs ?? 0;
  const drainMs = o.drainMs ?? 5000;
  const tickMs = o.tickMs ?? 1;
  const period = 1000 / o.rate;
  const s: Shared = {
    tpl: new Template(o, window),
    hist: new Histogram(),
    lag: new Histogram(),
    errors: new Map(),
    t0: Infinity,
    t1: Infinity,
    sent: 0,
    acked: 0,
    ok: 0,
    lastAck: 0,
    backlog: 0,
    maxBacklog: 0,
    deliverSm: 0,
    dirty: [],
    pumpScheduled: false,
    slots: new Float64Array(Math.ceil(durationMs / SLOT_MS)),
  };
  const binds = Array.from({ length: nBinds }, () => new OpenBind(window, s));
  try {
    await Promise.all(binds.map((b, i) => b.open(o, i)));
  } catch (err) {
    for (const b of binds) b.conn?.destroy('bind failed');
    throw err;
  }
  o.onPhase?.('bound');

  const start = performance.now();
  s.t0 = start + warmupMs;
  s.t1 = s.t0 + durationMs;
  /** Messages scheduled before t1 in all: indices 0 … total-1 (from the whole milliseconds: t1 − start in floating point may be a hair over, one message too many). */
  const total = Math.ceil((warmupMs + durationMs) / period);
  let next = 0; // index of the next message to schedule
  let rr = 0;
  let phase: 0 | 1 | 2 = 0;
  let cpu0 = process.cpuUsage();
  let elu0 = performance.eventLoopUtilization();
  let cpu = { user: 0, system: 0 };
  let elu = 0;
  let measuredMs = 0;
  let carried = 0;
  const outstanding = () => binds.reduce((a, b) => a + (b.closed ? 0 : b.inflight + b.backlog), 0);

  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (phase === 0 && now >= s.t0) {
        phase = 1;
        carried = outstanding();
        s.maxBacklog = s.backlog;
        cpu0 = process.cpuUsage();
        elu0 = performance.eventLoopUtilization();
        o.onPhase?.('measure');
      }
      // Every message whose scheduled time has come, however late this tick is.
      const due = Math.min(total, Math.floor((now - start) / period) + 1);
      for (; next < due; next++) {
        let b: OpenBind | undefined;
        for (let k = 0; k < nBinds; k++) {
          const c = binds[rr]!;
          rr = rr + 1 === nBinds ? 0 : rr + 1;
          if (!c.closed) {
            b = c;
            break;
          }
        }
        if (!b) break; // every link is gone
        b.enqueue(start + next * period);
        s.backlog++;
      }
      if (s.backlog > s.maxBacklog) s.maxBacklog = s.backlog;
      for (const b of binds) if (b.backlog > 0) b.fill(now);
      if (next >= total || binds.every((b) => b.closed)) {
        measuredMs = performance.now() - s.t0;
        cpu = process.cpuUsage(cpu0);
        elu = performance.eventLoopUtilization(elu0).utilization;
        phase = 2;
        o.onPhase?.('stop');
        resolve();
        return;
      }
      setTimeout(tick, tickMs);
    };
    tick();
  });

  // Drain: until every measured message is answered, the links die, or drainMs passes.
  const drainEnd = performance.now() + drainMs;
  while (outstanding() > 0 && performance.now() < drainEnd) await sleep(5);
  const now = performance.now();
  const unacked = binds.reduce((a, b) => a + b.abandon(now), 0);
  const closedEarly = binds.filter((b) => b.closed).length;
  await Promise.all(binds.map((b) => b.unbind(1000)));

  const errors: Record<string, number> = {};
  for (const [code, n] of [...s.errors].sort((a, b) => a[0] - b[0])) errors[statusName(code)] = n;
  const ms = (us: number) => Math.round(us) / 1000;
  const h = s.hist;
  return {
    mode: 'open-loop',
    binds: nBinds,
    window,
    offeredPerSec: o.rate,
    scheduled: Math.max(0, total - Math.ceil(warmupMs / period)),
    sent: s.sent,
    acked: s.acked,
    ok: s.ok,
    errors,
    measuredMs: Math.round(measuredMs),
    achievedPerSec: measuredMs > 0 ? Math.round((s.acked * 1000) / Math.max(durationMs, s.lastAck - s.t0)) : 0,
    latencyMs: {
      p50: ms(h.quantileUs(0.5)),
      p90: ms(h.quantileUs(0.9)),
      p99: ms(h.quantileUs(0.99)),
      p999: ms(h.quantileUs(0.999)),
      max: ms(h.maxUs),
      mean: h.count ? ms(h.sumUs / h.count) : 0,
    },
    sendLagMs: { p99: ms(s.lag.quantileUs(0.99)), max: ms(s.lag.maxUs) },
    maxBacklog: s.maxBacklog,
    carried,
    unacked,
    deliverSm: s.deliverSm,
    cpuPct: measuredMs > 0 ? Math.round(((cpu.user + cpu.system) / 1000 / measuredMs) * 1000) / 10 : 0,
    elu: Math.round(elu * 1000) / 1000,
    closedEarly,
    worst: [...s.slots]
      .map((us, i): [number, number] => [i * SLOT_MS, ms(us)])
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .sort((a, b) => a[0] - b[0]),
    periodic: strongestPeriod(s.slots, SLOT_MS),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void generatorMain(process.argv.slice(2), `node dist/bench/open-loop.js --json '{"port":2775,"rate":20000,"durationMs":10000}'`, runOpenLoop);
}
