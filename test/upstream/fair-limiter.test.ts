/**
 * FairLimiter: at most N tasks at once, per-key queues with a cap, and a free slot goes to the
 * waiting key with the fewest running (round-robin among equals). Tasks are promises the test settles.
 */
import { describe, expect, it } from 'vitest';
import { FairLimiter } from '../../src/upstream/fair-limiter.js';

function deferred() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('FairLimiter', () => {
  it('runs at most maxConcurrent, gives the next slot to the key with the fewest running, and refuses past a key\'s queue cap', async () => {
    const lim = new FairLimiter(2, 3);
    const started: string[] = [];
    const tasks: ReturnType<typeof deferred>[] = [];
    const submit = (key: string, name: string) =>
      lim.run(key, () => {
        started.push(name);
        const d = deferred();
        tasks.push(d);
        return d.promise;
      });
    void submit('flood', 'f0');
    const failed = submit('flood', 'f1')!.catch((e: Error) => e.message);
    for (let i = 2; i < 5; i++) submit('flood', `f${i}`); // f0, f1 run; f2..f4 wait (cap 3)
    expect(submit('flood', 'f5')).toBeNull();
    submit('a', 'a0');
    submit('b', 'b0');
    expect(started).toEqual(['f0', 'f1']);
    expect(lim.active).toBe(2);
    tasks[0]!.resolve(); // flood still has 1 running: a (none running) goes first
    await tick();
    expect(started).toEqual(['f0', 'f1', 'a0']);
    tasks[1]!.reject(new Error('boom')); // a failed task frees its slot too (flood and b: none running; flood waited first)
    expect(await failed).toBe('boom');
    await tick();
    expect(started).toEqual(['f0', 'f1', 'a0', 'f2']);
    tasks[2]!.resolve(); // a0 done: flood has f2 running, b none
    await tick();
    expect(started).toEqual(['f0', 'f1', 'a0', 'f2', 'b0']);
    tasks[3]!.resolve();
    await tick();
    expect(started).toEqual(['f0', 'f1', 'a0', 'f2', 'b0', 'f3']);
  });
});
