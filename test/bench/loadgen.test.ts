import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad, type LoadResult } from '../../bench/loadgen.js';
import { Histogram, bucketOf, boundsOf } from '../../bench/histogram.js';
import { rulesClock } from '../../bench/policy-scenario.js';
import { minuteOfDay } from '../../src/domain/time.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { DLT_PE_ID, DLT_TEMPLATE_ID, findTlv } from '../../src/protocol/tlv.js';

/** msg/s is the answers of the measured interval over its length (which the result gives rounded to 1 ms). */
function expectRateMatches(r: LoadResult): void {
  const lo = (r.acked * 1000) / (r.measuredMs + 0.5);
  const hi = (r.acked * 1000) / Math.max(0.001, r.measuredMs - 0.5);
  expect(r.msgPerSec).toBeGreaterThanOrEqual(Math.floor(lo));
  expect(r.msgPerSec).toBeLessThanOrEqual(Math.ceil(hi));
}

describe('bench load generator against the simulator', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, httpPort: null, record: true });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('sends exactly `count` submits, all answered, with sane figures', async () => {
    const phases: string[] = [];
    const r = await runLoad({ port: sim.port, binds: 2, window: 64, count: 2000, onPhase: (p) => phases.push(p) });
    expect(r.sent).toBe(2000);
    expect(r.acked).toBe(2000);
    expect(r.ok).toBe(2000);
    expect(r.errors).toEqual({});
    expect(r.unacked).toBe(0);
    expect(r.closedEarly).toBe(0);
    // No warm-up: the whole run is the measured interval.
    expect([r.totalSent, r.totalAcked]).toEqual([2000, 2000]);
    expect(r.measuredMs).toBeGreaterThan(0);
    expectRateMatches(r);
    const l = r.latencyMs;
    expect(l.p50).toBeGreaterThan(0);
    expect(l.p50).toBeLessThanOrEqual(l.p90);
    expect(l.p90).toBeLessThanOrEqual(l.p99);
    expect(l.p99).toBeLessThanOrEqual(l.max);
    expect(l.mean).toBeGreaterThan(0);
    expect(l.mean).toBeLessThanOrEqual(l.max);
    // In count mode every submit is sent and answered inside the measured interval.
    expect(l.max).toBeLessThanOrEqual(r.measuredMs + 1);
    expect(phases).toEqual(['bound', 'measure', 'stop']);
    expect(sim.stats.submits).toBeGreaterThanOrEqual(2000);
  });

  it('sends well-formed submits with varying destinations, unique sequences and the DLT TLVs', async () => {
    sim.received.length = 0;
    const r = await runLoad({ port: sim.port, binds: 1, window: 16, count: 50, peId: '1101000000000001', templateId: '1107000000000042', destCount: 1000 });
    expect(r.acked).toBe(50);
    const got = sim.received.slice(-50);
    expect(got).toHaveLength(50);
    const dests = new Set<string>();
    const seqs = new Set<number>();
    for (const pdu of got) {
      const v = MessageView.parse(pdu);
      if (isScanError(v)) throw new Error(`bad submit: ${v.reason}`);
      expect(v.sourceAddr).toBe('10690000');
      expect(v.destinationAddr).toMatch(/^86138\d{8}$/);
      dests.add(v.destinationAddr);
      seqs.add(pdu.readUInt32BE(12));
      expect(findTlv(v.tlvs, DLT_PE_ID)?.toString()).toBe('1101000000000001');
      expect(findTlv(v.tlvs, DLT_TEMPLATE_ID)?.toString()).toBe('1107000000000042');
    }
    expect(dests.size).toBe(50);
    expect(seqs.size).toBe(50);
  });

  it('varies the text through its variants and starts at the given destination', async () => {
    sim.received.length = 0;
    const text = '【BENCH】活动码{n}，回T退订';
    const r = await runLoad({ port: sim.port, binds: 1, window: 8, count: 40, dataCoding: 8, text, textVariants: 16, textStart: 123_456, destStart: 500, destCount: 1000 });
    expect(r.acked).toBe(40);
    const got = sim.received.slice(-40);
    const texts = new Set<string>();
    const dests: string[] = [];
    for (const pdu of got) {
      const v = MessageView.parse(pdu);
      if (isScanError(v)) throw new Error(`bad submit: ${v.reason}`);
      const t = Buffer.from(v.shortMessage).swap16().toString('utf16le');
      expect(t).toMatch(/^【BENCH】活动码1234(5[6-9]|6\d|7[01])，回T退订$/);
      texts.add(t);
      dests.push(v.destinationAddr);
    }
    expect(texts.size).toBe(16);
    expect(new Set(dests).size).toBe(40);
    expect(dests.every((d) => Number(d.slice(5)) > 500 && Number(d.slice(5)) <= 540)).toBe(true);
  });

  it('answers delivery receipts on a transceiver bind', async () => {
    sim.setBehaviour({ receiptDelayMs: 0 });
    const before = sim.stats.receiptsAcked;
    const r = await runLoad({ port: sim.port, binds: 1, window: 32, durationMs: 300, bindType: 'transceiver', registeredDelivery: 1 });
    expect(r.acked).toBeGreaterThan(0);
    expect(r.errors).toEqual({});
    // Duration mode measures (at least) the requested time; timers never fire early by more than rounding.
    expect(r.measuredMs).toBeGreaterThanOrEqual(299);
    expectRateMatches(r);
    expect(r.deliverSm).toBeGreaterThan(0);
    const acked = sim.stats.receiptsAcked - before;
    expect(acked).toBeGreaterThan(0);
    expect(acked).toBeLessThanOrEqual(r.deliverSm);
  });

  it('fails cleanly when the bind is refused', async () => {
    const strict = await startSimulator({ port: 0, httpPort: null, systemId: 'only', password: 'pw' });
    try {
      await expect(runLoad({ port: strict.port, binds: 1, count: 10, systemId: 'other' })).rejects.toThrow(/bind refused/);
    } finally {
      await strict.close();
    }
  });
});

describe('scenario (d) clock', () => {
  const at = (utc: string) => Date.parse(`2026-11-28T${utc}:00Z`);
  it('keeps the real clock inside the cn-miit window and shifts to 10:00 Beijing outside it', () => {
    expect(rulesClock(at('03:00')).args).toEqual([]); // 11:00 in Shanghai
    const night = rulesClock(at('13:34')); // 21:34 in Shanghai
    expect(night.args).toEqual(['--clock-offset-ms', String((12 * 60 + 26) * 60_000)]);
    expect(minuteOfDay('Asia/Shanghai', at('13:34') + Number(night.args[1]))).toBe(10 * 60);
    expect(rulesClock(at('12:57')).args).not.toEqual([]); // 20:57: less than 5 minutes left
  });
});

describe('latency histogram', () => {
  it('buckets are monotone, contiguous and within 3 %', () => {
    let prev = -1;
    for (const v of [0, 1, 63, 64, 65, 100, 1000, 12_345, 1e6, 2 ** 31 - 2]) {
      const b = bucketOf(v);
      expect(b).toBeGreaterThanOrEqual(prev);
      prev = b;
      const [lo, w] = boundsOf(b);
      expect(v).toBeGreaterThanOrEqual(lo);
      expect(v).toBeLessThan(lo + w);
      if (lo >= 64) expect(w / lo).toBeLessThanOrEqual(1 / 32 + 1e-9);
      else expect(w).toBe(1);
    }
  });

  it('quantiles of a uniform 1..10000 µs sample', () => {
    const h = new Histogram();
    for (let i = 1; i <= 10_000; i++) h.record(i);
    expect(h.quantileUs(0.5)).toBeGreaterThan(4800);
    expect(h.quantileUs(0.5)).toBeLessThan(5200);
    expect(h.quantileUs(0.99)).toBeGreaterThan(9700);
    expect(h.maxUs).toBe(10_000);
  });
});
