/**
 * The relay between real ESME sessions and a real SMSC pool, all over in-memory links with a manual
 * clock; the Redis-backed parts (DLR map, held store, queue) and the policy are in-memory stand-ins
 * the test can inspect and make fail.
 */
import { expect } from 'vitest';
import { ConfigSchema, type AccountConfig } from '../../src/config/schema.js';
import { SmscPool } from '../../src/downstream/smsc-pool.js';
import type { Policy, SubmitContext, Verdict } from '../../src/decision/verdict.js';
import type { BindKind } from '../../src/protocol/commands.js';
import type { QueuedMessage } from '../../src/queue/jobs.js';
import { Relay, type RelayDeps } from '../../src/relay/relay.js';
import { PrefixRoutes } from '../../src/relay/routes.js';
import { ManualClock } from '../../src/session/clock.js';
import type { MappedMessage } from '../../src/store/dlr-map.js';
import type { HeldEntry, Refusal } from '../../src/store/held-deliveries.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { AccountTable } from '../../src/upstream/accounts.js';
import { EsmeSession, type SessionEnv } from '../../src/upstream/esme-session.js';
import { head, Peer, settle, silentLog, streamPair } from '../helpers/fake-link.js';
import { bindPdu } from '../helpers/pdus.js';
import { acceptBind, dialler } from '../downstream/helpers.js';
import { accountCfg } from '../upstream/helpers.js';

/** A policy whose verdict the test sets; `pending` holds the callbacks of deferred decisions. */
export class ScriptedPolicy implements Policy {
  verdict: Verdict | null | ((ctx: SubmitContext) => Verdict | null) = { action: 'forward', reason: 'test' };
  readonly seen: SubmitContext[] = [];
  readonly pending: ((v: Verdict) => void)[] = [];
  decide(ctx: SubmitContext, done: (v: Verdict) => void): Verdict | null {
    this.seen.push(ctx);
    const v = typeof this.verdict === 'function' ? this.verdict(ctx) : this.verdict;
    if (v === null) this.pending.push(done);
    return v;
  }
}

export class MemoryDlrMap {
  readonly recorded: unknown[][] = [];
  readonly entries = new Map<string, MappedMessage>();
  failLookups = false;
  record(messageId: string, account: string, sourceTon?: number, source?: string, destination?: string, gatewayId?: string): void {
    this.recorded.push([messageId, account, sourceTon, source, destination, gatewayId].filter((x) => x !== undefined));
  }
  async lookupMessage(id: string): Promise<MappedMessage | null> {
    if (this.failLookups) throw new Error('redis down');
    return this.entries.get(id) ?? null;
  }
  map(id: string, account: string, gatewayId: string | null = null): void {
    this.entries.set(id, { account, sourceTon: 1, source: '10690001', destination: '8613800138000', gatewayId });
  }
}

export class MemoryHeld {
  readonly lists = new Map<string, Buffer[]>();
  private readonly ids = new Map<Buffer, { id: string; refusals: number }>();
  private n = 0;
  failHold = false;
  readonly acks: [string, number][] = [];
  readonly dead: [string, Buffer][] = [];
  async hold(account: string, pdu: Buffer): Promise<void> {
    if (this.failHold) throw new Error('redis down');
    const l = this.lists.get(account) ?? [];
    const copy = Buffer.from(pdu);
    this.ids.set(copy, { id: String(++this.n), refusals: 0 });
    l.push(copy);
    this.lists.set(account, l);
  }
  async peek(account: string, n: number): Promise<HeldEntry[]> {
    return (this.lists.get(account) ?? []).slice(0, n).map((b) => ({ id: this.ids.get(b)!.id, pdu: Buffer.from(b), heldAt: null, refusals: this.ids.get(b)!.refusals }));
  }
  /** Removes the acknowledged ids from the head, in order (as the Redis script does). */
  async ack(account: string, ids: string[]): Promise<void> {
    this.acks.push([account, ids.length]);
    const l = this.lists.get(account) ?? [];
    for (const id of ids) if (l[0] && this.ids.get(l[0])!.id === id) l.shift();
  }
  /** Dead after 5 refusals (the default). */
  async refused(account: string, id: string): Promise<Refusal> {
    const l = this.lists.get(account) ?? [];
    const head = l[0] && this.ids.get(l[0]);
    if (!head || head.id !== id) return { outcome: 'gone' };
    if (++head.refusals < 5) return { outcome: 'kept', refusals: head.refusals };
    this.dead.push([account, l.shift()!]);
    return { outcome: 'dead' };
  }
  of(account: string): Buffer[] {
    return this.lists.get(account) ?? [];
  }
}

/** The queue's store and worker as the relay sees them. */
export class MemoryQueue {
  readonly queued: QueuedMessage[] = [];
  /** The status the store answers with (0: stored). */
  status = 0;
  safBacklog = false;
  safNoted = 0;
  private n = 0;
  readonly store = {
    newId: () => `gw-${++this.n}`,
    enqueue: (m: QueuedMessage, done: (status: number) => void) => {
      if (this.status === 0) this.queued.push({ ...m, pdu: Buffer.from(m.pdu) });
      queueMicrotask(() => done(this.status));
    },
  };
  readonly worker: { readonly safBacklog: boolean; noteSafQueued(): void };
  constructor() {
    const backlog = () => this.safBacklog;
    this.worker = {
      get safBacklog() {
        return backlog();
      },
      noteSafQueued: () => void this.safNoted++,
    };
  }
}

export interface RelayRigOptions {
  accounts?: AccountConfig[];
  mo?: { prefix: string; account: string }[];
  queue?: boolean;
  window?: number;
  responseTimeoutMs?: number;
  deliverTimeoutMs?: number;
  deps?: Partial<RelayDeps>;
}

export async function relayRig(o: RelayRigOptions = {}) {
  const clock = new ManualClock(1_800_000_000_000);
  const metrics = new Metrics(false);
  const log = silentLog();
  const accounts = new AccountTable(o.accounts ?? [accountCfg({ system_id: 'esme' }), accountCfg({ system_id: 'other' })], clock.now());
  const cfg = ConfigSchema.parse({
    downstream: {
      response_timeout_ms: o.responseTimeoutMs ?? 1000,
      reconnect_initial_ms: 100,
      reconnect_max_ms: 100,
      smscs: [{ name: 'smsc', port: 2775, system_id: 'gw', password: 'pw', window: o.window ?? 100 }],
    },
  });
  const { dial, dials } = dialler();
  let relay: Relay | null = null;
  const pool = new SmscPool(cfg, { metrics, log, clock, onDeliver: (l, p) => relay!.onDeliver(l, p), dial });
  const policy = new ScriptedPolicy();
  const dlrMap = new MemoryDlrMap();
  const held = new MemoryHeld();
  const queue = o.queue === false ? null : new MemoryQueue();
  const announced: string[] = [];
  relay = new Relay({
    pool,
    policy,
    accounts,
    dlrMap,
    held,
    moRoutes: new PrefixRoutes(o.mo ?? [{ prefix: '10690', account: 'esme' }]),
    announceHeld: (a) => void announced.push(a),
    queue,
    clock,
    metrics,
    log,
    ...o.deps,
  });
  const env: SessionEnv = {
    accounts,
    handler: relay,
    metrics,
    log,
    clock,
    gatewayId: 'smppguard',
    deliverTimeoutMs: o.deliverTimeoutMs ?? 2000,
    isDraining: () => false,
  };
  pool.start();
  await acceptBind(dials[0]!);
  expect(pool.boundCount).toBe(1);
  const smsc = dials[0]!.smsc;
  return {
    clock,
    metrics,
    accounts,
    pool,
    relay,
    policy,
    dlrMap,
    held,
    queue,
    announced,
    smsc,
    dials,
    /** An ESME bound as `kind` to `account`. */
    async esme(kind: BindKind = 'transceiver', account = 'esme') {
      const [near, far] = streamPair();
      const session = new EsmeSession(near, env, 4096);
      const peer = new Peer(far);
      peer.send(bindPdu(kind, 1, account, 'secret'));
      const resp = await peer.next();
      expect(head(resp).status).toBe(0);
      await settle();
      return { session, peer };
    },
  };
}
