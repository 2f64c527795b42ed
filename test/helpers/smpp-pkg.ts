/**
 * The `smpp` npm package (farhadi/node-smpp 0.5, CommonJS, no bundled types) as an independent
 * SMPP implementation for interop tests: as an ESME binding to the gateway, and as an SMSC the
 * gateway binds to. Loaded through createRequire with the few types the tests use, so it does not
 * depend on any ambient `declare module 'smpp'`.
 *
 * The package keeps no raw bytes, so the SMSC here taps its sockets: every byte read by the
 * package's session is also emitted as 'data' (a 'readable' listener keeps flow control; 'data'
 * then fires for what read() returns), and every write is recorded. Both are cut into frames, so a
 * test can compare what crossed the wire with what it sent.
 */
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import type { AddressInfo, Server, Socket } from 'node:net';

export interface PkgPdu {
  command: string;
  command_length: number;
  command_id: number;
  command_status: number;
  sequence_number: number;
  isResponse(): boolean;
  response(options?: Record<string, unknown>): PkgPdu;
  toBuffer(): Buffer;
  [field: string]: unknown;
}

export interface PkgSession extends EventEmitter {
  socket: Socket;
  send(pdu: PkgPdu, responseCallback?: (resp: PkgPdu) => void, sendCallback?: (pdu: PkgPdu) => void): boolean;
  close(callback?: () => void): void;
  destroy(callback?: () => void): void;
  pause(): void;
  resume(): void;
}

interface SmppModule {
  PDU: { new (command: string | Buffer, options?: Record<string, unknown>): PkgPdu };
  connect(options: { url: string; auto_enquire_link_period?: number }, listener?: () => void): PkgSession;
  createServer(listener: (session: PkgSession) => void): Server;
}

export const smpp = createRequire(import.meta.url)('smpp') as SmppModule;

/** Connects the package's client session to 127.0.0.1:`port`. */
export function pkgConnect(port: number): Promise<PkgSession> {
  return new Promise((resolve, reject) => {
    const session = smpp.connect({ url: `smpp://127.0.0.1:${port}` });
    session.once('error', reject);
    session.once('connect', () => {
      session.off('error', reject);
      session.on('error', () => undefined); // peer resets after refused binds are expected
      resolve(session);
    });
  });
}

/** Sends a request built by the package and resolves with its response. */
export function pkgRequest(session: PkgSession, command: string, options: Record<string, unknown> = {}, timeoutMs = 2000): Promise<PkgPdu> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer to ${command} within ${timeoutMs} ms`)), timeoutMs);
    const sent = session.send(new smpp.PDU(command, options), (resp) => {
      clearTimeout(t);
      resolve(resp);
    });
    if (!sent) {
      clearTimeout(t);
      reject(new Error(`could not send ${command}: socket not writable`));
    }
  });
}

/** Resolves when the session's socket has closed. */
export function pkgClosed(session: PkgSession): Promise<void> {
  return new Promise((resolve) => {
    if (session.socket.destroyed) return resolve();
    session.once('close', () => resolve());
  });
}

/** Cuts a byte stream into PDUs by command_length. */
class Frames {
  private buf = Buffer.alloc(0);
  readonly frames: Buffer[] = [];
  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (len < 16 || this.buf.length < len) break;
      this.frames.push(this.buf.subarray(0, len));
      this.buf = this.buf.subarray(len);
    }
  }
}

export interface ReceivedRequest {
  pdu: PkgPdu;
  /** The bytes of this PDU as they came off the socket. */
  raw: Buffer;
}

export interface PkgSmscLink {
  session: PkgSession;
  systemId: string;
  /** Every whole PDU this SMSC wrote on the link, in order. */
  readonly sent: Buffer[];
  /** Sends a deliver_sm built by the package; resolves with the gateway's deliver_sm_resp. */
  deliver(options: Record<string, unknown>): Promise<PkgPdu>;
  /** Writes raw bytes (a PDU built elsewhere); the answer is matched by sequence number. */
  sendRaw(pdu: Buffer): Promise<PkgPdu>;
  /** Sends a request built by the package (enquire_link, unbind…); resolves with the answer. */
  request(command: string, options?: Record<string, unknown>): Promise<PkgPdu>;
}

export interface PkgSmsc {
  port: number;
  /** Bound links (the gateway opens one per configured bind). */
  readonly links: PkgSmscLink[];
  /** submit_sm and data_sm received, decoded by the package, with their raw bytes. */
  readonly received: ReceivedRequest[];
  /** The message_id the next submit_sm_resp will carry. */
  nextId(): string;
  /** When false, enquire_link from the gateway goes unanswered (a hung SMSC). Default true. */
  answerEnquireLink: boolean;
  /** enquire_link requests received. */
  enquireLinks: number;
  close(): Promise<void>;
}

/**
 * An SMSC built on the package's server: accepts any bind, answers submit_sm/data_sm with
 * increasing hex message ids, answers enquire_link and unbind.
 */
export async function startPkgSmsc(opts: { firstId?: number } = {}): Promise<PkgSmsc> {
  let id = opts.firstId ?? 0xa0b0c000;
  const links: PkgSmscLink[] = [];
  const received: ReceivedRequest[] = [];
  const sessions = new Set<PkgSession>();
  const state = { answerEnquireLink: true, enquireLinks: 0 };

  const server = smpp.createServer((session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => undefined);
    const inbound = new Frames();
    const outbound = new Frames();
    session.socket.on('data', (chunk: Buffer) => inbound.push(chunk));
    const write = session.socket.write.bind(session.socket) as (data: Buffer, cb?: () => void) => boolean;
    (session.socket as unknown as { write: typeof write }).write = (data: Buffer, cb?: () => void) => {
      outbound.push(data);
      return write(data, cb);
    };
    const rawFor = new Map<number, (resp: PkgPdu) => void>();
    let rawSeq = 0x40000000;

    let taken = 0;
    session.on('pdu', (pdu: PkgPdu) => {
      // The tap has seen every byte the package read for this PDU: it is the next whole frame.
      const raw = inbound.frames[taken++]!;
      if (pdu.isResponse()) {
        const cb = rawFor.get(pdu.sequence_number);
        if (cb) {
          rawFor.delete(pdu.sequence_number);
          cb(pdu);
        }
        return;
      }
      switch (pdu.command) {
        case 'bind_transceiver':
        case 'bind_transmitter':
        case 'bind_receiver': {
          session.send(pdu.response({ system_id: 'pkg-smsc' }));
          links.push({
            session,
            systemId: String(pdu.system_id),
            sent: outbound.frames,
            deliver: (options) =>
              new Promise((resolve) => session.send(new smpp.PDU('deliver_sm', options), (resp) => resolve(resp))),
            request: (command, options = {}) => pkgRequest(session, command, options),
            sendRaw: (bytes) =>
              new Promise((resolve) => {
                const seq = ++rawSeq;
                bytes.writeUInt32BE(seq, 12);
                rawFor.set(seq, resolve);
                session.socket.write(bytes);
              }),
          });
          return;
        }
        case 'submit_sm':
        case 'data_sm':
          received.push({ pdu, raw });
          session.send(pdu.response({ message_id: (id++).toString(16) }));
          return;
        case 'enquire_link':
          state.enquireLinks++;
          if (state.answerEnquireLink) session.send(pdu.response());
          return;
        case 'unbind':
          session.send(pdu.response());
          session.close();
          return;
        default:
          session.send(pdu.response({ command_status: 0x03 }));
      }
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  return {
    port,
    links,
    received,
    nextId: () => id.toString(16),
    get answerEnquireLink() {
      return state.answerEnquireLink;
    },
    set answerEnquireLink(v: boolean) {
      state.answerEnquireLink = v;
    },
    get enquireLinks() {
      return state.enquireLinks;
    },
    async close() {
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
