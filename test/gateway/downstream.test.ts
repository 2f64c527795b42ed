/**
 * The SMSC face: TLS links, throughput per SMSC, reconnect backoff.
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { backoffMs } from '../../src/downstream/smsc-link.js';
import { sm, startStack, type Stack } from '../helpers/stack.js';

const TLS_DIR = new URL('../fixtures/tls/', import.meta.url);

let stack: Stack | null = null;
let tlsProxy: TlsServer | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
  tlsProxy?.close();
  tlsProxy = null;
});

/** A TLS terminator in front of the simulator (as stunnel would stand in front of an SMSC). */
function tlsFront(targetPort: number): Promise<number> {
  return new Promise((resolve) => {
    tlsProxy = createTlsServer(
      { key: readFileSync(new URL('smsc.key', TLS_DIR)), cert: readFileSync(new URL('smsc.crt', TLS_DIR)) },
      (clear) => {
        const up: Socket = netConnect(targetPort, '127.0.0.1');
        clear.pipe(up).pipe(clear);
        clear.on('error', () => up.destroy());
        up.on('error', () => clear.destroy());
      },
    );
    tlsProxy.listen(0, '127.0.0.1', () => resolve((tlsProxy!.address() as { port: number }).port));
  });
}

describe('SMSC links', () => {
  it('binds over TLS, verifying the SMSC certificate against the configured CA', async () => {
    let port = 0;
    stack = await startStack({
      smscPort: async (simPort: number) => (port = await tlsFront(simPort)),
      cfg: (c) => {
        c.downstream.smscs[0]!.tls = { ca: new URL('smsc.crt', TLS_DIR).pathname, reject_unauthorized: true, servername: 'smsc.test' };
      },
    });
    expect(port).toBeGreaterThan(0);
    const esme = await stack.esme('transmitter');
    expect((await esme.submit(sm())).status).toBe(0);
  });

  it('holds each SMSC to its throughput (token bucket shared by its binds)', async () => {
    stack = await startStack({
      cfg: (c) => {
        c.downstream.smscs[0]!.tps = 20;
        c.downstream.response_timeout_ms = 3000;
      },
    });
    const esme = await stack.esme('transmitter');
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 30 }, () => esme.submit(sm())));
    const took = Date.now() - t0;
    expect(results.every((r) => r.status === 0)).toBe(true);
    // Burst of tps/10 = 2, then 20/s: 28 more need about 1.4 s; unlimited would take a few ms.
    expect(took).toBeGreaterThan(1100);
    expect(took).toBeLessThan(2900);
  });

  it('fails what waited for throughput longer than the response timeout with 0x08', async () => {
    stack = await startStack({ cfg: (c) => void (c.downstream.smscs[0]!.tps = 20) }); // timeout 1000 ms
    const esme = await stack.esme('transmitter');
    const results = await Promise.all(Array.from({ length: 40 }, () => esme.submit(sm())));
    const ok = results.filter((r) => r.status === 0).length;
    expect(ok).toBeGreaterThanOrEqual(18);
    expect(ok).toBeLessThanOrEqual(26);
    expect(results.filter((r) => r.status === 0x08).length).toBe(40 - ok);
  });

  it('spreads submits over the binds', async () => {
    stack = await startStack();
    const esme = await stack.esme('transmitter');
    await Promise.all(Array.from({ length: 40 }, () => esme.submit(sm())));
    const out = (await stack.gw.metrics.text()).split('\n');
    expect(stack.gw.pool.links).toHaveLength(2);
    expect(out.some((l) => l.startsWith('smppguard_smsc_response_seconds_count{smsc="sim"} 40'))).toBe(true);
  });
});

describe('reconnect backoff', () => {
  it('doubles from the initial delay up to the maximum, jittered to 50–100 %', () => {
    const top = () => 1 - Number.EPSILON;
    expect([0, 1, 2, 3, 10].map((n) => backoffMs(n, 500, 30_000, top))).toEqual([500, 1000, 2000, 4000, 30_000]);
    expect(backoffMs(3, 500, 30_000, () => 0)).toBe(2000);
    for (let i = 0; i < 100; i++) {
      const d = backoffMs(4, 500, 30_000);
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });
});
