/**
 * Number portability on a local Redis Cluster (3 masters + 3 replicas; docs/routing.md#the-lookup):
 * the ported-number hashes live in many slots, the lookup goes per slot. A ported number routes to
 * its new network's route and an unported number of the same range keeps the range's: with policy
 * off (the lookup alone, pipelined), and with policy on for commercial traffic (the HGET beside the
 * consent/DND calls of other slots) and OTP traffic (the lookup alone). A --replace import switches
 * the table on the cluster; explain shows the same.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MtRouteSchema } from '../../src/config/routing-schema.js';
import { SmscSchema, type Config } from '../../src/config/schema.js';
import { senderId } from '../../src/domain/sender.js';
import { importFile } from '../../src/import/import-file.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import { Cluster } from 'ioredis';
import { scanKeys } from '../../src/store/redis.js';
import { keySlot } from '../../src/store/slots.js';
import { LocalRedisCluster } from '../helpers/redis-cluster.js';
import { sm, startGateway, waitFor, type GatewayStack } from '../helpers/stack.js';
import { keysMatching } from '../helpers/redis-keys.js';

const PORTED_CU = '8613800000001';
const UNPORTED = '8613800000002';
/** Far from the others: another 4096-number hash, another slot. */
const PORTED_CU_FAR = '8613899990001';
const actor = { who: 'test' };
const ROUTES = [
  { name: 'north', destination_prefix: ['86138', '86139'], group: 'a' },
  { name: 'to-cu', ported_to: 'cu', group: 'b' },
];

let cluster: LocalRedisCluster;
let sims: Simulator[] = [];
const stacks: GatewayStack[] = [];

function onCluster(policy: boolean) {
  return (c: Config): void => {
    c.redis = { ...c.redis, url: 'redis://127.0.0.1', cluster: cluster.seeds, command_timeout_ms: 500, hot_path: 'commands' };
    c.policy.enabled = policy;
    c.downstream.smscs = (['a', 'b'] as const).map((name, i) =>
      SmscSchema.parse({ name, host: '127.0.0.1', port: sims[i]!.port, system_id: 'gw', password: 'pw', binds: 1, window: 100 }),
    );
    c.routes.mt = ROUTES.map((x) => MtRouteSchema.parse(x));
  };
}

/** The short_message texts a simulator received, in order. */
function texts(s: Simulator): string[] {
  return s.received.flatMap((p) => {
    const v = MessageView.parse(p);
    return isScanError(v) || v.commandId !== 4 ? [] : [v.shortMessage.toString('latin1')];
  });
}

async function importPorted(stack: GatewayStack, csv: string, replace = false): Promise<void> {
  const g = stack.gw;
  await importFile('ported', Readable.from([Buffer.from(csv)]), { redis: g.redis, prefix: stack.prefix, numbering: g.cfg.policy.numbering, replace, graceMs: 0, name: 'ported.csv' });
}

beforeAll(async () => {
  cluster = await LocalRedisCluster.start();
  sims = await Promise.all([0, 1].map(() => startSimulator({ port: 0, record: true })));
}, 60_000);

afterAll(async () => {
  for (const s of stacks) {
    const r = s.gw.redis;
    await scanKeys(r, `${s.prefix}*`, async (ks) => void (await Promise.all(ks.map((k) => r.unlink(k))))).catch(() => undefined);
    await s.stop();
  }
  await Promise.all(sims.map((s) => s.close()));
  await cluster?.stop();
});

describe('number portability on Redis Cluster', () => {
  it('policy off: a ported number routes to its new network, an unported one of its range to the range; replace switches on the cluster', async () => {
    const [a, b] = sims as [Simulator, Simulator];
    a.received.length = 0;
    b.received.length = 0;
    const stack = await startGateway(a.port, { cfg: onCluster(false) });
    stacks.push(stack);
    await importPorted(stack, `msisdn,network\n${PORTED_CU},cu\n${PORTED_CU_FAR},cu\n`);
    expect(stack.gw.redis).toBeInstanceOf(Cluster);
    // The two ported numbers' hashes sit in different slots (on different masters, likely).
    const keys = await keysMatching(stack.gw.redis, `${stack.prefix}ported:{r:*`);
    expect(new Set(keys.map(keySlot)).size).toBe(2);
    const esme = await stack.esme('transceiver');
    const send = async (dst: string, text: string) => expect((await esme.submit(sm({ destination_addr: dst, short_message: text }))).status).toBe(0);
    // One event-loop turn of three lookups in different slots, then one at a time.
    await Promise.all([send(PORTED_CU, 'cu-1'), send(UNPORTED, 'range-1'), send(PORTED_CU_FAR, 'cu-far')]);
    await send(PORTED_CU, 'cu-2');
    expect(texts(a)).toEqual(['range-1']);
    expect(texts(b).sort()).toEqual(['cu-1', 'cu-2', 'cu-far']);

    const ex = await stack.gw.decisions.explain({ account: 'esme', source_addr: '10690001', destination_addr: PORTED_CU });
    expect(ex).toMatchObject({ action: 'forward', route: { name: 'to-cu', group: 'b', ported_to: 'cu' }, portability: { network: 'cu', decided: true } });

    // A replace ports UNPORTED and drops PORTED_CU: the gateway follows the switch (pub/sub on the cluster, or its poll).
    const before = stack.gw.policyCheck.ported.current;
    await importPorted(stack, `${UNPORTED},cu\n`, true);
    await waitFor(() => stack.gw.policyCheck.ported.current === before + 1, 7000, 'ported generation switched');
    await send(UNPORTED, 'cu-3');
    await send(PORTED_CU, 'range-2');
    expect(texts(a)).toEqual(['range-1', 'range-2']);
    expect(texts(b).at(-1)).toBe('cu-3');
    const failed = (await stack.gw.metrics.redisErrors.get()).values.filter((v) => v.labels.op === 'ported_lookup' && v.value > 0);
    expect(failed).toEqual([]);
  });

  it('policy on: the HGET beside the commercial check, and alone for OTP traffic, routes a ported number to its new network', async () => {
    const [a, b] = sims as [Simulator, Simulator];
    a.received.length = 0;
    b.received.length = 0;
    const stack = await startGateway(a.port, { cfg: onCluster(true) });
    stacks.push(stack);
    const g = stack.gw;
    for (const [value, cls] of [
      ['8610690001', 'commercial'],
      ['8610690002', 'otp'],
    ] as const) {
      await g.store.putSender({ id: senderId('number', value), kind: 'number', value, account: 'esme', class: cls, status: 'active', signatures: ['ACME'] }, actor);
    }
    await waitFor(() => g.sync.registry.size === 2, 3000, 'senders cached');
    for (const dst of [PORTED_CU, UNPORTED]) await g.store.setConsent(dst, 'brand:ACME', 'granted', actor);
    await importPorted(stack, `${PORTED_CU},cu\n`);
    const esme = await stack.esme('transceiver');
    const send = async (src: string, dst: string, text: string) => expect((await esme.submit(sm({ source_addr: src, destination_addr: dst, short_message: text }))).status).toBe(0);
    await send('8610690001', PORTED_CU, 'mkt-cu');
    await send('8610690001', UNPORTED, 'mkt-range');
    await send('8610690002', PORTED_CU, 'otp-cu');
    await send('8610690002', UNPORTED, 'otp-range');
    expect(texts(a)).toEqual(['mkt-range', 'otp-range']);
    expect(texts(b)).toEqual(['mkt-cu', 'otp-cu']);
  });
});
