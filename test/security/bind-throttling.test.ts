/**
 * Issue 16, bind throttling: one answer for every authentication failure (same status, same scrypt
 * work), failures counted in the real Redis per (source IP, system_id) and per source IP with
 * lockouts, and password checks shared fairly between source IPs. An UpstreamServer on a real
 * loopback port; ESMEs are real TCP clients (127.0.0.2 is a second source IP).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AccountSchema } from '../../src/config/schema.js';
import { Status } from '../../src/protocol/status.js';
import { systemClock } from '../../src/session/clock.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { AccountTable } from '../../src/upstream/accounts.js';
import { BindAuth, type VerifyFn } from '../../src/upstream/bind-auth.js';
import { hashPassword, verifyPassword } from '../../src/upstream/password.js';
import { UpstreamServer } from '../../src/upstream/server.js';
import { connect, type EsmeClient } from '../helpers/esme-client.js';
import { silentLog, valueOf } from '../helpers/fake-link.js';
import { RecordingHandler } from '../upstream/helpers.js';

let hash: string;
beforeAll(async () => {
  hash = await hashPassword('secret');
});

const servers: UpstreamServer[] = [];
const clients: EsmeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const s of servers.splice(0)) await s.unbindAll(100);
});

interface Rig {
  port: number;
  metrics: Metrics;
  /** Every password check: the hash it was run against. */
  verified: string[];
  bind(systemId: string, password: string, from?: string): Promise<number>;
}

async function rig(makeAuth: (verify: VerifyFn) => Promise<BindAuth>): Promise<Rig> {
  const metrics = new Metrics(false);
  const accounts = new AccountTable(
    [
      AccountSchema.parse({ system_id: 'esme', password_hash: hash, allowed_ips: ['127.0.0.0/8'], max_binds: 100 }),
      AccountSchema.parse({ system_id: 'other', password_hash: hash, allowed_ips: ['127.0.0.0/8'], max_binds: 100 }),
      AccountSchema.parse({ system_id: 'walled', password_hash: hash, allowed_ips: ['10.0.0.0/8'] }),
    ],
    Date.now(),
  );
  const verified: string[] = [];
  const verify: VerifyFn = (pw, stored) => {
    verified.push(stored);
    return verifyPassword(pw, stored);
  };
  const server = new UpstreamServer(
    { host: '0.0.0.0', port: 0, maxPduLength: 4096, idleTimeoutS: 30, bindTimeoutS: 30 },
    {
      accounts,
      handler: new RecordingHandler(),
      metrics,
      log: silentLog(),
      clock: systemClock,
      gatewayId: 'smppguard',
      deliverTimeoutMs: 1000,
      bindAuth: await makeAuth(verify),
    },
  );
  servers.push(server);
  const port = await server.listen();
  return {
    port,
    metrics,
    verified,
    async bind(systemId, password, from = '127.0.0.1') {
      const c = await connect('127.0.0.1', port, { localAddress: from, requestTimeoutMs: 10_000 });
      clients.push(c);
      return c.bind('transceiver', systemId, password);
    },
  };
}

describe('one answer for every authentication failure', () => {
  it('gives an unknown system_id, a wrong password and a disallowed source IP the same status after one scrypt check each', async () => {
    const r = await rig((verify) => BindAuth.create({ verify }));
    expect(await r.bind('nobody', 'secret')).toBe(Status.ESME_RBINDFAIL);
    expect(await r.bind('esme', 'wrong')).toBe(Status.ESME_RBINDFAIL);
    expect(await r.bind('walled', 'secret')).toBe(Status.ESME_RBINDFAIL);
    // Each ran scrypt: the unknown account against the dummy hash, with the accounts' own cost.
    expect(r.verified).toHaveLength(3);
    const [dummy, own, walled] = r.verified;
    expect([own, walled]).toEqual([hash, hash]);
    expect(dummy).not.toBe(hash);
    expect(dummy!.split('$').slice(0, 4)).toEqual(hash.split('$').slice(0, 4));
    // Logs and metrics keep the true reason.
    for (const reason of ['unknown_account', 'bad_password', 'ip_not_allowed']) {
      expect(await valueOf(r.metrics.bindFailures, { reason }), reason).toBe(1);
    }
    expect(await r.bind('esme', 'secret')).toBe(Status.ESME_ROK);
  });
});
