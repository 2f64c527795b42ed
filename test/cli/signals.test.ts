/**
 * The signals a running gateway (the real CLI, its own process) answers: SIGUSR2 opens the audit
 * file again after log rotation moved it, SIGHUP reloads the rules (with file watching off), SIGTERM
 * stops it with exit code 0 — also when it comes while the gateway is still starting.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import { freePort } from '../../src/sim/free-port.js';
import { connect } from '../helpers/esme-client.js';
import { processConfig, secretHash, sm, waitFor } from '../helpers/stack.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'sg-signals-'));
let sim: Simulator | null = null;
let gw: ChildProcess | null = null;
afterAll(async () => {
  gw?.kill('SIGKILL');
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const rule = (id: string) => `version: 1\nrules:\n  - { id: ${id}, description: d, action: forward }\n`;
const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : []);

it('SIGUSR2 reopens the audit file, SIGHUP reloads the rules, SIGTERM exits 0', async () => {
  sim = await startSimulator({ port: 0 });
  const [smppPort, httpPort] = [await freePort(), await freePort()];
  const audit = join(dir, 'audit.log');
  const log = join(dir, 'gateway.log');
  const rules = join(dir, 'rules');
  mkdirSync(rules);
  writeFileSync(join(rules, 'a.yaml'), rule('first'));
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    stringify({
      ...processConfig(smppPort, httpPort, `test:${randomBytes(4).toString('hex')}:`, 'info'),
      http: { host: '127.0.0.1', port: httpPort, readyz_details: true }, // the test reads the checks
      audit: { destination: audit, stream: { enabled: false } },
      policy: { enabled: true },
      rules: { dir: rules, watch: false },
      accounts: [{ system_id: 'esme', password_hash: await secretHash(), allowed_ips: ['127.0.0.0/8'] }],
      downstream: { smscs: [{ name: 'sim', host: '127.0.0.1', port: sim.port, system_id: 'gw', password: 'pw' }] },
    }),
  );
  gw = spawn(process.execPath, [CLI, 'start', '--config', config], { stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')] });
  const logged = (msg: string) => lines(log).some((l) => l.includes(msg));
  await waitFor(() => logged('smppguard listening'), 20_000, 'the gateway to start');
  const esme = await connect('127.0.0.1', smppPort);
  expect(await esme.bind('transmitter', 'esme', 'secret')).toBe(0);

  // Every decision is audited (this one: an unregistered sender, refused).
  await esme.submit(sm({ short_message: 'one' }));
  await waitFor(() => lines(audit).length === 1, 3000, 'the first audit line');
  renameSync(audit, `${audit}.1`);
  gw.kill('SIGUSR2');
  await waitFor(() => logged('SIGUSR2: reopening the audit log'), 3000, 'SIGUSR2 handled');
  await esme.submit(sm({ short_message: 'two' }));
  await waitFor(() => lines(audit).length === 1, 3000, 'an audit line in the new file');
  expect(lines(`${audit}.1`)).toHaveLength(1);

  // Watching is off: the rule change applies on SIGHUP.
  writeFileSync(join(rules, 'a.yaml'), rule('second'));
  gw.kill('SIGHUP');
  const loads = () => lines(log).filter((l) => l.includes('rules: loaded')).map((l) => JSON.parse(l) as { version: string });
  await waitFor(() => loads().length === 2, 3000, 'the rules reloaded');
  const [before, after] = loads();
  expect(after!.version).not.toBe(before!.version);
  const ready = (await (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).json()) as { checks: { rules: { detail: string } } };
  expect(ready.checks.rules.detail).toContain(`version ${after!.version}`);

  await esme.close();
  const exited = new Promise<number | null>((r) => gw!.once('exit', (code) => r(code)));
  gw.kill('SIGTERM');
  expect(await exited).toBe(0);
  gw = null;
}, 40_000);

it('SIGTERM while the gateway starts: it finishes starting, then stops gracefully (exit 0)', async () => {
  const [smppPort, httpPort] = [await freePort(), await freePort()];
  const config = join(dir, 'starting.yaml');
  writeFileSync(config, stringify({ ...processConfig(smppPort, httpPort, `test:${randomBytes(4).toString('hex')}:`, 'info'), audit: { destination: 'off' } }));
  const log = join(dir, 'starting.log');
  // Started without the V8 flags: the warning about them is the line written just before the start.
  const p = spawn(process.execPath, [CLI, 'start', '--config', config], { stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')], env: { ...process.env, NODE_OPTIONS: '' } });
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => p.once('exit', (code, signal) => r({ code, signal })));
  await waitFor(() => lines(log).some((l) => l.includes("node started without the gateway's V8 flags")), 20_000, 'the start to begin');
  p.kill('SIGTERM');
  expect(await exited).toEqual({ code: 0, signal: null });
  expect(lines(log).some((l) => l.includes('signal received: graceful shutdown'))).toBe(true);
}, 40_000);
