/**
 * A private redis-server on a free loopback port, for tests that stop, freeze or restart Redis
 * (the shared one on 6379 must keep running for everything else).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/sim/free-port.js';
import { listenArgs, type RedisTlsFiles } from './redis-tls-files.js';

export { freePort };


export class PrivateRedis {
  private child: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    readonly tls?: RedisTlsFiles,
  ) {}

  /** rediss:// for a TLS server. */
  get url(): string {
    return `${this.tls ? 'rediss' : 'redis'}://127.0.0.1:${this.port}`;
  }

  /** `tls`: the server speaks only TLS and requires a client certificate. */
  static async start(tls?: RedisTlsFiles): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort(), tls);
    await r.restart();
    return r;
  }

  /** An ioredis client for the test's own use (with the client certificate on a TLS server). */
  client(): Redis {
    const t = this.tls;
    return new Redis(this.url, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      ...(t ? { tls: { ca: readFileSync(t.ca), cert: readFileSync(t.clientCert), key: readFileSync(t.clientKey) } } : {}),
    });
  }

  async restart(): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'sg-redis-'));
    this.child = spawn('redis-server', [...listenArgs(this.port, this.tls), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      const c = this.client();
      c.on('error', () => undefined);
      try {
        await c.connect();
        await c.ping();
        c.disconnect();
        return;
      } catch {
        c.disconnect();
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    throw new Error('private redis-server did not start');
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    c.kill('SIGCONT');
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  }
}
