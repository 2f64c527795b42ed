/**
 * The SMSC pool over in-memory links with a manual clock: which link carries a request (bound
 * links with window room taking turns by event-loop turn), the per-SMSC throughput bucket, the bounded
 * queue of parked requests and what fails them, and the counts the metrics read.
 */
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { Command } from '../../src/protocol/commands.js';
import { encodeEmpty } from '../../src/protocol/encode.js';
import { Status } from '../../src/protocol/status.js';
import { ManualClock } from '../../src/session/clock.js';
import { SmscPool } from '../../src/downstream/smsc-pool.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { head, settle, silentLog, valueOf, type Peer } from '../helpers/fake-link.js';
import { submitPdu, submitResp } from '../helpers/pdus.js';
import { acceptBind, dialler } from './helpers.js';

type Smsc = { name: string; binds?: number; window?: number; tps?: number; bind_batch?: number };

function rig(smscs: Smsc[], downstream: { response_timeout_ms?: number; max_pending?: number } = {}) {
  const cfg = ConfigSchema.parse({
    downstream: {
      response_timeout_ms: 1000,
      reconnect_initial_ms: 100,
      reconnect_max_ms: 100,
      ...downstream,
      smscs: smscs.map((s, i) => ({ port: 3000 + i, system_id: 'gw', password: 'pw', ...s })),
    },
  });
  const clock = new ManualClock(0);
  const metrics = new Metrics(false);
  const { dial, dials } = dialler();
  let changes = 0;
  const pool = new SmscPool(cfg, {
    metrics,
    log: silentLog(),
    clock,
    onDeliver: () => undefined,
    onLinkChange: () => void changes++,
    dial,
  });
  const results: { tag: string; status: number; resp: Buffer | null }[] = [];
  const submit = (tag: string, seq = 1) =>
    pool.submit(submitPdu(seq, { short_message: tag }), (resp, status) => void results.push({ tag, status, resp: resp && Buffer.from(resp) }));
  return {
    pool,
    clock,
    metrics,
    dials,
    results,
    submit,
    get changes() {
      return changes;
    },
    /** Starts every link and binds those listed (by index; default all). */
    async start(bind?: number[]) {
      pool.start();
      for (const [i, d] of dials.entries()) if (!bind || bind.includes(i)) await acceptBind(d);
      return dials.map((d) => d.smsc);
    },
  };
}

/** Answers every submit the SMSC has received, ESME_ROK; returns their tags. */
function answerAll(smsc: Peer): string[] {
  const got = smsc.take();
  for (const p of got) smsc.send(submitResp(head(p).sequence, 0, `id-${head(p).sequence}`));
  return got.map(textOf);
}

function textOf(p: Buffer): string {
  // submitPdu puts short_message last (no TLVs): sm_length then the text.
  let i = p.length;
  while (i > 16 && p.length - i !== p[i - 1]) i--;
  return p.subarray(i).toString('latin1');
}

describe('SmscPool: choosing a link', () => {
  it('answers ESME_RSYSERR at once when no link is bound', async () => {
    const r = rig([{ name: 'a' }]);
    r.pool.start();
    r.submit('m1');
    expect(r.results).toEqual([{ tag: 'm1', status: Status.ESME_RSYSERR, resp: null }]);
    expect(r.pool.pendingCount).toBe(0);
  });

  it('spreads requests over the bound links of every SMSC, one link of each SMSC taking an event-loop turn', async () => {
    const r = rig([
      { name: 'a', binds: 2 },
      { name: 'b', binds: 1 },
    ]);
    const [a0, a1, b0] = await r.start();
    expect(r.pool.links.map((l) => l.name)).toEqual(['a#0', 'a#1', 'b#0']);
    expect(r.pool.boundCount).toBe(3);
    // Three turns of three: the SMSCs interleave by weight (a has two binds, b one) within a turn;
    // a's requests of one turn go on one of its binds (one socket write), the next turn on the other.
    const turns: string[][][] = [];
    for (let t = 0; t < 3; t++) {
      for (let i = 1; i <= 3; i++) r.submit(`t${t}m${i}`);
      await settle();
      turns.push([a0!, a1!, b0!].map((s) => s.take().map(textOf)));
    }
    for (const [a0Got, a1Got, bGot] of turns) {
      expect(bGot).toHaveLength(1);
      expect([a0Got.length, a1Got.length].sort()).toEqual([0, 2]);
    }
    expect(turns.map((t) => (t[0]!.length > 0 ? 'a#0' : 'a#1'))).toEqual(['a#1', 'a#0', 'a#1']);
    expect(r.pool.inFlightBySmsc()).toEqual(new Map([['a', 6], ['b', 3]]));
  });

  it('moves to the next bind after 32 requests in a turn, and when the bind has no window room', async () => {
    const r = rig([{ name: 'a', binds: 3, window: 40 }]);
    const links = await r.start();
    const taken = () => links.map((s) => s!.take().length);
    // One turn of 100: 32 a bind, the last 4 on the next bind again.
    for (let i = 1; i <= 100; i++) r.submit(`m${i}`, i);
    await settle();
    expect(taken()).toEqual([32, 36, 32]);
    // The next turn: what room is left (40 a bind) takes 20, the other 100 wait for room.
    for (let i = 101; i <= 220; i++) r.submit(`m${i}`, i);
    await settle();
    expect(taken()).toEqual([8, 4, 8]);
    expect(r.pool.pendingCount).toBe(100);
  });

  it('bind_batch 1: every request to the next bind (strict round-robin)', async () => {
    const r = rig([{ name: 'a', binds: 3, bind_batch: 1 }]);
    const links = await r.start();
    for (let i = 1; i <= 6; i++) r.submit(`m${i}`, i);
    await settle();
    expect(links.map((s) => s!.take().map(textOf))).toEqual([
      ['m3', 'm6'],
      ['m1', 'm4'],
      ['m2', 'm5'],
    ]);
  });

  it('skips links that are not bound', async () => {
    const r = rig([{ name: 'a', binds: 3 }]);
    const smscs = await r.start([1]);
    expect(r.pool.boundCount).toBe(1);
    for (let i = 1; i <= 4; i++) r.submit(`m${i}`);
    await settle();
    expect(smscs.map((s) => s.take().map(textOf))).toEqual([[], ['m1', 'm2', 'm3', 'm4'], []]);
  });

  it("hands back the SMSC's response to the request's callback", async () => {
    const r = rig([{ name: 'a' }]);
    const [a] = await r.start();
    r.submit('m1');
    await settle();
    expect(answerAll(a!)).toEqual(['m1']);
    await settle();
    expect(r.results).toHaveLength(1);
    expect(r.results[0]!.status).toBe(0);
    expect(head(r.results[0]!.resp!)).toMatchObject({ command: Command.submit_sm_resp, status: 0 });
  });
});

describe('SmscPool: parking', () => {
  it('parks requests while every window is full and sends them in order as answers free room', async () => {
    const r = rig([{ name: 'a', window: 2 }]);
    const [a] = await r.start();
    for (let i = 1; i <= 5; i++) r.submit(`m${i}`);
    await settle();
    expect(r.pool.pendingCount).toBe(3);
    expect(answerAll(a!)).toEqual(['m1', 'm2']);
    await settle();
    expect(answerAll(a!)).toEqual(['m3', 'm4']);
    await settle();
    expect(answerAll(a!)).toEqual(['m5']);
    await settle();
    expect(r.results.map((x) => [x.tag, x.status])).toEqual([1, 2, 3, 4, 5].map((i) => [`m${i}`, 0]));
    expect(r.pool.pendingCount).toBe(0);
  });

  it('fails a parked request with ESME_RSYSERR once it has waited response_timeout_ms', async () => {
    const r = rig([{ name: 'a', window: 1 }], { response_timeout_ms: 1000 });
    const [a] = await r.start();
    r.submit('m1');
    r.submit('m2');
    await settle();
    expect(a!.take()).toHaveLength(1);
    r.clock.advance(999);
    expect(r.results).toEqual([]);
    r.clock.advance(1); // m2 has waited its 1000 ms in the pool
    expect(r.results.map((x) => [x.tag, x.status])).toEqual([['m2', Status.ESME_RSYSERR]]);
    r.clock.advance(1); // m1's response is overdue in the link's window
    expect(r.results.map((x) => [x.tag, x.status])).toEqual([
      ['m2', Status.ESME_RSYSERR],
      ['m1', Status.ESME_RSYSERR],
    ]);
    expect(r.pool.pendingCount).toBe(0);
  });

  it('refuses with ESME_RTHROTTLED beyond max_pending parked requests', async () => {
    const r = rig([{ name: 'a', window: 1 }], { max_pending: 2 });
    await r.start();
    for (let i = 1; i <= 5; i++) r.submit(`m${i}`);
    expect(r.pool.pendingCount).toBe(2);
    expect(r.results.map((x) => [x.tag, x.status])).toEqual([
      ['m4', Status.ESME_RTHROTTLED],
      ['m5', Status.ESME_RTHROTTLED],
    ]);
  });

  it('fails everything parked with ESME_RSYSERR when the last link goes down', async () => {
    const r = rig([{ name: 'a', window: 1 }]);
    const [a] = await r.start();
    for (let i = 1; i <= 3; i++) r.submit(`m${i}`);
    a!.stream.destroy();
    await settle();
    expect(r.results.map((x) => [x.tag, x.status])).toEqual([
      ['m1', Status.ESME_RSYSERR],
      ['m2', Status.ESME_RSYSERR],
      ['m3', Status.ESME_RSYSERR],
    ]);
    expect(r.pool.pendingCount).toBe(0);
    expect(r.pool.boundCount).toBe(0);
  });

  it('when one link goes down, its requests fail and the parked ones go on the link still up', async () => {
    const r = rig([{ name: 'a', window: 1, binds: 2 }]);
    const [a0, a1] = await r.start();
    for (let i = 1; i <= 3; i++) r.submit(`m${i}`);
    await settle();
    const onA0 = a0!.take().map(textOf);
    const onA1 = a1!.take();
    expect([...onA0, ...onA1.map(textOf)].sort()).toEqual(['m1', 'm2']);
    a0!.stream.destroy();
    await settle();
    expect(r.results.map((x) => [x.tag, x.status])).toEqual([[onA0[0], Status.ESME_RSYSERR]]);
    expect(r.pool.pendingCount).toBe(1);
    a1!.send(submitResp(head(onA1[0]!).sequence, 0, 'x'));
    await settle();
    expect(a1!.take().map(textOf)).toEqual(['m3']);
    expect(r.pool.pendingCount).toBe(0);
  });
});

describe('SmscPool: throughput', () => {
  it("holds each SMSC to its tps, shared by its binds, with a tenth of a second's burst", async () => {
    const r = rig([{ name: 'a', binds: 2, tps: 20 }]);
    const [a0, a1] = await r.start();
    for (let i = 1; i <= 6; i++) r.submit(`m${i}`);
    await settle();
    const sent = () => [...a0!.take(), ...a1!.take()].map(textOf).sort();
    expect(sent()).toEqual(['m1', 'm2']); // burst: 20/10 = 2
    r.clock.advance(49);
    await settle();
    expect(sent()).toEqual([]);
    r.clock.advance(1); // 50 ms at 20/s: one more token
    await settle();
    expect(sent()).toEqual(['m3']);
    r.clock.advance(150);
    await settle();
    expect(sent()).toEqual(['m4', 'm5', 'm6']);
  });

  it('does not let one SMSC’s bucket hold back another', async () => {
    const r = rig([
      { name: 'slow', tps: 1 },
      { name: 'fast', tps: 0 },
    ]);
    const [slow, fast] = await r.start();
    for (let i = 1; i <= 4; i++) r.submit(`m${i}`);
    await settle();
    // The slow SMSC takes its one token's worth; the rest go to the fast one at once.
    expect([slow!.take().length, fast!.take().length]).toEqual([1, 3]);
    expect(r.pool.pendingCount).toBe(0);
  });
});

describe('SmscPool: state', () => {
  it('tells the owner when links change, and the metrics read in-flight and parked counts at scrape time', async () => {
    const r = rig([{ name: 'a', window: 1 }]);
    await r.start();
    expect(r.changes).toBeGreaterThan(0);
    r.submit('m1');
    r.submit('m2');
    await r.metrics.registry.metrics();
    expect(await valueOf(r.metrics.smscInFlight, { smsc: 'a' })).toBe(1);
    expect(await valueOf(r.metrics.pendingSubmits)).toBe(1);
  });

  it('stop() unbinds every link and none reconnects', async () => {
    const r = rig([{ name: 'a', binds: 2 }]);
    const smscs = await r.start();
    for (const s of smscs) {
      s.stream.on('data', () => {
        for (const p of s.take()) if (head(p).command === Command.unbind) s.send(encodeEmpty(Command.unbind_resp, 0, head(p).sequence));
      });
    }
    await r.pool.stop(500);
    expect(r.pool.links.map((l) => l.state)).toEqual(['STOPPED', 'STOPPED']);
    for (const s of smscs) expect(s.isClosed).toBe(true);
    r.clock.advance(10_000);
    expect(r.dials).toHaveLength(2);
  });
});
