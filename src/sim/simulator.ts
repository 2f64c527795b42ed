/**
 * The SMSC simulator: a TCP server whose links (link.ts) answer binds, submits and keepalives like
 * an SMSC, send delivery receipts and injected MO messages back, and misbehave on request (slow,
 * erroring, blackholing, dropping links). One periodic timer drains the deferred work (slow
 * responses, due receipts); nothing is scheduled per message. The control HTTP API is optional.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { DEFAULT_MAX_PDU_LENGTH } from '../protocol/frame.js';
import { MESSAGE_STATE } from '../protocol/receipt.js';
import { Status } from '../protocol/status.js';
import { applyBehaviour, DEFAULT_BEHAVIOUR, type Behaviour } from './behaviour.js';
import { startControlApi } from './control-api.js';
import { SimLink, type LinkHost, type ReceiptJob } from './link.js';
import { MessageIdSource, type ReceiptIdFormat } from './message-ids.js';
import type { MoMessage } from './mo.js';
import type { BehaviourSettings, Simulator, SimulatorOptions } from './types.js';
import { ReceiptTextCache } from './receipt-text.js';
import { newStats } from './stats.js';
import { TimedQueue } from './timed-queue.js';

export type { SimulatorStats } from './stats.js';
export type { BehaviourSettings, Simulator, SimulatorOptions } from './types.js';

/** Period of the one timer that drains deferred responses and due receipts. */
export const TICK_MS = 10;
/** Receipts sent per tick at most, so a backlog released by a bind does not stall the loop. */
const MAX_RECEIPTS_PER_TICK = 20_000;

interface DeferredResponse {
  link: SimLink;
  pdu: Buffer;
}

const sendDeferred = (r: DeferredResponse): boolean => {
  r.link.conn.send(r.pdu); // a no-op once the link is gone
  return true;
};

class SmscSimulator implements Simulator, LinkHost {
  readonly stats = newStats();
  readonly received: Buffer[] = [];
  readonly recording: Buffer[] | null;
  readonly behaviour: Behaviour;
  port = 0;
  httpPort: number | null = null;

  private readonly server: Server;
  private http: HttpServer | null = null;
  private readonly links = new Set<SimLink>();
  private receivers: SimLink[] = [];
  private rr = 0;
  private readonly responses = new TimedQueue<DeferredResponse>();
  private readonly receipts = new TimedQueue<ReceiptJob>();
  private readonly texts = new ReceiptTextCache();
  private readonly ids: MessageIdSource;
  private readonly receiptIdFormat: ReceiptIdFormat;
  private readonly maxPduLength: number;
  private readonly logFn: (msg: string, fields?: object) => void;
  private timer: NodeJS.Timeout | null = null;
  private refuseUntil = 0;

  constructor(private readonly opts: SimulatorOptions) {
    this.behaviour = { ...DEFAULT_BEHAVIOUR };
    applyBehaviour(this.behaviour, pickBehaviour(opts));
    this.recording = opts.record ? this.received : null;
    this.ids = new MessageIdSource(opts.idFormat ?? 'hex');
    this.receiptIdFormat = opts.receiptIdFormat ?? 'same';
    this.maxPduLength = opts.maxPduLength ?? DEFAULT_MAX_PDU_LENGTH;
    this.logFn = opts.log ?? (() => {});
    this.server = createServer((socket) => this.onConnection(socket));
  }

  async start(): Promise<void> {
    const host = this.opts.host ?? '127.0.0.1';
    this.port = await listen(this.server, this.opts.port, host);
    if (this.opts.httpPort !== undefined && this.opts.httpPort !== null) {
      this.http = await startControlApi(this, host, this.opts.httpPort);
      this.httpPort = (this.http.address() as AddressInfo).port;
    }
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    this.log('smsc-sim listening', { host, port: this.port, httpPort: this.httpPort });
  }

  // ---- connections ----

  private onConnection(socket: Socket): void {
    if (Date.now() < this.refuseUntil) {
      socket.destroy();
      return;
    }
    this.stats.connections++;
    const link = new SimLink(socket, this, this.maxPduLength);
    this.links.add(link);
    this.log('connection', { remote: link.remote });
  }

  onBound(link: SimLink): void {
    if (link.canReceive) this.receivers.push(link);
    this.log('bound', { remote: link.remote, kind: link.kind, systemId: link.systemId });
  }

  onClosed(link: SimLink, reason: string): void {
    this.links.delete(link);
    this.receivers = this.receivers.filter((l) => l !== link);
    this.log('link closed', { remote: link.remote, reason });
  }

  checkBind(systemId: string, password: string): number {
    if (this.opts.systemId != null && systemId !== this.opts.systemId) return Status.ESME_RINVSYSID;
    if (this.opts.password != null && password !== this.opts.password) return Status.ESME_RINVPASWD;
    return Status.ESME_ROK;
  }

  // ---- message ids, deferred work ----

  nextMessageId(): number {
    return this.ids.next();
  }

  messageIdText(id: number): string {
    return this.ids.text(id);
  }

  deferResponse(link: SimLink, pdu: Buffer): void {
    this.responses.push(Date.now() + this.behaviour.responseDelayMs, { link, pdu });
  }

  queueReceipt(job: ReceiptJob, extraDelayMs: number): void {
    this.receipts.push(job.submittedAt + extraDelayMs + this.behaviour.receiptDelayMs, job);
  }

  requeueReceipt(job: ReceiptJob): void {
    job.origin = null;
    this.receipts.push(Date.now(), job);
  }

  private tick(): void {
    const now = Date.now();
    if (this.responses.size > 0) this.responses.drain(now, sendDeferred);
    if (this.receipts.size > 0 && this.receivers.length > 0) {
      this.receipts.drain(now, (job) => this.sendReceipt(job, now), MAX_RECEIPTS_PER_TICK);
    }
  }

  /** Sends one due receipt; false (try again next tick) when no receiver link can take it now. */
  private sendReceipt(job: ReceiptJob, now: number): boolean {
    const link = job.origin?.kind === 'transceiver' && job.origin.ready ? job.origin : this.nextReceiver(true);
    if (!link) return false;
    const delivered = Math.random() < this.behaviour.receiptSuccessRatio;
    const state = delivered ? MESSAGE_STATE.DELIVERED : MESSAGE_STATE.UNDELIVERABLE;
    const err = delivered ? 0 : 1;
    const receiptId = this.ids.receiptText(job.id, this.receiptIdFormat);
    link.deliverReceipt(job, {
      sourceTon: job.sourceTon,
      sourceNpi: job.sourceNpi,
      source: job.source,
      destTon: job.destTon,
      destNpi: job.destNpi,
      dest: job.dest,
      text: this.texts.text(receiptId, job.submittedAt, now, state, err, job.text),
      receiptId,
      state,
    });
    this.stats.receiptsSent++;
    return true;
  }

  /** The next bound receiver/transceiver link round-robin; with `ready`, only one that can take a PDU now. */
  private nextReceiver(ready: boolean): SimLink | null {
    const n = this.receivers.length;
    for (let i = 0; i < n; i++) {
      const link = this.receivers[this.rr++ % n]!;
      if (ready ? link.ready : link.canReceive) return link;
    }
    return null;
  }

  // ---- Simulator API ----

  setBehaviour(p: BehaviourSettings): void {
    applyBehaviour(this.behaviour, p);
  }

  async injectMo(m: MoMessage): Promise<boolean> {
    const link = this.nextReceiver(false);
    if (!link) return false;
    return link.deliverMo(m);
  }

  dropLinks(opts: { refuseMs?: number } = {}): void {
    if (opts.refuseMs && opts.refuseMs > 0) this.refuseUntil = Date.now() + opts.refuseMs;
    this.log('dropping links', { links: this.links.size, refuseMs: opts.refuseMs ?? 0 });
    for (const link of [...this.links]) link.conn.destroy('dropped by simulator');
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const link of [...this.links]) {
      link.conn.flush();
      link.conn.destroy('simulator closing');
    }
    if (this.http) {
      const http = this.http;
      const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await httpClosed;
    }
    await closed;
    this.responses.clear();
    this.receipts.clear();
  }

  log(msg: string, fields?: object): void {
    this.logFn(msg, fields);
  }
}

function pickBehaviour(o: SimulatorOptions): BehaviourSettings {
  return {
    responseDelayMs: o.responseDelayMs,
    errorStatus: o.errorStatus,
    errorRatio: o.errorRatio,
    receiptDelayMs: o.receiptDelayMs,
    receiptSuccessRatio: o.receiptSuccessRatio,
    blackhole: o.blackhole,
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const sim = new SmscSimulator(opts);
  try {
    await sim.start();
  } catch (err) {
    await sim.close().catch(() => {});
    throw err;
  }
  return sim;
}
