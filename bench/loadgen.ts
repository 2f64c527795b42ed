/**
 * A fast ESME load generator. Binds N sessions, keeps each bind's window full (a new submit_sm goes
 * out as soon as a response frees a slot) and measures send → resp latency into a fixed histogram.
 *
 * The submit_sm is encoded once; per message only the sequence number and the destination digits
 * are patched. Refills are batched: every event-loop turn each bind gets one buffer holding all the
 * submits its freed slots allow, written with one PduConnection send + flush.
 *
 * Module: `runLoad(opts)`. Child process: `node dist/bench/loadgen.js --json '{...opts}'` prints
 * one JSON result line on stdout; phase events go to stderr as `{"phase":…}` lines.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  BIND_COMMAND,
  Command,
  DLT_PE_ID,
  DLT_TEMPLATE_ID,
  INTERFACE_VERSION_34,
  SM_FIELDS,
  encodeEmpty,
  encodePdu,
  messageResp,
  statusName,
  type Tlv,
} from '../src/protocol/index.js';
import { PduConnection } from '../src/session/connection.js';
import { Histogram } from './histogram.js';

export interface LoadOptions {
  host?: string;
  port: number;
  systemId?: string;
  password?: string;
  systemType?: string;
  bindType?: 'transmitter' | 'transceiver';
  /** Sessions (TCP connections), default 8. */
  binds?: number;
  /** Outstanding submits per bind, default 512. */
  window?: number;
  /** Measured run length; ignored when `count` is set. Default 10 000. */
  durationMs?: number;
  /** Send exactly this many measured submits, then stop. */
  count?: number;
  /** Unmeasured load before measuring starts. Default 0. */
  warmupMs?: number;
  registeredDelivery?: number;
  /**
   * Message text. With textVariants > 1 it holds one "{n}" (e.g. a campaign or coupon code), filled
   * per message with a zero-padded number cycling through textVariants values from textStart, so
   * traffic carries several texts (every variant the same length: one template still fits all).
   */
  text?: string;
  textVariants?: number;
  textStart?: number;
  dataCoding?: number;
  sourceAddr?: string;
  /** source_addr_ton (default 5, alphanumeric); 1 for an international sender number. */
  sourceTon?: number;
  /** Destination = destPrefix + a counter zero-padded to destDigits (default 86138 + 8 digits). */
  destPrefix?: string;
  destDigits?: number;
  /** Distinct destinations before the counter wraps; 0 = 10^destDigits. */
  destCount?: number;
  /** The first destination's counter value (e.g. random, so repeated runs do not start at the same numbers). Default 0. */
  destStart?: number;
  /**
   * How far the counter moves per message (mod destCount; default 1, consecutive recipients). A
   * stride coprime with destCount visits every destination once per wrap in a scattered order: what
   * a campaign to a subscriber list looks like, where consecutive numbers are a range scan.
   */
  destStride?: number;
  /** Extra TLVs, values as text (or hex when hex: true). */
  tlvs?: { tag: number; value: string; hex?: boolean }[];
  /** DLT shortcuts: TLV 0x1400 (PE_ID) and 0x1401 (template id). */
  peId?: string;
  templateId?: string;
  /** How long to wait for outstanding responses after sending stops. Default 5000. */
  drainMs?: number;
  /** Give up on connect/bind after this long. Default 10 000. */
  bindTimeoutMs?: number;
  /** Called at 'bound', 'measure' (measuring starts), 'stop' (sending stops). */
  onPhase?: (phase: LoadPhase) => void;
}

export type LoadPhase = 'bound' | 'measure' | 'stop';

export interface LoadResult {
  binds: number;
  window: number;
  /** Submits sent / responses received during the measured interval. */
  sent: number;
  acked: number;
  /** Responses with status 0. */
  ok: number;
  /** Non-zero statuses by name (generic_nack included). */
  errors: Record<string, number>;
  measuredMs: number;
  msgPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Whole run, warm-up and drain included. */
  totalSent: number;
  totalAcked: number;
  /** Submits never answered (still outstanding when the drain ended, or lost with a closed link). */
  unacked: number;
  deliverSm: number;
  /** Loadgen process CPU over the measured interval (100 = one core) and event-loop utilisation. */
  cpuPct: number;
  elu: number;
  closedEarly: number;
}

export const SEQ_LIMIT = 0x7fffffff;
/** deliver_sm_resp, status 0, empty message_id; the sequence is patched per receipt. */
export const DELIVER_RESP = messageResp(Command.deliver_sm_resp, 0, 0);

/** The submit_sm encoded once; per message only the destination (and text variant) digits are patched. Shared with open-loop.ts. */
export class Template {
  readonly len: number;
  readonly destOff: number;
  readonly destDigits: number;
  /** `blockCount` back-to-back copies, so a batch starts as one memcpy. */
  readonly block: Buffer;
  private readonly digits: Uint8Array;
  private counter = 0;
  private readonly wrap: number;
  private readonly stride: number;
  /** Text variants: where the "{n}" digits sit in the PDU, how wide each digit is (1, or 2 in UCS-2). */
  private readonly varOff: number = -1;
  private readonly varStep: number = 1;
  private readonly varDigits: Uint8Array = new Uint8Array(0);
  private readonly varCount: number = 1;
  private readonly varStart: number = 0;
  private varIndex = 0;

  constructor(o: LoadOptions, blockCount: number) {
    const prefix = o.destPrefix ?? '86138';
    this.destDigits = o.destDigits ?? 8;
    const space = 10 ** this.destDigits;
    this.wrap = o.destCount && o.destCount > 0 ? Math.min(o.destCount, space) : space;
    const dest = prefix + '0'.repeat(this.destDigits);
    if (dest.length > 20) throw new RangeError('destination longer than 20 digits');
    const tlvs: Tlv[] = [];
    if (o.peId) tlvs.push({ tag: DLT_PE_ID, value: Buffer.from(o.peId, 'latin1') });
    if (o.templateId) tlvs.push({ tag: DLT_TEMPLATE_ID, value: Buffer.from(o.templateId, 'latin1') });
    for (const t of o.tlvs ?? []) tlvs.push({ tag: t.tag, value: Buffer.from(t.value, t.hex ? 'hex' : 'utf8') });
    const dc = o.dataCoding ?? 0;
    let text = o.text ?? 'Your verification code is 123456. Do not share it.';
    const variants = o.textVariants ?? 1;
    let varWidth = 0;
    if (variants > 1) {
      if (!text.includes('{n}')) throw new Error('textVariants needs a "{n}" in the text');
      varWidth = String((o.textStart ?? 0) + variants - 1).length;
      text = text.replace('{n}', '\u0001'.repeat(varWidth));
    } else text = text.replace('{n}', String(o.textStart ?? 0));
    const sm = dc === 8 ? Buffer.from(text, 'utf16le').swap16() : Buffer.from(text, 'latin1');
    const one = encodePdu(
      Command.submit_sm,
      0,
      1,
      {
        source_addr_ton: o.sourceTon ?? 5,
        source_addr_npi: o.sourceTon === 1 ? 1 : 0,
        source_addr: o.sourceAddr ?? '10690000',
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: dest,
        registered_delivery: o.registeredDelivery ?? 0,
        data_coding: dc,
        short_message: sm,
      },
      tlvs,
    );
    this.len = one.length;
    // destination_addr offset: header + the C-strings/bytes before it in the layout.
    let p = 16;
    for (const name of SM_FIELDS) {
      if (name === 'destination_addr') break;
      if (name === 'service_type' || name === 'source_addr') p = one.indexOf(0, p) + 1;
      else p += 1;
    }
    if (one.toString('latin1', p, p + dest.length) !== dest) throw new Error('destination offset mismatch');
    this.destOff = p + prefix.length;
    this.counter = o.destStart ? o.destStart % this.wrap : 0;
    this.stride = o.destStride && o.destStride > 1 ? o.destStride % this.wrap : 1;
    const start = String(this.counter).padStart(this.destDigits, '0');
    this.digits = new Uint8Array(this.destDigits);
    for (let i = 0; i < this.destDigits; i++) this.digits[i] = start.charCodeAt(i);
    if (varWidth > 0) {
      this.varStep = dc === 8 ? 2 : 1;
      // Inside short_message only (TON/NPI bytes elsewhere are 1 too); UCS-2 is big-endian: 00 01.
      this.varOff = one.indexOf(sm, 16) + sm.indexOf(dc === 8 ? Buffer.from([0, 1]) : Buffer.from([1]));
      this.varDigits = new Uint8Array(varWidth);
      this.varCount = variants;
      this.varStart = o.textStart ?? 0;
      this.varIndex = variants - 1; // the first message gets variant 0
    }
    this.block = Buffer.allocUnsafe(this.len * blockCount);
    for (let i = 0; i < blockCount; i++) one.copy(this.block, i * this.len);
  }

  /** Writes the next text variant's digits at `off` (a PDU start inside `buf`); no-op without variants. */
  patchText(buf: Buffer, off: number): void {
    if (this.varOff < 0) return;
    if (++this.varIndex >= this.varCount) this.varIndex = 0;
    let v = this.varStart + this.varIndex;
    const d = this.varDigits;
    for (let i = d.length - 1; i >= 0; i--, v = Math.floor(v / 10)) d[i] = 48 + (v % 10);
    const step = this.varStep;
    const at = off + this.varOff + step - 1;
    for (let i = 0; i < d.length; i++) buf[at + i * step] = d[i]!;
  }

  /** Writes the next destination's digits at `off` (a PDU start inside `buf`). */
  patchDest(buf: Buffer, off: number): void {
    const d = this.digits;
    const n = this.destDigits;
    if (this.stride !== 1) {
      let v = (this.counter = (this.counter + this.stride) % this.wrap);
      for (let i = n - 1; i >= 0; i--, v = Math.floor(v / 10)) d[i] = 48 + (v % 10);
    } else if (++this.counter >= this.wrap) {
      this.counter = 0;
      d.fill(48);
    } else {
      let i = n - 1;
      while (i >= 0 && d[i] === 57) d[i--] = 48;
      if (i >= 0) d[i]!++;
    }
    const at = off + this.destOff;
    for (let i = 0; i < n; i++) buf[at + i] = d[i]!;
  }
}

type Shared = {
  tpl: Template;
  hist: Histogram;
  errors: Map<number, number>;
  phase: 0 | 1 | 2; // warmup, measuring, stopped
  budget: number; // measured submits left to send (count mode), Infinity otherwise
  measuredSent: number;
  measuredAcked: number;
  measuredOk: number;
  totalSent: number;
  totalAcked: number;
  deliverSm: number;
  dirty: Bind[];
  pumpScheduled: boolean;
  onIdle: () => void;
};

class Bind {
  conn!: PduConnection;
  bound = false;
  closed = false;
  inflight = 0;
  dirtyFlag = false;
  private readonly slotBits: number;
  private readonly slotMask: number;
  private readonly genMask: number;
  private gen = 0;
  private readonly seqAt: Int32Array;
  private readonly sentAt: Float64Array;
  private readonly free: Int32Array;
  private freeTop: number;
  /** deliver_sm sequences to answer in the next batch. */
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
    this.sentAt = new Float64Array(window);
    this.free = new Int32Array(window);
    for (let i = 0; i < window; i++) this.free[i] = window - 1 - i;
    this.freeTop = window;
  }

  open(o: LoadOptions, idx: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timeout = setTimeout(() => done(new Error(`bind ${idx}: no bind_resp within ${o.bindTimeoutMs ?? 10_000} ms`)), o.bindTimeoutMs ?? 10_000);
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
            this.s.onIdle();
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
    const id = ((pdu[4]! << 24) | (pdu[5]! << 16) | (pdu[6]! << 8) | pdu[7]!) >>> 0;
    if (id === Command.submit_sm_resp || id === Command.generic_nack) {
      const seq = ((pdu[12]! << 24) | (pdu[13]! << 16) | (pdu[14]! << 8) | pdu[15]!) >>> 0;
      const slot = (seq - 1) & this.slotMask;
      if (slot >= this.window || this.seqAt[slot] !== seq) return; // late/unknown: ignore
      const status = ((pdu[8]! << 24) | (pdu[9]! << 16) | (pdu[10]! << 8) | pdu[11]!) >>> 0;
      this.ack(slot, status);
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

  private ack(slot: number, status: number): void {
    const s = this.s;
    this.seqAt[slot] = 0;
    this.free[this.freeTop++] = slot;
    this.inflight--;
    s.totalAcked++;
    if (s.phase === 1) {
      s.measuredAcked++;
      s.hist.record((performance.now() - this.sentAt[slot]!) * 1000);
      if (status === 0) s.measuredOk++;
      else s.errors.set(status, (s.errors.get(status) ?? 0) + 1);
    }
    this.markDirty();
    if (this.inflight === 0) s.onIdle();
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

  /** Answers pending deliver_sm, then sends as many submits as there are free slots (bounded by the budget). */
  fill(now: number): void {
    this.dirtyFlag = false;
    const s = this.s;
    if (this.closed || !this.bound) return;
    let n = s.phase === 2 ? 0 : this.freeTop;
    if (n > s.budget) n = s.budget;
    const dlrs = this.dlrSeqs;
    if (n <= 0 && dlrs.length === 0) return;
    if (n < 0) n = 0;
    const tpl = s.tpl;
    const len = tpl.len;
    const respBytes = dlrs.length * DELIVER_RESP.length;
    const batch = Buffer.allocUnsafe(respBytes + n * len);
    let off = 0;
    for (let i = 0; i < dlrs.length; i++, off += DELIVER_RESP.length) {
      DELIVER_RESP.copy(batch, off);
      batch.writeUInt32BE(dlrs[i]!, off + 12);
    }
    if (dlrs.length) this.dlrSeqs = [];
    tpl.block.copy(batch, off, 0, n * len);
    for (let i = 0; i < n; i++, off += len) {
      const slot = this.free[--this.freeTop]!;
      const g = this.gen;
      this.gen = g >= this.genMask ? 0 : g + 1;
      const seq = ((g << this.slotBits) | slot) + 1;
      this.seqAt[slot] = seq;
      this.sentAt[slot] = now;
      batch[off + 12] = seq >>> 24;
      batch[off + 13] = (seq >>> 16) & 0xff;
      batch[off + 14] = (seq >>> 8) & 0xff;
      batch[off + 15] = seq & 0xff;
      tpl.patchDest(batch, off);
      tpl.patchText(batch, off);
    }
    this.inflight += n;
    s.totalSent += n;
    if (s.phase === 1) {
      s.measuredSent += n;
      s.budget -= n;
    }
    this.conn.send(batch);
    this.conn.flush();
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

function pump(s: Shared): void {
  s.pumpScheduled = false;
  const list = s.dirty;
  s.dirty = [];
  const now = performance.now();
  for (const b of list) b.fill(now);
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const nBinds = o.binds ?? 8;
  const window = o.window ?? 512;
  const countMode = o.count !== undefined && o.count > 0;
  const durationMs = o.durationMs ?? 10_000;
  const warmupMs = o.warmupMs ?? 0;
  const drainMs = o.drainMs ?? 5000;
  const hist = new Histogram();
  let idleWaiter: (() => void) | null = null;
  const s: Shared = {
    tpl: new Template(o, window),
    hist,
    errors: new Map(),
    phase: 0,
    budget: Infinity,
    measuredSent: 0,
    measuredAcked: 0,
    measuredOk: 0,
    totalSent: 0,
    totalAcked: 0,
    deliverSm: 0,
    dirty: [],
    pumpScheduled: false,
    onIdle: () => idleWaiter?.(),
  };
  const binds = Array.from({ length: nBinds }, () => new Bind(window, s));
  try {
    await Promise.all(binds.map((b, i) => b.open(o, i)));
  } catch (err) {
    for (const b of binds) b.conn?.destroy('bind failed');
    throw err;
  }
  o.onPhase?.('bound');

  const inflight = () => binds.reduce((a, b) => a + (b.closed ? 0 : b.inflight), 0);
  const allClosed = () => binds.every((b) => b.closed);
  let cpu0 = process.cpuUsage();
  let elu0 = performance.eventLoopUtilization();
  let t0 = 0;
  let t1 = 0;
  const startMeasure = () => {
    s.phase = 1;
    if (countMode) s.budget = o.count!;
    cpu0 = process.cpuUsage();
    elu0 = performance.eventLoopUtilization();
    t0 = performance.now();
    o.onPhase?.('measure');
  };
  let cpu = { user: 0, system: 0 };
  let elu = 0;
  const stopMeasure = () => {
    t1 = performance.now();
    cpu = process.cpuUsage(cpu0);
    elu = performance.eventLoopUtilization(elu0).utilization;
    s.phase = 2;
    o.onPhase?.('stop');
  };

  const kick = () => {
    for (const b of binds) {
      if (!b.dirtyFlag) {
        b.dirtyFlag = true;
        s.dirty.push(b);
      }
    }
    if (!s.pumpScheduled) {
      s.pumpScheduled = true;
      setImmediate(pump, s);
    }
  };

  if (warmupMs > 0) {
    kick();
    await sleep(warmupMs);
  }
  startMeasure();
  kick();
  if (countMode) {
    // Until every budgeted submit is answered (or the links die, or nothing moves for drainMs).
    await new Promise<void>((resolve) => {
      let last = -1;
      const check = () => {
        if ((s.budget <= 0 && inflight() === 0) || allClosed()) finish();
      };
      const stall = setInterval(() => {
        if (s.totalAcked === last) finish();
        last = s.totalAcked;
      }, Math.max(drainMs, 100));
      const finish = () => {
        clearInterval(stall);
        idleWaiter = null;
        resolve();
      };
      idleWaiter = check;
      check();
    });
    stopMeasure();
  } else {
    await sleep(durationMs);
    stopMeasure();
    if (inflight() > 0 && !allClosed()) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, drainMs);
        function done() {
          clearTimeout(t);
          idleWaiter = null;
          resolve();
        }
        idleWaiter = () => {
          if (inflight() === 0 || allClosed()) done();
        };
      });
    }
  }
  const closedEarly = binds.filter((b) => b.closed).length;
  const unacked = binds.reduce((a, b) => a + b.inflight, 0);
  await Promise.all(binds.map((b) => b.unbind(1000)));

  const measuredMs = t1 - t0;
  const errors: Record<string, number> = {};
  for (const [code, n] of [...s.errors].sort((a, b) => a[0] - b[0])) errors[statusName(code)] = n;
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    binds: nBinds,
    window,
    sent: s.measuredSent,
    acked: s.measuredAcked,
    ok: s.measuredOk,
    errors,
    measuredMs: Math.round(measuredMs),
    msgPerSec: measuredMs > 0 ? Math.round((s.measuredAcked * 1000) / measuredMs) : 0,
    latencyMs: {
      p50: ms(hist.quantileUs(0.5)),
      p90: ms(hist.quantileUs(0.9)),
      p99: ms(hist.quantileUs(0.99)),
      max: ms(hist.maxUs),
      mean: hist.count ? ms(hist.sumUs / hist.count) : 0,
    },
    totalSent: s.totalSent,
    totalAcked: s.totalAcked,
    unacked,
    deliverSm: s.deliverSm,
    cpuPct: measuredMs > 0 ? Math.round(((cpu.user + cpu.system) / 1000 / measuredMs) * 1000) / 10 : 0,
    elu: Math.round(elu * 1000) / 1000,
    closedEarly,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A generator run as a child of bench/run.ts: options as `--json '{…}'`, phases as JSON lines on
 * stderr, the result (or `{"error"}`, exit 1) as one JSON line on stdout. Shared by this load
 * generator and the open-loop one (bench/open-loop.ts).
 */
export async function generatorMain<O extends { onPhase?: (phase: LoadPhase) => void }>(argv: string[], usage: string, run: (o: O) => Promise<unknown>): Promise<void> {
  const i = argv.indexOf('--json');
  if (i < 0 || argv[i + 1] === undefined) {
    process.stderr.write(`usage: ${usage}\n`);
    process.exit(2);
  }
  const opts = JSON.parse(argv[i + 1]!) as O;
  opts.onPhase = (phase) => process.stderr.write(JSON.stringify({ phase, t: Date.now() }) + '\n');
  try {
    const result = await run(opts);
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(0);
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }) + '\n');
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void generatorMain(process.argv.slice(2), `node dist/bench/loadgen.js --json '{"port":2775,"durationMs":5000}'`, runLoad);
}
