/**
 * One ESME connection: bind state (spec names, cloudhopper-style), authentication, the account's
 * limits (window, TPS), enquire_link/unbind, idle timeout, and the deliver_sm window toward the ESME.
 * It decides nothing about messages: bound submits go to the SubmitHandler (the relay), which
 * answers through respond()/forwardResponse().
 */
import { BIND_KIND, Command, isKnownCommand, isResponse, responseIdOf, type BindKind } from '../protocol/commands.js';
import { decode, str } from '../protocol/decode.js';
import { encodeEmpty, encodePdu, genericNack, messageResp, INTERFACE_VERSION_34 } from '../protocol/encode.js';
import { SequenceCounter, setSequence } from '../protocol/header.js';
import { Status, statusName } from '../protocol/status.js';
import { Tag } from '../protocol/tlv.js';
import type { Clock } from '../session/clock.js';
import { PduConnection, type PduSocket } from '../session/connection.js';
import { Window } from '../session/window.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { PeerLog } from '../telemetry/peer-log.js';
import type { Account, AccountTable, BoundSession, DeliverCallback } from './accounts.js';
import { defaultBindAuth, type BindAuth, type BindFailure } from './bind-auth.js';
import { subjectMatches, type TlsPeer } from './tls.js';

export type SessionState = 'OPEN' | 'BINDING' | 'BOUND' | 'UNBINDING' | 'CLOSED';

export interface SubmitHandler {
  /** A bound ESME sent submit_sm, data_sm, query_sm or cancel_sm; answer via session.respond/forwardResponse. */
  onSubmit(session: EsmeSession, pdu: Buffer): void;
  /** A receiver or transceiver bind completed for this account (held deliveries may be released). */
  onReceiverBound(session: EsmeSession): void;
}

export interface SessionEnv {
  accounts: AccountTable;
  handler: SubmitHandler;
  metrics: Metrics;
  log: Logger;
  clock: Clock;
  /** system_id the gateway presents in bind responses. */
  gatewayId: string;
  /** How long the ESME has to answer a deliver_sm. */
  deliverTimeoutMs: number;
  /** Stop taking new binds (graceful shutdown). */
  isDraining(): boolean;
  /** max_binds over every gateway instance (shared-limits.ts); absent: this instance's count only. */
  sharedBinds?: { reserve(account: string, max: number): Promise<boolean>; release(account: string): void };
  /** Lines about connections that have not bound: at most one per source IP per minute (absent: all written). */
  peerLog?: PeerLog;
  /** Bind authentication (throttling, fair password checks); absent: defaultBindAuth(), no throttling. */
  bindAuth?: BindAuth;
}

let nextSessionId = 1;

/** Requests that never reach the SMSC through this gateway, with the reason given in logs. */
const REFUSED_REQUESTS = new Set<number>([
  Command.replace_sm, // would change content after the policy decided on it
  Command.submit_multi, // several recipients in one PDU: consent is per recipient; send submit_sm each
  Command.broadcast_sm,
  Command.query_broadcast_sm,
  Command.cancel_broadcast_sm,
]);

export class EsmeSession implements BoundSession {
  readonly id = nextSessionId++;
  readonly conn: PduConnection;
  state: SessionState = 'OPEN';
  account: Account | null = null;
  bindKind: BindKind | null = null;
  /** Submits forwarded and not yet answered to the ESME. */
  outstanding = 0;
  lastRx: number;
  /** When the connection was accepted: the bind deadline counts from here, whatever the peer sends. */
  readonly acceptedAt: number;
  private readonly seq = new SequenceCounter();
  private deliverWindow: Window<DeliverCallback> | null = null;
  private readPaused = false;

  constructor(
    socket: PduSocket,
    private readonly env: SessionEnv,
    maxPduLength: number,
    /** The TLS listener's view of the client; null over plain TCP. */
    readonly tls: TlsPeer | null = null,
  ) {
    this.lastRx = this.acceptedAt = env.clock.now();
    this.conn = new PduConnection(
      socket,
      {
        onPdu: (pdu) => this.onPdu(pdu),
        onClose: (reason) => this.onClosed(reason),
        onDrain: () => this.resumeIfPossible(),
        onFatal: (f) => {
          env.metrics.malformed.inc({ side: 'upstream', reason: 'unframeable' });
          this.warnPeer({ session: this.id, peer: this.peer, reason: f.reason }, 'closing ESME session: stream cannot be framed');
        },
        onHandlerError: (err) => env.log.error({ session: this.id, err }, 'handler error on ESME session (session kept)'),
      },
      maxPduLength,
    );
    if (env.isDraining()) this.conn.close('shutting down');
  }

  /** The ESME's IP address (allow-list checks after a live reload). */
  get remoteAddress(): string {
    return this.conn.remoteAddress;
  }

  get peer(): string {
    return `${this.conn.remoteAddress}:${this.conn.remotePort}`;
  }

  get canSubmit(): boolean {
    return this.state === 'BOUND' && this.bindKind !== 'receiver';
  }

  get canReceive(): boolean {
    return this.state === 'BOUND' && this.bindKind !== 'transmitter' && this.conn.isOpen;
  }

  get canTakeDeliver(): boolean {
    return this.deliverWindow !== null && !this.deliverWindow.full;
  }

  private send(pdu: Buffer, commandId: number, status: number): void {
    this.env.metrics.countPdu('upstream', 'out', commandId, status);
    this.conn.send(pdu);
    if (this.conn.congested && !this.readPaused) {
      // The ESME is not reading its responses: stop reading its requests until it catches up.
      this.readPaused = true;
      this.conn.pauseReading();
    }
  }

  private resumeIfPossible(): void {
    if (this.readPaused) {
      this.readPaused = false;
      this.conn.resumeReading();
    }
  }

  /** Answers a request with a response the gateway builds (errors, local answers). */
  respond(requestId: number, status: number, sequence: number, messageId = ''): void {
    const respId = responseIdOf(requestId);
    this.send(messageResp(respId, status, sequence, messageId), respId, status);
  }

  /** Answers a request whose body cannot be read with generic_nack. */
  nack(status: number, sequence: number): void {
    this.send(genericNack(status, sequence), Command.generic_nack, status);
  }

  /** Sends an SMSC's response to a forwarded request, restoring the ESME's sequence number. */
  forwardResponse(resp: Buffer, originalSequence: number): void {
    setSequence(resp, originalSequence);
    this.send(resp, resp.readUInt32BE(4), resp.readUInt32BE(8));
  }

  /** Marks a forwarded request as answered (whatever the outcome). */
  settle(): void {
    this.outstanding--;
  }

  /** Sends a deliver_sm (receipt or MO) to this ESME; `done` gets its status, or null if unanswered. */
  deliver(pdu: Buffer, done: DeliverCallback): boolean {
    if (!this.canReceive || !this.deliverWindow || this.deliverWindow.full) return false;
    const seq = this.seq.take();
    if (!this.deliverWindow.add(seq, done)) return false;
    setSequence(pdu, seq);
    this.send(pdu, pdu.readUInt32BE(4), 0);
    return true;
  }

  /** Asks the ESME to unbind (graceful shutdown); the connection closes on its answer or after 2 s. */
  unbind(): void {
    if (this.state !== 'BOUND') {
      this.conn.close('shutting down');
      return;
    }
    this.state = 'UNBINDING';
    this.send(encodeEmpty(Command.unbind, 0, this.seq.take()), Command.unbind, 0);
    this.env.clock.setTimeout(() => this.conn.close('unbind not answered'), 2000);
  }

  close(reason: string): void {
    this.conn.close(reason);
  }

  private onPdu(pdu: Buffer): void {
    this.lastRx = this.env.clock.now();
    const commandId = pdu.readUInt32BE(4);
    const status = pdu.readUInt32BE(8);
    const sequence = pdu.readUInt32BE(12);
    this.env.metrics.countPdu('upstream', 'in', commandId, status);

    if (isResponse(commandId)) return this.onResponse(commandId, status, sequence);
    if (!isKnownCommand(commandId)) {
      this.env.metrics.malformed.inc({ side: 'upstream', reason: 'unknown_command' });
      this.send(genericNack(Status.ESME_RINVCMDID, sequence), Command.generic_nack, Status.ESME_RINVCMDID);
      return;
    }
    switch (commandId) {
      case Command.enquire_link:
        this.send(encodeEmpty(Command.enquire_link_resp, 0, sequence), Command.enquire_link_resp, 0);
        return;
      case Command.bind_transmitter:
      case Command.bind_receiver:
      case Command.bind_transceiver:
        if (this.state !== 'OPEN') return this.respond(commandId, Status.ESME_RALYBND, sequence);
        void this.bind(pdu, commandId, sequence);
        return;
      case Command.unbind:
        this.send(encodeEmpty(Command.unbind_resp, 0, sequence), Command.unbind_resp, 0);
        this.state = 'UNBINDING';
        this.conn.close('ESME unbound');
        return;
      case Command.outbind:
      case Command.alert_notification:
        // Requests only an SMSC sends; an ESME sending them gets generic_nack.
        this.send(genericNack(Status.ESME_RINVCMDID, sequence), Command.generic_nack, Status.ESME_RINVCMDID);
        return;
    }
    if (this.state !== 'BOUND') return this.respond(commandId, Status.ESME_RINVBNDSTS, sequence);
    if (REFUSED_REQUESTS.has(commandId)) return this.respond(commandId, Status.ESME_RINVCMDID, sequence);
    if (commandId === Command.deliver_sm) return this.respond(commandId, Status.ESME_RINVCMDID, sequence);
    if (!this.canSubmit) return this.respond(commandId, Status.ESME_RINVBNDSTS, sequence);
    this.onSubmit(pdu, commandId, sequence);
  }

  private onSubmit(pdu: Buffer, commandId: number, sequence: number): void {
    const account = this.account!;
    if (this.outstanding >= account.cfg.window) {
      this.env.metrics.throttled.inc({ account: account.id, limit: 'window' });
      return this.respond(commandId, Status.ESME_RTHROTTLED, sequence);
    }
    if (!account.bucket.take(this.lastRx)) {
      this.env.metrics.throttled.inc({ account: account.id, limit: 'tps' });
      return this.respond(commandId, Status.ESME_RTHROTTLED, sequence);
    }
    this.outstanding++;
    this.env.handler.onSubmit(this, pdu);
  }

  private onResponse(commandId: number, status: number, sequence: number): void {
    if (commandId === Command.deliver_sm_resp || commandId === Command.data_sm_resp || commandId === Command.generic_nack) {
      const done = this.deliverWindow?.take(sequence);
      if (done) return done(status);
      if (commandId !== Command.generic_nack) this.env.metrics.lateResponses.inc({ side: 'upstream' });
      return;
    }
    if (commandId === Command.unbind_resp && this.state === 'UNBINDING') {
      this.conn.close('unbind answered');
    }
    // enquire_link_resp and anything else: nothing pending to match.
  }

  private async bind(pdu: Buffer, commandId: number, sequence: number): Promise<void> {
    const kind = BIND_KIND[commandId as keyof typeof BIND_KIND];
    const decoded = decode(pdu);
    if (!decoded.ok) {
      this.env.metrics.malformed.inc({ side: 'upstream', reason: decoded.field });
      return this.refuseBind(commandId, sequence, decoded.status, '', `malformed bind: ${decoded.field} ${decoded.reason}`);
    }
    const systemId = str(decoded.pdu.fields.system_id);
    const password = str(decoded.pdu.fields.password);
    if (this.env.isDraining()) return this.refuseBind(commandId, sequence, Status.ESME_RBINDFAIL, systemId, 'shutting down');
    const account = this.env.accounts.get(systemId);
    this.state = 'BINDING';
    const auth = this.env.bindAuth ?? (await defaultBindAuth());
    const failure = await auth.check(this.conn.remoteAddress, systemId, password, account);
    if (!this.conn.isOpen) return;
    // Every authentication failure gets the same status (docs/security.md, "Bind throttling"):
    // 0x0D says "bind failed" without saying whether the system_id, password or source IP was wrong.
    if (failure || !account) return this.refuseAuth(commandId, sequence, systemId, failure ?? 'unknown_account');
    // After authentication, so these answers tell nothing to whoever does not know the password.
    const tlsRefusal = this.tlsRefusal(account);
    // The peer knows the password here: its refusal is logged every time, not limited per IP.
    if (tlsRefusal) return this.refuseBind(commandId, sequence, Status.ESME_RBINDFAIL, systemId, tlsRefusal, true);
    // Shutdown may have started while the password was being checked.
    if (this.env.isDraining()) return this.refuseBind(commandId, sequence, Status.ESME_RBINDFAIL, systemId, 'shutting down');
    if (account.sessions.size >= account.cfg.max_binds) {
      return this.refuseBind(commandId, sequence, Status.ESME_RBINDFAIL, systemId, `max_binds ${account.cfg.max_binds} reached`);
    }
    const shared = this.env.sharedBinds;
    if (shared) {
      if (!(await shared.reserve(account.id, account.cfg.max_binds))) {
        return this.refuseBind(commandId, sequence, Status.ESME_RBINDFAIL, systemId, `max_binds ${account.cfg.max_binds} reached over all instances`);
      }
      if (!this.conn.isOpen) return shared.release(account.id);
    }
    this.state = 'BOUND';
    this.account = account;
    this.bindKind = kind.name;
    account.sessions.add(this);
    if (kind.canReceive) {
      this.deliverWindow = new Window<DeliverCallback>(account.cfg.window, this.env.deliverTimeoutMs, this.env.clock, (_s, done) =>
        done(null),
      );
    }
    const respId = responseIdOf(commandId);
    this.send(
      encodePdu(respId, 0, sequence, { system_id: this.env.gatewayId }, [
        { tag: Tag.sc_interface_version, value: Buffer.from([INTERFACE_VERSION_34]) },
      ]),
      respId,
      0,
    );
    this.env.metrics.bindAttempts.inc({ account: systemId, outcome: 'ok' });
    this.env.metrics.bindsActive.inc({ account: systemId, type: kind.name });
    this.env.log.info({ session: this.id, account: systemId, bind: kind.name, peer: this.peer, tls: this.tls !== null }, 'ESME bound');
    if (kind.canReceive) this.env.handler.onReceiverBound(this);
  }

  private refuseAuth(commandId: number, sequence: number, systemId: string, failure: BindFailure): void {
    this.env.metrics.bindFailures.inc({ reason: failure });
    const why = failure === 'ip_not_allowed' ? `source IP ${this.conn.remoteAddress} not allowed` : failure.replace(/_/g, ' ');
    this.refuseBind(commandId, sequence, Status.ESME_RBINDFAIL, systemId, why);
  }

  /** Why this connection may not bind `account` (require_tls, tls_subject); null when it may. */
  private tlsRefusal(account: Account): string | null {
    const { require_tls: requireTls, tls_subject: subject } = account.cfg;
    if ((requireTls || subject) && !this.tls) return 'account requires TLS; bind came over plain TCP';
    if (subject && !subjectMatches(subject, this.tls!)) {
      const got = this.tls!.subject ? JSON.stringify(this.tls!.subject) : 'no client certificate';
      const why = this.tls!.subject && !this.tls!.authorized ? ` (not verified: ${this.tls!.authorizationError})` : '';
      return `client certificate subject ${got}${why} does not match tls_subject "${subject}"`;
    }
    return null;
  }

  private refuseBind(commandId: number, sequence: number, status: number, systemId: string, why: string, authenticated = false): void {
    this.state = 'OPEN';
    this.respond(commandId, status, sequence);
    // Account labels only for configured accounts: a system_id is the peer's choice.
    this.env.metrics.bindAttempts.inc({ account: this.env.accounts.get(systemId) ? systemId : 'unknown', outcome: statusName(status) });
    const fields = { session: this.id, system_id: systemId, peer: this.peer, status: statusName(status), why };
    if (authenticated) this.env.log.warn(fields, 'bind refused');
    else this.warnPeer(fields, 'bind refused');
    // Cloudhopper and most SMSCs drop the link after a refused bind; a retry opens a new one.
    this.conn.close('bind refused');
  }

  /** A warning about this connection; rate-limited per source IP while it is not bound. */
  private warnPeer(fields: Record<string, unknown>, msg: string): void {
    const limit = this.env.peerLog;
    if (limit && this.state !== 'BOUND' && this.state !== 'UNBINDING') limit.warn(this.conn.remoteAddress, fields, msg);
    else this.env.log.warn(fields, msg);
  }

  private onClosed(reason: string): void {
    const wasBound = this.state === 'BOUND' || this.state === 'UNBINDING';
    this.state = 'CLOSED';
    this.env.metrics.sessionsClosed.inc({ side: 'upstream', reason: reason.split(':')[0]! });
    if (this.account && wasBound) {
      this.account.sessions.delete(this);
      this.env.sharedBinds?.release(this.account.id);
      this.env.metrics.bindsActive.dec({ account: this.account.id, type: this.bindKind! });
      this.env.log.info({ session: this.id, account: this.account.id, reason }, 'ESME session closed');
    }
    // Deliveries in flight to this ESME fail over (held or retried by the relay).
    this.deliverWindow?.drain((_s, done) => done(null));
  }
}
