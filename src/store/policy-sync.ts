/**
 * Keeps this instance's copy of rarely-changing policy data current: loads the sender registry
 * and the DND generation at start, follows change events on pub/sub (several instances agree
 * within a second), and reloads everything whenever the subscription (re)connects, so a missed
 * event during a Redis outage cannot leave a stale cache behind.
 */
import type { Redis } from 'ioredis';
import { SenderRegistry, type SenderRecord } from '../policy/senders.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { PolicyStore } from './policy-store.js';

export class PolicySync {
  loaded = false;
  private sub: Redis | null = null;

  constructor(
    private readonly store: PolicyStore,
    readonly registry: SenderRegistry,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    metrics.onCollect(() => {
      metrics.policyData.set({ kind: 'senders' }, registry.size);
      metrics.policyData.set({ kind: 'dnd_generation' }, store.dndGen);
      metrics.policyData.set({ kind: 'loaded' }, this.loaded ? 1 : 0);
    });
  }

  /** Subscribes and loads; resolves after the first load attempt (the subscription keeps retrying). */
  async start(): Promise<void> {
    const sub = this.store.redis.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
    this.sub = sub;
    sub.on('error', () => undefined);
    sub.on('message', (_channel: string, msg: string) => void this.onEvent(msg));
    sub.on('ready', () => {
      // (Re)subscribed: events may have been missed while disconnected.
      void sub.subscribe(this.store.keys.events).then(() => this.reload());
    });
    if (sub.status === 'wait') await sub.connect().catch(() => undefined);
    await this.reload();
  }

  async reload(): Promise<void> {
    try {
      const [senders] = await Promise.all([this.store.allSenders(), this.store.refreshDndGeneration()]);
      const fresh = new Set(senders.map((s) => s.id));
      for (const old of this.registry.all()) if (!fresh.has(old.id)) this.registry.remove(old.id);
      for (const s of senders) this.registry.upsert(s);
      if (!this.loaded) this.log.info({ senders: senders.length, dnd_generation: this.store.dndGen }, 'policy data loaded');
      this.loaded = true;
    } catch (err) {
      this.metrics.redisErrors.inc({ op: 'policy_reload' });
      this.log.warn({ err: String(err) }, 'could not load policy data (will retry on reconnect)');
      setTimeout(() => void this.reload(), 1000).unref();
    }
  }

  private async onEvent(msg: string): Promise<void> {
    const [kind, arg] = msg.split(' ', 2) as [string, string | undefined];
    try {
      if (kind === 'sender' && arg) {
        const rec: SenderRecord | null = await this.store.getSender(arg);
        if (rec) this.registry.upsert(rec);
        else this.registry.remove(arg);
      } else if (kind === 'dnd-gen') {
        await this.store.refreshDndGeneration();
        this.log.info({ dnd_generation: this.store.dndGen }, 'DND generation switched');
      }
    } catch (err) {
      this.metrics.redisErrors.inc({ op: 'policy_event' });
      void this.reload();
    }
  }

  async stop(): Promise<void> {
    this.sub?.disconnect();
  }
}
