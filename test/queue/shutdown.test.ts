/**
 * Graceful shutdown with queued messages in hand: messages waiting for an SMSC bind go back to the
 * queue at once (not after the lock expires), and another instance delivers them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Config } from '../../src/config/schema.js';
import { freePort } from '../../src/sim/free-port.js';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import { REDIS_URL, sm, startGateway, waitFor, type GatewayStack } from '../helpers/stack.js';

const stacks: GatewayStack[] = [];
let sim: Simulator | null = null;
afterEach(async () => {
  for (const s of stacks.splice(0)) await s.stop().catch(() => undefined);
  await sim?.close();
  sim = null;
});

describe('queue shutdown', () => {
  it('returns the messages in hand to the queue, and the next instance delivers them', async () => {
    const smscPort = await freePort();
    const saf = (c: Config) => {
      c.accounts[0]!.queue.store_and_forward = ['no_bind'];
    };
    const a = await startGateway(smscPort, { cfg: saf, waitBinds: false });
    stacks.push(a);
    const esme = await a.esme('transmitter');
    const ids = [];
    for (let i = 0; i < 5; i++) {
      const r = await esme.submit(sm({ short_message: `held ${i}` }));
      expect(r.status).toBe(0);
      ids.push(r.messageId);
    }
    // A client of our own: the gateway's connections close with it.
    const conn = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const stream = `${a.prefix}{q}:s:saf`;
    // Entries taken by a worker and not acknowledged: XPENDING's count.
    const pending = async () => Number(((await conn.xpending(stream, 'workers')) as [number])[0]);
    for (let t = Date.now(); (await pending()) < 5; ) {
      if (Date.now() - t > 3000) throw new Error('messages not taken by the worker');
      await new Promise((r) => setTimeout(r, 50));
    }
    const t0 = Date.now();
    await a.stop();
    stacks.length = 0;
    expect(Date.now() - t0).toBeLessThan(3000); // not the 30 s lock: returned on purpose
    expect(await pending()).toBe(0);
    expect(await conn.xlen(stream)).toBe(5);

    sim = await startSimulator({ port: smscPort, record: true });
    const b = await startGateway(smscPort, {
      cfg: (c) => {
        saf(c);
        c.redis.key_prefix = a.prefix;
      },
    });
    stacks.push(b);
    await waitFor(() => sim!.received.length === 5, 5000, 'the returned jobs at the SMSC');
    // Each comes off the books right after the SMSC's answer, a moment after the simulator has it.
    for (const until = Date.now() + 2000; (await b.gw.queue!.store.depth('esme')) !== 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
    expect(await b.gw.queue!.store.depth('esme')).toBe(0);
    conn.disconnect();
  });
});
