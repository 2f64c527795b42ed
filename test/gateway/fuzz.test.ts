/**
 * Fuzz the ESME face of a running gateway with >= 100,000 frames from a fixed-seed PRNG: valid
 * submit_sm/data_sm with random mutations, random command ids, random lengths within limits,
 * header bit flips, and per batch at most one stream killer (garbage, truncated frame, length below
 * 16 or above max_pdu_length, bind/unbind). Several lanes send at once, some bound, some not;
 * a killed lane reconnects. Meanwhile a well-behaved bound ESME keeps submitting and must get
 * ESME_ROK for every submit and never be closed. Afterwards a new session must enquire_link and bind
 * fine, nothing may have thrown (process listeners) or logged at error level (handler errors are
 * caught inside the connection and logged, so they would otherwise pass unseen).
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountSchema } from '../../src/config/schema.js';
import { BIND_COMMAND, Command, responseIdOf, type BindKind } from '../../src/protocol/commands.js';
import { encodePdu, INTERFACE_VERSION_34, type FieldValue } from '../../src/protocol/encode.js';
import { Status } from '../../src/protocol/status.js';
import type { Tlv } from '../../src/protocol/tlv.js';
import { prng } from '../protocol/fixtures.js';
import { connect } from '../helpers/esme-client.js';
import { clearKeys } from '../helpers/redis-keys.js';
import { sm, startStack, waitFor, type Stack } from '../helpers/stack.js';

const SEED = 0x5eed_2026;
const TARGET_FRAMES = 100_000;
const MAX_PDU = 8192;
/** How each lane binds (null: never binds). A bound transceiver/receiver also gets receipts it may not answer. */
const LANES: { bind: 'transmitter' | 'transceiver' | 'receiver' | null }[] = [
  { bind: 'transmitter' },
  { bind: 'transceiver' },
  { bind: 'receiver' },
  { bind: null },
  { bind: null },
  { bind: null },
];
const BATCH = 400;

// ---- frame generation -----------------------------------------------------------------------------

type Rnd = () => number;
const int = (r: Rnd, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rnd, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const bytes = (r: Rnd, n: number) => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
};
const digits = (r: Rnd, n: number) => Array.from({ length: n }, () => int(r, 0, 9)).join('');

function frame(commandId: number, status: number, seq: number, body: Buffer): Buffer {
  const b = Buffer.allocUnsafe(16 + body.length);
  b.writeUInt32BE(16 + body.length, 0);
  b.writeUInt32BE(commandId >>> 0, 4);
  b.writeUInt32BE(status >>> 0, 8);
  b.writeUInt32BE(seq >>> 0, 12);
  body.copy(b, 16);
  return b;
}

/** A well-formed submit_sm or data_sm with random content. */
function validMessage(r: Rnd, seq: number): Buffer {
  const tlvs: Tlv[] = [];
  for (let n = int(r, 0, 3); n > 0; n--) {
    tlvs.push({ tag: pick(r, [0x1400, 0x1401, 0x3fff, 0x020c, 0x020e, 0x020f, 0x0424, 0x001e, int(r, 0, 0xffff)]), value: bytes(r, int(r, 0, 24)) });
  }
  const common: Record<string, FieldValue> = {
    service_type: pick(r, ['', 'CMT', 'WAP']),
    source_addr_ton: int(r, 0, 6),
    source_addr_npi: int(r, 0, 1),
    source_addr: pick(r, ['10690001', 'BRAND', '', digits(r, int(r, 1, 20))]),
    dest_addr_ton: int(r, 0, 2),
    dest_addr_npi: int(r, 0, 1),
    destination_addr: digits(r, int(r, 0, 20)),
    esm_class: pick(r, [0, 0x40, 0x04, 0x03, int(r, 0, 255)]),
    registered_delivery: pick(r, [0, 0, 1, int(r, 0, 255)]),
    data_coding: pick(r, [0, 1, 3, 4, 8, 0xf0, int(r, 0, 255)]),
  };
  if (r() < 0.15) return encodePdu(Command.data_sm, 0, seq, common, tlvs);
  return encodePdu(
    Command.submit_sm,
    0,
    seq,
    {
      ...common,
      protocol_id: int(r, 0, 3),
      priority_flag: int(r, 0, 3),
      schedule_delivery_time: pick(r, ['', '000001000000000R', '250101120000000+']),
      validity_period: pick(r, ['', '000001000000000R', '991231235959000-']),
      replace_if_present_flag: int(r, 0, 1),
      sm_default_msg_id: 0,
      short_message: bytes(r, int(r, 0, 160)),
    },
    tlvs,
  );
}

/** Requests whose handling legitimately ends the session: kept for the end of a batch. */
const CLOSERS = new Set<number>([Command.bind_receiver, Command.bind_transmitter, Command.bind_transceiver, Command.unbind]);
const KNOWN = Object.values(Command).filter((id) => !CLOSERS.has(id));

/** One frame that keeps the stream in sync (command_length = bytes sent). */
function inSyncFrame(r: Rnd, seq: number): { pdu: Buffer; kind: string } {
  const x = r();
  if (x < 0.5) {
    const pdu = validMessage(r, seq);
    const m = int(r, 0, 7);
    switch (m) {
      case 0:
        return { pdu, kind: 'valid' };
      case 1: // flip 1..8 bits in the body
        for (let n = int(r, 1, 8); n > 0 && pdu.length > 16; n--) pdu[int(r, 16, pdu.length - 1)] ^= 1 << int(r, 0, 7);
        return { pdu, kind: 'bitflip-body' };
      case 2: // overwrite random body bytes
        for (let n = int(r, 1, 6); n > 0 && pdu.length > 16; n--) pdu[int(r, 16, pdu.length - 1)] = int(r, 0, 255);
        return { pdu, kind: 'overwrite-body' };
      case 3: {
        // truncate the body, with command_length telling the truth
        const cut = pdu.subarray(0, int(r, 16, pdu.length));
        cut.writeUInt32BE(cut.length, 0);
        return { pdu: Buffer.from(cut), kind: 'short-body' };
      }
      case 4: // trailing junk where TLVs go
        return { pdu: frame(pdu.readUInt32BE(4), 0, seq, Buffer.concat([pdu.subarray(16), bytes(r, int(r, 1, 40))])), kind: 'tlv-junk' };
      case 5: {
        // remove every NUL in a random window: unterminated / over-long C-strings
        const a = int(r, 16, pdu.length - 1);
        const b = Math.min(pdu.length, a + int(r, 1, 40));
        for (let i = a; i < b; i++) if (pdu[i] === 0) pdu[i] = 0x41;
        return { pdu, kind: 'no-nul' };
      }
      case 6: // header noise that keeps the length and command id
        pdu.writeUInt32BE(r() < 0.5 ? int(r, 0, 0xffffffff) : 0, 8);
        pdu.writeUInt32BE(pick(r, [0, 0x7fffffff, 0xffffffff, int(r, 0, 0xffffffff)]), 12);
        return { pdu, kind: 'header-noise' };
      default: {
        // a length field inside the body that lies: sm_length / a TLV length
        const p = int(r, 16, pdu.length - 1);
        pdu[p] = pick(r, [0, 0xff, int(r, 0, 255)]);
        return { pdu, kind: 'length-lie' };
      }
    }
  }
  if (x < 0.72) {
    // random command id: known (requests and responses) or not, with a random body
    let id = r() < 0.6 ? pick(r, KNOWN) : r() < 0.5 ? int(r, 0, 0x200) : int(r, 0, 0xffffffff);
    if (CLOSERS.has(id)) id = Command.enquire_link;
    return { pdu: frame(id, r() < 0.8 ? 0 : int(r, 0, 0xffffffff), seq, bytes(r, int(r, 0, 80))), kind: 'random-command' };
  }
  if (x < 0.9) {
    // random length within limits, message command ids with garbage bodies
    const id = pick(r, [Command.submit_sm, Command.data_sm, Command.query_sm, Command.cancel_sm, Command.deliver_sm_resp]);
    const len = r() < 0.8 ? int(r, 16, 300) : int(r, 300, MAX_PDU);
    return { pdu: frame(id, 0, seq, bytes(r, len - 16)), kind: 'random-length' };
  }
  // bit flips anywhere but the length field
  const pdu = validMessage(r, seq);
  for (let n = int(r, 1, 4); n > 0; n--) pdu[int(r, 4, pdu.length - 1)] ^= 1 << int(r, 0, 7);
  if (CLOSERS.has(pdu.readUInt32BE(4))) pdu.writeUInt32BE(Command.submit_sm, 4);
  return { pdu, kind: 'bitflip-header' };
}

/** A frame after which the stream is lost or the session ends. */
function killerFrame(r: Rnd, seq: number): { pdu: Buffer; kind: string } {
  switch (int(r, 0, 6)) {
    case 0:
      return { pdu: bytes(r, int(r, 1, 100)), kind: 'garbage' };
    case 1: {
      const v = validMessage(r, seq);
      return { pdu: Buffer.from(v.subarray(0, int(r, 1, v.length - 1))), kind: 'truncated' };
    }
    case 2: {
      const b = frame(Command.submit_sm, 0, seq, bytes(r, 16));
      b.writeUInt32BE(int(r, 0, 15), 0);
      return { pdu: b, kind: 'length-under-16' };
    }
    case 3: {
      const b = frame(Command.submit_sm, 0, seq, bytes(r, int(r, 0, 64)));
      b.writeUInt32BE(pick(r, [MAX_PDU + 1, 0xffffffff, 0x80000000, int(r, MAX_PDU + 1, 0xffffffff)]), 0);
      return { pdu: b, kind: 'oversized' };
    }
    case 4: {
      const v = validMessage(r, seq);
      v[int(r, 0, 3)] ^= 1 << int(r, 0, 7);
      return { pdu: v, kind: 'bitflip-length' };
    }
    case 5:
      return {
        pdu: encodePdu(pick(r, [Command.bind_transmitter, Command.bind_transceiver, Command.bind_receiver]), 0, seq, {
          system_id: pick(r, ['esme', 'fuzz', 'nobody', '']),
          password: pick(r, ['wrong', '', 'x']),
          system_type: '',
          interface_version: INTERFACE_VERSION_34,
        }),
        kind: 'bind',
      };
    default:
      return { pdu: frame(Command.unbind, 0, seq, Buffer.alloc(0)), kind: 'unbind' };
  }
}

// ---- a raw lane ---------------------------------------------------------------------------------

/** A raw socket that counts and frames what comes back, and waits for one sequence's answer. */
class Lane {
  readonly socket: Socket;
  closed = false;
  readonly closedP: Promise<void>;
  received = 0;
  private buf: Buffer = Buffer.alloc(0);
  private waiters = new Map<number, { command: number; resolve: (pdu: Buffer) => void }>();

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    this.closedP = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
    socket.on('data', (d: Buffer) => this.onData(d));
  }

  static open(port: number): Promise<Lane> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ host: '127.0.0.1', port });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new Lane(s));
      });
    });
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let p = 0;
    while (this.buf.length - p >= 16) {
      const len = this.buf.readUInt32BE(p);
      if (len < 16 || this.buf.length - p < len) break;
      this.received++;
      const seq = this.buf.readUInt32BE(p + 12);
      const w = this.waiters.get(seq);
      if (w && this.buf.readUInt32BE(p + 4) === w.command) {
        this.waiters.delete(seq);
        w.resolve(Buffer.from(this.buf.subarray(p, p + len)));
      }
      p += len;
    }
    this.buf = this.buf.subarray(p);
  }

  /** Resolves with the `command` PDU answering `seq`, null when the socket closes first, or 'timeout'. */
  answer(command: number, seq: number, ms: number): Promise<Buffer | null | 'timeout'> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters.delete(seq);
        resolve('timeout');
      }, ms);
      this.waiters.set(seq, {
        command,
        resolve: (pdu) => {
          clearTimeout(t);
          resolve(pdu);
        },
      });
      void this.closedP.then(() => {
        clearTimeout(t);
        this.waiters.delete(seq);
        resolve(null);
      });
    });
  }

  write(b: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || this.socket.destroyed) return resolve();
      if (this.socket.write(b)) resolve();
      else {
        const done = () => {
          this.socket.off('drain', done);
          this.socket.off('close', done);
          resolve();
        };
        this.socket.once('drain', done);
        this.socket.once('close', done);
      }
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const FUZZ_PASSWORD = 'fuzzpw';
/** A cheap scrypt hash (N=1024) so the ~100 re-binds of killed lanes do not cost seconds. */
function cheapHash(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, { N: 1024, r: 8, p: 1 });
  return `scrypt$1024$8$1$${salt.toString('base64')}$${hash.toString('base64')}`;
}

// ---- the test -------------------------------------------------------------------------------------

const thrown: unknown[] = [];
const onThrow = (err: unknown) => thrown.push(err);
const errorLogs: Record<string, unknown>[] = [];
let warnLogs = 0;

let stack: Stack;
beforeAll(async () => {
  process.on('uncaughtException', onThrow);
  process.on('unhandledRejection', onThrow);
  const logSink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        const rec = JSON.parse(line) as Record<string, unknown>;
        if ((rec.level as number) >= 50) errorLogs.push(rec);
        else warnLogs++;
      }
      cb();
    },
  });
  stack = await startStack({
    cfg: (c) => {
      c.max_pdu_length = MAX_PDU;
      c.accounts.push(
        AccountSchema.parse({
          system_id: 'fuzz',
          password_hash: cheapHash(FUZZ_PASSWORD),
          allowed_ips: ['127.0.0.0/8'],
          max_binds: 8,
          window: 20,
          tps: 0,
        }),
      );
    },
    gw: { log: pino({ level: 'warn' }, logSink) },
  });
});

afterAll(async () => {
  process.off('uncaughtException', onThrow);
  process.off('unhandledRejection', onThrow);
  // Receipts for fuzz submits were held in Redis under this stack's prefix: remove them.
  await clearKeys(stack.gw.redis, `${stack.prefix}*`).catch(() => undefined);
  await stack.stop();
});

describe('fuzzing the ESME face', () => {
  it('survives >= 100k hostile frames while a well-behaved ESME keeps getting every answer', { timeout: 90_000 }, async () => {
    const port = stack.gw.smppPort;
    const t0 = Date.now();
    // Gateway, simulator and this test share one event loop: its delay explains latency spikes.
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();

    // The well-behaved ESME.
    const good = await stack.esme('transceiver');
    let goodClosed = false;
    void good.closed.then(() => (goodClosed = true));
    let fuzzing = true;
    let goodOk = 0;
    const latencies: number[] = [];
    const goodFailures: string[] = [];
    const goodLoops = Array.from({ length: 4 }, async (_, k) => {
      let i = 0;
      while (fuzzing) {
        try {
          const t = performance.now();
          const r = await good.submit(sm({ short_message: `good ${k}/${i++}` }));
          latencies.push(performance.now() - t);
          if (r.status === 0 && r.commandId === Command.submit_sm_resp && r.messageId !== '') goodOk++;
          else goodFailures.push(`status 0x${r.status.toString(16)} command 0x${r.commandId.toString(16)}`);
        } catch (err) {
          goodFailures.push(String(err));
        }
      }
    });

    // The fuzz lanes.
    let sent = 0;
    let batches = 0;
    let sessions = 0;
    let killed = 0;
    let stuck = 0;
    const kinds = new Map<string, number>();
    const count = (k: string) => kinds.set(k, (kinds.get(k) ?? 0) + 1);
    const perLane = Math.ceil(TARGET_FRAMES / LANES.length);

    async function openLane(bind: BindKind | null): Promise<Lane> {
      const lane = await Lane.open(port);
      sessions++;
      if (!bind) return lane;
      const answer = lane.answer(responseIdOf(BIND_COMMAND[bind]), 1, 3000);
      await lane.write(
        encodePdu(BIND_COMMAND[bind], 0, 1, { system_id: 'fuzz', password: FUZZ_PASSWORD, system_type: '', interface_version: INTERFACE_VERSION_34 }),
      );
      const resp = await answer;
      if (resp && resp !== 'timeout' && resp.readUInt32BE(8) === 0) return lane;
      lane.destroy();
      throw new Error(`fuzz lane bind failed: ${resp === null ? 'closed' : resp === 'timeout' ? 'timeout' : `0x${resp.readUInt32BE(8).toString(16)}`}`);
    }

    async function runLane(index: number, bind: BindKind | null): Promise<void> {
      const r = prng(SEED + index);
      let laneSent = 0;
      let lane = await openLane(bind);
      let seq = 2;
      try {
        while (laneSent < perLane) {
          const parts: Buffer[] = [];
          for (let i = 0; i < BATCH; i++) {
            const f = inSyncFrame(r, seq++ & 0x3fffffff);
            count(f.kind);
            parts.push(f.pdu);
          }
          // A marker after the in-sync part: answered unless something in the batch closed the session.
          const marker = 0x40000000 + batches;
          parts.push(frame(Command.enquire_link, 0, marker, Buffer.alloc(0)));
          const kill = r() < 0.3 ? killerFrame(r, seq++) : null;
          if (kill) {
            count(kill.kind);
            parts.push(kill.pdu);
          }
          const answer = lane.answer(Command.enquire_link_resp, marker, 10_000);
          await lane.write(Buffer.concat(parts));
          sent += parts.length;
          laneSent += parts.length;
          batches++;
          const got = await answer;
          if (got === 'timeout') stuck++;
          else if (got) expect(got.readUInt32BE(4)).toBe(Command.enquire_link_resp);
          if (kill || lane.closed || got === null) {
            // Give the gateway a moment to see the killer, then start a new session.
            await Promise.race([lane.closedP, new Promise((res) => setTimeout(res, kill?.kind === 'truncated' ? 5 : 200))]);
            if (!lane.closed) lane.destroy();
            await lane.closedP;
            killed++;
            lane = await openLane(bind);
          }
        }
      } finally {
        lane.destroy();
      }
    }

    await Promise.all(LANES.map((l, i) => runLane(i, l.bind)));
    const fuzzMs = Date.now() - t0;
    // Let the good ESME run a little past the fuzz, then stop it.
    await new Promise((res) => setTimeout(res, 100));
    fuzzing = false;
    await Promise.all(goodLoops);

    loopDelay.disable();
    latencies.sort((a, b) => a - b);
    const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]?.toFixed(1);
    console.log(
      `fuzz: ${sent} frames in ${batches} batches over ${sessions} sessions (${killed} ended by a killer frame or closer) in ${fuzzMs} ms; ` +
        `forwarded to the SMSC: ${stack.sim.stats.submits} submit_sm + ${stack.sim.stats.dataSms} data_sm; ` +
        `good ESME: ${goodOk} ok, ${goodFailures.length} failed, latency p50 ${pct(0.5)} p99 ${pct(0.99)} max ${pct(1)} ms; event-loop delay max ${(loopDelay.max / 1e6).toFixed(0)} ms; gateway warnings: ${warnLogs}; kinds: ${JSON.stringify(Object.fromEntries(kinds))}`,
    );

    expect(sent).toBeGreaterThanOrEqual(TARGET_FRAMES);
    expect(stuck).toBe(0); // a session neither answered the marker nor closed: the gateway hung on it
    expect(goodFailures).toEqual([]);
    expect(goodOk).toBeGreaterThan(100);
    expect(goodClosed).toBe(false);
    expect(good.isOpen).toBe(true);
    await waitFor(() => stack.gw.upstream.sessions.size === 1, 3000, 'fuzz sessions to be gone');
    // Bookkeeping survived: no leaked binds, nothing counted in flight, SMSC links still up.
    expect(stack.gw.accounts.get('fuzz')!.sessions.size).toBe(0);
    expect(stack.gw.accounts.get('esme')!.sessions.size).toBe(1);
    await waitFor(() => stack.gw.upstream.inFlight === 0, 2000, 'no submits in flight');
    expect(stack.gw.pool.boundCount).toBe(2);

    // A new session: enquire_link, bind, submit.
    const fresh = await connect('127.0.0.1', port);
    const el = await fresh.request(Command.enquire_link);
    expect(el.readUInt32BE(4)).toBe(Command.enquire_link_resp);
    expect(await fresh.bind('transceiver')).toBe(Status.ESME_ROK);
    expect((await fresh.submit(sm())).status).toBe(0);
    await fresh.close();

    expect(thrown).toEqual([]);
    expect(errorLogs).toEqual([]);
  });
});
