/**
 * What a queued message is: the three queues (`window`: held until the recipient's allowed hours
 * open — the Redis and metric name, kept for queued jobs and dashboards; `saf`: store-and-forward;
 * `review`), a message as the relay queues it, a job as BullMQ stores it, and the view the admin
 * API shows.
 */
import { messageText } from '../protocol/message-text.js';
import { MessageView, isScanError } from '../protocol/message-view.js';

export type QueueName = 'window' | 'saf' | 'review';
export const QUEUE_NAMES: readonly QueueName[] = ['window', 'saf', 'review'];

/** A message to queue; `id` is the gateway message id the ESME is given (and the job id). */
export interface QueuedMessage {
  id: string;
  account: string;
  queue: QueueName;
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

/** What a job stores: the PDU as base64 and the metadata. */
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
export type FinalReport = (m: { id: string; data: JobData; state: 'EXPIRED' | 'REJECTED'; err?: number }) => Promise<void>;

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

export function infoOf(queue: QueueName, id: string, d: JobData): QueuedInfo {
  const view = MessageView.parse(Buffer.from(d.pdu, 'base64'));
  const ok = !isScanError(view);
  return {
    id,
    queue,
    account: d.account,
    rule: d.rule,
    reason: d.reason,
    source_addr: ok ? view.sourceAddr : '',
    destination_addr: ok ? view.destinationAddr : '',
    text: ok ? messageText([view]) : '',
    registered_delivery: ok ? view.registeredDelivery : 0,
    accepted_at: new Date(d.acceptedAt).toISOString(),
    release_at: new Date(d.releaseAt).toISOString(),
    expires_at: new Date(d.expiresAt).toISOString(),
  };
}

