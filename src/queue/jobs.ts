/**
 * What a queued message is: the three queues (`window`: held until the recipient's allowed hours
 * open — the Redis and metric name, kept for dashboards; `saf`: store-and-forward; `review`), a
 * message as the relay queues it, as Redis stores it (window and saf: packed bytes in the message
 * hash; review: a BullMQ job's JSON), and the view the admin API shows.
 */
import { messageText } from '../protocol/message-text.js';
import { MessageView, isScanError } from '../protocol/message-view.js';

export type QueueName = 'window' | 'saf' | 'review';
export const QUEUE_NAMES: readonly QueueName[] = ['window', 'saf', 'review'];

/** A stored message, as the worker, the final receipts and the admin API read it. */
export interface StoredMessage {
  queue: QueueName;
  account: string;
  pdu: Buffer;
  /** The rule or failure that queued it (rule id, or store-and-forward/no_bind, …). */
  rule: string;
  reason: string;
  /** Epoch ms, by the gateway clock. */
  acceptedAt: number;
  /** When it may be sent (window opening; acceptedAt otherwise). */
  releaseAt: number;
  /** When it expires (validity_period capped by the account's max age). */
  expiresAt: number;
}

/** A message to queue; `id` is the gateway message id the ESME is given. */
export interface QueuedMessage extends StoredMessage {
  id: string;
}

/** What a review job (BullMQ) stores, and what earlier versions stored for every queue: the PDU as base64 and the metadata. */
export interface JobData {
  account: string;
  pdu: string;
  rule: string;
  reason: string;
  acceptedAt: number;
  releaseAt: number;
  expiresAt: number;
}

/** A queued message as the admin API shows it. */
export interface QueuedInfo {
  id: string;
  queue: QueueName;
  account: string;
  rule: string;
  reason: string;
  source_addr: string;
  destination_addr: string;
  text: string;
  registered_delivery: number;
  accepted_at: string;
  release_at: string;
  expires_at: string;
}

/** Called when the gateway ends a queued message itself: send the ESME a receipt if it asked. */
export type FinalReport = (m: { id: string; msg: StoredMessage; state: 'EXPIRED' | 'REJECTED'; err?: number }) => Promise<void>;

export function jobData(m: QueuedMessage): JobData {
  return {
    account: m.account,
    pdu: m.pdu.toString('base64'),
    rule: m.rule,
    reason: m.reason,
    acceptedAt: m.acceptedAt,
    releaseAt: m.releaseAt,
    expiresAt: m.expiresAt,
  };
}

export function fromJobData(queue: QueueName, d: JobData): StoredMessage {
  return { queue, account: d.account, pdu: Buffer.from(d.pdu, 'base64'), rule: d.rule, reason: d.reason, acceptedAt: d.acceptedAt, releaseAt: d.releaseAt, expiresAt: d.expiresAt };
}

/** Version byte of packMessage's layout. */
const PACKED = 1;
/** "J": a job's JSON data moved over from an earlier version (queue-migrate.lua), after one queue index digit. */
const LEGACY = 0x4a;

/**
 * The bytes the message hash keeps for a window or saf message: a version byte, the metadata's
 * JSON length (2 bytes), the metadata as JSON, then the PDU as received (no base64).
 */
export function packMessage(m: StoredMessage): Buffer {
  const head = Buffer.from(JSON.stringify([QUEUE_NAMES.indexOf(m.queue), m.account, m.rule, m.reason, m.acceptedAt, m.releaseAt, m.expiresAt]));
  const out = Buffer.allocUnsafe(3 + head.length + m.pdu.length);
  out[0] = PACKED;
  out.writeUInt16BE(head.length, 1);
  head.copy(out, 3);
  m.pdu.copy(out, 3 + head.length);
  return out;
}

/** packMessage's bytes (or an earlier version's job data) back to the message; null when unreadable. */
export function unpackMessage(b: Buffer): StoredMessage | null {
  try {
    if (b[0] === PACKED && b.length >= 3) {
      const end = 3 + b.readUInt16BE(1);
      const [q, account, rule, reason, acceptedAt, releaseAt, expiresAt] = JSON.parse(b.toString('utf8', 3, end)) as [number, string, string, string, number, number, number];
      const queue = QUEUE_NAMES[q];
      if (queue === undefined) return null;
      // A copy: the hash reply's buffer is not kept alive by a message in hand.
      return { queue, account, rule, reason, acceptedAt, releaseAt, expiresAt, pdu: Buffer.from(b.subarray(end)) };
    }
    if (b[0] === LEGACY && b.length > 2) {
      const queue = QUEUE_NAMES[b[1]! - 0x31];
      return queue === undefined ? null : fromJobData(queue, JSON.parse(b.toString('utf8', 2)) as JobData);
    }
  } catch {
    /* unreadable below */
  }
  return null;
}

export function infoOf(id: string, m: StoredMessage): QueuedInfo {
  const view = MessageView.parse(m.pdu);
  const ok = !isScanError(view);
  return {
    id,
    queue: m.queue,
    account: m.account,
    rule: m.rule,
    reason: m.reason,
    source_addr: ok ? view.sourceAddr : '',
    destination_addr: ok ? view.destinationAddr : '',
    text: ok ? messageText([view]) : '',
    registered_delivery: ok ? view.registeredDelivery : 0,
    accepted_at: new Date(m.acceptedAt).toISOString(),
    release_at: new Date(m.releaseAt).toISOString(),
    expires_at: new Date(m.expiresAt).toISOString(),
  };
}

