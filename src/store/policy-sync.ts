/**
 * Keeps this instance's copy of rarely-changing policy data current: loads the sender registry
 * and the DND generation (and the number portability table's) at start, follows change events on pub/sub (several instances agree
 * within a second), and reloads everything whenever the subscription (re)connects, so a missed
 * event during a Redis outage cannot leave a stale cache behind.
 *
 * The senders go into whatever cache the gateway hands in (the policy's SenderRegistry,
 * policy/senders.ts): store/ knows only the SenderCache shape below, not the policy.
 */
import type { Redis } from 'ioredis';
import type { SenderRecord } from '../domain/sender.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { DndGeneration } from './dnd-generation.js';
import type { PolicyAdmin } from './policy-admin.js';
import { duplicateClient } from './redis.js';

/** Where this instance keeps the sender registrations (the gateway passes policy/senders.ts's SenderRegistry). */
export interface SenderCache {
  readonly size: number;
  /** A snapshot (the reload removes entries while going through it). */
  all(): readonly { readonly id: string }[];
  upsert(rec: SenderRecord): void;
  remove(id: string): void;
}

/** How often the DND generation is re-read even without an event (a missed "dnd-gen" message). */
const GENERATION_POLL_MS = 5000;
/**
 * Registrations per slice of a reload: read (HSCAN page), parsed and applied, then the loop is
 * yielded (setImmediate) so traffic runs between slices. ~0.5 ms of work a slice (bench/stalls.ts).
 */
const RELOAD_SLICE = 500;

const yieldLoop = () => new Promise<void>((r) => setImmediate(r));

export class PolicySync<C extends SenderCache = SenderCache> {
  loaded = false;
  private sub: Redis | null = null;
  private poll: NodeJS.Timeout | null = null;

  /** "held <account>": another instance held a receipt/MO for an account (the relay releases it if bound here). */
  onHeld: ((account: string) => void) | null = null;

  constructor(
    private readonly store: PolicyAdmin,
    readonly registry: C,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** The number portability table's generation the hot path reads (store/ported.ts); null: not kept. */
    private readonly ported: DndGeneration | null = null,
  ) {
    metrics.onCollect(() => {
      metrics.policyData.set({ kind: 'senders' }, registry.size);
      metrics.policyData.set({ kind: 'dnd_generation' }, store.generation.current);
      metrics.policyData.set({ kind: 'loaded' }, this.loaded ? 1 : 0);
    });
  }

  /** Subscribes and loads; resolves after the first load attempt (the subscription keeps retrying). */
  async start(): Promise<void> {
    const sub = duplicateClient(this.store.redis, { enableOfflineQueue: true, commandTimeout: undefined });
    this.sub = sub;
    sub.on('error', () => undefined);
    sub.on('message', (_channel: string, msg: string) => void this.onEvent(msg));
    sub.on('ready', () => {
      // (Re)subscribed: events may have been missed while disconnected.
      void sub.subscribe(this.store.keys.events).then(() => this.reload());
    });
    if (sub.status === 'wait') await sub.connect().catch(() => undefined);
    await this.reload();
    this.poll = setInterval(() => {
      this.store.generation.refresh().catch(() => this.metrics.redisErrors.inc({ op: 'dnd_generation' }));
      this.ported?.refresh().catch(() => this.metrics.redisErrors.inc({ op: 'ported_generation' }));
    }, GENERATION_POLL_MS);
    this.poll.unref();
    void this.checkRedisSettings();
  }

  /**
   * The DND register stays at ~2.6 bytes a number only while every bucket is an intset: warn when
   * Redis would convert buckets of more than a few hundred numbers (dense national ranges).
   */
  private async checkRedisSettings(): Promise<void> {
    try {
      const r = (await this.store.redis.config('GET', 'set-max-intset-entries')) as string[];
      const n = Number(r[1]);
      if (Number.isFinite(n) && n < 32768) {
        this.log.warn(
          { 'set-max-intset-entries': n },
          'Redis set-max-intset-entries is below 32768: dense DND ranges will cost ~50 bytes a number instead of ~2.6 (see docs/policy-data.md)',
        );
      }
    } catch {
      // CONFIG may be disabled (managed Redis); nothing to check then.
    }
  }

  async reload(): Promise<void> {
    try {
      // In slices: a reload on every reconnect must not hold the loop while traffic flows. The
      // registry stays whole meanwhile (upserts replace; what is gone goes at the end).
      const generation = Promise.all([this.store.generation.refresh(), this.ported?.refresh()]);
      // Awaited after the pages; handled now so that a failed page read does not leave it unhandled.
      generation.catch(() => undefined);
      const fresh = new Set<string>();
      for await (const page of this.store.senderPages(RELOAD_SLICE)) {
        for (const s of page) {
          fresh.add(s.id);
          this.registry.upsert(s);
        }
        await yieldLoop();
      }
      await generation;
      const stale = this.registry.all().filter((old) => !fresh.has(old.id));
      for (let i = 0; i < stale.length; i++) {
        this.registry.remove(stale[i]!.id);
        if (i % RELOAD_SLICE === RELOAD_SLICE - 1) await yieldLoop();
      }
      if (!this.loaded) this.log.info({ senders: fresh.size, dnd_generation: this.store.generation.current }, 'policy data loaded');
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
      } else if (kind === 'held' && arg) {
        this.onHeld?.(arg);
      } else if (kind === 'dnd-gen') {
        await this.store.generation.refresh();
        this.log.info({ dnd_generation: this.store.generation.current }, 'DND generation switched');
      } else if (kind === 'ported-gen' && this.ported) {
        await this.ported.refresh();
        this.log.info({ ported_generation: this.ported.current }, 'ported-number generation switched');
      }
    } catch {
      this.metrics.redisErrors.inc({ op: 'policy_event' });
      void this.reload();
    }
  }

  async stop(): Promise<void> {
    if (this.poll) clearInterval(this.poll);
    this.sub?.disconnect();
  }
}
