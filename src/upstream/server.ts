/**
 * The listening sockets ESMEs bind to (plain TCP on listen.port, TLS on listen.tls.port, either or
 * both): accepts connections, creates sessions, sweeps idle ones, and runs the upstream half of
 * graceful shutdown (stop accepting, wait for in-flight submits, unbind).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { TlsServerConfig } from '../config/schema.js';
import type { TimerHandle } from '../session/clock.js';
import { normaliseIp, type PduSocket } from '../session/connection.js';
import { PeerLog } from '../telemetry/peer-log.js';
import type { SessionEnv } from './esme-session.js';
import { CertReloader } from './cert-reloader.js';
import { EsmeSession } from './esme-session.js';
import { tlsPeer, tlsServerOptions, type TlsPeer } from './tls.js';

/** How often idle sessions and connections that never bound are looked for. */
const SWEEP_MS = 1000;

export interface UpstreamOptions {
  host: string;
  port: number;
  maxPduLength: number;
  idleTimeoutS: number;
  bindTimeoutS: number;
  /** Connections open at once over every source IP; beyond it a new one is closed at once (default 2000). */
  maxConnections?: number;
  /** Connections open at once from one source IP (default 50). */
  maxConnectionsPerIp?: number;
  /** The plain-TCP listener on `port` (default true); false for a TLS-only deployment. */
  plain?: boolean;
  /** SMPP over TLS on its own port. */
  tls?: TlsServerConfig & { port: number };
}

export class UpstreamServer {
  private readonly server: Server | null;
  /** The TLS listener (listen.tls), for certificate reloads (setSecureContext). */
  readonly tlsServer: TlsServer | null;
  /** The TLS listener's port once listening (0: none). */
  tlsPort = 0;
  /** Keeps the TLS listener's certificate current (SIGHUP, file changes). */
  readonly certs: CertReloader | null;
  private readonly sessionEnv: SessionEnv;
  /** Warnings about unauthenticated peers, one per source IP per minute. */
  readonly peerLog: PeerLog;
  /** Connections the listener holds open, in all and by source IP. */
  private openConnections = 0;
  private readonly openByIp = new Map<string, number>();
  readonly sessions = new Set<EsmeSession>();
  private sweepTimer: TimerHandle | null = null;
  draining = false;

  constructor(
    private readonly opts: UpstreamOptions,
    private readonly env: Omit<SessionEnv, 'isDraining'>,
  ) {
    this.peerLog = env.peerLog ?? new PeerLog(env.log, env.clock, { onSuppressed: () => env.metrics.logSuppressed.inc() });
    this.sessionEnv = { ...env, peerLog: this.peerLog, isDraining: () => this.draining };
    const onSocket = (socket: Socket, tls: TlsPeer | null): void => {
      // TCP keepalive finds ESMEs that vanished without a FIN (receivers rarely send anything).
      socket.setKeepAlive(true, 30_000);
      this.accept(socket, tls);
    };
    // The connection limits apply to the raw TCP connection, before any read or TLS handshake.
    this.server = opts.plain === false ? null : createServer((socket) => this.admit(socket) && onSocket(socket, null));
    this.server?.on('error', (err) => env.log.error({ err }, 'upstream listener error'));
    const t = opts.tls;
    this.tlsServer = t
      ? createTlsServer(
          // A handshake never finished counts against the bind deadline too.
          { ...tlsServerOptions(t), handshakeTimeout: Math.min(120_000, opts.bindTimeoutS * 1000) },
          (socket) => onSocket(socket, tlsPeer(socket)),
        )
      : null;
    this.tlsServer?.on('connection', (raw: Socket) => void this.admit(raw));
    this.tlsServer?.on('error', (err) => env.log.error({ err }, 'upstream TLS listener error'));
    this.certs = t && this.tlsServer ? new CertReloader('smpp', t, this.tlsServer, env.log) : null;
    // Failed handshakes (no or untrusted client certificate under client_auth: require, plain SMPP
    // on the TLS port, scanners): debug only, since any unauthenticated peer can cause them.
    this.tlsServer?.on('tlsClientError', (err, socket) =>
      env.log.debug({ peer: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message }, 'TLS handshake failed'),
    );
  }

  /**
   * The connection limits, checked before anything is read: beyond max_connections (over all) or
   * max_connections_per_ip the socket is destroyed at once, counted and logged (once a minute per IP).
   */
  private admit(socket: Socket): boolean {
    const ip = normaliseIp(socket.remoteAddress ?? '');
    const fromIp = this.openByIp.get(ip) ?? 0;
    const reason =
      this.openConnections >= (this.opts.maxConnections ?? 2000)
        ? 'max_connections'
        : fromIp >= (this.opts.maxConnectionsPerIp ?? 50)
          ? 'max_connections_per_ip'
          : null;
    if (reason) {
      socket.destroy();
      this.env.metrics.connectionsRefused.inc({ reason });
      this.peerLog.warn(ip, { peer: ip, reason }, 'connection refused: too many connections');
      return false;
    }
    this.openConnections++;
    this.openByIp.set(ip, fromIp + 1);
    socket.once('close', () => {
      this.openConnections--;
      const n = this.openByIp.get(ip)! - 1;
      if (n === 0) this.openByIp.delete(ip);
      else this.openByIp.set(ip, n);
    });
    return true;
  }

  /**
   * Starts a session on an accepted connection (the listeners'; a stream pair's in unit tests);
   * `tls` is what the TLS listener learnt of the client, null over plain TCP.
   */
  accept(socket: PduSocket, tls: TlsPeer | null = null): EsmeSession {
    const s = new EsmeSession(socket, this.sessionEnv, this.opts.maxPduLength, tls);
    this.sessions.add(s);
    socket.once('close', () => this.sessions.delete(s));
    return s;
  }

  /**
   * Starts listening; resolves with the plain listener's bound port (useful with port 0), or the
   * TLS one's when there is no plain listener. The TLS port is in `tlsPort`.
   */
  async listen(): Promise<number> {
    const plain = this.server ? await listenOn(this.server, this.opts.port, this.opts.host) : 0;
    if (this.tlsServer) this.tlsPort = await listenOn(this.tlsServer, this.opts.tls!.port, this.opts.host);
    this.certs?.watch();
    this.scheduleSweep();
    return this.server ? plain : this.tlsPort;
  }

  /** Every SWEEP_MS on the session clock (the system clock's timers do not hold the process open). */
  private scheduleSweep(): void {
    this.sweepTimer = this.env.clock.setTimeout(() => {
      this.sweep();
      if (this.sweepTimer) this.scheduleSweep();
    }, SWEEP_MS);
  }

  /** Closes sessions idle past the timeout and connections not bound bind_timeout_s after accept. */
  private sweep(): void {
    const now = this.env.clock.now();
    for (const s of this.sessions) {
      const quiet = (now - s.lastRx) / 1000;
      if (s.state === 'BOUND' && this.opts.idleTimeoutS > 0 && quiet > this.opts.idleTimeoutS) {
        this.env.log.info({ session: s.id, account: s.account?.id }, 'ESME idle timeout: unbinding');
        s.unbind();
      } else if ((s.state === 'OPEN' || s.state === 'BINDING') && (now - s.acceptedAt) / 1000 > this.opts.bindTimeoutS) {
        // From accept, not from the last PDU: enquire_link every second must not keep an unbound socket.
        s.close('no bind in time');
      }
    }
  }

  /**
   * Loads the TLS listener's certificate files again (SIGHUP): new connections get the new
   * certificate, established ones keep theirs. False when there is no TLS listener or the new
   * files are bad (the certificate in use stays).
   */
  reloadCertificates(): boolean {
    return this.certs?.reload() ?? false;
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
    this.server?.close();
    this.tlsServer?.close();
    this.certs?.close();
  }

  /** Unbinds every session and waits (at most `ms`) for them to go. */
  async unbindAll(ms: number): Promise<void> {
    for (const s of this.sessions) s.unbind();
    const deadline = Date.now() + ms;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.sessions) s.conn.destroy('shutdown deadline');
    this.sweepTimer?.cancel();
    this.sweepTimer = null;
  }
}

function listenOn(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}
