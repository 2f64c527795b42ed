import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '../../bench/loadgen.js';
import { Histogram, bucketOf, boundsOf } from '../../bench/histogram.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { DLT_PE_ID, DLT_TEMPLATE_ID, findTlv } from '../../src/protocol/tlv.js';

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
    expect(r.msgPerSec).toBeGreaterThan(0);
    expect(r.measuredMs).toBeGreaterThanOrEqual(0);
    const l = r.latencyMs;
    expect(l.p50).toBeGreaterThan(0);
    expect(l.p50).toBeLessThanOrEqual(l.p90);
    expect(l.p90).toBeLessThanOrEqual(l.p99);
    expect(l.p99).toBeLessThanOrEqual(l.max);
    expect(l.max).toBeLessThan(5000);
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

  it('answers delivery receipts on a transceiver bind', async () => {
    sim.setBehaviour({ receiptDelayMs: 0 });
    const before = sim.stats.receiptsAcked;
    const r = await runLoad({ port: sim.port, binds: 1, window: 32, durationMs: 300, bindType: 'transceiver', registeredDelivery: 1 });
    expect(r.acked).toBeGreaterThan(0);
    expect(r.errors).toEqual({});
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
