/**
 * config/workers.ts: what each of `workers` processes runs — its share of every SMSC's binds and
 * TPS and of the connection caps, so the box together holds the configured figures — and the
 * configs `workers` cannot run.
 */
import { describe, expect, it } from 'vitest';
import { ConfigSchema, type Config } from '../../src/config/schema.js';
import { applyWorkerShare, bindShares, smscsWithoutBind, workerCount, workerProblems } from '../../src/config/workers.js';

const smsc = (name: string, binds: number, tps = 0) => ({ name, port: 2775, system_id: 'gw', binds, tps });
const config = (smscs: ReturnType<typeof smsc>[], over: Record<string, unknown> = {}): Config =>
  ConfigSchema.parse({ downstream: { smscs }, listen: { max_connections: 2000, max_connections_per_ip: 50 }, ...over });

describe('workers', () => {
  it('is 1 by default, a number, or auto (one per core)', () => {
    expect(config([]).workers).toBe(1);
    expect(ConfigSchema.parse({ workers: 4 }).workers).toBe(4);
    expect(ConfigSchema.parse({ workers: 'auto' }).workers).toBe('auto');
    expect(() => ConfigSchema.parse({ workers: 0 })).toThrow();
    expect(workerCount('auto', 8)).toBe(8);
    expect(workerCount(3, 8)).toBe(3);
  });

  it('spreads each SMSC’s binds so the totals are the configured ones and remainders go round', () => {
    expect(bindShares([4], 2)).toEqual([[2, 2]]);
    expect(bindShares([3], 2)).toEqual([[2, 1]]);
    // Remainders continue where the last SMSC's stopped: every worker gets a bind.
    expect(bindShares([1, 1, 1], 3)).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    expect(bindShares([3, 1], 4)).toEqual([[1, 1, 1, 0], [0, 0, 0, 1]]);
    for (const [binds, n] of [[[5, 7, 1], 3], [[2], 4], [[9, 9], 4]] as [number[], number][]) {
      bindShares(binds, n).forEach((share, j) => expect(share.reduce((a, b) => a + b, 0)).toBe(binds[j]));
    }
  });

  it('cuts a worker’s config to its share: binds, TPS in proportion, connection caps and queue concurrency divided', () => {
    const shares = [0, 1].map((i) => {
      const c = config([smsc('a', 3, 300), smsc('b', 1, 50)], { queue: { concurrency: 201 } });
      const { firstLink } = applyWorkerShare(c, i, 2);
      return { c, firstLink };
    });
    const [w0, w1] = shares.map((s) => s.c);
    expect(w0!.downstream.smscs.map((s) => [s.binds, s.tps])).toEqual([[2, 200], [0, 0]]);
    expect(w1!.downstream.smscs.map((s) => [s.binds, s.tps])).toEqual([[1, 100], [1, 50]]);
    expect(shares[1]!.firstLink.get('a')).toBe(2); // worker 1's bind to a is a#2 on the box
    for (const c of [w0!, w1!]) {
      expect(c.listen.max_connections).toBe(1000);
      expect(c.listen.max_connections_per_ip).toBe(25);
      expect(c.queue.concurrency).toBe(101);
    }
    expect(smscsWithoutBind(config([smsc('a', 3), smsc('b', 1)]), 0, 2)).toEqual(['b']);
  });

  it('one worker is today’s single process: nothing changes', () => {
    const c = config([smsc('a', 3, 300)]);
    applyWorkerShare(c, 0, 1);
    expect(c.downstream.smscs[0]!.binds).toBe(3);
    expect(c.downstream.smscs[0]!.tps).toBe(300);
    expect(c.listen.max_connections).toBe(2000);
  });

  it('refuses more workers than SMSC binds in total (a worker would have none)', () => {
    expect(workerProblems(config([smsc('a', 1)]), 2)[0]).toMatch(/worker\(s\) 1 would have no SMSC bind/);
    expect(workerProblems(config([smsc('a', 1), smsc('b', 1)]), 2)).toEqual([]);
    expect(workerProblems(config([]), 4)).toEqual([]);
  });
});
