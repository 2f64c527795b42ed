/**
 * The primary's decisions in cli/workers.ts that need no processes: /readyz is the box's (ready only
 * while every worker is; a check is ok only when it is on every worker, its detail per worker when
 * they differ), and a worker dying again and again is restarted ever later, never in a tight loop.
 */
import { expect, it } from 'vitest';
import { boxReadiness, restartDelayMs } from '../../src/cli/workers.js';

const worker = (ready: boolean, smsc: string) => ({ ready, checks: { smsc: { ok: ready, detail: smsc }, redis: { ok: true, detail: 'PONG' } } });

it('is ready while every worker is, and says which worker is not', () => {
  const both = boxReadiness([worker(true, '2/2 binds up'), worker(true, '2/2 binds up')]);
  expect(both.ready).toBe(true);
  expect(both.checks).toEqual({ workers: { ok: true, detail: '2/2 workers ready' }, smsc: { ok: true, detail: '2/2 binds up' }, redis: { ok: true, detail: 'PONG' } });

  const one = boxReadiness([worker(true, '2/2 binds up'), worker(false, '0/2 binds up')]);
  expect(one.ready).toBe(false);
  expect(one.checks.workers).toEqual({ ok: false, detail: '1/2 workers ready' });
  expect(one.checks.smsc).toEqual({ ok: false, detail: 'worker 0: 2/2 binds up; worker 1: 0/2 binds up' });

  const gone = boxReadiness([worker(true, '2/2 binds up'), null]);
  expect(gone.ready).toBe(false);
  expect(gone.checks.redis).toEqual({ ok: false, detail: 'worker 0: PONG; worker 1: not running' });
  expect(boxReadiness([]).ready).toBe(false);
});

it('restarts a crash-looping worker with a doubling delay, at most 30 s apart', () => {
  expect([0, 1, 2, 3, 4, 5, 6, 7, 100].map(restartDelayMs)).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
});
