/**
 * A whole stack on loopback for integration tests: the SMSC simulator, a gateway bound to it, and
 * the real Redis on 127.0.0.1:6379 under a key prefix of its own. Ports are ephemeral.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ConfigSchema, type Config } from '../../src/config/schema.js';
import { Gateway, type GatewayOptions } from '../../src/gateway.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/sim/simulator.js';
import { hashPassword } from '../../src/upstream/password.js';
import { connect, type EsmeClient } from './esme-client.js';
import { smFields } from './pdus.js';

import { REDIS_URL } from './redis-url.js';

export { REDIS_URL };

/** An empty rules directory: a configured one must exist (config/paths.ts), and these tests want none. */
export function noRulesDir(): string {
  const dir = join(tmpdir(), 'smppguard-no-rules');
  mkdirSync(dir, { recursive: true });
  return dir;
}

let cachedHash: Promise<string> | null = null;
/** The hash of "secret", computed once per test file (scrypt is deliberately slow). */
export function secretHash(): Promise<string> {
  cachedHash ??= hashPassword('secret');
  return cachedHash;
}

/** A gateway on loopback pointed at some SMSC (not necessarily the simulator). */
export interface GatewayStack {
  gw: Gateway;
  cfg: Config;
  prefix: string;
  esme(kind?: 'transmitter' | 'receiver' | 'transceiver', systemId?: string, password?: string): Promise<EsmeClient>;
  stop(): Promise<void>;
}

export interface Stack extends GatewayStack {
  sim: Simulator;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> | T[K] : T[K] };

export interface GatewayOverrides {
  cfg?: (c: Config) => void;
  gw?: GatewayOptions;
  /** Wait until every SMSC bind is up before returning (default true). */
  waitBinds?: boolean;
}

/**
 * Starts only the gateway, its SMSC link pointed at 127.0.0.1:`smscPort` (any SMSC: the simulator,
 * the `smpp` npm package's server, a capture proxy…). The same accounts and defaults as startStack.
 */
export async function startGateway(smscPort: number, over: GatewayOverrides = {}): Promise<GatewayStack> {
  const prefix = `test:${randomBytes(4).toString('hex')}:`;
  const hash = await secretHash();
  const raw: DeepPartial<Config> = {
    listen: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    redis: { url: REDIS_URL, key_prefix: prefix, command_timeout_ms: 250 },
    log: { level: 'silent', mask_msisdn: true },
    accounts: [
      { system_id: 'esme', password_hash: hash, allowed_ips: ['127.0.0.0/8', '::1/128'], max_binds: 4, window: 100, tps: 0 },
      { system_id: 'other', password_hash: hash, allowed_ips: ['127.0.0.0/8'], max_binds: 2, window: 10, tps: 0 },
    ],
    downstream: {
      response_timeout_ms: 1000,
      enquire_link_s: 5,
      reconnect_initial_ms: 50,
      reconnect_max_ms: 200,
      smscs: [{ name: 'sim', host: '127.0.0.1', port: smscPort, system_id: 'gw', password: 'pw', binds: 2, window: 100 }],
    },
    routes: { mo: [{ prefix: '10690', account: 'esme' }] },
    // The relay tests run with policy off (forward everything); policy tests turn it on.
    policy: { enabled: false },
    audit: { destination: 'off' },
    // No rule packs unless a test points at some (the repository's rules/ would load by default).
    rules: { dir: noRulesDir(), watch: false },
    shutdown: { drain_timeout_ms: 1000 },
    // The decision archive in a directory of its own (never the repository's data/); its writer on the
    // gateway's loop: the child process is `smppguard start`'s (test/cli/archive-child.test.ts).
    archive: { dir: join(tmpdir(), `sg-archive-${prefix.slice(5, -1)}`), child_process: false },
  };
  const cfg = ConfigSchema.parse(raw);
  over.cfg?.(cfg);
  const gw = await Gateway.start(cfg, { processMetrics: false, log: pino({ level: 'silent' }), ...over.gw });
  if (over.waitBinds ?? true) {
    await waitFor(() => gw.pool.boundCount === gw.pool.links.length, 3000, 'SMSC binds').catch(async (err) => {
      await gw.stop();
      throw err;
    });
  }
  const clients: EsmeClient[] = [];
  return {
    gw,
    cfg,
    prefix,
    async esme(kind = 'transceiver', systemId = 'esme', password = 'secret') {
      const c = await connect('127.0.0.1', gw.smppPort);
      clients.push(c);
      const status = await c.bind(kind, systemId, password);
      if (status !== 0) throw new Error(`bind failed with status 0x${status.toString(16)}`);
      return c;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await gw.stop();
      rmSync(cfg.archive.dir, { recursive: true, force: true });
    },
  };
}

export async function startStack(
  over: {
    sim?: Partial<SimulatorOptions>;
    cfg?: (c: Config) => void;
    gw?: GatewayOptions;
    /**
     * The port the gateway's SMSC link connects to, given the simulator's (e.g. a capture proxy in
     * front of it). Default: the simulator's own port.
     */
    smscPort?: (simPort: number) => number | Promise<number>;
  } = {},
): Promise<Stack> {
  const sim = await startSimulator({ port: 0, receiptDelayMs: 20, ...over.sim });
  let g: GatewayStack;
  try {
    const port = over.smscPort ? await over.smscPort(sim.port) : sim.port;
    g = await startGateway(port, { cfg: over.cfg, gw: over.gw });
  } catch (err) {
    await sim.close();
    throw err;
  }
  return {
    ...g,
    sim,
    async stop() {
      await g.stop();
      await sim.close();
    },
  };
}

/**
 * The common part of a config file for a gateway run as its own process (the real CLI): loopback
 * ports, the shared Redis under `prefix`, the log level.
 */
export function processConfig(smppPort: number, httpPort: number, prefix: string, level = 'warn'): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port: smppPort },
    http: { host: '127.0.0.1', port: httpPort },
    redis: { url: REDIS_URL, key_prefix: prefix },
    log: { level },
    rules: { dir: noRulesDir(), watch: false },
  };
}

export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A submit_sm field set with sensible defaults. */
export const sm = smFields;
