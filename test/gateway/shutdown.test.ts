/**
 * Graceful shutdown (Gateway.stop): stop taking binds and connections, let submits already in
 * flight get their SMSC answers (up to shutdown.drain_timeout_ms), then unbind every ESME, unbind
 * the SMSC links, and close. /readyz says 503 from the moment draining starts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Command } from '../../src/protocol/commands.js';
import { Status } from '../../src/protocol/status.js';
import { connect } from '../helpers/esme-client.js';
import { freePort, PrivateRedis } from '../helpers/private-redis.js';
import { sm, startStack, waitFor, type Stack } from '../helpers/stack.js';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
});

const isUnbind = (p: Buffer) => p.readUInt32BE(4) === Command.unbind;

describe('graceful shutdown', () => {
  it('lets in-flight submits finish, refuses new binds, unbinds bound ESMEs, and /readyz turns 503 while draining', async () => {
    stack = await startStack({
      sim: { responseDelayMs: 300 },
      cfg: (c) => {
        c.shutdown.drain_timeout_ms = 3000;
        c.http.readyz_details = true; // the test reads the checks
      },
    });
    const { gw, sim } = stack;
    const esme = await stack.esme('transceiver');
    const rx = await stack.esme('receiver');
    const unboundEarly = await connect('127.0.0.1', gw.smppPort); // connected before stop, binds during it
    const readyz = () => fetch(`http://127.0.0.1:${gw.httpPort}/readyz`);
    expect((await readyz()).status).toBe(200);

    const N = 25;
    const answeredAt: number[] = [];
    const inFlight = Array.from({ length: N }, (_, i) =>
      esme.submit(sm({ short_message: `in flight ${i}` })).then((r) => {
        answeredAt.push(Date.now());
        return r;
      }),
    );
    await waitFor(() => sim.stats.submits === N, 1000, 'all submits at the SMSC');
    expect(gw.upstream.inFlight).toBe(N);

    // Everything the ESME receives, in arrival order, up to and including the gateway's unbind.
    const arrivals: number[] = [];
    const esmeUnbind = esme.waitFor((p) => {
      arrivals.push(p.readUInt32BE(4));
      return isUnbind(p);
    }, 4000);
    const rxUnbind = rx.waitFor(isUnbind, 4000);
    const t0 = Date.now();
    const stopping = gw.stop();

    // While draining: not ready, no new connections, no new binds on connections already open.
    const r = await readyz();
    expect(r.status).toBe(503);
    const body = (await r.json()) as { checks: Record<string, { ok: boolean }> };
    expect(body.checks.accepting!.ok).toBe(false);
    await expect(connect('127.0.0.1', gw.smppPort)).rejects.toThrow(/ECONNREFUSED/);
    expect(await unboundEarly.bind('transceiver')).toBe(Status.ESME_RBINDFAIL);
    expect(gw.upstream.inFlight).toBeGreaterThan(0); // the refusals above happened during the drain

    // Every submit in flight got the SMSC's answer.
    const results = await Promise.all(inFlight);
    expect(results.map((x) => x.status)).toEqual(Array(N).fill(0));
    expect(new Set(results.map((x) => x.messageId)).size).toBe(N);
    expect(Math.max(...answeredAt) - t0).toBeGreaterThanOrEqual(100); // they really were in flight

    // Then, after every answer, the gateway unbinds the ESMEs (the client answers unbind_resp) and closes them.
    const unbind = await esmeUnbind;
    expect(unbind.readUInt32BE(8)).toBe(0);
    expect(arrivals.filter((c) => c === Command.submit_sm_resp)).toHaveLength(N);
    expect(arrivals.at(-1)).toBe(Command.unbind);
    await rxUnbind;
    await esme.closed;
    await rx.closed;
    await stopping;
    expect(Date.now() - t0).toBeLessThan(3000);
    // SMSC links unbound and gone; HTTP closed.
    expect(gw.pool.boundCount).toBe(0);
    await expect(fetch(`http://127.0.0.1:${gw.httpPort}/readyz`)).rejects.toThrow();
  });

  it('stops within the drain deadline when the SMSC never answers', async () => {
    stack = await startStack({ sim: { blackhole: true }, cfg: (c) => void (c.shutdown.drain_timeout_ms = 300) });
    const esme = await stack.esme('transmitter');
    const lost = Array.from({ length: 5 }, () => esme.submit(sm()).catch((err: unknown) => err));
    await waitFor(() => stack!.sim.stats.submits === 5, 1000, 'submits at the SMSC');
    const t0 = Date.now();
    await stack.gw.stop();
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(1500);
    await esme.closed;
    // Past the deadline the session is unbound with those submits unanswered: the ESME's own
    // response timer decides (the SMSC may or may not deliver them).
    void lost;
  });

  it('stops within bounds while Redis is unreachable, with nothing printed to stderr by the queue', async () => {
    // Nothing listens on this port: every Redis connection (main, pipe, queue, queue workers) keeps failing.
    const port = await freePort();
    const printed = vi.spyOn(console, 'error');
    try {
      stack = await startStack({
        cfg: (c) => {
          c.redis.url = `redis://127.0.0.1:${port}`;
          c.policy.enabled = true;
        },
      });
      expect((await stack.gw.readiness()).ready).toBe(false);
      const t0 = Date.now();
      await stack.gw.stop();
      // The queue workers get an SMSC response's timeout (1 s here) and a second, then close by force.
      expect(Date.now() - t0).toBeLessThan(4000);
      expect(printed).not.toHaveBeenCalled();
    } finally {
      printed.mockRestore();
    }
  }, 20_000);

  it('stops within bounds when Redis stops answering (frozen: connections open, no replies)', async () => {
    const redis = await PrivateRedis.start();
    try {
      stack = await startStack({
        cfg: (c) => {
          c.redis.url = redis.url;
          c.policy.enabled = true;
        },
      });
      expect((await stack.gw.readiness()).ready).toBe(true);
      redis.freeze();
      const t0 = Date.now();
      await stack.gw.stop();
      expect(Date.now() - t0).toBeLessThan(4000);
    } finally {
      await redis.stop();
    }
  }, 20_000);

  it('stops promptly when idle and a second stop() is the same stop', async () => {
    stack = await startStack();
    await stack.esme('transceiver');
    const t0 = Date.now();
    const a = stack.gw.stop();
    const b = stack.gw.stop();
    expect(a).toBe(b);
    await a;
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
