/**
 * PolicySync against the real Redis on 127.0.0.1:6379 (unique key prefix per run), with a cache of
 * the test's own instead of the policy's SenderRegistry: store/ asks only for the SenderCache shape.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { senderId, type SenderRecord } from '../../src/domain/sender.js';
import { PolicyAdmin } from '../../src/store/policy-admin.js';
import { PolicySync, type SenderCache } from '../../src/store/policy-sync.js';
import { connectRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { createLogger } from '../../src/telemetry/log.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { clearKeys } from '../helpers/redis-keys.js';

const PREFIX = `test:sync:${process.pid}:${randomBytes(4).toString('hex')}:`;
const actor = { who: 'test' };

class MapCache implements SenderCache {
  readonly byId = new Map<string, SenderRecord>();
  get size(): number {
    return this.byId.size;
  }
  all(): SenderRecord[] {
    return [...this.byId.values()];
  }
  upsert(rec: SenderRecord): void {
    this.byId.set(rec.id, rec);
  }
  remove(id: string): void {
    this.byId.delete(id);
  }
}

const sender = (value: string): SenderRecord => ({
  id: senderId('number', value),
  kind: 'number',
  value,
  account: 'esme',
  class: 'commercial',
  status: 'active',
  signatures: [],
});

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 400) throw new Error(`no ${what} within 2 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let redis: Redis;
let admin: PolicyAdmin;

beforeAll(async () => {
  redis = createRedis({ url: 'redis://127.0.0.1:6379', command_timeout_ms: 2000 });
  redis.on('error', () => undefined);
  expect(await connectRedis(redis, 5000)).toBe(true);
  admin = new PolicyAdmin(redis, PREFIX, 86_400_000);
});

afterAll(async () => {
  await clearKeys(redis, `${PREFIX}*`);
  redis.disconnect();
});

describe('PolicySync', () => {
  it('loads the senders into the cache it is given, follows changes and the DND generation, drops what is gone', async () => {
    await admin.putSender(sender('8610690001'), actor);
    const cache = new MapCache();
    cache.upsert(sender('8610690099')); // stale: not in Redis
    const sync = new PolicySync(admin, cache, new Metrics(false), createLogger('silent'));
    try {
      await sync.start();
      expect(sync.loaded).toBe(true);
      expect([...cache.byId.keys()]).toEqual([senderId('number', '8610690001')]);

      // Another instance's writes arrive as events.
      const other = new PolicyAdmin(redis, PREFIX, 86_400_000);
      await other.putSender({ ...sender('8610690002'), status: 'suspended' }, actor);
      await until(() => cache.byId.get(senderId('number', '8610690002'))?.status === 'suspended', 'sender event');
      await other.deleteSender(senderId('number', '8610690001'), actor);
      await until(() => !cache.byId.has(senderId('number', '8610690001')), 'delete event');

      const held: string[] = [];
      sync.onHeld = (account) => held.push(account);
      await redis.set(admin.keys.dndGen, '3');
      await redis.publish(admin.keys.events, 'dnd-gen 3');
      await redis.publish(admin.keys.events, 'held esme');
      await until(() => admin.generation.current === 3 && held.length === 1, 'dnd-gen and held events');
      expect(held).toEqual(['esme']);
    } finally {
      await sync.stop();
    }
  });

  it('reloads thousands of senders in slices, yielding the event loop between them', async () => {
    const many: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const s = sender(String(8613800000000 + i));
      many.push(s.id, JSON.stringify(s));
    }
    await redis.hset(admin.keys.senders, ...many);
    // Upserts in runs: a new run starts whenever another callback (the probe) ran since the last upsert.
    let probed = false;
    let runs = 0;
    class ProbedCache extends MapCache {
      override upsert(rec: SenderRecord): void {
        if (probed) runs++;
        probed = false;
        super.upsert(rec);
      }
    }
    const cache = new ProbedCache();
    cache.upsert(sender('8610690098')); // stale
    const sync = new PolicySync(admin, cache, new Metrics(false), createLogger('silent'));
    let probing = true;
    const probe = () => {
      probed = true;
      if (probing) setImmediate(probe);
    };
    setImmediate(probe);
    try {
      runs = 0;
      await sync.reload();
    } finally {
      probing = false;
    }
    // 2,000+ registrations in slices of 500: the event loop turned between the slices (one HGETALL
    // applied in one go would be a single run).
    expect(runs).toBeGreaterThanOrEqual(4);
    expect(cache.size).toBe((await redis.hlen(admin.keys.senders)));
    expect(cache.byId.has(senderId('number', '8613800001999'))).toBe(true);
    expect(cache.byId.has(senderId('number', '8610690098'))).toBe(false);
    await sync.stop();
  });
});
