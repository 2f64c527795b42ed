/**
 * Live reconfiguration: the config file changed under load (an account added, another's TPS
 * changed, a third removed, an SMSC added, a route changed) is applied as a diff — the unchanged
 * account's binds never drop and lose nothing, the removed account is unbound, the new one binds,
 * the new route takes traffic; an invalid file keeps the last good config; `config check`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkConfigFile } from '../../src/cli/config.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigWatch } from '../../src/config/watch.js';
import { Gateway } from '../../src/gateway.js';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import { connect, type EsmeClient } from '../helpers/esme-client.js';
import { valueOf } from '../helpers/fake-link.js';
import { noRulesDir, REDIS_URL, secretHash, sm, waitFor } from '../helpers/stack.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-reload-'));
let gw: Gateway | null = null;
let sims: Simulator[] = [];
let clients: EsmeClient[] = [];
let watch: ConfigWatch | null = null;
afterEach(async () => {
  watch?.close();
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await gw?.stop();
  await Promise.all(sims.map((s) => s.close()));
  gw = null;
  sims = [];
  clients = [];
});

async function account(system_id: string, tps = 0) {
  return { system_id, password_hash: await secretHash(), allowed_ips: ['127.0.0.0/8'], max_binds: 4, window: 100, tps };
}

function smsc(name: string, port: number) {
  return { name, host: '127.0.0.1', port, system_id: 'gw', password: 'pw', binds: 1 };
}

async function baseConfig(prefix: string, a: Simulator): Promise<Record<string, unknown>> {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    redis: { url: REDIS_URL, key_prefix: prefix },
    log: { level: 'silent' },
    accounts: [await account('esme'), await account('other'), await account('gone')],
    downstream: { response_timeout_ms: 1000, reconnect_initial_ms: 50, reconnect_max_ms: 200, smscs: [smsc('a', a.port)] },
    routes: { mt: [{ name: 'all', group: 'a' }] },
    policy: { enabled: false },
    audit: { destination: 'off' },
    rules: { dir: noRulesDir(), watch: false },
    shutdown: { drain_timeout_ms: 1000 },
  };
}

async function bind(systemId: string): Promise<EsmeClient> {
  const c = await connect('127.0.0.1', gw!.smppPort);
  clients.push(c);
  expect(await c.bind('transceiver', systemId, 'secret')).toBe(0);
  return c;
}

describe('live reconfiguration', () => {
  it('applies a changed file under load as a diff: unchanged binds stay and lose nothing', async () => {
    sims = await Promise.all([0, 1].map(() => startSimulator({ port: 0, record: true })));
    const [a, b] = sims as [Simulator, Simulator];
    const file = join(dir, 'gw.yaml');
    const raw = await baseConfig(`test:${randomBytes(4).toString('hex')}:`, a);
    writeFileSync(file, stringify(raw));
    gw = await Gateway.start(loadConfig(file), { processMetrics: false, log: pino({ level: 'silent' }) });
    await waitFor(() => gw!.pool.boundCount === 1, 3000, 'SMSC bind');
    watch = new ConfigWatch(file, () => gw!.reloadConfig(file), undefined, 50);
    watch.start();

    const esme = await bind('esme');
    const other = await bind('other');
    const gone = await bind('gone');
    const statuses: number[] = [];
    let running = true;
    const traffic = (async () => {
      for (let i = 0; running; i++) {
        const rs = await Promise.all(Array.from({ length: 10 }, (_, k) => esme.submit(sm({ short_message: `e${i}-${k}` }))));
        statuses.push(...rs.map((r) => r.status));
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await waitFor(() => statuses.length > 200, 5000, 'traffic');

    // The change: newbie added, other's TPS 2, gone removed, SMSC b added, UK traffic routed to b.
    const next = {
      ...raw,
      accounts: [await account('esme'), await account('other', 2), await account('newbie')],
      downstream: { ...(raw.downstream as object), smscs: [smsc('a', a.port), smsc('b', b.port)] },
      routes: { mt: [{ name: 'uk', destination_prefix: '44', group: 'b' }, { name: 'all', group: 'a' }] },
    };
    writeFileSync(file, stringify(next));
    await waitFor(() => gw!.pool.boundCount === 2, 5000, 'the new SMSC bound');
    await waitFor(() => !gone.isOpen, 3000, 'the removed account unbound');
    const n = statuses.length;
    await waitFor(() => statuses.length > n + 200, 5000, 'traffic after the reload');
    running = false;
    await traffic;

    // The unchanged account: still bound, every message answered ESME_ROK, the SMSC link never dropped.
    expect(esme.isOpen).toBe(true);
    expect(statuses.filter((s) => s !== 0)).toEqual([]);
    expect(a.stats.binds).toBe(1);
    expect(a.stats.submits).toBe(statuses.length);
    // The new account binds; the new route takes traffic; the changed TPS holds at once.
    const newbie = await bind('newbie');
    expect((await newbie.submit(sm({ destination_addr: '447700900001', short_message: 'to-b' }))).status).toBe(0);
    expect(b.stats.submits).toBe(1);
    const burst = await Promise.all(Array.from({ length: 6 }, () => other.submit(sm())));
    expect(burst.filter((r) => r.status === 0x58).length).toBeGreaterThanOrEqual(3);
    expect(other.isOpen).toBe(true);
    expect(await valueOf(gw.metrics.routing.configReloads, { result: 'applied' })).toBe(1);
    await expect(connect('127.0.0.1', gw.smppPort).then(async (c) => (clients.push(c), c.bind('transceiver', 'gone', 'secret')))).resolves.not.toBe(0);
  });

  it('an invalid file keeps the last good config, says where, and /readyz shows it; check names the same problems', async () => {
    sims = [await startSimulator({ port: 0 })];
    const file = join(dir, 'bad.yaml');
    const raw = await baseConfig(`test:${randomBytes(4).toString('hex')}:`, sims[0]!);
    writeFileSync(file, stringify(raw));
    expect(checkConfigFile(file)).toEqual({ problems: [], warnings: [] });
    gw = await Gateway.start(loadConfig(file), { processMetrics: false, log: pino({ level: 'silent' }) });
    writeFileSync(file, stringify({ ...raw, routes: { mt: [{ name: 'x', group: 'nowhere' }] } }));
    const r = gw.reloadConfig(file);
    expect(r.ok).toBe(false);
    expect(checkConfigFile(file).problems).toEqual([`${file}: routes.mt x: group nowhere is neither a group in downstream.groups nor an SMSC`]);
    writeFileSync(file, 'listen:\n  port: [\n');
    expect(checkConfigFile(file).problems[0]).toMatch(new RegExp(`^${file}:3:1: `));
    expect(await valueOf(gw.metrics.routing.configLastReloadOk)).toBe(0);
    const ready = await gw.readiness();
    expect(ready.checks.config!.detail).toMatch(/last reload failed: .*group nowhere/);
    // Still routing with the last good table.
    await waitFor(() => gw!.pool.boundCount === 1, 3000, 'SMSC bind');
    const c = await bind('esme');
    expect((await c.submit(sm())).status).toBe(0);
    // A restart-only setting is left as it was (and named in the log).
    writeFileSync(file, stringify({ ...raw, listen: { host: '127.0.0.1', port: 1 } }));
    const ok = gw.reloadConfig(file);
    expect(ok.ok && ok.plan.restartNeeded).toEqual(['listen']);
    expect(gw.cfg.listen.port).toBe(0);
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
