/**
 * Docs that run: the fenced shell blocks marked runnable (```sh runnable) in README.md and
 * docs/*.md, and a live gateway to run them against — the built CLI's `smsc-sim` and `start`
 * (config/gateway.yaml, with SMPPGUARD_* variables for free ports, a unique Redis key prefix and an
 * admin token) on the Redis at 127.0.0.1:6379. Each block runs in bash (-euo pipefail) with:
 *   smppguard     the built CLI on PATH
 *   GW, AUTH      the admin API base URL and "Authorization: Bearer …" (as docs/admin-api.md uses)
 *   ADMIN_TOKEN   the token alone (smppguard explain)
 *   SMPP_PORT, SMPP_PASSWORD, SMSC_SIM_API   what smppguard send / sim read by default
 * Used by test/docs/runnable.test.ts and by .ci/readme-walkthrough (node dist/test/docs/live.js FILE…).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { freePort } from '../../src/sim/free-port.js';
import { rulesClock } from '../../bench/policy-scenario.js';
import { clearKeys } from '../helpers/redis-keys.js';

/** Where this file lives in the source tree and in dist/: the repository root either way. */
export const ROOT = (() => {
  let d = resolve(import.meta.dirname, '../..');
  if (d.endsWith('/dist')) d = resolve(d, '..');
  return d;
})();
const CLI = join(ROOT, 'dist/src/cli/main.js');

export interface Block {
  file: string;
  line: number;
  code: string;
}

/** The blocks fenced as ```sh runnable (or ```bash runnable) in `file`. */
export function runnableBlocks(file: string): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(sh|bash)\s+runnable\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    out.push({ file: relative(ROOT, file), line: start, code: body.join('\n') });
  }
  return out;
}

/** README.md and docs/*.md. */
export function docFiles(): string[] {
  return [join(ROOT, 'README.md'), ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => join(ROOT, 'docs', f))];
}

export interface Live {
  env: Record<string, string>;
  dir: string;
  stop(): Promise<void>;
}

async function waitHttp(url: string, ms: number, headers: Record<string, string> = {}): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url, { headers, signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${url}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The simulator and a gateway, each its own process of the built CLI. */
export async function startLive(): Promise<Live> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-docs-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'smppguard'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, 'smppguard'), 0o755);
  const [smpp, http, sim, simHttp] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const prefix = `docs:${randomBytes(4).toString('hex')}:`;
  const token = randomBytes(16).toString('hex');
  const base = { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: dir };
  const procs: ChildProcess[] = [];
  const log = (name: string) => openSync(join(dir, `${name}.log`), 'a');
  procs.push(spawn(process.execPath, [CLI, 'smsc-sim', '--port', String(sim), '--http-port', String(simHttp), '--receipt-delay-ms', '200'], { env: base, stdio: ['ignore', log('sim'), log('sim')] }));
  const gwEnv = {
    ...base,
    SMPPGUARD_CONFIG: join(ROOT, 'config/gateway.yaml'),
    SMPPGUARD_LISTEN__HOST: '127.0.0.1',
    SMPPGUARD_LISTEN__PORT: String(smpp),
    SMPPGUARD_HTTP__HOST: '127.0.0.1',
    SMPPGUARD_HTTP__PORT: String(http),
    SMPPGUARD_REDIS__KEY_PREFIX: prefix,
    SMPPGUARD_DOWNSTREAM__SMSCS__0__PORT: String(sim),
    SMPPGUARD_ADMIN__TOKENS: JSON.stringify([{ name: 'docs', role: 'admin', sha256: createHash('sha256').update(token).digest('hex') }]),
    SMPPGUARD_AUDIT__DESTINATION: join(dir, 'audit.log'),
  };
  // The shipped cn-miit rules refuse marketing outside 08:00–21:00 Beijing time (quiet hours, 0x404),
  // and the walk-through sends marketing: outside those hours the gateway's clock is set to 10:00
  // there (`start --clock-offset-ms`, as README.md says), as scenario (d) of the benchmark does, so
  // the blocks hold at any hour.
  procs.push(spawn(process.execPath, [CLI, 'start', ...rulesClock().args], { env: gwEnv, stdio: ['ignore', log('gateway'), log('gateway')] }));
  const GW = `http://127.0.0.1:${http}`;
  const stop = async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : null)));
    const redis = new Redis('redis://127.0.0.1:6379');
    await clearKeys(redis, `${prefix}*`);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitHttp(`${GW}/readyz`, 30_000, { authorization: `Bearer ${token}` });
  } catch (err) {
    const tail = readFileSync(join(dir, 'gateway.log'), 'utf8').split('\n').slice(-20).join('\n');
    await stop();
    throw new Error(`${(err as Error).message}\n${tail}`, { cause: err });
  }
  return {
    dir,
    env: {
      ...base,
      GW,
      AUTH: `Authorization: Bearer ${token}`,
      ADMIN_TOKEN: token,
      SMPP_PORT: String(smpp),
      SMPP_PASSWORD: 'demo',
      SMSC_SIM_API: `http://127.0.0.1:${simHttp}`,
      REDIS_PREFIX: prefix,
    },
    stop,
  };
}

/** Runs one block; its output and exit status. */
export function runBlock(b: Block, env: Record<string, string>, cwd: string): { status: number | null; output: string } {
  const r = spawnSync('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', b.code], { env, cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** `node dist/test/docs/live.js FILE…`: every runnable block of those files against one live gateway; exit 1 on the first failure. */
async function main(files: string[]): Promise<void> {
  const live = await startLive();
  let failed = false;
  try {
    for (const f of files) {
      for (const b of runnableBlocks(resolve(f))) {
        const r = runBlock(b, live.env, ROOT);
        process.stdout.write(`\n--- ${b.file}:${b.line} (exit ${r.status})\n${r.output}`);
        if (r.status !== 0) {
          failed = true;
          break;
        }
      }
      if (failed) break;
    }
  } finally {
    await live.stop();
  }
  process.exitCode = failed ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) void main(process.argv.slice(2));
