/**
 * An ESME session under test: accounts from config, a recording submit handler, a manual clock, and
 * an in-memory link whose far end the test drives as the ESME.
 */
import { expect } from 'vitest';
import type { z } from 'zod';
import { AccountSchema, type AccountConfig } from '../../src/config/schema.js';
import type { BindKind } from '../../src/protocol/commands.js';
import { ManualClock } from '../../src/session/clock.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { AccountTable } from '../../src/upstream/accounts.js';
import { EsmeSession, type SessionEnv, type SubmitHandler } from '../../src/upstream/esme-session.js';
import { head, Peer, quickHash, silentLog, streamPair } from '../helpers/fake-link.js';
import { bindPdu } from '../helpers/pdus.js';

export const HASH = quickHash('secret');

/** An account as config gives it: `over` as written in YAML (defaults filled in by the schema). */
export function accountCfg(over: Partial<z.input<typeof AccountSchema>> = {}): AccountConfig {
  return AccountSchema.parse({ system_id: 'esme', password_hash: HASH, allowed_ips: ['0.0.0.0/0', '::/0'], ...over });
}

export class RecordingHandler implements SubmitHandler {
  readonly submits: { session: EsmeSession; pdu: Buffer }[] = [];
  readonly receiversBound: EsmeSession[] = [];
  onSubmit(session: EsmeSession, pdu: Buffer): void {
    this.submits.push({ session, pdu: Buffer.from(pdu) });
  }
  onReceiverBound(session: EsmeSession): void {
    this.receiversBound.push(session);
  }
}

export interface SessionRig {
  clock: ManualClock;
  metrics: Metrics;
  accounts: AccountTable;
  handler: RecordingHandler;
  env: SessionEnv;
  setDraining(on: boolean): void;
  /** A new connection from `remote`: the session and the ESME at the far end. */
  connect(remote?: string): { session: EsmeSession; esme: Peer };
  /** A connection bound as `kind` (asserts the bind_resp is ESME_ROK). */
  bound(kind?: BindKind, systemId?: string, remote?: string): Promise<{ session: EsmeSession; esme: Peer }>;
}

export function sessionRig(
  opts: { accounts?: AccountConfig[]; deliverTimeoutMs?: number; sharedBinds?: SessionEnv['sharedBinds']; maxPduLength?: number } = {},
): SessionRig {
  const clock = new ManualClock(1_000_000);
  const metrics = new Metrics(false);
  const accounts = new AccountTable(opts.accounts ?? [accountCfg()], clock.now());
  const handler = new RecordingHandler();
  let draining = false;
  const env: SessionEnv = {
    accounts,
    handler,
    metrics,
    log: silentLog(),
    clock,
    gatewayId: 'smppguard',
    deliverTimeoutMs: opts.deliverTimeoutMs ?? 5000,
    isDraining: () => draining,
    sharedBinds: opts.sharedBinds,
  };
  const connect = (remote = '127.0.0.1') => {
    const [near, far] = streamPair(remote);
    const session = new EsmeSession(near, env, opts.maxPduLength ?? 4096);
    return { session, esme: new Peer(far) };
  };
  return {
    clock,
    metrics,
    accounts,
    handler,
    env,
    setDraining: (on) => void (draining = on),
    connect,
    async bound(kind = 'transceiver', systemId = 'esme', remote = '127.0.0.1') {
      const c = connect(remote);
      c.esme.send(bindPdu(kind, 1, systemId, 'secret'));
      const resp = await c.esme.next();
      expect(head(resp).status).toBe(0);
      return c;
    },
  };
}
