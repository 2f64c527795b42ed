/**
 * A tiny ESME (client side of SMPP) for tests and the demo: connects over real TCP, binds, submits,
 * answers deliver_sm and enquire_link, and lets a caller send raw bytes and wait for whatever comes
 * back. Built on PduConnection and encodePdu, so it frames and encodes like the gateway does.
 * Not for load: one promise and one timer per request.
 */
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { BIND_COMMAND, Command, isResponse, type BindKind } from '../protocol/commands.js';
import { decode, str, type DecodedPdu } from '../protocol/decode.js';
import { encodeEmpty, encodePdu, messageResp, INTERFACE_VERSION_34, type FieldValue } from '../protocol/encode.js';
import { SequenceCounter } from '../protocol/header.js';
import { MessageView, isScanError } from '../protocol/message-view.js';
import type { Tlv } from '../protocol/tlv.js';
import { PduConnection } from '../session/connection.js';

export interface Delivery {
  raw: Buffer;
  view: MessageView;
}

export interface EsmeClient {
  bind(kind: BindKind, systemId?: string, password?: string): Promise<number>;
  /** submit_sm (or data_sm with commandId) with the given fields; status and message_id of the answer. */
  submit(fields: Record<string, FieldValue>, tlvs?: Tlv[], commandId?: number): Promise<{ status: number; messageId: string; commandId: number }>;
  /** Sends a request built from fields and resolves with the raw answer matched by sequence. */
  request(commandId: number, fields?: Record<string, FieldValue>, tlvs?: Tlv[]): Promise<Buffer>;
  /** Called for each deliver_sm; its return value is the deliver_sm_resp status (default ESME_ROK). */
  onDeliver(cb: (d: Delivery) => number | void): void;
  /** Every deliver_sm received so far. */
  readonly deliveries: Delivery[];
  /** Resolves once `n` deliver_sm have arrived in total. */
  waitDeliveries(n: number, timeoutMs?: number): Promise<Delivery[]>;
  /** Sends raw bytes (one or several PDUs, or garbage). */
  send(raw: Buffer): void;
  /** Resolves with the next PDU received that matches `pred`. */
  waitFor(pred: (pdu: Buffer) => boolean, timeoutMs?: number): Promise<Buffer>;
  nextSequence(): number;
  readonly closed: Promise<string>;
  readonly isOpen: boolean;
  /** unbind, then wait for the peer to close the link; resolves with the unbind_resp status. */
  unbind(): Promise<number>;
  /** Drops the connection at once. */
  close(): Promise<void>;
}

interface Waiter {
  pred: (pdu: Buffer) => boolean;
  resolve: (pdu: Buffer) => void;
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  const timer = new Promise<never>((_r, reject) => {
    t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t));
}

export interface EsmeClientOptions {
  /** How long request() waits for its answer; default 2000 ms. */
  requestTimeoutMs?: number;
  /** The local address to connect from (e.g. 127.0.0.2: another source IP on loopback). */
  localAddress?: string;
  /** Connect over TLS with these options (CA, client certificate, servername…); plain TCP without. */
  tls?: ConnectionOptions;
}

export function connect(host: string, port: number, opts: EsmeClientOptions = {}): Promise<EsmeClient> {
  return new Promise((resolve, reject) => {
    const from = opts.localAddress ? { localAddress: opts.localAddress } : {};
    const socket = opts.tls ? tlsConnect({ host, port, ...from, ...opts.tls }) : netConnect({ host, port, ...from });
    socket.once('error', reject);
    socket.once(opts.tls ? 'secureConnect' : 'connect', () => {
      socket.off('error', reject);
      resolve(new Client(socket, opts.requestTimeoutMs ?? 2000));
    });
  });
}

class Client implements EsmeClient {
  private readonly conn: PduConnection;
  private readonly seq = new SequenceCounter();
  private readonly pending = new Map<number, (pdu: Buffer) => void>();
  private waiters: Waiter[] = [];
  private deliverCb: (d: Delivery) => number | void = () => 0;
  private deliveryWaiters: { n: number; resolve: () => void }[] = [];
  readonly deliveries: Delivery[] = [];
  readonly closed: Promise<string>;

  constructor(
    socket: import('node:net').Socket,
    private readonly requestTimeoutMs: number,
  ) {
    let onClosed!: (reason: string) => void;
    this.closed = new Promise((r) => (onClosed = r));
    this.conn = new PduConnection(
      socket,
      { onPdu: (pdu) => this.onPdu(Buffer.from(pdu)), onClose: (reason) => onClosed(reason) },
      64 * 1024,
    );
  }

  get isOpen(): boolean {
    return this.conn.isOpen;
  }

  nextSequence(): number {
    return this.seq.take();
  }

  private onPdu(pdu: Buffer): void {
    const commandId = pdu.readUInt32BE(4);
    const sequence = pdu.readUInt32BE(12);
    this.waiters = this.waiters.filter((w) => (w.pred(pdu) ? (w.resolve(pdu), false) : true));
    if (isResponse(commandId)) {
      const p = this.pending.get(sequence);
      this.pending.delete(sequence);
      p?.(pdu);
    } else if (commandId === Command.deliver_sm) {
      this.onDeliverSm(pdu, sequence);
    } else if (commandId === Command.enquire_link) {
      this.conn.send(encodeEmpty(Command.enquire_link_resp, 0, sequence));
    } else if (commandId === Command.unbind) {
      this.conn.send(encodeEmpty(Command.unbind_resp, 0, sequence));
    }
  }

  private onDeliverSm(raw: Buffer, sequence: number): void {
    const view = MessageView.parse(raw);
    if (isScanError(view)) {
      this.conn.send(messageResp(Command.deliver_sm_resp, view.status, sequence));
      return;
    }
    const d = { raw, view };
    this.deliveries.push(d);
    const status = this.deliverCb(d) ?? 0;
    this.conn.send(messageResp(Command.deliver_sm_resp, status, sequence));
    this.deliveryWaiters = this.deliveryWaiters.filter((w) => (this.deliveries.length >= w.n ? (w.resolve(), false) : true));
  }

  request(commandId: number, fields: Record<string, FieldValue> = {}, tlvs: Tlv[] = []): Promise<Buffer> {
    const sequence = this.seq.take();
    const answer = new Promise<Buffer>((resolve) => this.pending.set(sequence, resolve));
    this.conn.send(encodePdu(commandId, 0, sequence, fields, tlvs));
    return timeout(answer, this.requestTimeoutMs, `answer to sequence ${sequence}`);
  }

  async bind(kind: BindKind, systemId = 'esme', password = 'secret'): Promise<number> {
    const resp = await this.request(BIND_COMMAND[kind], {
      system_id: systemId,
      password,
      system_type: '',
      interface_version: INTERFACE_VERSION_34,
    });
    return resp.readUInt32BE(8);
  }

  async submit(fields: Record<string, FieldValue>, tlvs: Tlv[] = [], commandId: number = Command.submit_sm) {
    const resp = await this.request(commandId, fields, tlvs);
    const d = decode(resp);
    const messageId = d.ok ? str(d.pdu.fields.message_id) : '';
    return { status: resp.readUInt32BE(8), messageId, commandId: resp.readUInt32BE(4) };
  }

  onDeliver(cb: (d: Delivery) => number | void): void {
    this.deliverCb = cb;
  }

  waitDeliveries(n: number, timeoutMs = 1500): Promise<Delivery[]> {
    if (this.deliveries.length >= n) return Promise.resolve(this.deliveries.slice());
    const p = new Promise<void>((resolve) => this.deliveryWaiters.push({ n, resolve }));
    return timeout(p, timeoutMs, `${n} deliver_sm`).then(() => this.deliveries.slice());
  }

  send(raw: Buffer): void {
    this.conn.send(raw);
  }

  waitFor(pred: (pdu: Buffer) => boolean, timeoutMs = 1500): Promise<Buffer> {
    const p = new Promise<Buffer>((resolve) => this.waiters.push({ pred, resolve }));
    return timeout(p, timeoutMs, 'a matching PDU');
  }

  async unbind(): Promise<number> {
    const resp = await this.request(Command.unbind);
    await this.closed;
    return resp.readUInt32BE(8);
  }

  async close(): Promise<void> {
    this.conn.destroy('client closed');
    await this.closed;
  }
}

export type { DecodedPdu };
