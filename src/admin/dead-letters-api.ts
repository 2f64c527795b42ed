/**
 * The admin API's dead-letter plugin (/dead-letters): held receipts and MO an account's receiver
 * refused receipts.dead_letter_after times (store/held-deliveries.ts moved them aside so they stop
 * blocking the deliveries behind them). Lists an account's dead letters and retries one: it moves
 * back to the end of the account's held deliveries, with its refusals reset, and the account's
 * receivers (on any instance) are told to take them. Every retry is logged with the token's name.
 */
import type { FastifyPluginAsync } from 'fastify';
import { MessageView, isScanError } from '../protocol/message-view.js';
import { receiptMessageId } from '../protocol/receipt.js';
import type { HeldDeliveries } from '../store/held-deliveries.js';
import type { Logger } from '../telemetry/log.js';
import { ApiError, notFound } from './errors.js';
import { knownAccount } from './input.js';
import { errors, security } from './schemas.js';

export interface DeadLettersApiOptions {
  /** The held deliveries' dead-letter side; null when the gateway runs without it. */
  held: Pick<HeldDeliveries, 'listDead' | 'retryDead'> | null;
  /** The configured accounts (system_id): the path must name one. */
  accounts: ReadonlySet<string>;
  /** Tells every instance that `account` has held deliveries (a bound receiver takes them). */
  announceHeld(account: string): void;
  log: Logger;
}

const deadLetter = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'Names the dead letter (for retry).' },
    kind: { type: 'string', enum: ['receipt', 'mo', 'unreadable'] },
    message_id: { type: 'string', description: 'For a receipt: the message id it reports on.' },
    source_addr: { type: 'string' },
    destination_addr: { type: 'string' },
    refusals: { type: 'integer' },
    last_status: { type: 'integer', description: "The receiver's last answer (command_status)." },
    held_at: { type: 'string', format: 'date-time', nullable: true },
    dead_at: { type: 'string', format: 'date-time' },
    pdu: { type: 'string', description: 'The deliver_sm as received from the SMSC, base64.' },
  },
} as const;

const accountParam = { type: 'object', required: ['account'], properties: { account: { type: 'string', minLength: 1, maxLength: 15 } } } as const;

const schemas = {
  list: {
    tags: ['dead-letters'],
    summary: "An account's dead letters (held receipts/MO its receiver refused too often), oldest first",
    security,
    params: accountParam,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: { limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 } },
    },
    response: {
      200: { type: 'object', properties: { account: { type: 'string' }, count: { type: 'integer' }, dead_letters: { type: 'array', items: deadLetter } } },
      ...errors(400, 401, 503),
    },
  },
  retry: {
    tags: ['dead-letters'],
    summary: "Retry one dead letter: it goes back to the end of the account's held deliveries",
    security,
    params: {
      type: 'object',
      required: ['account', 'id'],
      properties: { account: { type: 'string', minLength: 1, maxLength: 15 }, id: { type: 'string', minLength: 1, maxLength: 64 } },
    },
    response: { 200: { type: 'object', properties: { account: { type: 'string' }, id: { type: 'string' }, retried: { type: 'boolean' } } }, ...errors(400, 401, 404, 503) },
  },
};

export const deadLettersApi: FastifyPluginAsync<DeadLettersApiOptions> = async (api, o) => {
  const held = (): NonNullable<DeadLettersApiOptions['held']> => {
    if (!o.held) throw new ApiError(503, 'unavailable', 'this gateway has no held deliveries store');
    return o.held;
  };

  api.get<{ Params: { account: string }; Querystring: { limit?: number } }>('/dead-letters/:account', { schema: schemas.list }, async (req) => {
    const account = knownAccount(o.accounts, 'account', req.params.account);
    const list = await held().listDead(account, req.query.limit ?? 100);
    return {
      account,
      count: list.length,
      dead_letters: list.map((d) => {
        const v = MessageView.parse(d.pdu);
        const read = isScanError(v) ? null : v;
        return {
          id: d.id,
          kind: !read ? 'unreadable' : read.isReceipt ? 'receipt' : 'mo',
          ...(read?.isReceipt ? { message_id: receiptMessageId(read.tlvs, read.shortMessage) ?? '' } : {}),
          ...(read ? { source_addr: read.sourceAddr, destination_addr: read.destinationAddr } : {}),
          refusals: d.refusals,
          last_status: d.lastStatus,
          held_at: d.heldAt === null ? null : new Date(d.heldAt).toISOString(),
          dead_at: new Date(d.deadAt).toISOString(),
          pdu: d.pdu.toString('base64'),
        };
      }),
    };
  });

  api.post<{ Params: { account: string; id: string } }>('/dead-letters/:account/:id/retry', { schema: schemas.retry }, async (req) => {
    const account = knownAccount(o.accounts, 'account', req.params.account);
    if (!(await held().retryDead(account, req.params.id))) throw notFound(`no dead letter ${req.params.id} for account ${account} (retried, expired, or never dead-lettered)`);
    o.log.info({ account, id: req.params.id, who: req.adminWho }, 'dead letter: retried');
    o.announceHeld(account);
    return { account, id: req.params.id, retried: true };
  });
};
