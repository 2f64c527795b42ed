/** A Redis master, one replica and one Sentinel on loopback, for the Sentinel configuration's tests. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/sim/free-port.js';
import { cliArgs, listenArgs, type RedisTlsFiles } from './redis-tls-files.js';

export class LocalSentinel {
  private constructor(
    private readonly procs: ChildProcess[],
    private readonly dir: string,
    readonly masterPort: number,
    readonly sentinelPort: number,
  ) {}

  /** `tls`: every server and the sentinel speak only TLS (replication included) and require client certificates. */
  static async start(name = 'sg', tls?: RedisTlsFiles): Promise<LocalSentinel> {
    const dir = mkdtempSync(join(tmpdir(), 'sg-sentinel-'));
    const [m, r, s] = [await freePort(), await freePort(), await freePort()];
    const listen = (port: number) => listenArgs(port, tls);
    const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--repl-diskless-sync-delay', '0'];
    const procs = [
      spawn('redis-server', [...listen(m), ...common], { stdio: 'ignore' }),
      spawn('redis-server', [...listen(r), '--replicaof', '127.0.0.1', String(m), ...common], { stdio: 'ignore' }),
    ];
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${s}\nbind 127.0.0.1\nsentinel monitor ${name} 127.0.0.1 ${m} 1\nsentinel down-after-milliseconds ${name} 1000\nsentinel failover-timeout ${name} 5000\n`);
    procs.push(spawn('redis-server', [conf, '--sentinel', ...listen(s)], { stdio: 'ignore' }));
    const st = new LocalSentinel(procs, dir, m, s);
    const cliOpts = cliArgs(tls);
    for (let i = 0; i < 100; i++) {
      const out = spawnSync('redis-cli', [...cliOpts, '-p', String(s), 'sentinel', 'get-master-addr-by-name', name], { encoding: 'utf8' }).stdout;
      if (out.includes(String(m))) return st;
      await new Promise((res) => setTimeout(res, 100));
    }
    await st.stop();
    throw new Error('sentinel did not come up');
  }

  async stop(): Promise<void> {
    for (const p of this.procs) p.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
