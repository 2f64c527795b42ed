/**
 * In-memory SMPP links for unit tests of upstream/, downstream/ and relay/: two connected Duplex
 * streams standing in for the two ends of a TCP connection, and a peer that frames what it reads into
 * PDUs. No sockets, no Redis, no timers of its own.
 *
 * streamPair() is the construction of node's stream.duplexPair (Node ≥ 22.6; this project runs on 20):
 * a write is pushed into the other side and completes when that side reads, so a peer that stops
 * reading backs the writer up exactly as a full TCP window does. Like a net.Socket (allowHalfOpen
 * false) a side that reads EOF ends its own side, and destroying one side closes the other.
 */
import { scryptSync } from 'node:crypto';
import { Duplex } from 'node:stream';
import { Framer } from '../../src/protocol/frame.js';
import { createLogger } from '../../src/telemetry/log.js';
import type { Counter, Gauge } from 'prom-client';

export class StreamSide extends Duplex {
  other: StreamSide | null = null;
  private readCallback: (() => void) | null = null;
  /** As a net.Socket reports them (the gateway matches allow-lists against remoteAddress). */
  remoteAddress: string;
  remotePort: number;

  constructor(remoteAddress: string, remotePort: number) {
    super({ allowHalfOpen: false });
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
  }

  override _read(): void {
    const cb = this.readCallback;
    if (cb) {
      this.readCallback = null;
      cb();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (chunk.length === 0) return process.nextTick(cb);
    // A copy, as a socket delivers: the reader may rewrite what it got in place (sequence numbers).
    this.other!.push(Buffer.from(chunk));
    this.other!.readCallback = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.other!.once('end', () => cb());
    this.other!.push(null);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.other && !this.other.destroyed) this.other.destroy();
    cb(err);
  }
}

/** [the gateway's end, the peer's end]; the gateway's end reports `remoteAddress` as the peer's IP. */
export function streamPair(remoteAddress = '127.0.0.1', remotePort = 40000): [StreamSide, StreamSide] {
  const near = new StreamSide(remoteAddress, remotePort);
  const far = new StreamSide('127.0.0.1', 2775);
  near.other = far;
  far.other = near;
  return [near, far];
}

/** Lets pending stream callbacks, setImmediate flushes and promise reactions run (no wall time passes). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** The far end of a link as a test drives it: send PDUs, read the PDUs that arrive, see it close. */
export class Peer {
  private readonly inbox: Buffer[] = [];
  private waiter: (() => void) | null = null;
  readonly closed: Promise<void>;
  isClosed = false;

  constructor(readonly stream: StreamSide) {
    const framer = new Framer(1 << 20);
    stream.on('data', (chunk: Buffer) => {
      framer.push(chunk, (pdu) => this.inbox.push(Buffer.from(pdu)));
      this.waiter?.();
    });
    stream.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      stream.once('close', () => {
        this.isClosed = true;
        this.waiter?.();
        resolve();
      }),
    );
  }

  send(pdu: Buffer): void {
    this.stream.write(pdu);
  }

  /** Writes raw bytes (split PDUs, garbage). */
  sendRaw(bytes: Buffer): void {
    this.stream.write(bytes);
  }

  /** PDUs received and not yet taken, removed from the inbox. */
  take(): Buffer[] {
    return this.inbox.splice(0);
  }

  /** How many PDUs wait in the inbox. */
  get pending(): number {
    return this.inbox.length;
  }

  /**
   * The next PDU to arrive (or already waiting). Only for answers that wait on real work (the bind's
   * scrypt check): `failAfterMs` is a guard so a missing answer fails the test instead of hanging it.
   */
  async next(failAfterMs = 3000): Promise<Buffer> {
    const deadline = Date.now() + failAfterMs;
    while (this.inbox.length === 0) {
      if (this.isClosed) throw new Error('peer closed before a PDU arrived');
      if (Date.now() > deadline) throw new Error('no PDU arrived');
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, 50);
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.waiter = done;
      });
      this.waiter = null;
    }
    return this.inbox.shift()!;
  }

  /** Ends our side, as an ESME or SMSC closing its socket does. */
  end(): void {
    this.stream.end();
  }
}

/** The four header fields of a PDU. */
export function head(pdu: Buffer): { command: number; status: number; sequence: number; length: number } {
  return { length: pdu.readUInt32BE(0), command: pdu.readUInt32BE(4), status: pdu.readUInt32BE(8), sequence: pdu.readUInt32BE(12) };
}

/**
 * An account password hash in the stored format with a small scrypt cost, so a bind test checks the
 * real verifyPassword path in about a millisecond (production hashes use N=16384).
 */
export function quickHash(password: string): string {
  const salt = Buffer.from('unit-test-salt!!');
  const hash = scryptSync(password, salt, 32, { N: 1024, r: 8, p: 1 });
  return `scrypt$1024$8$1$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export const silentLog = () => createLogger('silent');

/** The current value of one labelled series of a counter or gauge (0 when never touched). */
export async function valueOf(metric: Counter<string> | Gauge<string>, labels: Record<string, string> = {}): Promise<number> {
  const m = await metric.get();
  const want = Object.entries(labels);
  const hit = m.values.find((v) => want.every(([k, val]) => String(v.labels[k]) === val));
  return hit?.value ?? 0;
}
