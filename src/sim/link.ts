/**
 * One SMPP link into the simulator, SMSC side: bind state (open → bound as transmitter, receiver or
 * transceiver), answers to every PDU the ESME sends, and the deliver_sm it sends back (receipts, MO)
 * tracked by sequence number until deliver_sm_resp. Transport (framing, batched writes) is
 * PduConnection's; what to do with receipts, delays and ids is the simulator's (LinkHost).
 *
 * Hot path: submit_sm → MessageView.parse → submit_sm_resp built into one buffer → PduConnection.send
 * (batched per event-loop turn). No timers, no logging, no copies unless recording.
 */
import type { Socket } from 'node:net';
import { Command, BIND_KIND, isKnownCommand, isResponse, responseIdOf, type BindKind } from '../protocol/commands.js';
import { decode, str } from '../protocol/decode.js';
import { encodeEmpty, encodePdu, genericNack, messageResp } from '../protocol/encode.js';
import { SequenceCounter, statusOf } from '../protocol/header.js';
import { MessageView, isScanError } from '../protocol/message-view.js';
import { Status } from '../protocol/status.js';
import { PduConnection } from '../session/connection.js';
import { systemClock } from '../session/clock.js';
import { Window } from '../session/window.js';
import type { Behaviour } from './behaviour.js';
import { encodeIdResp, encodeReceiptPdu, MAX_DELIVER_ADDR, type ReceiptPduFields } from './fast-encode.js';
import { encodeMo, type MoMessage } from './mo.js';
import type { SimulatorStats } from './stats.js';

export const SYSTEM_ID = 'smsc-sim';
/** How long a deliver_sm (receipt or MO) waits for its deliver_sm_resp. */
export const DELIVER_TIMEOUT_MS = 5000;
/** deliver_sm outstanding per link before receipts wait in the simulator's queue. */
export const DELIVER_WINDOW = 100_000;

/** A receipt to send: addresses already in receipt orientation (source = the handset). */
export interface ReceiptJob {
  /** The link the submit came in on (receipts prefer it when it is a transceiver); null once requeued. */
  origin: SimLink | null;
  /** The message id as a number (see MessageIdSource). */
  id: number;
  sourceTon: number;
  sourceNpi: number;
  source: string;
  destTon: number;
  destNpi: number;
  dest: string;
  /** Start of the submitted text, quoted after "text:". */
  text: string;
  submittedAt: number;
}

class MoWaiter {
  constructor(readonly resolve: (ok: boolean) => void) {}
}

type Outstanding = ReceiptJob | MoWaiter;

export interface LinkHost {
  readonly behaviour: Behaviour;
  readonly stats: SimulatorStats;
  /** Where received submit_sm/data_sm copies go, or null when not recording. */
  readonly recording: Buffer[] | null;
  /** ESME_ROK, or the status refusing these credentials. */
  checkBind(systemId: string, password: string): number;
  nextMessageId(): number;
  messageIdText(id: number): string;
  /** Sends `pdu` on `link` after behaviour.responseDelayMs. */
  deferResponse(link: SimLink, pdu: Buffer): void;
  queueReceipt(job: ReceiptJob, extraDelayMs: number): void;
  /** A receipt sent on a link that closed before acknowledging it: send it again elsewhere. */
  requeueReceipt(job: ReceiptJob): void;
  onBound(link: SimLink): void;
  onClosed(link: SimLink, reason: string): void;
  log(msg: string, fields?: object): void;
}

export class SimLink {
  readonly conn: PduConnection;
  kind: BindKind | null = null;
  systemId = '';
  private readonly sequences = new SequenceCounter();
  private readonly outstanding: Window<Outstanding>;

  constructor(socket: Socket, private readonly host: LinkHost, maxPduLength: number) {
    this.outstanding = new Window<Outstanding>(DELIVER_WINDOW, DELIVER_TIMEOUT_MS, systemClock, (_s, v) =>
      this.settle(v, false),
    );
    this.conn = new PduConnection(
      socket,
      {
        onPdu: (pdu) => this.onPdu(pdu),
        onClose: (reason) => this.onClose(reason),
        onDrain: () => this.conn.resumeReading(),
        onFatal: (f) => host.log('unframeable stream', { remote: this.remote, reason: f.reason }),
        onHandlerError: (err) => host.log('handler error', { remote: this.remote, err: String(err) }),
      },
      maxPduLength,
    );
  }

  get remote(): string {
    return `${this.conn.remoteAddress}:${this.conn.remotePort}`;
  }

  get canSubmit(): boolean {
    return this.kind === 'transmitter' || this.kind === 'transceiver';
  }

  get canReceive(): boolean {
    return (this.kind === 'receiver' || this.kind === 'transceiver') && this.conn.isOpen;
  }

  /** Can take a deliver_sm right now without piling onto a congested socket or a full window. */
  get ready(): boolean {
    return this.canReceive && !this.conn.congested && !this.outstanding.full;
  }

  // ---- inbound ----

  private onPdu(pdu: Buffer): void {
    if (this.conn.congested) this.conn.pauseReading();
    const commandId = pdu.readUInt32BE(4);
    if (commandId === Command.submit_sm || commandId === Command.data_sm) this.onMessage(pdu, commandId);
    else if (commandId === Command.deliver_sm_resp) this.onDeliverResp(pdu);
    else this.onControl(pdu, commandId);
  }

  private onMessage(pdu: Buffer, commandId: number): void {
    const host = this.host;
    if (commandId === Command.submit_sm) host.stats.submits++;
    else host.stats.dataSms++;
    if (host.recording) host.recording.push(Buffer.from(pdu));
    const sequence = pdu.readUInt32BE(12);
    const respId = responseIdOf(commandId);
    if (!this.canSubmit) return this.answerError(respId, Status.ESME_RINVBNDSTS, sequence);
    const view = MessageView.parse(pdu);
    if (isScanError(view)) return this.answerError(respId, view.status, sequence);
    const b = host.behaviour;
    if (b.blackhole) return;
    if (b.errorRatio > 0 && b.errorStatus !== 0 && Math.random() < b.errorRatio) {
      host.stats.errorsAnswered++;
      return this.respond(messageResp(respId, b.errorStatus, sequence));
    }
    const id = host.nextMessageId();
    this.respond(encodeIdResp(respId, sequence, host.messageIdText(id)));
    if (view.wantsReceipt) host.queueReceipt(this.receiptJob(view, id), b.responseDelayMs);
  }

  /** Malformed or out-of-state submit: ESME_RINVCMDLEN (the body is short) gets generic_nack. */
  private answerError(respId: number, status: number, sequence: number): void {
    this.host.stats.errorsAnswered++;
    this.conn.send(
      status === Status.ESME_RINVCMDLEN ? genericNack(status, sequence) : messageResp(respId, status, sequence),
    );
  }

  private respond(pdu: Buffer): void {
    if (this.host.behaviour.responseDelayMs > 0) this.host.deferResponse(this, pdu);
    else this.conn.send(pdu);
  }

  private receiptJob(v: MessageView, id: number): ReceiptJob {
    return {
      origin: this,
      id,
      sourceTon: v.destTon,
      sourceNpi: v.destNpi,
      source: v.destinationAddr.slice(0, MAX_DELIVER_ADDR),
      destTon: v.sourceTon,
      destNpi: v.sourceNpi,
      dest: v.sourceAddr.slice(0, MAX_DELIVER_ADDR),
      text: (v.shortMessage.length > 0 ? v.shortMessage : v.payload).toString('latin1', 0, 20),
      submittedAt: Date.now(),
    };
  }

  private onDeliverResp(pdu: Buffer): void {
    const v = this.outstanding.take(pdu.readUInt32BE(12));
    if (v !== undefined) this.settle(v, statusOf(pdu) === Status.ESME_ROK);
  }

  private settle(v: Outstanding, ok: boolean): void {
    if (v instanceof MoWaiter) {
      if (ok) this.host.stats.moAcked++;
      v.resolve(ok);
    } else if (ok) {
      this.host.stats.receiptsAcked++;
    }
  }

  private onControl(pdu: Buffer, commandId: number): void {
    const sequence = pdu.readUInt32BE(12);
    switch (commandId) {
      case Command.bind_transmitter:
      case Command.bind_receiver:
      case Command.bind_transceiver:
        return this.onBind(pdu, commandId, sequence);
      case Command.enquire_link:
        this.host.stats.enquireLinks++;
        return this.conn.send(encodeEmpty(Command.enquire_link_resp, 0, sequence));
      case Command.unbind:
        return this.onUnbind(sequence);
      case Command.generic_nack:
        return this.onGenericNack(sequence);
    }
    if (isResponse(commandId)) return; // a response we never asked for (or enquire_link_resp/unbind_resp): nothing to do
    this.refuse(commandId, sequence);
  }

  /**
   * A request this SMSC does not serve. Before bind everything is out of state (ESME_RINVBNDSTS,
   * in the command's own response when it has one); once bound it is an unsupported command.
   */
  private refuse(commandId: number, sequence: number): void {
    const respId = responseIdOf(commandId);
    if (this.kind === null && isKnownCommand(respId)) {
      this.conn.send(encodeEmpty(respId, Status.ESME_RINVBNDSTS, sequence));
    } else {
      this.conn.send(genericNack(this.kind === null ? Status.ESME_RINVBNDSTS : Status.ESME_RINVCMDID, sequence));
    }
  }

  private onBind(pdu: Buffer, commandId: number, sequence: number): void {
    const respId = responseIdOf(commandId);
    if (this.kind !== null) return this.conn.send(encodePdu(respId, Status.ESME_RALYBND, sequence));
    const d = decode(pdu);
    if (!d.ok) {
      this.conn.send(
        d.status === Status.ESME_RINVCMDLEN ? genericNack(d.status, sequence) : encodePdu(respId, d.status, sequence),
      );
      return;
    }
    const systemId = str(d.pdu.fields.system_id);
    const status = this.host.checkBind(systemId, str(d.pdu.fields.password));
    if (status !== Status.ESME_ROK) {
      this.host.log('bind refused', { remote: this.remote, systemId, status });
      return this.conn.send(encodePdu(respId, status, sequence));
    }
    this.kind = BIND_KIND[commandId as keyof typeof BIND_KIND].name;
    this.systemId = systemId;
    this.conn.send(encodePdu(respId, Status.ESME_ROK, sequence, { system_id: SYSTEM_ID }));
    this.host.stats.binds++;
    this.host.onBound(this);
  }

  private onUnbind(sequence: number): void {
    if (this.kind === null) return this.conn.send(encodeEmpty(Command.unbind_resp, Status.ESME_RINVBNDSTS, sequence));
    this.conn.send(encodeEmpty(Command.unbind_resp, Status.ESME_ROK, sequence));
    this.conn.close('unbind');
  }

  /** generic_nack answering one of our deliver_sm: that delivery failed. Never answer a nack. */
  private onGenericNack(sequence: number): void {
    const v = this.outstanding.take(sequence);
    if (v !== undefined) this.settle(v, false);
  }

  // ---- outbound ----

  deliverReceipt(job: ReceiptJob, fields: ReceiptPduFields): void {
    const sequence = this.sequences.take();
    this.outstanding.add(sequence, job);
    this.conn.send(encodeReceiptPdu(sequence, fields));
  }

  /** Sends an MO deliver_sm; resolves with whether the ESME answered ESME_ROK in time. */
  deliverMo(m: MoMessage): Promise<boolean> {
    const sequence = this.sequences.take();
    const pdu = encodeMo(sequence, m);
    return new Promise((resolve) => {
      if (!this.outstanding.add(sequence, new MoWaiter(resolve))) return resolve(false);
      this.host.stats.moSent++;
      this.conn.send(pdu);
    });
  }

  private onClose(reason: string): void {
    this.outstanding.drain((_s, v) => {
      if (v instanceof MoWaiter) v.resolve(false);
      else this.host.requeueReceipt(v);
    });
    this.host.onClosed(this, reason);
  }
}
