/**
 * downstream/: the gateway's ESME face toward SMSCs. This file is one bind to one SMSC: connect
 * (TCP or TLS), bind, keepalive with dead-link detection, the request window, and reconnect with
 * exponential backoff and jitter. The pool (smsc-pool.ts) decides which link carries what.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { BIND_COMMAND, Command, isResponse, responseIdOf } from '../protocol/commands.js';
import { encodeEmpty, encodePdu, genericNack, messageResp, INTERFACE_VERSION_34 } from '../protocol/encode.js';
import { SequenceCounter, setSequence } from '../protocol/header.js';
import { Status, statusName } from '../protocol/status.js';
import type { SmscConfig } from '../config/schema.js';
import { taskMonoNow, type Clock, type TimerHandle } from '../session/clock.js';
import { PduConnection, type PduSocket } from '../session/connection.js';
import { Window } from '../session/window.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';

export type LinkState = 'DISCONNECTED' | 'CONNECTING' | 'BINDING' | 'BOUND' | 'UNBINDING' | 'STOPPED';

/** What a forwarded request waits for: the SMSC's response PDU, or null with the status to report. */
export interface PendingRequest {
  onResult(resp: Buffer | null, status: number): void;
  sentAt: number;
}

export interface LinkTimings {
  response_timeout_ms: number;
  enquire_link_s: number;
  bind_timeout_ms: number;
  reconnect_initial_ms: number;
  reconnect_max_ms: number;
}

export interface LinkEnv {
  metrics: Metrics;
  log: Logger;
  clock: Clock;
  timings: LinkTimings;
  maxPduLength: number;
  /** deliver_sm / data_sm from the SMSC; the handler answers through link.respond(). */
  onDeliver(link: SmscLink, pdu: Buffer): void;
  /** The link became able (or unable) to carry requests: bound, unbound, drained. */
  onReady(link: SmscLink): void;
  /** Opens the connection to the SMSC (default dialSmsc: TCP or TLS); unit tests pass a stream pair. */
  dial?: Dialler;
}

/**
 * The password an SMSC bind sends: `password`, or the variable `password_env` names. An unset or
 * empty variable is an error naming it — never a bind with an empty password.
 */
export function smscPassword(cfg: Pick<SmscConfig, 'name' | 'password' | 'password_env'>, env: NodeJS.ProcessEnv = process.env): string {
  if (cfg.password !== undefined) return cfg.password;
  const name = cfg.password_env ?? '';
  const v = env[name];
  if (!v) throw new Error(`downstream.smscs ${cfg.name}: password_env names ${name || '(nothing)'}, which is ${v === undefined ? 'not set' : 'empty'}`);
  return v;
}

/** Opens a connection to `cfg`'s SMSC and calls `onConnected` once it can carry the bind. */
export type Dialler = (cfg: SmscConfig, onConnected: () => void) => PduSocket;

/** TCP, or TLS when the SMSC's `tls` is set (CA file, servername and verification from config). */
export const dialSmsc: Dialler = (cfg, onConnected) => {
  const { host, port, tls } = cfg;
  let socket: Socket;
  if (tls) {
    const t = typeof tls === 'object' ? tls : { reject_unauthorized: true };
    socket = tlsConnect({
      host,
      port,
      servername: 'servername' in t ? t.servername : undefined,
      ca: 'ca' in t && t.ca ? readFileSync(t.ca) : undefined,
      rejectUnauthorized: t.reject_unauthorized,
    });
    socket.once('secureConnect', onConnected);
  } else {
    socket = netConnect({ host, port });
    socket.once('connect', onConnected);
  }
  socket.setKeepAlive(true, 30_000);
  return socket;
};

/** Backoff for attempt n (0-based): initial·2ⁿ capped at max, then jittered to 50–100 %. */
export function backoffMs(attempt: number, initial: number, max: number, random = Math.random): number {
  const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.5 + random() / 2));
}

export class SmscLink {
  state: LinkState = 'DISCONNECTED';
  private conn: PduConnection | null = null;
  private readonly seq = new SequenceCounter();
  private readonly window: Window<PendingRequest>;
  private attempts = 0;
  private reconnectTimer: TimerHandle | null = null;
  private keepaliveTimer: TimerHandle | null = null;
  private enquireTimer: TimerHandle | null = null;
  private bindTimer: TimerHandle | null = null;
  private awaitingEnquire = -1;
  private readonly latency;
  readonly name: string;

  constructor(
    readonly cfg: SmscConfig,
    readonly index: number,
    private readonly env: LinkEnv,
  ) {
    this.name = `${cfg.name}#${index}`;
    this.window = new Window<PendingRequest>(cfg.window, env.timings.response_timeout_ms, env.clock, (_seq, p) => {
      env.metrics.smscTimeouts.inc({ smsc: cfg.name });
      p.onResult(null, Status.ESME_RSYSERR);
    });
    this.latency = env.metrics.smscResponseSeconds.labels(cfg.name);
    env.metrics.smscLinkUp.set({ smsc: cfg.name, link: String(index) }, 0);
  }

  /** Bound, with room in the window, and the socket not backed up. */
  get available(): boolean {
    return this.state === 'BOUND' && !this.window.full && !this.conn!.congested;
  }

  get isBound(): boolean {
    return this.state === 'BOUND';
  }

  get inFlight(): number {
    return this.window.size;
  }

  start(): void {
    if (this.state === 'DISCONNECTED') this.connect();
  }

  private connect(): void {
    this.reconnectTimer = null;
    this.state = 'CONNECTING';
    const socket = (this.env.dial ?? dialSmsc)(this.cfg, () => this.onConnected());
    this.conn = new PduConnection(
      socket,
      {
        onPdu: (pdu) => this.onPdu(pdu),
        onClose: (reason) => this.onClosed(reason),
        onDrain: () => this.env.onReady(this),
        onFatal: (f) => {
          this.env.metrics.malformed.inc({ side: 'downstream', reason: 'unframeable' });
          this.env.log.error({ smsc: this.name, reason: f.reason }, 'SMSC stream cannot be framed: reconnecting');
        },
        onHandlerError: (err) => this.env.log.error({ smsc: this.name, err }, 'handler error on SMSC link'),
      },
      this.env.maxPduLength,
    );
  }

  private onConnected(): void {
    if (this.state !== 'CONNECTING') return;
    this.state = 'BINDING';
    // Read at each bind (a rotated secret is used on reconnect). The gateway checked it at start;
    // a variable emptied since then drops the connection rather than binding without a password.
    let password: string;
    try {
      password = smscPassword(this.cfg);
    } catch (err) {
      this.env.log.error({ smsc: this.name, err: (err as Error).message }, 'SMSC bind not sent: no password');
      this.conn?.destroy('no password');
      return;
    }
    const cmd = BIND_COMMAND[this.cfg.bind];
    this.sendRaw(
      encodePdu(cmd, 0, this.seq.take(), {
        system_id: this.cfg.system_id,
        password,
        system_type: this.cfg.system_type,
        interface_version: INTERFACE_VERSION_34,
      }),
    );
    this.bindTimer = this.env.clock.setTimeout(() => {
      this.env.log.warn({ smsc: this.name }, 'bind not answered in time');
      this.conn?.destroy('bind timeout');
    }, this.env.timings.bind_timeout_ms);
  }

  private sendRaw(pdu: Buffer): void {
    this.env.metrics.countPdu('downstream', 'out', pdu.readUInt32BE(4), pdu.readUInt32BE(8));
    this.conn!.send(pdu);
  }

  /** Sends a request (rewriting its sequence number in place); false if the link cannot take it. */
  submit(pdu: Buffer, pending: PendingRequest): boolean {
    if (!this.available) return false;
    const seq = this.seq.take();
    if (!this.window.add(seq, pending)) return false;
    setSequence(pdu, seq);
    this.sendRaw(pdu);
    return true;
  }

  /** Answers a request the SMSC sent (deliver_sm, data_sm). */
  respond(requestId: number, status: number, sequence: number): void {
    if (!this.conn?.isOpen) return;
    this.sendRaw(messageResp(responseIdOf(requestId), status, sequence));
  }

  private onPdu(pdu: Buffer): void {
    const commandId = pdu.readUInt32BE(4);
    const status = pdu.readUInt32BE(8);
    const sequence = pdu.readUInt32BE(12);
    this.env.metrics.countPdu('downstream', 'in', commandId, status);
    if (isResponse(commandId)) return this.onResponse(pdu, commandId, status, sequence);
    switch (commandId) {
      case Command.enquire_link:
        return this.sendRaw(encodeEmpty(Command.enquire_link_resp, 0, sequence));
      case Command.unbind:
        this.sendRaw(encodeEmpty(Command.unbind_resp, 0, sequence));
        this.env.log.warn({ smsc: this.name }, 'SMSC unbound us: reconnecting');
        this.conn!.close('SMSC unbound');
        return;
      case Command.deliver_sm:
      case Command.data_sm:
        if (this.state !== 'BOUND') return this.respond(commandId, Status.ESME_RINVBNDSTS, sequence);
        return this.env.onDeliver(this, pdu);
      case Command.alert_notification:
        return; // no response is defined for alert_notification
      default:
        this.env.metrics.malformed.inc({ side: 'downstream', reason: 'unexpected_command' });
        return this.sendRaw(genericNack(Status.ESME_RINVCMDID, sequence));
    }
  }

  private onResponse(pdu: Buffer, commandId: number, status: number, sequence: number): void {
    switch (commandId) {
      case Command.bind_transceiver_resp:
      case Command.bind_transmitter_resp:
      case Command.bind_receiver_resp:
        return this.onBindResp(status);
      case Command.enquire_link_resp:
        if (sequence === this.awaitingEnquire) {
          this.awaitingEnquire = -1;
          this.enquireTimer?.cancel();
        }
        return;
      case Command.unbind_resp:
        this.conn?.close('unbound');
        return;
    }
    const pending = this.window.take(sequence);
    if (!pending) {
      this.env.metrics.lateResponses.inc({ side: 'downstream' });
      return;
    }
    this.latency.observe((taskMonoNow() - pending.sentAt) / 1000);
    if (commandId === Command.generic_nack) pending.onResult(null, status || Status.ESME_RSYSERR);
    else pending.onResult(pdu, status);
    if (!this.window.full) this.env.onReady(this);
  }

  private onBindResp(status: number): void {
    this.bindTimer?.cancel();
    if (this.state !== 'BINDING') return;
    if (status !== 0) {
      this.env.log.error({ smsc: this.name, status: statusName(status) }, 'SMSC refused our bind');
      this.conn!.close('bind refused');
      return;
    }
    this.state = 'BOUND';
    this.attempts = 0;
    this.env.metrics.smscLinkUp.set({ smsc: this.cfg.name, link: String(this.index) }, 1);
    this.env.log.info({ smsc: this.name, bind: this.cfg.bind }, 'SMSC bound');
    this.scheduleKeepalive();
    this.env.onReady(this);
  }

  private scheduleKeepalive(): void {
    this.keepaliveTimer = this.env.clock.setTimeout(() => {
      if (this.state !== 'BOUND') return;
      const seq = this.seq.take();
      this.awaitingEnquire = seq;
      this.sendRaw(encodeEmpty(Command.enquire_link, 0, seq));
      this.enquireTimer = this.env.clock.setTimeout(() => {
        if (this.awaitingEnquire === seq) {
          this.env.log.warn({ smsc: this.name }, 'enquire_link not answered: link is dead, reconnecting');
          this.conn?.destroy('keepalive timeout');
        }
      }, this.env.timings.response_timeout_ms);
      this.scheduleKeepalive();
    }, this.env.timings.enquire_link_s * 1000);
  }

  private onClosed(reason: string): void {
    const wasBound = this.state === 'BOUND';
    this.keepaliveTimer?.cancel();
    this.enquireTimer?.cancel();
    this.bindTimer?.cancel();
    this.awaitingEnquire = -1;
    this.env.metrics.smscLinkUp.set({ smsc: this.cfg.name, link: String(this.index) }, 0);
    this.env.metrics.sessionsClosed.inc({ side: 'downstream', reason: reason.split(':')[0]! });
    // Whatever was in flight may or may not have reached the SMSC: the ESME gets a temporary error.
    this.window.drain((_s, p) => p.onResult(null, Status.ESME_RSYSERR));
    if (this.state === 'STOPPED') return;
    this.state = 'DISCONNECTED';
    const delay = backoffMs(this.attempts++, this.env.timings.reconnect_initial_ms, this.env.timings.reconnect_max_ms);
    this.env.log.warn({ smsc: this.name, reason, was_bound: wasBound, retry_ms: delay }, 'SMSC link down');
    this.env.onReady(this);
    this.reconnectTimer = this.env.clock.setTimeout(() => this.connect(), delay);
  }

  /** Unbinds (waiting for in-flight responses up to `ms`) and stops reconnecting. */
  async stop(ms: number): Promise<void> {
    this.reconnectTimer?.cancel();
    const wasBound = this.state === 'BOUND';
    const deadline = Date.now() + ms;
    while (wasBound && this.window.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.state = 'STOPPED';
    if (this.conn?.isOpen) {
      if (wasBound) this.sendRaw(encodeEmpty(Command.unbind, 0, this.seq.take()));
      const conn = this.conn;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          conn.destroy('stop');
          resolve();
        }, Math.min(1000, Math.max(50, deadline - Date.now())));
        conn.socket.once('close', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}
