/**
 * Bounded buffers: a gateway (the real CLI, its own process) whose stdout is a pipe nobody reads —
 * the audit trail and the logs both go there — keeps answering under load, drops the audit lines
 * beyond audit.max_buffer_bytes (counted in smppguard_audit_log_dropped_total), and ends on SIGTERM
 * within shutdown.drain_timeout_ms plus a few seconds. Before, memory grew with every line and the
 * exit hung on flushing the logs into the full pipe until SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import { freePort } from '../../src/sim/free-port.js';
import { connect } from '../helpers/esme-client.js';
import { processConfig, secretHash, sm } from '../helpers/stack.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const DRAIN_MS = 1000;
const dir = mkdtempSync(join(tmpdir(), 'sg-stdout-'));
let sim: Simulator | null = null;
let gw: ChildProcess | null = null;
afterAll(async () => {
  gw?.kill('SIGKILL');
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function metric(httpPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

it('with stdout on a pipe nobody reads: audit lines beyond the buffer are dropped and counted, and SIGTERM ends it within the drain timeout plus a few seconds', async () => {
  sim = await startSimulator({ port: 0 });
  const [smppPort, httpPort] = [await freePort(), await freePort()];
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    stringify({
      ...processConfig(smppPort, httpPort, `test:${randomBytes(4).toString('hex')}:`, 'info'),
      audit: { destination: 'stdout', max_buffer_bytes: 65536, stream: { enabled: false } },
      policy: { enabled: true },
      shutdown: { drain_timeout_ms: DRAIN_MS },
      accounts: [{ system_id: 'esme', password_hash: await secretHash(), allowed_ips: ['127.0.0.1/32'] }],
      downstream: { smscs: [{ name: 'sim', host: '127.0.0.1', port: sim.port, system_id: 'gw', password: 'pw' }] },
    }),
  );
  // stdout: a pipe this test never reads (paused: once the pipe and Node's read buffer are full, nothing moves).
  gw = spawn(process.execPath, [CLI, 'start', '--config', config], { stdio: ['ignore', 'pipe', openSync(join(dir, 'stderr.log'), 'a')] });
  gw.stdout!.pause();
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await fetch(`http://127.0.0.1:${httpPort}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error('the gateway did not start within 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const esme = await connect('127.0.0.1', smppPort);
  expect(await esme.bind('transmitter', 'esme', 'secret')).toBe(0);

  // Load: every submit is decided (refused: unregistered sender) and audited, ~250 bytes a line.
  let answered = 0;
  let running = true;
  const load = (async () => {
    while (running) {
      const batch = Array.from({ length: 50 }, (_, i) => esme.submit(sm({ short_message: `load ${answered + i}` })).then(() => void answered++));
      if ((await Promise.allSettled(batch)).some((r) => r.status === 'rejected')) return;
    }
  })();
  while (answered < 6000) await new Promise((r) => setTimeout(r, 50));
  // The gateway still answers, and the lines that did not fit were counted.
  expect(await metric(httpPort, 'smppguard_audit_log_dropped_total')).toBeGreaterThan(1000);

  const t0 = Date.now();
  const exited = new Promise<number | null>((r) => gw!.once('exit', (code) => r(code)));
  gw.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), DRAIN_MS + 15_000))]);
  running = false;
  await load;
  await esme.close().catch(() => undefined);
  expect(code).toBe(0);
  expect(Date.now() - t0).toBeLessThan(DRAIN_MS + 6000);
  gw = null;
}, 60_000);
