/**
 * Number portability end to end (docs/routing.md#number-portability): three simulated SMSCs on
 * loopback, real SMPP over TCP, the real Redis. A ported number goes to its new network's route
 * while an unported number of the same range keeps the range's; with policy off (one pipelined
 * lookup) and on (the lookup rides the policy check, or alone for OTP traffic); an import --replace
 * switches the table under a running gateway; Redis down routes by the original range or fails
 * closed (routes.portability.on_redis_error); explain says which and why.
 */
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { MtRouteSchema } from '../../src/config/routing-schema.js';
import { SmscSchema, type Config } from '../../src/config/schema.js';
import { senderId } from '../../src/domain/sender.js';
import { importFile } from '../../src/import/import-file.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { Status } from '../../src/protocol/status.js';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import { PortedAdmin } from '../../src/store/ported.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { sm, startGateway, waitFor, type GatewayStack } from '../helpers/stack.js';
import { clearKeys } from '../helpers/redis-keys.js';

const PORTED_CU = '8613800000001';
const PORTED_CT = '8613800000003';
const UNPORTED = '8613800000002';
const actor = { who: 'test' };

let sims: Simulator[] = [];
let stack: GatewayStack | null = null;
let privateRedis: PrivateRedis | null = null;
afterEach(async () => {
  // The gateway's queue closes through Redis: bring a stopped private server back first (as store-outage.test.ts does).
  if (privateRedis && stack) {
    await privateRedis.restart();
    await waitFor(() => stack!.gw.redis.status === 'ready', 5000, 'redis reconnect').catch(() => undefined);
  }
  if (stack) {
    const r = stack.gw.redis;
    if (r.status === 'ready') await clearKeys(r, `${stack.prefix}*`);
    await stack.stop();
  }
  stack = null;
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
  await privateRedis?.stop();
  privateRedis = null;
});

/** The original range's route to a, and routes for the networks numbers are ported to: cu → b, ct → c. */
const ROUTES = [
  { name: 'north', destination_prefix: ['86138', '86139'], group: 'a' },
  { name: 'to-cu', ported_to: 'cu', group: 'b' },
  { name: 'to-ct', ported_to: ['ct', 'ctc'], group: 'c' },
];

async function rig(cfg: (c: Config) => void = () => undefined): Promise<{ a: Simulator; b: Simulator; c: Simulator }> {
  sims = await Promise.all([0, 1, 2].map(() => startSimulator({ port: 0, record: true, receiptDelayMs: 20 })));
  stack = await startGateway(sims[0]!.port, {
    cfg: (c) => {
      c.downstream.smscs = (['a', 'b', 'c'] as const).map((name, i) =>
        SmscSchema.parse({ name, host: '127.0.0.1', port: sims[i]!.port, system_id: 'gw', password: 'pw', binds: 1, window: 100 }),
      );
      c.routes.mt = ROUTES.map((x) => MtRouteSchema.parse(x));
      cfg(c);
    },
  });
  return { a: sims[0]!, b: sims[1]!, c: sims[2]! };
}

/** The short_message texts a simulator received, in order. */
function texts(s: Simulator): string[] {
  return s.received.flatMap((p) => {
    const v = MessageView.parse(p);
    return isScanError(v) || v.commandId !== 4 ? [] : [v.shortMessage.toString('latin1')];
  });
}

async function importPorted(csv: string, replace = false): Promise<void> {
  const g = stack!.gw;
  await importFile('ported', Readable.from([Buffer.from(csv)]), { redis: g.redis, prefix: stack!.prefix, numbering: g.cfg.policy.numbering, replace, graceMs: 0, name: 'ported.csv' });
}

describe('number portability routes', () => {
  it('policy off: a ported number goes to its new network, an unported one of the same range to the range; replace switches under traffic; explain says why', async () => {
    const { a, b, c } = await rig();
    await importPorted(`msisdn,network\n${PORTED_CU},cu\n${PORTED_CT},ctc\n`);
    const esme = await stack!.esme('transceiver');
    const send = async (dst: string, text: string) => expect((await esme.submit(sm({ destination_addr: dst, short_message: text }))).status).toBe(0);
    await send(PORTED_CU, 'cu-1');
    await send(UNPORTED, 'range-1');
    await send(PORTED_CT, 'ct-1');
    // National form: normalised before the lookup.
    expect((await esme.submit(sm({ dest_addr_ton: 2, destination_addr: '13800000001', short_message: 'cu-2' }))).status).toBe(0);
    expect(texts(a)).toEqual(['range-1']);
    expect(texts(b)).toEqual(['cu-1', 'cu-2']);
    expect(texts(c)).toEqual(['ct-1']);

    const ex = await stack!.gw.decisions.explain({ account: 'esme', source_addr: '10690001', destination_addr: PORTED_CU });
    expect(ex).toMatchObject({ action: 'forward', route: { name: 'to-cu', group: 'b', ported_to: 'cu' }, portability: { network: 'cu', decided: true } });
    expect(ex.trace).toContain(`number portability: ${PORTED_CU} is in the ported-number table with network cu`);
    expect(ex.trace.at(-1)).toBe("route to-cu (order 0, ported_to cu: the number moved to network cu, so this route beats the original range's) → group b; also matched at this order: north");
    const un = await stack!.gw.decisions.explain({ account: 'esme', source_addr: '10690001', destination_addr: UNPORTED });
    expect(un).toMatchObject({ route: { name: 'north', group: 'a' }, portability: { network: null, decided: false } });
    expect(un.route).not.toHaveProperty('ported_to');
    expect(un.trace).toContain(`number portability: ${UNPORTED} is not in the ported-number table: routed as its original range`);

    // A replace drops PORTED_CU (ported back) and ports UNPORTED to ct: the gateway follows the switch.
    const before = stack!.gw.policyCheck.ported.current;
    await importPorted(`${PORTED_CT},ctc\n${UNPORTED},ct\n`, true);
    await waitFor(() => stack!.gw.policyCheck.ported.current === before + 1, 6000, 'ported generation switched');
    await send(PORTED_CU, 'range-2');
    await send(UNPORTED, 'ct-2');
    expect(texts(a)).toEqual(['range-1', 'range-2']);
    expect(texts(c)).toEqual(['ct-1', 'ct-2']);
    // A single number through the admin store applies from the next message on.
    await new PortedAdmin(stack!.gw.redis, stack!.prefix, 86_400_000).set(PORTED_CU, 'cu', actor);
    await send(PORTED_CU, 'cu-3');
    expect(texts(b)).toEqual(['cu-1', 'cu-2', 'cu-3']);
  });

  it('policy on: the lookup rides the commercial check; OTP traffic (no store call) pays one lookup; both reach the new network', async () => {
    const { a, b } = await rig((c) => {
      c.policy.enabled = true;
    });
    const g = stack!.gw;
    for (const [value, cls] of [
      ['8610690001', 'commercial'],
      ['8610690002', 'otp'],
    ] as const) {
      await g.store.putSender({ id: senderId('number', value), kind: 'number', value, account: 'esme', class: cls, status: 'active', signatures: ['ACME'] }, actor);
    }
    await waitFor(() => g.sync.registry.size === 2, 2000, 'senders cached');
    for (const dst of [PORTED_CU, UNPORTED]) await g.store.setConsent(dst, 'brand:ACME', 'granted', actor);
    await importPorted(`${PORTED_CU},cu\n`);
    const esme = await stack!.esme('transceiver');
    const send = async (src: string, dst: string, text: string) => expect((await esme.submit(sm({ source_addr: src, destination_addr: dst, short_message: text }))).status).toBe(0);
    await send('8610690001', PORTED_CU, 'mkt-cu');
    await send('8610690001', UNPORTED, 'mkt-range');
    await send('8610690002', PORTED_CU, 'otp-cu');
    await send('8610690002', UNPORTED, 'otp-range');
    expect(texts(a)).toEqual(['mkt-range', 'otp-range']);
    expect(texts(b)).toEqual(['mkt-cu', 'otp-cu']);
  });
});

describe('number portability with Redis down', () => {
  async function down(onError: 'original' | 'reject') {
    privateRedis = await PrivateRedis.start();
    const url = privateRedis.url;
    const sims3 = await rig((c) => {
      c.redis.url = url;
      c.routes.portability.on_redis_error = onError;
    });
    await importPorted(`${PORTED_CU},cu\n`);
    const esme = await stack!.esme('transceiver');
    expect((await esme.submit(sm({ destination_addr: PORTED_CU, short_message: 'up' }))).status).toBe(0);
    expect(texts(sims3.b)).toEqual(['up']);
    await privateRedis.stop();
    await waitFor(() => stack!.gw.redis.status !== 'ready', 3000, 'redis seen down');
    return { ...sims3, esme };
  }

  it('on_redis_error: original (the default) routes by the original range; explain says so', async () => {
    const { a, esme } = await down('original');
    expect(stack!.cfg.routes.portability.on_redis_error).toBe('original');
    const t0 = Date.now();
    expect((await esme.submit(sm({ destination_addr: PORTED_CU, short_message: 'down' }))).status).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(texts(a)).toEqual(['down']);
    const ex = await stack!.gw.decisions.explain({ account: 'esme', source_addr: '10690001', destination_addr: PORTED_CU });
    expect(ex).toMatchObject({ action: 'forward', route: { name: 'north' }, portability: { network: null, decided: false, error: expect.any(String) } });
    expect(ex.trace.join('\n')).toMatch(/number portability: the lookup failed \(.*\); routes\.portability\.on_redis_error is original: routed as its original range/);
  });

  it('on_redis_error: reject fails closed with ESME_RSYSERR (store_unavailable, routing/ported); explain says so', async () => {
    const { a, b, esme } = await down('reject');
    expect((await esme.submit(sm({ destination_addr: PORTED_CU, short_message: 'down' }))).status).toBe(Status.ESME_RSYSERR);
    expect((await esme.submit(sm({ destination_addr: UNPORTED, short_message: 'down-2' }))).status).toBe(Status.ESME_RSYSERR);
    expect(texts(a)).toEqual([]);
    expect(texts(b)).toEqual(['up']);
    const ex = await stack!.gw.decisions.explain({ account: 'esme', source_addr: '10690001', destination_addr: PORTED_CU });
    expect(ex).toMatchObject({ action: 'reject', reason: 'store_unavailable', rule: 'routing/ported', status: Status.ESME_RSYSERR, route: null });
    expect(ex.trace.join('\n')).toMatch(/on_redis_error is reject: the message is refused/);
  });
});
