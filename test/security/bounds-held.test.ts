/**
 * Bounded Redis: held receipts/MO (store/held-deliveries.ts) expire after receipts.held_ttl_h and
 * are capped per account — the oldest go first, counted in smppguard_held_dropped_total — and the
 * list key itself carries a TTL. Real Redis on 127.0.0.1:6379, unique key prefix per run, a
 * settable clock.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { HeldDeliveries } from '../../src/store/held-deliveries.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { valueOf } from '../helpers/fake-link.js';
import { moPdu } from '../helpers/pdus.js';
import { clearKeys } from '../helpers/redis-keys.js';

const PREFIX = `test:bounds:${process.pid}:${randomBytes(4).toString('hex')}:`;
const redis = new Redis('redis://127.0.0.1:6379');
const HOUR = 3_600_000;

afterAll(async () => {
  await clearKeys(redis, `${PREFIX}*`);
  redis.disconnect();
});

function rig(ttlMs: number, maxPerAccount: number) {
  let now = 1_800_000_000_000;
  const metrics = new Metrics(false);
  const held = new HeldDeliveries(redis, `${PREFIX}${randomBytes(3).toString('hex')}:`, { ttlMs, maxPerAccount, deadLetterAfter: 5 }, metrics, () => now);
  return { held, metrics, advance: (ms: number) => void (now += ms) };
}

const text = (pdu: Buffer) => pdu.subarray(pdu.length - 6).toString();
const mo = (i: number) => moPdu(i, '8613800138000', '10690001', `held ${i}`.padStart(6, '0'));

describe('held receipts/MO', () => {
  it('are capped per account: past the cap the oldest are dropped and counted; other accounts are untouched', async () => {
    const { held, metrics } = rig(72 * HOUR, 3);
    for (let i = 1; i <= 5; i++) await held.hold('flood', mo(i));
    await held.hold('quiet', mo(9));
    const left = await held.peek('flood', 10);
    expect(left.map((e) => text(e.pdu))).toEqual(['held 3', 'held 4', 'held 5']);
    expect(await held.count('flood')).toBe(3);
    expect(await held.count('quiet')).toBe(1);
    expect(await valueOf(metrics.heldDropped, { account: 'flood', reason: 'cap' })).toBe(2);
  });

  it('expire after the TTL: dropped (and counted) on the next read or write, and the key carries the TTL', async () => {
    const { held, metrics, advance } = rig(2 * HOUR, 100);
    await held.hold('acme', mo(1));
    await held.hold('acme', mo(2));
    const ttl = await redis.pttl(held.key('acme'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2 * HOUR);
    advance(HOUR);
    await held.hold('acme', mo(3));
    advance(HOUR + 1); // 1 and 2 are now older than the TTL; 3 is not
    const left = await held.peek('acme', 10);
    expect(left.map((e) => text(e.pdu))).toEqual(['held 3']);
    expect(await valueOf(metrics.heldDropped, { account: 'acme', reason: 'expired' })).toBe(2);
    advance(HOUR);
    await held.hold('acme', mo(4));
    expect((await held.peek('acme', 10)).map((e) => text(e.pdu))).toEqual(['held 4']);
    expect(await valueOf(metrics.heldDropped, { account: 'acme', reason: 'expired' })).toBe(3);
  });

  it('an acknowledgement trims only what was read, even when the cap dropped some of it meanwhile', async () => {
    const { held } = rig(72 * HOUR, 3);
    for (let i = 1; i <= 3; i++) await held.hold('acme', mo(i));
    const read = await held.peek('acme', 3);
    await held.hold('acme', mo(4)); // over the cap: 1 goes
    await held.ack('acme', read.map((e) => e.id));
    expect((await held.peek('acme', 10)).map((e) => text(e.pdu))).toEqual(['held 4']);
  });

  it('a PDU stored before entries had a header is still read and acknowledged', async () => {
    const { held } = rig(72 * HOUR, 100);
    await redis.rpush(held.key('old'), mo(1));
    await held.hold('old', mo(2));
    const read = await held.peek('old', 10);
    expect(read.map((e) => [e.id === '-', text(e.pdu)])).toEqual([
      [true, 'held 1'],
      [false, 'held 2'],
    ]);
    expect(read[0]!.pdu).toEqual(mo(1));
    await held.ack('old', read.map((e) => e.id));
    expect(await held.count('old')).toBe(0);
  });
});
