/**
 * Scenario (r): (b) with an MT routing table — 10 routes over 3 SMSC groups (docs/routing.md) — to
 * measure what routing adds to the forward path. The SMSC side is (b)'s (one simulator, 4 binds):
 * every group's member is that one SMSC connection, so only the route match, the group's choice
 * and the per-route metrics differ from (b). The load generator's destinations (86138 + 8 digits)
 * are matched against every route of order 0 (the longest prefix wins), as in a real table.
 */
import { rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { importFile } from '../src/import/import-file.js';
import { NUMBERING, writeLines } from './policy-data.js';

const prefixes = ['86134', '86135', '86136', '86137', '86138', '86139', '8615', '8618', '852'];

export const routingGateway = {
  policy: { enabled: false },
  audit: { destination: 'off' },
  downstream: {
    groups: [
      { name: 'north', members: [{ smsc: 'sim', priority: 1, weight: 3 }], retry_on: [0x58, 0x14] },
      { name: 'south', members: [{ smsc: 'sim', priority: 1 }], failover_on: [0x58], failover_after: 50 },
      { name: 'hub', members: [{ smsc: 'sim', priority: 1 }] },
    ],
  },
  routes: {
    mt: [
      ...prefixes.map((p, i) => ({ name: `r${i}`, destination_prefix: p, group: i < 4 ? 'north' : i < 8 ? 'south' : 'hub' })),
      { name: 'default', order: 10, group: 'hub' },
    ],
  },
};

/**
 * Scenario (rp): (r) with one more route, `ported_to: cu` → hub, and a number portability table
 * of 2 % of the load generator's first 4·10^6 destinations (half `cu`, half `ct`, seeded by
 * `seedPorted` after /readyz). Policy is off, so nothing else asks Redis: every message pays the
 * ported lookup (one HGET, pipelined with the other messages of its event-loop turn) — what a
 * `ported_to` route costs traffic that otherwise never waits for Redis (docs/routing.md).
 */
export const portedGateway = {
  ...routingGateway,
  routes: { mt: [...routingGateway.routes.mt, { name: 'to-cu', ported_to: 'cu', group: 'hub' }] },
};

/** 1 number in 50 of 8613800000000–8613803999999 ported (half to cu, half to ct). */
export const PORTED_RANGE = { base: 8613800000000, count: 4_000_000, every: 50 };

/** Loads the table under the gateway's key prefix as `smppguard import ported` does, then gives the gateway time to see the generation. */
export async function seedPorted(ctx: { redisPrefix: string }): Promise<void> {
  const file = join(os.tmpdir(), `sg-bench-ported-${process.pid}.csv`);
  const { base, count, every } = PORTED_RANGE;
  await writeLines(file, count / every + 1, (i) => (i === 0 ? 'msisdn,network' : `${base + (i - 1) * every + 7},${i % 2 === 0 ? 'cu' : 'ct'}`));
  const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  try {
    await importFile('ported', file, { redis, prefix: ctx.redisPrefix, numbering: NUMBERING, graceMs: 0, replace: true });
  } finally {
    redis.disconnect();
    rmSync(file, { force: true });
  }
  // Gateways follow a new generation within a second (the ported-gen event; a 5 s poll otherwise).
  await new Promise((r) => setTimeout(r, 1500));
}
