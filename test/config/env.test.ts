/**
 * Configuration from the environment (config/env.ts): naming, lists by index or as one JSON/YAML
 * value, `*_FILE` secrets, strings that look like numbers, errors named by the variable, the
 * environment winning over the file — and the built CLI started with no config file at all, only
 * SMPPGUARD_* variables, serving an ESME through the simulator.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envPath, overlayEnv } from '../../src/config/env.js';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { Redis } from 'ioredis';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import { freePort } from '../../src/sim/free-port.js';
import { connect } from '../helpers/esme-client.js';
import { quickHash } from '../helpers/fake-link.js';
import { secretHash, sm, waitFor } from '../helpers/stack.js';
import { clearKeys } from '../helpers/redis-keys.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-env-'));
const HASH = quickHash('pw');
const BASE = `accounts:\n  - { system_id: demo, password_hash: "${HASH}", allowed_ips: [127.0.0.1] }\ndownstream:\n  smscs:\n    - { name: sim, host: 127.0.0.1, port: 2776, system_id: gw, password: pw }\n`;

function problems(text: string, env: Record<string, string>): string[] {
  try {
    parseConfig(text, 'gw.yaml', env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected the config to be refused');
}

describe('variable names', () => {
  it('map SMPPGUARD_ + path with __ between levels; a single _ stays in the key; digits are list indexes', () => {
    expect(envPath('SMPPGUARD_REDIS__URL')).toEqual({ path: ['redis', 'url'], file: false });
    expect(envPath('SMPPGUARD_REDIS__KEY_PREFIX')).toEqual({ path: ['redis', 'key_prefix'], file: false });
    expect(envPath('SMPPGUARD_DOWNSTREAM__SMSCS__1__PASSWORD_FILE')).toEqual({ path: ['downstream', 'smscs', 1, 'password'], file: true });
    expect(envPath('OTHER_REDIS__URL')).toBeNull();
    expect(envPath('SMPPGUARD_REDIS____URL')).toBeNull();
    expect(envPath('SMPPGUARD_')).toBeNull();
  });
});

describe('overlayEnv', () => {
  it('wins over the file, leaves the parsed object untouched and types numbers and booleans', () => {
    const base = { redis: { url: 'redis://file:6379', key_prefix: 'sg:' }, log: { level: 'info' } };
    const o = overlayEnv(base, { SMPPGUARD_REDIS__URL: 'redis://env:6379', SMPPGUARD_LISTEN__PORT: '2780', SMPPGUARD_POLICY__ENABLED: 'true', PATH: '/bin' });
    expect(o.value).toEqual({ redis: { url: 'redis://env:6379', key_prefix: 'sg:' }, log: { level: 'info' }, listen: { port: 2780 }, policy: { enabled: true } });
    expect(base.redis.url).toBe('redis://file:6379');
    expect(o.vars.get('listen.port')).toBe('SMPPGUARD_LISTEN__PORT');
  });

  it('sets list elements by index (changing the file’s or adding at the end) or a whole list as JSON or YAML', () => {
    const base = { accounts: [{ system_id: 'a', tps: 10 }] };
    const o = overlayEnv(base, {
      SMPPGUARD_ACCOUNTS__0__TPS: '20',
      SMPPGUARD_ACCOUNTS__1__SYSTEM_ID: 'b',
      SMPPGUARD_ROUTES__MO: '[{"prefix": "10690", "account": "a"}]',
      SMPPGUARD_POLICY__CLASSIFY__SERVICE_TYPES: '{MKT: commercial}',
    });
    expect(o.value).toEqual({
      accounts: [{ system_id: 'a', tps: 20 }, { system_id: 'b' }],
      routes: { mo: [{ prefix: '10690', account: 'a' }] },
      policy: { classify: { service_types: { MKT: 'commercial' } } },
    });
    // A whole list first (names sort before their elements), then an element of it.
    expect(overlayEnv({}, { SMPPGUARD_A: '[1, 2]', SMPPGUARD_A__1: '5' }).value).toEqual({ a: [1, 5] });
  });

  it('reads *_FILE values through the reader, dropping one trailing newline', () => {
    const o = overlayEnv({}, { SMPPGUARD_DOWNSTREAM__SMSCS__0__PASSWORD_FILE: '/run/secrets/smsc' }, (p) => (p === '/run/secrets/smsc' ? 's3cr3t\n' : ''));
    expect(o.value).toEqual({ downstream: { smscs: [{ password: 's3cr3t' }] } });
  });

  it('refuses gaps in a list, a list index on a map, a bad name and bad JSON, naming each variable', () => {
    expect(() => overlayEnv({}, { SMPPGUARD_ACCOUNTS__2__SYSTEM_ID: 'x' })).toThrow(/SMPPGUARD_ACCOUNTS__2__SYSTEM_ID: index 2 of accounts leaves a gap/);
    expect(() => overlayEnv({ redis: { url: 'x' } }, { SMPPGUARD_REDIS__0: 'x' })).toThrow(/SMPPGUARD_REDIS__0: redis is object, not a list/);
    expect(() => overlayEnv({}, { 'SMPPGUARD_A-B': 'x' })).toThrow(/SMPPGUARD_A-B: not a configuration path/);
    expect(() => overlayEnv({}, { SMPPGUARD_ROUTES__MO: '[{' })).toThrow(/SMPPGUARD_ROUTES__MO: not valid JSON\/YAML/);
  });
});

describe('parseConfig with the environment', () => {
  it('validates the merged result: defaults apply, and a value that looks like a number stays a string where the schema wants one', () => {
    const cfg = parseConfig(BASE, 'gw.yaml', {
      SMPPGUARD_REDIS__KEY_PREFIX: '1234',
      SMPPGUARD_DOWNSTREAM__SMSCS__0__PASSWORD: '12345678',
      SMPPGUARD_DOWNSTREAM__SMSCS__0__PORT: '2800',
      SMPPGUARD_ACCOUNTS__0__SYSTEM_ID: '12345',
    });
    expect(cfg.redis.key_prefix).toBe('1234');
    expect(cfg.downstream.smscs[0]).toMatchObject({ password: '12345678', port: 2800, host: '127.0.0.1' });
    expect(cfg.accounts[0]!.system_id).toBe('12345');
    expect(cfg.listen.port).toBe(parseConfig(BASE).listen.port);
  });

  it('names the variable, not a file line, when its value is refused', () => {
    expect(problems(BASE, { SMPPGUARD_LISTEN__PORT: '99999', SMPPGUARD_LOG__LEVEL: 'loud' })).toEqual([
      expect.stringMatching(/^SMPPGUARD_LISTEN__PORT: listen\.port: /),
      expect.stringMatching(/^SMPPGUARD_LOG__LEVEL: log\.level: Invalid option/),
    ]);
    expect(problems(BASE, { SMPPGUARD_REDIS__NOPE: 'x' })[0]).toMatch(/^SMPPGUARD_REDIS__NOPE: redis: Unrecognized key/);
    expect(problems(BASE, { SMPPGUARD_DOWNSTREAM__SMSCS__0__PASSWORD_FILE: join(dir, 'missing') })).toEqual([
      `SMPPGUARD_DOWNSTREAM__SMSCS__0__PASSWORD_FILE: cannot read ${join(dir, 'missing')}: ENOENT`,
    ]);
  });

  it('loadConfig(null) reads the environment only', () => {
    const secret = join(dir, 'smsc-password');
    writeFileSync(secret, 'fromfile\n');
    const cfg = loadConfig(null, {
      SMPPGUARD_ACCOUNTS: `[{system_id: demo, password_hash: "${HASH}", allowed_ips: [10.0.0.0/8]}]`,
      SMPPGUARD_DOWNSTREAM__SMSCS__0__NAME: 'smsc',
      SMPPGUARD_DOWNSTREAM__SMSCS__0__HOST: 'smsc.example',
      SMPPGUARD_DOWNSTREAM__SMSCS__0__PORT: '2775',
      SMPPGUARD_DOWNSTREAM__SMSCS__0__SYSTEM_ID: 'gw',
      SMPPGUARD_DOWNSTREAM__SMSCS__0__PASSWORD_FILE: secret,
    });
    expect(cfg.accounts.map((a) => a.system_id)).toEqual(['demo']);
    expect(cfg.downstream.smscs[0]).toMatchObject({ host: 'smsc.example', password: 'fromfile' });
  });
});

describe('the built CLI with no config file', () => {
  let sim: Simulator | null = null;
  let gw: ChildProcess | null = null;
  const prefix = `test:env:${randomBytes(4).toString('hex')}:`;
  afterAll(async () => {
    gw?.kill('SIGKILL');
    await sim?.close();
    const redis = new Redis('redis://127.0.0.1:6379');
    await clearKeys(redis, `${prefix}*`);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts from SMPPGUARD_* variables alone, binds the SMSC and relays a message', async () => {
    sim = await startSimulator({ port: 0 });
    const [smppPort, httpPort] = [await freePort(), await freePort()];
    const secret = join(dir, 'sim-password');
    writeFileSync(secret, 'pw\n');
    const log = join(dir, 'gateway.log');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      SMPPGUARD_LISTEN__HOST: '127.0.0.1',
      SMPPGUARD_LISTEN__PORT: String(smppPort),
      SMPPGUARD_HTTP__HOST: '127.0.0.1',
      SMPPGUARD_HTTP__PORT: String(httpPort),
      SMPPGUARD_REDIS__URL: 'redis://127.0.0.1:6379',
      SMPPGUARD_REDIS__KEY_PREFIX: prefix,
      SMPPGUARD_LOG__LEVEL: 'info',
      SMPPGUARD_POLICY__ENABLED: 'false',
      SMPPGUARD_ACCOUNTS__0__SYSTEM_ID: 'esme',
      SMPPGUARD_ACCOUNTS__0__PASSWORD_HASH: await secretHash(),
      SMPPGUARD_ACCOUNTS__0__ALLOWED_IPS: '[127.0.0.0/8]',
      SMPPGUARD_DOWNSTREAM__SMSCS: `[{name: sim, host: 127.0.0.1, port: ${sim.port}, system_id: gw}]`,
      SMPPGUARD_DOWNSTREAM__SMSCS__0__PASSWORD_FILE: secret,
    };
    gw = spawn(process.execPath, [join(process.cwd(), 'dist/src/cli/main.js'), 'start'], { env, stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')] });
    const lines = () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
    await waitFor(() => lines().some((l) => l.includes('smppguard listening')), 20_000, 'the gateway to start');
    let ready = 0;
    await waitFor(() => {
      void fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => (ready = r.status), () => undefined);
      return ready === 200;
    }, 10_000, '/readyz 200 (SMSC bound, Redis up)');
    const esme = await connect('127.0.0.1', smppPort);
    expect(await esme.bind('transceiver', 'esme', 'secret')).toBe(0);
    expect((await esme.submit(sm({ short_message: 'from env' }))).status).toBe(0);
    await esme.close();
    // The log level from SMPPGUARD_LOG__LEVEL: info lines are written.
    expect(JSON.parse(lines().find((l) => l.includes('smppguard listening'))!)).toMatchObject({ level: 'info' });
    const exited = new Promise<number | null>((r) => gw!.once('exit', (code) => r(code)));
    gw.kill('SIGTERM');
    expect(await exited).toBe(0);
    gw = null;
  });

  it('without --config and without SMPPGUARD_* variables, says what to give and exits 2', async () => {
    const p = spawn(process.execPath, [join(process.cwd(), 'dist/src/cli/main.js'), 'start'], { env: { PATH: process.env.PATH ?? '' } });
    let err = '';
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    expect(await new Promise((r) => p.once('exit', r))).toBe(2);
    expect(err).toMatch(/give --config <file>, or the configuration as SMPPGUARD_\* environment variables/);
  });
});
