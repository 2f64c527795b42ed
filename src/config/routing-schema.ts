/**
 * The MT routing part of the config (docs/routing.md): SMSC groups (downstream.groups) with
 * priority, weight, failover and retry, and the ordered MT routes (routes.mt) that send each
 * forwarded message to a group. Its own file so the main schema only names these.
 */
import { z } from 'zod';
import { NETWORK_TAG, NETWORK_TAG_TEXT } from '../domain/ported.js';
import { SENDER_CLASSES } from '../domain/sender.js';

const status = z.number().int().min(1).max(0xffffffff);

export const GroupMemberSchema = z.strictObject({
  /** An SMSC connection's name (downstream.smscs[].name). */
  smsc: z.string().min(1),
  /** Lower first: the next priority takes over only when every member of this one is down. */
  priority: z.number().int().min(1).default(1),
  /** Share among the members of the same priority (3 and 1: three messages in four to the first). */
  weight: z.number().int().min(1).default(1),
});

export const SmscGroupSchema = z.strictObject({
  name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only (it is a metric label)'),
  members: z.array(GroupMemberSchema).min(1),
  /**
   * SMSC answers that count against a member: after `failover_after` of them in a row the member is
   * set aside for `hold_down_s` (its priority's other members, or the next priority, take over).
   */
  failover_on: z.array(status).default([]),
  failover_after: z.number().int().min(1).default(5),
  hold_down_s: z.number().min(0.01).default(30),
  /**
   * SMSC answers after which a message is tried once more on another member (the same priority
   * first, then the next) before its error goes to store-and-forward or the ESME. Never twice on
   * the same SMSC, never after ESME_ROK.
   */
  retry_on: z.array(status).default([]),
  /**
   * Also retry after no answer in time or a lost link. Opt-in: the first SMSC may have taken the
   * message, so the recipient may get it twice.
   */
  retry_on_timeout: z.boolean().default(false),
  /**
   * Messages that may wait for this group's members' windows or throughput before the next
   * priority is used (and, when none can take them, ESME_RTHROTTLED). Default downstream.max_pending.
   */
  max_pending: z.number().int().min(0).optional(),
});

/** A list given as one value or several. */
const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

export const MtRouteSchema = z.strictObject({
  /** Metric label and what explain and the audit name. */
  name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only (it is a metric label)'),
  /** Lower first; among matching routes of the same order the longest destination prefix wins (then file order). */
  order: z.number().int().default(0),
  /** Match when the message comes from one of these accounts. */
  account: oneOrMany(z.string().min(1)).optional(),
  /** Match when the destination, normalised to international digits, starts with one of these. */
  destination_prefix: oneOrMany(z.string().regex(/^\+?\d+$/, 'digits, e.g. 86138')).optional(),
  /** Match a numeric sender by prefix (international digits) or an alphanumeric one exactly (any case). */
  source: oneOrMany(z.string().min(1)).optional(),
  /** Match the message class as the decision found it (policy off: from service_type/TLV, else the account's default). */
  class: oneOrMany(z.enum(SENDER_CLASSES)).optional(),
  data_coding: oneOrMany(z.number().int().min(0).max(255)).optional(),
  /**
   * Match a ported number's network tag (the number portability table: `smppguard import ported`,
   * the admin API); an unported number matches no ported_to route. Within one order a route that
   * matches by ported_to wins over the original range's prefix routes.
   */
  ported_to: oneOrMany(z.string().regex(NETWORK_TAG, NETWORK_TAG_TEXT)).optional(),
  /** The SMSC group (downstream.groups), or an SMSC's name for a group of that one SMSC. */
  group: z.string().min(1),
});

/** routes.portability: the number portability table's lookups (used only when some MT route matches ported_to). */
export const PortabilitySchema = z
  .strictObject({
    /**
     * When the ported lookup fails (Redis down or slow): `original` routes the message by its
     * original range, as if it were not ported (the default: a ported number may then reach its old
     * network, which usually forwards it); `reject` refuses it (store_unavailable, rule
     * routing/ported), so the ESME retries later.
     */
    on_redis_error: z.enum(['original', 'reject']).default('original'),
  })
  .prefault({});

export type SmscGroupConfig = z.infer<typeof SmscGroupSchema>;
export type MtRouteConfig = z.infer<typeof MtRouteSchema>;
