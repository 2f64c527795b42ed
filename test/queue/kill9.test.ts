/**
 * Nothing lost across kill -9. The gateway runs as its own process (the real CLI); with no SMSC
 * reachable, 11,000 messages are queued (store-and-forward). Then the SMSC comes up but answers
 * slowly, so the worker has 1,000 messages in flight and 10,000 still queued when the gateway is
 * killed with SIGKILL. After a restart every message that got ESME_ROK reaches the SMSC; copies
 * sent twice (in flight at the kill) are counted and must stay within the documented bound: the
 * jobs in hand at the crash (queue.concurrency).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import { freePort } from '../../src/sim/free-port.js';
import { connect, type EsmeClient } from '../helpers/esme-client.js';
import { REDIS_URL, processConfig, secretHash, sm, waitFor } from '../helpers/stack.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const TOTAL = 11_000;
const CONCURRENCY = 1000;

const children: ChildProcess[] = [];
let sim: Simulator | null = null;
afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  await sim?.close();
  sim = null;
});

function startGateway(configFile: string, log: string): ChildProcess {
  const fd = openSync(log, 'a');
  const child = spawn(process.execPath, [CLI, 'start', '--config', configFile], { stdio: ['ignore', fd, fd] });
  children.push(child);
  return child;
}

async function bindEsme(port: number): Promise<EsmeClient> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const c = await connect('127.0.0.1', port, { requestTimeoutMs: 10_000 });
      if ((await c.bind('transmitter', 'esme', 'secret')) === 0) return c;
      await c.close();
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error('gateway did not accept a bind within 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('kill -9', () => {
  it('with 10,000 queued and 1,000 in flight: after restart every ESME_ROK message arrives, duplicates within the bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-kill9-'));
    const smscPort = await freePort();
    const smppPort = await freePort();
    const httpPort = await freePort();
    const configFile = join(dir, 'gateway.yaml');
    const prefix = `test:${randomBytes(4).toString('hex')}:`;
    const log = join(dir, 'gateway.log');
    writeFileSync(
      configFile,
      stringify({
        ...processConfig(smppPort, httpPort, prefix),
        audit: { destination: 'off' },
        policy: { enabled: false },
        accounts: [
          { system_id: 'esme', password_hash: await secretHash(), allowed_ips: ['127.0.0.0/8'], window: 1000, queue: { store_and_forward: ['no_bind', 'timeout', 0x58, 0x14, 0x08], max_queued: 100_000 } },
        ],
        downstream: {
          response_timeout_ms: 120_000,
          reconnect_initial_ms: 100,
          reconnect_max_ms: 300,
          smscs: [{ name: 'sim', host: '127.0.0.1', port: smscPort, system_id: 'gw', password: 'pw', binds: 2, window: CONCURRENCY }],
        },
        // Short enough for a quick test, long enough that a busy 2-core box renews locks in time.
        queue: { concurrency: CONCURRENCY, lock_duration_ms: 10_000 },
      }),
    );

    // 1. No SMSC: everything the ESME sends is queued.
    let gw = startGateway(configFile, log);
    const esme = await bindEsme(smppPort);
    const accepted: string[] = [];
    for (let i = 0; i < TOTAL; i += 500) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(500, TOTAL - i) }, (_, k) =>
          esme.submit(sm({ destination_addr: `8613${String(i + k).padStart(9, '0')}`, short_message: `m${i + k}` })),
        ),
      );
      for (const [k, r] of batch.entries()) if (r.status === 0) accepted.push(`m${i + k}`);
    }
    expect(accepted.length).toBe(TOTAL);
    await esme.close();

    // 2. The SMSC comes up and answers nothing for a minute: the worker fills its 1,000 slots.
    sim = await startSimulator({ port: smscPort, record: true, responseDelayMs: 60_000 });
    await waitFor(() => sim!.received.length >= CONCURRENCY, 30_000, '1,000 messages in flight');
    await new Promise((r) => setTimeout(r, 300));
    const inFlight = sim.received.length;
    gw.kill('SIGKILL');
    await new Promise((r) => gw.once('exit', r));

    // 3. Restart with a prompt SMSC: everything arrives.
    sim.setBehaviour({ responseDelayMs: 0 });
    gw = startGateway(configFile, log);
    const texts = () => {
      const out = new Set<string>();
      for (const p of sim!.received) {
        const v = MessageView.parse(p);
        if (!isScanError(v)) out.add(v.shortMessage.toString('latin1'));
      }
      return out;
    };
    await waitFor(() => texts().size >= TOTAL, 120_000, 'every accepted message at the SMSC').catch((err) => {
      throw new Error(`${err.message}; ${texts().size} arrived. Gateway log:\n${readFileSync(log, 'utf8').slice(-3000)}`);
    });
    // The jobs that were in hand come back after their lock expires: wait until the queue is empty.
    const redis = new Redis(REDIS_URL);
    const queued = () => redis.zcard(`${prefix}{q}:acct:saf:esme`);
    for (const deadline = Date.now() + 30_000; (await queued()) > 0; ) {
      if (Date.now() > deadline) throw new Error(`${await queued()} messages still queued after 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    redis.disconnect();
    await new Promise((r) => setTimeout(r, 200));
    const arrived = texts();
    const lost = accepted.filter((t) => !arrived.has(t)).length;
    const duplicates = sim.received.length - arrived.size;
    console.log(
      `kill -9: accepted ${accepted.length}, in flight at the kill ${inFlight}, queued ${accepted.length - inFlight}; ` +
        `after restart: arrived ${arrived.size}, lost ${lost}, duplicates ${duplicates} (bound: ${CONCURRENCY} = jobs in hand)`,
    );
    expect(lost).toBe(0);
    expect(arrived.size).toBe(TOTAL);
    expect(duplicates).toBeLessThanOrEqual(CONCURRENCY);
  }, 240_000);
});
