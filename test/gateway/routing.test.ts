/**
 * MT routing end to end with three simulated SMSCs on loopback: prefix routes, weights, priority
 * failover and failback without losing or duplicating an acknowledged message, retry on another
 * SMSC, no route, and receipts reaching the ESME whatever SMSC a message left by.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MtRouteSchema, SmscGroupSchema } from '../../src/config/routing-schema.js';
import { SmscSchema, type Config } from '../../src/config/schema.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import { sm, startGateway, waitFor, type GatewayStack } from '../helpers/stack.js';
import { valueOf } from '../helpers/fake-link.js';

let sims: Simulator[] = [];
let stack: GatewayStack | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});

type Routing = { groups?: unknown[]; routes?: unknown[]; cfg?: (c: Config) => void };

/** Three simulators a, b, c and a gateway with one bind to each and the given groups and routes. */
async function rig(r: Routing, simOpts: { receiptDelayMs?: number } = {}): Promise<{ a: Simulator; b: Simulator; c: Simulator }> {
  sims = await Promise.all([0, 1, 2].map(() => startSimulator({ port: 0, record: true, receiptDelayMs: simOpts.receiptDelayMs ?? 20 })));
  const [a, b, c] = sims as [Simulator, Simulator, Simulator];
  stack = await startGateway(a.port, {
    cfg: (cfg) => {
      cfg.downstream.smscs = (['a', 'b', 'c'] as const).map((name, i) =>
        SmscSchema.parse({ name, host: '127.0.0.1', port: sims[i]!.port, system_id: 'gw', password: 'pw', binds: 1, window: 100 }),
      );
      cfg.downstream.groups = (r.groups ?? []).map((g) => SmscGroupSchema.parse(g));
      cfg.routes.mt = (r.routes ?? []).map((x) => MtRouteSchema.parse(x));
      r.cfg?.(cfg);
    },
  });
  return { a, b, c };
}

/** The short_message texts a simulator received, in order. */
function texts(s: Simulator): string[] {
  return s.received.flatMap((p) => {
    const v = MessageView.parse(p);
    return isScanError(v) || v.commandId !== 4 ? [] : [v.shortMessage.toString('latin1')];
  });
}

describe('MT routes', () => {
  it('send each destination prefix to its SMSC; the longest prefix wins; no route answers 0x0B', async () => {
    const { a, b, c } = await rig({
      routes: [
        { name: 'cn', destination_prefix: '86', group: 'a' },
        { name: 'cn-139', destination_prefix: ['86139', '86150'], group: 'b' },
        { name: 'uk', destination_prefix: '44', group: 'c' },
      ],
    });
    const esme = await stack!.esme('transceiver');
    const sent = [
      ['8613800000001', 'to-a'],
      ['8613900000001', 'to-b'],
      ['+8615000000001', 'to-b-2'],
      ['447700900001', 'to-c'],
    ];
    for (const [dst, text] of sent) expect((await esme.submit(sm({ destination_addr: dst!, short_message: text! }))).status).toBe(0);
    // National form: normalised with the numbering plan (country code 86) before matching.
    expect((await esme.submit(sm({ dest_addr_ton: 2, destination_addr: '13900000002', short_message: 'to-b-3' }))).status).toBe(0);
    const none = await esme.submit(sm({ destination_addr: '33612345678', short_message: 'nowhere' }));
    expect(none.status).toBe(0x0b);
    expect(texts(a)).toEqual(['to-a']);
    expect(texts(b)).toEqual(['to-b', 'to-b-2', 'to-b-3']);
    expect(texts(c)).toEqual(['to-c']);
    const m = stack!.gw.metrics;
    await m.registry.metrics();
    expect(await valueOf(m.decisions, { account: 'esme', action: 'reject', reason: 'no_route' })).toBe(1);
    const text = await m.text();
    expect(text).toMatch(/smppguard_route_messages_total\{route="cn-139",smsc="b",status="ESME_ROK"\} 3/);
    expect(text).toMatch(/smppguard_route_seconds_count\{route="uk"\} 1/);
    // explain names the route and why, or no_route.
    const ex = await stack!.gw.decisions.explain({ account: 'esme', source_addr: '10690001', destination_addr: '8613900000001' });
    expect(ex).toMatchObject({ action: 'forward', route: { name: 'cn-139', group: 'b' } });
    expect(ex.trace.at(-1)).toBe('route cn-139 (order 0, destination prefix of 5 digits) → group b; also matched at this order: cn');
    expect(await stack!.gw.decisions.explain({ account: 'esme', source_addr: '10690001', destination_addr: '33612345678' })).toMatchObject({
      action: 'reject',
      reason: 'no_route',
      status: 0x0b,
      route: null,
    });
  });

  it('the no-route status is configurable; an account route outranks by order', async () => {
    await rig({
      routes: [
        { name: 'other-first', order: -1, account: 'other', group: 'c' },
        { name: 'cn', destination_prefix: '86', group: 'a' },
      ],
      cfg: (c) => void (c.routes.no_route_status = 0x45),
    });
    const esme = await stack!.esme('transceiver');
    expect((await esme.submit(sm({ destination_addr: '4912345' }))).status).toBe(0x45);
    const other = await stack!.esme('transceiver', 'other');
    expect((await other.submit(sm({ short_message: 'o' }))).status).toBe(0);
    expect(texts(sims[2]!)).toEqual(['o']);
  });
});

describe('SMSC groups', () => {
  it('weight 3:1 gives 3:1 (±5 %) over 4,000 messages', async () => {
    const { a, b } = await rig({
      groups: [{ name: 'cn', members: [{ smsc: 'a', weight: 3 }, { smsc: 'b', weight: 1 }] }],
      routes: [{ name: 'all', group: 'cn' }],
    });
    const esme = await stack!.esme('transceiver');
    for (let i = 0; i < 4000; i += 100) {
      const rs = await Promise.all(Array.from({ length: 100 }, (_, k) => esme.submit(sm({ short_message: `m${i + k}` }))));
      expect(rs.every((r) => r.status === 0)).toBe(true);
    }
    const [na, nb] = [a.stats.submits, b.stats.submits];
    expect(na + nb).toBe(4000);
    expect(na / nb).toBeGreaterThan(3 * 0.95);
    expect(na / nb).toBeLessThan(3 * 1.05);
  });

  it('fails over to the next priority when the primary goes down and back when it returns: nothing acknowledged lost, nothing twice', async () => {
    const { a, b } = await rig({
      groups: [{ name: 'cn', members: [{ smsc: 'a', priority: 1 }, { smsc: 'b', priority: 2 }] }],
      routes: [{ name: 'all', group: 'cn' }],
    });
    const esme = await stack!.esme('transceiver');
    const acked: string[] = [];
    let n = 0;
    let running = true;
    const traffic = (async () => {
      while (running) {
        const batch = Array.from({ length: 20 }, () => `m${n++}`);
        const rs = await Promise.all(batch.map((t) => esme.submit(sm({ short_message: t }))));
        rs.forEach((r, i) => r.status === 0 && acked.push(batch[i]!));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await waitFor(() => a.stats.submits > 200, 5000, 'traffic on the primary');
    expect(b.stats.submits).toBe(0);
    a.dropLinks({ refuseMs: 600 });
    await waitFor(() => b.stats.submits > 200, 5000, 'traffic on the backup');
    const m = stack!.gw.metrics;
    await m.registry.metrics();
    expect(await valueOf(m.routing.groupOnBackup, { group: 'cn' })).toBe(1);
    const aBefore = a.stats.submits;
    await waitFor(() => a.stats.submits > aBefore + 200, 5000, 'failback to the primary');
    running = false;
    await traffic;
    await m.registry.metrics();
    expect(await valueOf(m.routing.groupOnBackup, { group: 'cn' })).toBe(0);
    expect(await valueOf(m.routing.failovers, { group: 'cn', reason: 'down' })).toBeGreaterThan(0);
    const got = [...texts(a), ...texts(b)];
    // Every acknowledged message reached an SMSC exactly once.
    const count = new Map<string, number>();
    for (const t of got) count.set(t, (count.get(t) ?? 0) + 1);
    expect(acked.filter((t) => count.get(t) !== 1)).toEqual([]);
    expect([...count.values()].every((k) => k === 1)).toBe(true);
    expect(acked.length).toBeGreaterThan(600);
  });

  it('tries a message refused with 0x58 once on another SMSC of the group, never twice on the same one', async () => {
    const { a, b, c } = await rig({
      groups: [{ name: 'cn', members: [{ smsc: 'a' }, { smsc: 'b', priority: 2 }], retry_on: [0x58] }],
      routes: [{ name: 'all', group: 'cn' }],
    });
    a.setBehaviour({ errorStatus: 0x58, errorRatio: 1 });
    const esme = await stack!.esme('transceiver');
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => esme.submit(sm({ short_message: `r${i}` }))));
    expect(rs.map((r) => r.status)).toEqual(Array(10).fill(0));
    expect(texts(a).sort()).toEqual(texts(b).sort());
    expect(texts(b)).toHaveLength(10);
    expect(c.stats.submits).toBe(0);
    const m = stack!.gw.metrics;
    expect(await valueOf(m.routing.retries, { group: 'cn', from: 'a', to: 'b' })).toBe(10);
    // With the other member refusing too, the ESME gets the second answer: still once per SMSC.
    b.setBehaviour({ errorStatus: 0x58, errorRatio: 1 });
    expect((await esme.submit(sm({ short_message: 'both' }))).status).toBe(0x58);
    expect(texts(a).filter((t) => t === 'both')).toHaveLength(1);
    expect(texts(b).filter((t) => t === 'both')).toHaveLength(1);
  });

  it('sets a member aside after failover_after failover_on answers in a row', async () => {
    const { a, b } = await rig({
      groups: [{ name: 'cn', members: [{ smsc: 'a' }, { smsc: 'b', priority: 2 }], failover_on: [0x14], failover_after: 3, hold_down_s: 60 }],
      routes: [{ name: 'all', group: 'cn' }],
    });
    a.setBehaviour({ errorStatus: 0x14, errorRatio: 1 });
    const esme = await stack!.esme('transceiver');
    const rs: number[] = [];
    for (let i = 0; i < 6; i++) rs.push((await esme.submit(sm({ short_message: `f${i}` }))).status);
    expect(rs).toEqual([0x14, 0x14, 0x14, 0, 0, 0]);
    expect(texts(b)).toEqual(['f3', 'f4', 'f5']);
    const m = stack!.gw.metrics;
    await m.registry.metrics();
    expect(await valueOf(m.routing.memberHeldDown, { group: 'cn', smsc: 'a' })).toBe(1);
  });

  it('receipts reach the ESME that sent the message whichever route and SMSC it took', async () => {
    await rig({
      routes: [
        { name: 'esme-via-a', account: 'esme', group: 'a' },
        { name: 'other-via-b', account: 'other', group: 'b' },
        { name: 'esme-uk-via-c', account: 'esme', destination_prefix: '44', group: 'c' },
      ],
    });
    const e = await stack!.esme('transceiver');
    const o = await stack!.esme('transceiver', 'other');
    const r1 = await e.submit(sm({ registered_delivery: 1, short_message: 'e1' }));
    const r2 = await o.submit(sm({ registered_delivery: 1, short_message: 'o1' }));
    const r3 = await e.submit(sm({ registered_delivery: 1, destination_addr: '447700900001', short_message: 'e2' }));
    expect([r1.status, r2.status, r3.status]).toEqual([0, 0, 0]);
    expect(sims.map((s) => texts(s))).toEqual([['e1'], ['o1'], ['e2']]);
    const ed = await e.waitDeliveries(2, 3000);
    const od = await o.waitDeliveries(1, 3000);
    const quoted = (ds: typeof ed) => ds.map((d) => /id:(\S+)/.exec(d.view.shortMessage.toString('latin1'))![1]).sort();
    expect(quoted(ed)).toEqual([r1.messageId, r3.messageId].sort());
    expect(quoted(od)).toEqual([r2.messageId]);
  });
});
