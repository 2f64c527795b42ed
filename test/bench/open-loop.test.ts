import { createServer, type Server } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOpenLoop, strongestPeriod } from '../../bench/open-loop.js';
import { runLoad } from '../../bench/loadgen.js';
import { Command, Status, encodeEmpty, messageResp } from '../../src/protocol/index.js';
import { PduConnection } from '../../src/session/connection.js';

/**
 * A tiny SMPP server under the test's control: binds anyone, answers every submit_sm at once,
 * except during a stall window (from `stallAfterMs` after the first submit, for `stallMs`) when it
 * keeps reading but holds every answer, then releases them all. It notes when each submit arrived.
 */
class StallingServer {
  readonly server: Server;
  arrivals: number[] = [];
  private first = 0;
  private held: { conn: PduConnection; seq: number }[] = [];
  private timer: NodeJS.Timeout | null = null;
  port = 0;

  constructor(
    private readonly stallAfterMs: number,
    private readonly stallMs: number,
  ) {
    this.server = createServer((socket) => {
      const conn: PduConnection = new PduConnection(
        socket,
        {
          onPdu: (pdu) => {
            const id = pdu.readUInt32BE(4);
            const seq = pdu.readUInt32BE(12);
            if (id === Command.bind_transmitter || id === Command.bind_transceiver) {
              conn.send(messageResp((id | 0x80000000) >>> 0, Status.ESME_ROK, seq, 'stall'));
            } else if (id === Command.submit_sm) {
              const now = performance.now();
              if (this.first === 0) {
                this.first = now;
                this.timer = setTimeout(() => this.release(), this.stallAfterMs + this.stallMs);
              }
              this.arrivals.push(now - this.first);
              const t = now - this.first;
              if (t >= this.stallAfterMs && t < this.stallAfterMs + this.stallMs) this.held.push({ conn, seq });
              else conn.send(messageResp(Command.submit_sm_resp, Status.ESME_ROK, seq, 'm'));
            } else if (id === Command.unbind) {
              conn.send(encodeEmpty(Command.unbind_resp, 0, seq));
              conn.close('unbound');
            }
          },
          onClose: () => {},
        },
        64 * 1024,
      );
    });
  }

  private release(): void {
    for (const { conn, seq } of this.held) conn.send(messageResp(Command.submit_sm_resp, Status.ESME_ROK, seq, 'm'));
    this.held = [];
  }

  reset(): void {
    if (this.timer) clearTimeout(this.timer);
    this.arrivals = [];
    this.first = 0;
    this.held = [];
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    return new Promise((r) => this.server.close(() => r()));
  }

  arrivedBetween(fromMs: number, toMs: number): number {
    return this.arrivals.filter((t) => t >= fromMs && t < toMs).length;
  }
}

describe('open-loop load generator', () => {
  const STALL_AFTER = 500;
  const STALL = 500;
  let srv: StallingServer;
  beforeAll(async () => {
    srv = new StallingServer(STALL_AFTER, STALL);
    await srv.listen();
  });
  afterAll(async () => {
    await srv.close();
  });

  it('keeps its schedule while the server stalls: sends go on, latency from the scheduled time grows', async () => {
    srv.reset();
    const rate = 2000;
    const phases: string[] = [];
    const r = await runOpenLoop({ port: srv.port, rate, binds: 2, window: 4000, durationMs: 1500, drainMs: 3000, onPhase: (p) => phases.push(p) });
    expect(phases).toEqual(['bound', 'measure', 'stop']);
    // Every scheduled message was sent and answered (the held ones after the stall).
    expect(r.scheduled).toBe(3000);
    expect(r.sent).toBe(3000);
    expect(r.acked).toBe(3000);
    expect(r.ok).toBe(3000);
    expect(r.unacked).toBe(0);
    expect(r.errors).toEqual({});
    // The server saw the offered rate during its stall (≈ 1,000 in 500 ms), as before and after it:
    // the generator did not wait for answers. Generous bounds for a loaded machine.
    const during = srv.arrivedBetween(STALL_AFTER + 50, STALL_AFTER + STALL - 50);
    expect(during).toBeGreaterThan(0.6 * rate * ((STALL - 100) / 1000));
    expect(during).toBeLessThan(1.5 * rate * ((STALL - 100) / 1000));
    // Held messages waited up to the whole stall: p99 and max near 500 ms, the median well below.
    expect(r.latencyMs.p99).toBeGreaterThan(0.8 * STALL);
    expect(r.latencyMs.max).toBeGreaterThan(0.9 * STALL);
    expect(r.latencyMs.p999).toBeGreaterThanOrEqual(r.latencyMs.p99);
    expect(r.latencyMs.p50).toBeLessThan(0.3 * STALL);
    // The generator's own lateness stayed far below the stall (it is not what made latency grow).
    expect(r.sendLagMs.max).toBeLessThan(0.5 * STALL);
    // Answered messages per second ≈ the offered rate (the last answer comes just after the interval).
    expect(r.achievedPerSec).toBeLessThanOrEqual(2000);
    expect(r.achievedPerSec).toBeGreaterThan(1700);
  });

  it('counts a full window against latency: waiting messages are sent late, measured from their schedule', async () => {
    srv.reset();
    // 2 binds × window 50 hold 100 of the ~1,000 messages the stall spans: the rest wait in the generator.
    const r = await runOpenLoop({ port: srv.port, rate: 2000, binds: 2, window: 50, durationMs: 1500, drainMs: 3000 });
    expect(r.acked).toBe(3000);
    expect(r.maxBacklog).toBeGreaterThan(500);
    expect(r.sent).toBe(3000);
    expect(r.sendLagMs.max).toBeGreaterThan(0.5 * STALL);
    expect(r.latencyMs.p99).toBeGreaterThan(0.8 * STALL);
    // Nothing got through the stall beyond the windows.
    expect(srv.arrivedBetween(STALL_AFTER + 50, STALL_AFTER + STALL - 50)).toBeLessThanOrEqual(100);
  });

  it('reports the warm-up messages still unanswered when measuring begins (carried)', async () => {
    // The stall (500–1000 ms after the first submit) spans the measured interval's start at 800 ms:
    // the ~600 messages scheduled from 500 to 800 ms are held when measuring begins.
    srv.reset();
    const straddling = await runOpenLoop({ port: srv.port, rate: 2000, binds: 2, window: 4000, warmupMs: 800, durationMs: 500, drainMs: 3000 });
    expect(straddling.acked).toBe(1000);
    expect(straddling.carried).toBeGreaterThan(400);
    expect(straddling.carried).toBeLessThanOrEqual(1600);
    // Measuring from 300 ms, before the stall: what is in flight at an instant server's pace.
    srv.reset();
    const before = await runOpenLoop({ port: srv.port, rate: 2000, binds: 2, window: 4000, warmupMs: 300, durationMs: 500, drainMs: 3000 });
    expect(before.carried).toBeLessThan(100);
  });

  it('a closed-loop generator, by contrast, stops sending in the stall (coordinated omission)', async () => {
    srv.reset();
    const r = await runLoad({ port: srv.port, binds: 2, window: 50, durationMs: 1500, drainMs: 3000 });
    expect(r.acked).toBeGreaterThan(0);
    expect(srv.arrivedBetween(STALL_AFTER + 50, STALL_AFTER + STALL - 50)).toBeLessThanOrEqual(100);
  });

  it('counts unanswered messages at the end of the drain and rejects a bad rate', async () => {
    const silent = new StallingServer(0, 60_000);
    await silent.listen();
    try {
      const r = await runOpenLoop({ port: silent.port, rate: 1000, binds: 1, window: 1000, durationMs: 200, drainMs: 200 });
      expect(r.sent).toBe(200);
      expect(r.acked).toBe(0);
      expect(r.unacked).toBe(200);
      expect(r.latencyMs.max).toBeGreaterThanOrEqual(200);
    } finally {
      await silent.close();
    }
    await expect(runOpenLoop({ port: 1, rate: 0 })).rejects.toThrow(/rate/);
  });
});

describe('strongestPeriod', () => {
  /** 160 slots of 50 ms (8 s) of 2–3 ms (a fixed pseudo-random jitter), plus `spike` ms every `every` slots. */
  const series = (every: number, spike: number) => {
    let x = 12345;
    const jitter = () => (x = (x * 16807) % 2147483647) / 2147483647;
    return Array.from({ length: 160 }, (_, i) => 2 + jitter() + (every && i % every === 3 ? spike : 0));
  };

  it('finds the period of evenly spaced bad moments', () => {
    const p = strongestPeriod(series(11, 20), 50);
    expect(p?.ms).toBe(550);
    expect(p!.r).toBeGreaterThan(0.5);
  });

  it('is null for a tail without a period, and for a flat or short series', () => {
    // Three bad moments at uneven spacing.
    const lone = series(0, 0).map((v, i) => (i === 17 || i === 61 || i === 130 ? v + 20 : v));
    expect(strongestPeriod(lone, 50)).toBeNull();
    expect(strongestPeriod(series(0, 0), 50)).toBeNull();
    expect(strongestPeriod(new Array(160).fill(3), 50)).toBeNull();
    expect(strongestPeriod([1, 9, 1], 50)).toBeNull();
  });
});
