/**
 * A local Redis Cluster on loopback for tests and the benchmark: 3 masters + 3 replicas started with
 * `redis-server --cluster-enabled yes` and joined with `redis-cli --cluster create`. A master can
 * be killed (SIGKILL) to watch its replica take over.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/sim/free-port.js';
import { cliArgs, listenArgs, type RedisTlsFiles } from './redis-tls-files.js';

export interface ClusterNode {
  port: number;
  proc: ChildProcess;
}

export class LocalRedisCluster {
  private constructor(
    readonly nodes: ClusterNode[],
    private readonly dir: string,
    /** redis-cli's connection options (TLS ones for a TLS cluster). */
    private readonly cliOpts: string[],
  ) {}

  /** Seed list for the gateway's `redis.cluster`. */
  get seeds(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  static async start(opts: { nodeTimeoutMs?: number; tls?: RedisTlsFiles } = {}): Promise<LocalRedisCluster> {
    const cliOpts = cliArgs(opts.tls);
    const dir = mkdtempSync(join(tmpdir(), 'sg-cluster-'));
    const cluster = new LocalRedisCluster([], dir, cliOpts);
    try {
      for (let i = 0; i < 6; i++) cluster.nodes.push(await cluster.startNode(opts));
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    const r = spawnSync('redis-cli', [...cliOpts, '--cluster', 'create', ...cluster.nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (r.status !== 0) {
      await cluster.stop();
      throw new Error(`redis-cli --cluster create failed: ${r.stdout}\n${r.stderr}`);
    }
    await cluster.waitState('ok');
    await cluster.waitReplicasInSync();
    return cluster;
  }

  /**
   * One node on a free port, answering PING. freePort's port was free a moment ago, and the bus's
   * port + 10000 was never checked: either may be taken (by an outgoing connection's ephemeral port,
   * often) when redis-server binds, and then it exits at once. Such a node is started again on
   * another port; a node that fails otherwise, or five times, fails the start with its log's end.
   */
  private async startNode(opts: { nodeTimeoutMs?: number; tls?: RedisTlsFiles }): Promise<ClusterNode> {
    for (let attempt = 1; ; attempt++) {
      let port = await freePort();
      while (port > 55_000) port = await freePort();
      const logfile = join(this.dir, `redis-${port}.log`);
      const proc = spawn(
        'redis-server',
        [
          ...listenArgs(port, opts.tls),
          ...(opts.tls ? ['--tls-cluster', 'yes'] : []),
          '--bind', '127.0.0.1',
          '--cluster-enabled', 'yes',
          '--cluster-config-file', `nodes-${port}.conf`,
          '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 2000),
          '--save', '',
          '--appendonly', 'no',
          '--set-max-intset-entries', '32768',
          // Replicas sync at once (the diskless default waits 5 s), and may take over however
          // long they were cut off: a test kills masters seconds after start.
          '--repl-diskless-sync-delay', '0',
          '--cluster-replica-validity-factor', '0',
          '--dir', this.dir,
          '--logfile', logfile,
        ],
        { stdio: 'ignore' },
      );
      const started = await this.waitPing(port, proc);
      if (started) return { port, proc };
      proc.kill('SIGKILL');
      const log = logTail(logfile);
      if (attempt < 5 && /address already in use/i.test(log)) continue;
      throw new Error(`redis-server on ${port} did not start:\n${log}`);
    }
  }

  private cli(port: number, ...args: string[]): string {
    return spawnSync('redis-cli', [...this.cliOpts, '-p', String(port), ...args], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
  }

  /** True once the node answers PING; false when it exits first or stays silent for 15 s. */
  private async waitPing(port: number, proc: ChildProcess): Promise<boolean> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (this.cli(port, 'ping').trim() === 'PONG') return true;
      if (proc.exitCode !== null || proc.signalCode !== null) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  /** Waits until every live node reports cluster_state `state` and agrees on 3 masters. */
  async waitState(state: 'ok', timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = this.nodes.filter((n) => n.proc.exitCode === null && n.proc.signalCode === null);
      const ok = live.every((n) => this.cli(n.port, 'cluster', 'info').includes(`cluster_state:${state}`));
      if (ok && this.masters().length === 3) return;
      if (Date.now() > deadline) throw new Error(`cluster not ${state} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Until every replica reports its link to the master up (a failover needs synced replicas). */
  private async waitReplicasInSync(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const infos = this.nodes.map((n) => this.cli(n.port, 'info', 'replication'));
      const replicas = infos.filter((i) => i.includes('role:slave'));
      if (replicas.length === 3 && replicas.every((i) => i.includes('master_link_status:up'))) return;
      if (Date.now() > deadline) throw new Error('cluster replicas not in sync');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Ports of the live masters, by `cluster nodes` as a live node sees it. */
  masters(): number[] {
    const live = this.nodes.find((n) => n.proc.exitCode === null && n.proc.signalCode === null);
    if (!live) return [];
    return this.cli(live.port, 'cluster', 'nodes')
      .split('\n')
      .filter((l) => isLiveMaster(l.split(' ')[2]))
      .map((l) => Number(/:(\d+)@/.exec(l)?.[1]));
  }

  /** CLUSTER KEYSLOT, as Redis computes it. */
  slotOf(key: string): number {
    const live = this.nodes.find((n) => n.proc.exitCode === null && n.proc.signalCode === null)!;
    return Number(this.cli(live.port, 'cluster', 'keyslot', key).trim());
  }

  /** The master port serving a key's slot. */
  masterOf(key: string): number {
    const slot = this.slotOf(key);
    const live = this.nodes.find((n) => n.proc.exitCode === null && n.proc.signalCode === null)!;
    for (const l of this.cli(live.port, 'cluster', 'nodes').split('\n')) {
      const f = l.split(' ');
      if (!isLiveMaster(f[2])) continue;
      for (const range of f.slice(8)) {
        const [a, b] = range.split('-').map(Number);
        if (slot >= a! && slot <= (b ?? a)!) return Number(/:(\d+)@/.exec(l)?.[1]);
      }
    }
    throw new Error(`no master for slot ${slot}`);
  }

  /** Waits until `port` is no longer a master and three live masters serve every slot again. */
  async waitFailover(port: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.masters();
      const live = this.nodes.filter((n) => n.proc.exitCode === null && n.proc.signalCode === null);
      const ok = live.every((n) => this.cli(n.port, 'cluster', 'info').includes('cluster_state:ok'));
      if (ok && m.length === 3 && !m.includes(port)) return;
      if (Date.now() > deadline) throw new Error(`no failover of ${port} after ${timeoutMs} ms (masters ${m.join(', ')})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** kill -9 of one node. */
  kill(port: number): void {
    this.nodes.find((n) => n.port === port)?.proc.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) n.proc.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `cluster nodes` flags such as "myself,master" or "master,fail". */
function isLiveMaster(flags: string | undefined): boolean {
  const f = (flags ?? '').split(',');
  return f.includes('master') && !f.includes('fail') && !f.includes('fail?');
}

/** The last lines of a redis-server log, for an error message ('' when there is none). */
function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
}
