/**
 * SMSC groups in the pool over in-memory links with a manual clock: a later priority takes over
 * when the first is busy beyond the group's pending limit, a timeout is retried on another member
 * only with retry_on_timeout, and a member set aside comes back after hold_down_s.
 */
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { Status } from '../../src/protocol/status.js';
import { ManualClock } from '../../src/session/clock.js';
import { SmscPool } from '../../src/downstream/smsc-pool.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { head, settle, silentLog, valueOf } from '../helpers/fake-link.js';
import { submitPdu, submitResp } from '../helpers/pdus.js';
import { acceptBind, dialler } from './helpers.js';

function rig(groups: unknown[], window = 1) {
  const cfg = ConfigSchema.parse({
    downstream: {
      response_timeout_ms: 1000,
      reconnect_initial_ms: 100,
      reconnect_max_ms: 100,
      smscs: ['a', 'b'].map((name, i) => ({ name, port: 3000 + i, system_id: 'gw', password: 'pw', window })),
      groups,
    },
  });
  const clock = new ManualClock(0);
  const metrics = new Metrics(false);
  const { dial, dials } = dialler();
  const pool = new SmscPool(cfg, { metrics, log: silentLog(), clock, onDeliver: () => undefined, dial });
  const results: { tag: string; status: number; smsc: string | null }[] = [];
  const submit = (tag: string) => pool.submit(submitPdu(1, { short_message: tag }), (_r, status, smsc) => void results.push({ tag, status, smsc }), 'g');
  return {
    pool,
    clock,
    metrics,
    results,
    submit,
    async start() {
      pool.start();
      for (const d of dials) await acceptBind(d);
      return dials.map((d) => d.smsc);
    },
  };
}

describe('SMSC groups in the pool', () => {
  it('parks for the first priority up to max_pending, then the next priority takes the overflow', async () => {
    const r = rig([{ name: 'g', members: [{ smsc: 'a' }, { smsc: 'b', priority: 2 }], max_pending: 1 }]);
    const [a, b] = await r.start();
    r.submit('m1'); // a's window (1)
    r.submit('m2'); // parked for a
    r.submit('m3'); // beyond max_pending: b
    r.submit('m4'); // b's window is full too: refused
    await settle();
    expect(a!.take()).toHaveLength(1);
    expect(b!.take()).toHaveLength(1);
    expect(r.results).toEqual([{ tag: 'm4', status: Status.ESME_RTHROTTLED, smsc: null }]);
    expect(await valueOf(r.metrics.routing.failovers, { group: 'g', reason: 'busy' })).toBe(1);
  });

  it('retries after a timeout only with retry_on_timeout, on the other member', async () => {
    for (const retry of [false, true]) {
      const r = rig([{ name: 'g', members: [{ smsc: 'a' }, { smsc: 'b' }], retry_on_timeout: retry }]);
      const [a, b] = await r.start();
      r.submit('m1');
      await settle();
      const first = [a!, b!].find((s) => s.take().length === 1)!;
      const other = first === a ? b! : a!;
      r.clock.advance(1001); // no answer in time
      await settle();
      const again = other.take();
      if (!retry) {
        expect(r.results).toEqual([{ tag: 'm1', status: Status.ESME_RSYSERR, smsc: first === a ? 'a' : 'b' }]);
        expect(again).toHaveLength(0);
        continue;
      }
      expect(again).toHaveLength(1);
      expect(r.results).toEqual([]);
      other.send(submitResp(head(again[0]!).sequence, 0, 'id-2'));
      await settle();
      expect(r.results).toEqual([{ tag: 'm1', status: 0, smsc: first === a ? 'b' : 'a' }]);
    }
  });

  it('a member set aside comes back after hold_down_s', async () => {
    const r = rig([{ name: 'g', members: [{ smsc: 'a' }, { smsc: 'b', priority: 2 }], failover_on: [0x14], failover_after: 1, hold_down_s: 10 }], 10);
    const [a, b] = await r.start();
    r.submit('m1');
    await settle();
    const [p] = a!.take();
    a!.send(submitResp(head(p!).sequence, 0x14, ''));
    await settle();
    r.submit('m2');
    await settle();
    expect(b!.take()).toHaveLength(1);
    r.clock.advance(10_000);
    r.submit('m3');
    await settle();
    expect(a!.take()).toHaveLength(1);
  });
});
