/** Helpers of the benchmark scripts: child processes (start, read a line, wait for a port), Redis clean-up. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Keys } from '../src/store/keys.js';

export const DIST_BENCH = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(DIST_BENCH, '..', '..');
export const CLI = join(ROOT, 'dist/src/cli/main.js');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** `--name N` from argv as a number, else `dflt`. */
export function numberFlag(argv: readonly string[], name: string, dflt: number): number {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** `node args…` with stdout piped (or both streams to `log`). */
export function child(args: string[], log?: string): ChildProcess {
  const fd = log ? openSync(log, 'a') : 'ignore';
  const p = spawn(process.execPath, args, { stdio: ['pipe', log ? fd : 'pipe', log ? fd : 'pipe'], cwd: ROOT });
  if (typeof fd === 'number') closeSync(fd);
  return p;
}

/** The child's first stdout line (loadgen's result, sim-proc's ready line). */
export function firstLine(p: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    p.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    p.once('exit', (code) => reject(new Error(`child exited with ${code}: ${buf}`)));
  });
}

/** Resolves once something accepts TCP connections on `port`. */
export async function listening(port: number, ms = 30_000): Promise<void> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(100)) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
  }
  throw new Error(`nothing listening on ${port} after ${ms / 1000} s`);
}

/** Resolves once http://127.0.0.1:port/readyz answers 200. */
export async function ready(port: number, ms = 30_000): Promise<void> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(100)) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch {
      /* not up yet */
    }
  }
  throw new Error(`/readyz on ${port} not 200 after ${ms / 1000} s`);
}

export interface RunFlags {
  rounds: number;
  durationMs: number;
  write: boolean;
}

/** `--rounds N --duration-ms N --write` of bench:queue and bench:scale; usage and exit 2 otherwise. */
export function runFlags(argv: string[], script: string, durationMs: number): RunFlags {
  const f: RunFlags = { rounds: 3, durationMs, write: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rounds') f.rounds = Number(argv[++i]);
    else if (a === '--duration-ms') f.durationMs = Number(argv[++i]);
    else if (a === '--write') f.write = true;
    else {
      process.stderr.write(`usage: npm run ${script} -- [--rounds N] [--duration-ms N] [--write]\n`);
      process.exit(2);
    }
  }
  return f;
}

/** Unlinks the keys matching `pattern` on the local Redis (127.0.0.1:6379); returns how many. */
export async function cleanRedis(pattern: string, url = 'redis://127.0.0.1:6379'): Promise<number> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  let removed = 0;
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length) removed += await r.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  return removed;
}

/**
 * Empties the decision buffer (store/audit-stream.ts) of a key prefix every gateway run shares, one
 * key per shard by name (no SCAN over the policy data's millions of keys): a run must not inherit its
 * predecessors' buffer, or once that reaches its byte bound every flush of the next runs also trims
 * (audit-append.lua) and the figures depend on what ran before. Returns the keys removed.
 */
export async function clearDecisionBuffer(prefix: string, shards: number, url = 'redis://127.0.0.1:6379'): Promise<number> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  try {
    await r.connect();
    const k = new Keys(prefix);
    const keys: string[] = [];
    for (let s = 0; s < shards; s++) keys.push(k.audit(s), k.auditMeta(s));
    return await r.unlink(...keys);
  } finally {
    r.disconnect();
  }
}

/** A process's live children ([] when it has none, is gone, or the kernel has no children file). */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Busy ticks of a process and its live children (a gateway with workers: N is a primary and N workers). */
export function cpuTicks(pid: number | undefined, depth = 2): number | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let ticks = Number(rest[11]) + Number(rest[12]); // utime + stime (fields 14, 15)
    if (depth > 0) for (const kid of childPids(pid)) ticks += cpuTicks(kid, depth - 1) ?? 0;
    return ticks;
  } catch {
    return null;
  }
}

/**
 * Busy ticks of the archive writer's processes below `pid` (children and grandchildren whose command
 * line names archive-main): the part of cpuTicks(pid) that is the gateway's archive child, so a
 * run's gateway CPU can be split into the gateway's own and its archive's. 0 when there is none.
 */
export function archiveTicks(pid: number | undefined, depth = 2): number | null {
  if (!pid) return null;
  let ticks = 0;
  const walk = (p: number, d: number) => {
    for (const kid of childPids(p)) {
      let cmd: string;
      try {
        cmd = readFileSync(`/proc/${kid}/cmdline`, 'utf8');
      } catch {
        continue; // gone meanwhile
      }
      if (cmd.includes('archive-main')) ticks += cpuTicks(kid, 1) ?? 0;
      else if (d > 1) walk(kid, d - 1);
    }
  };
  walk(pid, depth);
  return ticks;
}

/** Seconds of CPU in a Redis INFO cpu reply (used_cpu_user + used_cpu_sys, all its threads), or null. */
export function parseRedisCpu(info: string): number | null {
  const user = /^used_cpu_user:([\d.]+)/m.exec(info);
  const sys = /^used_cpu_sys:([\d.]+)/m.exec(info);
  return user && sys ? Number(user[1]) + Number(sys[1]) : null;
}

/**
 * The kernel's DAMON-based proactive reclaim, when it runs on this machine: e.g. "DAMON on (samples
 * every 500 ms; pageout)", or null. Such a kdamond wakes every sampling interval and checks (and
 * clears) the access bits of a page per monitored region, thousands of regions at a time: kernel
 * work of several ms a wake-up that delays whatever runs on that core, so a fixed-rate run's tail
 * shows stalls at that period (bench/README.md). `root`: the sysfs directory (tests).
 */
export function damonReclaim(root = '/sys/kernel/mm/damon/admin'): string | null {
  const read = (p: string) => {
    try {
      return readFileSync(join(root, p), 'utf8').trim();
    } catch {
      return null;
    }
  };
  const found: string[] = [];
  const kdamonds = Number(read('kdamonds/nr_kdamonds') ?? 0);
  for (let k = 0; k < kdamonds; k++) {
    if (read(`kdamonds/${k}/state`) !== 'on') continue;
    const contexts = Number(read(`kdamonds/${k}/contexts/nr_contexts`) ?? 1);
    for (let c = 0; c < contexts; c++) {
      const ctx = `kdamonds/${k}/contexts/${c}`;
      const sampleUs = Number(read(`${ctx}/monitoring_attrs/intervals/sample_us`));
      const schemes = Number(read(`${ctx}/schemes/nr_schemes`) ?? 0);
      const actions = new Set<string>();
      for (let s = 0; s < schemes; s++) actions.add(read(`${ctx}/schemes/${s}/action`) ?? '?');
      const every = Number.isFinite(sampleUs) && sampleUs > 0 ? `samples every ${sampleUs / 1000} ms` : 'sampling interval unknown';
      found.push(`${every}${actions.size ? `; ${[...actions].join(', ')}` : ''}`);
    }
  }
  return found.length ? `DAMON on (${found.join(' / ')})` : null;
}
