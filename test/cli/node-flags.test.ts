/**
 * The gateway's V8 flags (src/cli/node-flags.ts): which are missing from a command line or
 * NODE_OPTIONS, `npm start` giving them, and `smppguard start` (the real CLI, its own process)
 * warning when it was started without them and not when it was started with them.
 * (The Docker image and the systemd unit: test/deploy/.)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { GATEWAY_NODE_FLAGS, missingNodeFlags } from '../../src/cli/node-flags.js';
import { freePort } from '../../src/sim/free-port.js';
import { processConfig } from '../helpers/stack.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const WARNING = "node started without the gateway's V8 flags";
const dir = mkdtempSync(join(tmpdir(), 'sg-node-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('missingNodeFlags', () => {
  const flags = ['--max-semi-space-size=64'];
  it('finds a flag on the command line or in NODE_OPTIONS, whatever its value and _ or -', () => {
    expect(missingNodeFlags(flags, [], '')).toEqual(flags);
    expect(missingNodeFlags(flags, ['--max-semi-space-size=64'], '')).toEqual([]);
    expect(missingNodeFlags(flags, ['--max_semi_space_size=32'], '')).toEqual([]);
    expect(missingNodeFlags(flags, ['--inspect'], '--enable-source-maps --max-semi-space-size=128')).toEqual([]);
    expect(missingNodeFlags(flags, ['--max-old-space-size=4096'], '--enable-source-maps')).toEqual(flags);
  });

  it('the gateway has its flags, and `npm start` gives them', () => {
    expect(GATEWAY_NODE_FLAGS).toContain('--max-semi-space-size=64');
    expect(GATEWAY_NODE_FLAGS).toContain('--initial-old-space-size=256');
    const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
    expect(start).toBe(`node ${GATEWAY_NODE_FLAGS.join(' ')} dist/src/cli/main.js start --config config/gateway.yaml`);
  });
});

/** Starts `smppguard start` with `nodeArgs` until it listens; its log. */
async function startLog(nodeArgs: string[], tag: string): Promise<string> {
  const config = join(dir, `${tag}.yaml`);
  writeFileSync(config, stringify({ ...processConfig(await freePort(), await freePort(), `test:${randomBytes(4).toString('hex')}:`, 'info'), audit: { destination: 'off' } }));
  const gw = spawn(process.execPath, [...nodeArgs, CLI, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  let log = '';
  gw.stdout.on('data', (d: Buffer) => (log += d.toString()));
  gw.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => gw.once('exit', (code) => r(code)));
  const deadline = Date.now() + 20_000;
  while (!log.includes('smppguard listening')) {
    if (Date.now() > deadline) {
      gw.kill('SIGKILL');
      throw new Error(`the gateway did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  gw.kill('SIGTERM');
  expect(await exited).toBe(0);
  return log;
}

describe('smppguard start', () => {
  it('warns, naming the flag, when node was started without the gateway flags; not when it was', async () => {
    const without = await startLog([], 'without');
    const warning = without.split('\n').find((l) => l.includes(WARNING));
    expect(warning, without).toBeDefined();
    expect((JSON.parse(warning!) as { missing: string[] }).missing).toEqual([...GATEWAY_NODE_FLAGS]);
    const withFlags = await startLog([...GATEWAY_NODE_FLAGS], 'with');
    expect(withFlags).toContain('smppguard listening');
    expect(withFlags).not.toContain(WARNING);
  }, 60_000);
});
