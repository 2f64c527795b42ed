/** bench/procs.ts: the decision buffer a benchmark run starts with; the kernel's DAMON reclaim in the machine line; the archive child's CPU. */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { archiveTicks, clearDecisionBuffer, cpuTicks, damonReclaim } from '../../bench/procs.js';
import { REDIS_URL } from '../helpers/stack.js';

describe('clearDecisionBuffer', () => {
  const redis = new Redis(REDIS_URL);
  const prefix = `test:bench-procs:${process.pid}:`;
  afterAll(async () => {
    await redis.del(`${prefix}dnd:keep`);
    redis.disconnect();
  });

  it("removes every shard's stream and meta hash of the prefix, and nothing else", async () => {
    for (let s = 0; s < 4; s++) {
      await redis.xadd(`${prefix}audit:{a:${s}}`, '*', 'n', '1', 'd', 'line\n');
      await redis.hset(`${prefix}auditm:{a:${s}}`, 'b', '5');
    }
    await redis.set(`${prefix}dnd:keep`, '1');
    expect(await clearDecisionBuffer(prefix, 4, REDIS_URL)).toBe(8);
    for (let s = 0; s < 4; s++) {
      expect(await redis.exists(`${prefix}audit:{a:${s}}`, `${prefix}auditm:{a:${s}}`)).toBe(0);
    }
    expect(await redis.get(`${prefix}dnd:keep`)).toBe('1');
  });
});

describe('damonReclaim', () => {
  /** A DAMON sysfs tree: one kdamond in `state` with one context sampling every `sampleUs` and schemes doing `actions`. */
  function tree(state: string, sampleUs: number, actions: string[]): string {
    const root = mkdtempSync(join(tmpdir(), 'damon-'));
    const put = (p: string, v: string | number) => {
      mkdirSync(dirname(join(root, p)), { recursive: true });
      writeFileSync(join(root, p), `${v}\n`);
    };
    put('kdamonds/nr_kdamonds', 1);
    put('kdamonds/0/state', state);
    put('kdamonds/0/contexts/nr_contexts', 1);
    put('kdamonds/0/contexts/0/monitoring_attrs/intervals/sample_us', sampleUs);
    put('kdamonds/0/contexts/0/schemes/nr_schemes', actions.length);
    actions.forEach((a, i) => put(`kdamonds/0/contexts/0/schemes/${i}/action`, a));
    return root;
  }

  it('says when a kdamond runs, how often it samples and what its schemes do', () => {
    expect(damonReclaim(tree('on', 500_000, ['pageout']))).toBe('DAMON on (samples every 500 ms; pageout)');
    expect(damonReclaim(tree('on', 5000, []))).toBe('DAMON on (samples every 5 ms)');
  });

  it('is null when no kdamond runs, or the kernel has no DAMON', () => {
    expect(damonReclaim(tree('off', 500_000, ['pageout']))).toBeNull();
    expect(damonReclaim(join(tmpdir(), 'no-such-damon-dir'))).toBeNull();
  });
});

describe('archiveTicks', () => {
  it("counts the CPU of the children named archive-main, not the process's other children", async () => {
    // A stand-in gateway with two children, each busy for 0.5 s of CPU (50 ticks), then idle.
    const busy = 'const t = process.cpuUsage(); while (process.cpuUsage(t).user < 500_000); setTimeout(() => {}, 60_000)';
    const parent = spawn(
      process.execPath,
      ['-e', `const { spawn } = require('node:child_process'); for (const name of ['archive-main', 'other']) spawn(process.execPath, ['-e', ${JSON.stringify(busy)}, name], { stdio: 'ignore' }); setTimeout(() => {}, 60_000)`],
      { stdio: 'ignore', detached: true },
    );
    try {
      const pid = parent.pid!;
      // The archive child's ticks, and the other child's (the tree's less the parent's own and the archive's).
      const split = () => {
        const archive = archiveTicks(pid) ?? 0;
        return { archive, other: (cpuTicks(pid) ?? 0) - (cpuTicks(pid, 0) ?? 0) - archive };
      };
      const deadline = Date.now() + 20_000;
      let s = split();
      while ((s.archive < 45 || s.other < 45) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        s = split();
      }
      // Each child's busy half second lands on its own side: counting all children or none fails here.
      expect(s.archive).toBeGreaterThanOrEqual(45);
      expect(s.other).toBeGreaterThanOrEqual(45);
      expect(archiveTicks(undefined)).toBeNull();
    } finally {
      process.kill(-parent.pid!, 'SIGKILL');
    }
  });
});
