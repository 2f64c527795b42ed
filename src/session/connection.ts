/**
 * Transport: one TCP (or TLS) socket carrying PDUs. Frames what it reads, batches what it writes
 * (one socket write per event-loop turn), reports write backpressure, and isolates failures: a
 * handler that throws is logged and the connection carries on; an unframeable stream closes this
 * connection only, after a generic_nack.
 */
import type { Duplex } from 'node:stream';
import { Framer, type FrameFatal } from '../protocol/frame.js';
import { genericNack } from '../protocol/encode.js';
import { Status } from '../protocol/status.js';

export interface ConnectionHandlers {
  onPdu(pdu: Buffer): void;
  /** The socket is gone (peer closed, error, or we closed it). Called once. */
  onClose(reason: string): void;
  /** The write backlog drained after having been over the socket's high-water mark. */
  onDrain?(): void;
  /** A framing error: the stream is lost and the connection is closing. */
  onFatal?(fatal: FrameFatal): void;
  onHandlerError?(err: unknown): void;
}

/**
 * What a connection reads and writes: a net.Socket or tls.TLSSocket in production, any Duplex (one
 * end of an in-memory stream pair) in unit tests. The socket-only parts are optional for that.
 */
export type PduSocket = Duplex & {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  setNoDelay?(noDelay?: boolean): unknown;
};

export class PduConnection {
  private readonly framer: Framer;
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  private closed = false;
  private closing = false;
  private closeReason = '';
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** True while the socket's write buffer is over its high-water mark. */
  congested = false;

  constructor(
    readonly socket: PduSocket,
    private readonly handlers: ConnectionHandlers,
    maxPduLength: number,
  ) {
    this.framer = new Framer(maxPduLength);
    this.remoteAddress = normaliseIp(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.congested = false;
      this.handlers.onDrain?.();
    });
    socket.on('error', (err) => {
      this.closeReason ||= `socket error: ${err.message}`;
    });
    socket.on('close', () => this.finish(this.closeReason || 'peer closed'));
  }

  get isOpen(): boolean {
    return !this.closed && !this.closing;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const fatal = this.framer.push(chunk, (pdu) => {
      if (this.closed) return;
      try {
        this.handlers.onPdu(pdu);
      } catch (err) {
        this.handlers.onHandlerError?.(err);
      }
    });
    if (fatal) {
      this.handlers.onFatal?.(fatal);
      this.send(genericNack(Status.ESME_RINVCMDLEN, fatal.sequence ?? 0));
      this.close(`unframeable stream: ${fatal.reason}`);
    }
  }

  /** Queues a PDU; everything queued in one event-loop turn goes out in one write. */
  send(pdu: Buffer): void {
    if (this.closed || this.closing) return;
    this.out.push(pdu);
    this.outBytes += pdu.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.out.length === 0 || this.socket.destroyed) return;
    const data = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out, this.outBytes);
    this.out = [];
    this.outBytes = 0;
    if (!this.socket.write(data)) this.congested = true;
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    if (!this.closed) this.socket.resume();
  }

  /** Flushes what is queued, then half-closes; the socket is destroyed if the peer lingers. */
  close(reason: string): void {
    if (this.closed || this.closing) return;
    this.closeReason ||= reason;
    this.flush();
    this.closing = true;
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 2000);
    t.unref();
  }

  destroy(reason: string): void {
    this.closeReason ||= reason;
    this.socket.destroy();
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.out = [];
    this.handlers.onClose(reason);
  }
}

/** "::ffff:127.0.0.1" → "127.0.0.1" so allow-lists written in IPv4 match. */
export function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
