/**
 * The listening socket ESMEs bind to: accepts connections, creates sessions, sweeps idle ones, and
 * runs the upstream half of graceful shutdown (stop accepting, wait for in-flight submits, unbind).
 */
import { createServer, type Server } from 'node:net';
import type { SessionEnv } from './esme-session.js';
import { EsmeSession } from './esme-session.js';

export interface UpstreamOptions {
  host: string;
  port: number;
  maxPduLength: number;
  idleTimeoutS: number;
  bindTimeoutS: number;
}

export class UpstreamServer {
  private readonly server: Server;
  readonly sessions = new Set<EsmeSession>();
  private sweepTimer: NodeJS.Timeout | null = null;
  draining = false;

  constructor(
    private readonly opts: UpstreamOptions,
    private readonly env: Omit<SessionEnv, 'isDraining'>,
  ) {
    const sessionEnv: SessionEnv = { ...env, isDraining: () => this.draining };
    this.server = createServer((socket) => {
      // TCP keepalive finds ESMEs that vanished without a FIN (receivers rarely send anything).
      socket.setKeepAlive(true, 30_000);
      const s = new EsmeSession(socket, sessionEnv, opts.maxPduLength);
      this.sessions.add(s);
      socket.once('close', () => this.sessions.delete(s));
    });
    this.server.on('error', (err) => env.log.error({ err }, 'upstream listener error'));
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        this.sweepTimer = setInterval(() => this.sweep(), 1000);
        this.sweepTimer.unref();
        resolve(typeof addr === 'object' && addr ? addr.port : this.opts.port);
      });
    });
  }

  /** Closes sessions idle past the timeout and connections that never completed a bind. */
  private sweep(): void {
    const now = this.env.clock.now();
    for (const s of this.sessions) {
      const quiet = (now - s.lastRx) / 1000;
      if (s.state === 'BOUND' && this.opts.idleTimeoutS > 0 && quiet > this.opts.idleTimeoutS) {
        this.env.log.info({ session: s.id, account: s.account?.id }, 'ESME idle timeout: unbinding');
        s.unbind();
      } else if ((s.state === 'OPEN' || s.state === 'BINDING') && quiet > this.opts.bindTimeoutS) {
        s.close('no bind in time');
      }
    }
  }

  get inFlight(): number {
    let n = 0;
    for (const s of this.sessions) n += s.outstanding;
    return n;
  }

  /** Stops accepting binds and connections (existing sessions carry on). */
  stopAccepting(): void {
    this.draining = true;
    // close() stops new connections now; its callback would wait for every session to end.
    this.server.close();
  }

  /** Unbinds every session and waits (at most `ms`) for them to go. */
  async unbindAll(ms: number): Promise<void> {
    for (const s of this.sessions) s.unbind();
    const deadline = Date.now() + ms;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.sessions) s.conn.destroy('shutdown deadline');
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }
}
