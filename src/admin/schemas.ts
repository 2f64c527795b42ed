/**
 * JSON schemas of the admin API: fastify validates requests with them (ajv) and @fastify/swagger
 * turns them into the OpenAPI document served at /openapi.json. Shapes only — meaning (a number
 * that normalises, a range whose ends agree, an account that exists) is checked in api.ts.
 */
import { CASE_ACTIONS, CASE_STATES, COMPLAINT_SOURCES } from '../domain/complaint.js';
import { DND_CATEGORIES } from '../store/keys.js';

const SENDER_KINDS = ['number', 'prefix', 'range', 'alpha'] as const;
const CLASSES = ['commercial', 'service', 'otp'] as const;
const SENDER_STATUSES = ['active', 'suspended', 'revoked'] as const;

const str = (min: number, max: number, description?: string) => ({
  type: 'string',
  minLength: min,
  maxLength: max,
  ...(description ? { description } : {}),
});

export const msisdnField = str(
  1,
  32,
  'A phone number: "+8613800138000", "008613800138000", "013800138000", "13800138000" or international digits; normalised to international digits (at most 15).',
);

/** Who-and-why of a write, journaled with the token's name. */
const actorFields = {
  channel: str(1, 64, 'How the change came about (e.g. "web-form", "ivr", "crm", "complaint"); journaled.'),
  evidence: str(1, 1000, 'Reference to the evidence (document id, recording, URL); journaled.'),
} as const;

export const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'Machine-readable error code.' },
    message: { type: 'string', description: 'What is wrong, naming the field.' },
    field: { type: 'string', description: 'The offending field, when one is to blame.' },
  },
} as const;

const errors = (...codes: number[]) => {
  const texts: Record<number, string> = {
    400: 'Bad input: the message names the field.',
    401: 'Missing or invalid bearer token.',
    404: 'Not found.',
    409: 'Conflict with an existing record.',
    503: 'No admin tokens configured, or the policy store is unreachable.',
  };
  return Object.fromEntries(codes.map((c) => [c, { description: texts[c], ...errorSchema }]));
};

const security = [{ bearerAuth: [] as string[] }];

const datetime = (description: string) => ({ type: 'string', format: 'date-time', description });
const nullable = <T extends object>(s: T & { type: string; enum?: readonly string[] }) => ({
  ...s,
  type: [s.type, 'null'],
  ...(s.enum ? { enum: [...s.enum, null] } : {}),
});

const senderFields = {
  kind: {
    type: 'string',
    enum: SENDER_KINDS,
    description: 'number: one number; prefix: every number starting with value; range: "from-to"; alpha: a sender name.',
  },
  value: str(
    1,
    41,
    'number: any accepted number form (normalised); prefix: international digits; range: "from-to", digits of equal length; alpha: the name (case-insensitive).',
  ),
  account: str(1, 15, 'system_id of the account that owns the sender (must be configured).'),
  class: { type: 'string', enum: CLASSES, description: "Unset: the account's default_class." },
  status: { type: 'string', enum: SENDER_STATUSES, description: 'Default active.' },
  status_reason: str(1, 500, 'Why the status is what it is (journaled); kept until the next status change.'),
  valid_from: datetime('Registration valid from (RFC 3339 with offset).'),
  valid_until: datetime('Registration valid until (RFC 3339 with offset).'),
  signatures: {
    type: 'array',
    maxItems: 50,
    items: str(1, 18),
    description: 'Brand names allowed in the 【品牌】 signature; the first is the brand consent scope.',
  },
} as const;

export const senderRecordSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', description: '"<kind>:<value>", e.g. "number:8610690001", "alpha:ACME".' },
    ...senderFields,
    status_by: { type: 'string', description: 'Who set the current status ("auto:complaints" for an automatic suspension).' },
    status_at: { type: 'string', format: 'date-time', description: 'When the current status was set.' },
    updated_at: { type: 'string', format: 'date-time' },
    updated_by: { type: 'string' },
  },
} as const;

const senderIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: str(3, 64, 'Sender id "<kind>:<value>"; numbers may be given in any accepted form.') },
} as const;

const msisdnParams = { type: 'object', required: ['msisdn'], properties: { msisdn: msisdnField } } as const;

export const S = {
  createSender: {
    tags: ['senders'],
    summary: 'Register a sender (number, prefix, range or alphanumeric id) to an account',
    security,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'value', 'account'],
      properties: { ...senderFields, ...actorFields },
    },
    response: { 201: senderRecordSchema, ...errors(400, 401, 409, 503) },
  },
  listSenders: {
    tags: ['senders'],
    summary: 'List senders',
    security,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        account: str(1, 15, 'Only this account.'),
        kind: senderFields.kind,
        status: senderFields.status,
      },
    },
    response: {
      200: { type: 'object', properties: { count: { type: 'integer' }, senders: { type: 'array', items: senderRecordSchema } } },
      ...errors(400, 401, 503),
    },
  },
  getSender: {
    tags: ['senders'],
    summary: 'One sender',
    security,
    params: senderIdParams,
    response: { 200: senderRecordSchema, ...errors(400, 401, 404, 503) },
  },
  putSender: {
    tags: ['senders'],
    summary: 'Replace a sender registration (status changes: suspend, revoke, reactivate)',
    description: 'Fields left out take their defaults (status active, no class, no validity, no signatures). kind/value may be given but must match the id.',
    security,
    params: senderIdParams,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['account'],
      properties: { ...senderFields, ...actorFields },
    },
    response: { 200: senderRecordSchema, ...errors(400, 401, 404, 503) },
  },
  patchSender: {
    tags: ['senders'],
    summary: 'Change some fields of a sender (null clears class / valid_from / valid_until)',
    security,
    params: senderIdParams,
    body: {
      type: 'object',
      additionalProperties: false,
      properties: {
        account: senderFields.account,
        class: nullable(senderFields.class),
        status: senderFields.status,
        status_reason: senderFields.status_reason,
        valid_from: nullable(senderFields.valid_from),
        valid_until: nullable(senderFields.valid_until),
        signatures: senderFields.signatures,
        ...actorFields,
      },
    },
    response: { 200: senderRecordSchema, ...errors(400, 401, 404, 503) },
  },
  deleteSender: {
    tags: ['senders'],
    summary: 'Delete a sender registration',
    security,
    params: senderIdParams,
    querystring: { type: 'object', additionalProperties: false, properties: { ...actorFields } },
    response: {
      200: { type: 'object', properties: { deleted: { type: 'string' } } },
      ...errors(400, 401, 404, 503),
    },
  },

  setConsent: {
    tags: ['consent'],
    summary: "Record a recipient's consent (granted) or explicit refusal (revoked) for a scope",
    security,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['msisdn', 'scope', 'state', 'channel'],
      properties: {
        msisdn: msisdnField,
        scope: str(
          3,
          80,
          '"sender:<sender id>" (e.g. sender:number:8610690001), "brand:<brand>" (the sender\'s first signature) or "account:<system_id>".',
        ),
        state: { type: 'string', enum: ['granted', 'revoked'] },
        channel: actorFields.channel,
        evidence: { ...actorFields.evidence, description: 'Required when granting: where the consent can be proven.' },
        expires_at: datetime('Granted only: consent lapses at this time.'),
      },
    },
    response: { 200: { $ref: 'ConsentView#' }, ...errors(400, 401, 503) },
  },
  getConsent: {
    tags: ['consent'],
    summary: 'Every consent record of a number',
    security,
    params: msisdnParams,
    response: { 200: { $ref: 'ConsentView#' }, ...errors(400, 401, 503) },
  },
  deleteConsent: {
    tags: ['consent'],
    summary: 'Delete a consent record (no record counts as refusal; prefer state "revoked" to keep an explicit refusal)',
    security,
    params: msisdnParams,
    querystring: {
      type: 'object',
      additionalProperties: false,
      required: ['scope'],
      properties: { scope: str(3, 80), ...actorFields },
    },
    response: { 200: { $ref: 'ConsentView#' }, ...errors(400, 401, 404, 503) },
  },

  addDnd: {
    tags: ['dnd'],
    summary: 'Register a number on the do-not-disturb register (all commercial, or one category)',
    security,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['msisdn'],
      properties: {
        msisdn: msisdnField,
        category: {
          type: 'integer',
          minimum: 1,
          maximum: 7,
          description: `Refuse one category only: ${Object.entries(DND_CATEGORIES)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}. Absent: all commercial messages.`,
        },
        ...actorFields,
      },
    },
    response: { 200: { $ref: 'DndView#' }, ...errors(400, 401, 503) },
  },
  getDnd: {
    tags: ['dnd'],
    summary: "A number's do-not-disturb registrations",
    security,
    params: msisdnParams,
    response: { 200: { $ref: 'DndView#' }, ...errors(400, 401, 503) },
  },
  deleteDnd: {
    tags: ['dnd'],
    summary: 'Remove a do-not-disturb registration',
    description: 'No category: the all-commercial registration; 1–7: that category; "all": every registration of the number.',
    security,
    params: msisdnParams,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: { category: { type: 'string', pattern: '^([1-7]|all)$' }, ...actorFields },
    },
    response: { 200: { $ref: 'DndView#' }, ...errors(400, 401, 404, 503) },
  },

  explain: {
    tags: ['explain'],
    summary: 'The decision for a hypothetical submit_sm, the reason and the check that produced it (nothing is sent)',
    security,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['account', 'source_addr', 'destination_addr'],
      properties: {
        account: str(1, 15, 'system_id the message would be submitted on.'),
        source_addr: str(0, 20, 'As the ESME would send it (TON decides normalisation).'),
        source_addr_ton: { type: 'integer', minimum: 0, maximum: 6, description: 'Default 1 (international); 5 = alphanumeric.' },
        destination_addr: str(0, 20),
        dest_addr_ton: { type: 'integer', minimum: 0, maximum: 6, description: 'Default 1 (international).' },
        service_type: str(0, 5),
        text: str(0, 254, 'short_message as UTF-8 text.'),
        tlvs: {
          type: 'object',
          description: 'Optional TLVs: tag (decimal or 0x…) → value as text, e.g. {"0x1400": "1201160000000001"}.',
          additionalProperties: false,
          patternProperties: { '^(0[xX][0-9a-fA-F]{1,4}|[0-9]{1,5})$': str(0, 255) },
        },
      },
    },
    response: {
      200: {
        type: 'object',
        properties: {
          action: { type: 'string', enum: ['forward', 'reject', 'queue'] },
          queue: { type: 'string', enum: ['until-window', 'review'] },
          release_at: { type: 'string', format: 'date-time' },
          reason: { type: 'string', description: 'Reason code (policy/reasons.ts).' },
          status: { type: 'integer', description: 'submit_sm_resp command_status (0 when forwarded).' },
          status_name: { type: 'string' },
          rule: { type: 'string', description: 'The check that decided, e.g. policy/sender-authorization.' },
          class: { type: ['string', 'null'] },
          explanation: { type: 'string' },
          trace: { type: 'array', items: { type: 'string' } },
        },
      },
      ...errors(400, 401, 503),
    },
  },

  reinstateSender: {
    tags: ['senders'],
    summary: 'Reinstate a suspended sender (status active; complaints received before now stop counting)',
    security,
    params: senderIdParams,
    body: {
      type: 'object',
      additionalProperties: false,
      properties: { reason: str(1, 500, 'Why (journaled, shown as status_reason).'), ...actorFields },
    },
    response: { 200: senderRecordSchema, ...errors(400, 401, 404, 409, 503) },
  },

  createComplaint: {
    tags: ['complaints'],
    summary: 'Take in a complaint: resolve it to account and sender, open a case with deadlines, count it toward auto-suspension',
    security,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['recipient', 'source'],
      properties: {
        recipient: { ...msisdnField, description: 'The complainant: the number that received the message.' },
        sender: str(1, 32, 'The sender number or name the complainant reports.'),
        message_id: str(1, 64, 'The SMSC message id, if the complaint gives one (resolves account, sender and recipient as the gateway saw them).'),
        text: str(1, 2000, 'The text received. message_id or text is required.'),
        time: datetime('When the complaint was made (default now).'),
        received_at: datetime('When the carrier received the case; deadlines count from here (default now).'),
        source: { type: 'string', enum: COMPLAINT_SOURCES, description: '12321 (referral from the 12321 centre), 7726 (GSMA spam report), customer_care.' },
        reference: str(1, 100, "The complaint centre's reference (ticket number)."),
        note: str(1, 1000),
      },
    },
    response: { 201: { $ref: 'ComplaintIntake#' }, ...errors(400, 401, 503) },
  },
  listComplaints: {
    tags: ['complaints'],
    summary: 'Complaint cases, newest first',
    security,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        state: { type: 'string', enum: CASE_STATES },
        overdue: { type: 'boolean', description: 'Only cases past a deadline.' },
        account: str(1, 15),
        sender: str(1, 64, 'Sender id, e.g. number:8610690001.'),
        msisdn: msisdnField,
        from: datetime('Received at or after.'),
        to: datetime('Received at or before.'),
        count: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
      },
    },
    response: {
      200: { type: 'object', properties: { count: { type: 'integer' }, cases: { type: 'array', items: { $ref: 'ComplaintCase#' } } } },
      ...errors(400, 401, 503),
    },
  },
  getComplaint: {
    tags: ['complaints'],
    summary: 'One complaint case',
    security,
    params: { type: 'object', required: ['id'], properties: { id: str(1, 40) } },
    response: { 200: { $ref: 'ComplaintCase#' }, ...errors(401, 404, 503) },
  },
  actOnComplaint: {
    tags: ['complaints'],
    summary: 'Move a case on: forward (to the responsible account), handle (close with a resolution) or reject (unfounded; stops counting)',
    security,
    params: {
      type: 'object',
      required: ['id', 'action'],
      properties: { id: str(1, 40), action: { type: 'string', enum: CASE_ACTIONS } },
    },
    body: {
      type: 'object',
      additionalProperties: false,
      properties: {
        to: str(1, 100, 'forward: to whom (default: the resolved account).'),
        resolution: str(1, 2000, 'handle: the outcome fed back to the complainant (required).'),
        note: str(1, 1000),
        ...actorFields,
      },
    },
    response: { 200: { $ref: 'ComplaintCase#' }, ...errors(400, 401, 404, 409, 503) },
  },

  evidence: {
    tags: ['evidence'],
    summary: "A recipient's consent journal and the gateway's decisions for messages to it (JSON, or a readable table)",
    security,
    params: msisdnParams,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        sender: str(1, 64, 'Limit to one sender: a sender id (number:8610690001) or an address as sent.'),
        from: datetime('From (inclusive).'),
        to: datetime('To (inclusive).'),
        limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000, description: 'At most this many decisions and journal entries (newest kept).' },
        format: { type: 'string', enum: ['json', 'table'], default: 'json', description: 'table: text/plain report.' },
      },
    },
    response: { ...errors(400, 401, 503) },
  },

  journal: {
    tags: ['journal'],
    summary: 'Journal of changes (newest first): who, when, what, channel, evidence',
    security,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        msisdn: msisdnField,
        sender: str(3, 64, 'Only changes of this sender id.'),
        op: str(1, 40, 'Only this operation, e.g. consent.grant, dnd.add, sender.put.'),
        count: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
      },
    },
    response: {
      200: {
        type: 'object',
        properties: {
          count: { type: 'integer' },
          entries: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: { type: 'string' },
              properties: { id: { type: 'string' }, time: { type: 'string' }, op: { type: 'string' }, who: { type: 'string' } },
            },
          },
        },
      },
      ...errors(400, 401, 503),
    },
  },
} as const;

/** Shared response shapes (addSchema'd; OpenAPI components). */
export const sharedSchemas = [
  {
    $id: 'ConsentView',
    title: 'ConsentView',
    type: 'object',
    properties: {
      msisdn: { type: 'string' },
      consents: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            scope: { type: 'string' },
            state: { type: 'string', enum: ['granted', 'revoked'] },
            at: { type: 'string', format: 'date-time' },
            expires_at: { type: ['string', 'null'], format: 'date-time' },
            effective: { type: 'string', enum: ['granted', 'revoked', 'expired'] },
          },
        },
      },
    },
  },
  {
    $id: 'DndView',
    title: 'DndView',
    type: 'object',
    properties: {
      msisdn: { type: 'string' },
      registered: { type: 'boolean', description: 'On the register at all (fully or for some category).' },
      all: { type: 'boolean', description: 'Refuses all commercial messages.' },
      categories: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 7 } },
    },
  },
  {
    $id: 'ComplaintCase',
    title: 'ComplaintCase',
    type: 'object',
    properties: {
      id: { type: 'string' },
      state: { type: 'string', enum: CASE_STATES },
      source: { type: 'string', enum: COMPLAINT_SOURCES },
      reference: { type: ['string', 'null'] },
      recipient: { type: 'string' },
      reported_sender: { type: ['string', 'null'] },
      message_id: { type: ['string', 'null'] },
      text: { type: ['string', 'null'] },
      reported_at: { type: 'string', format: 'date-time' },
      received_at: { type: 'string', format: 'date-time' },
      resolved_by: { type: 'string', enum: ['message_id', 'sender', 'none'] },
      account: { type: ['string', 'null'] },
      sender: { type: ['string', 'null'], description: 'Sender id (registered) or the normalised address.' },
      sender_registered: { type: 'boolean' },
      remarks: { type: 'array', items: { type: 'string' } },
      forward_due: { type: 'string', format: 'date-time' },
      handle_due: { type: 'string', format: 'date-time' },
      forwarded_at: { type: ['string', 'null'], format: 'date-time' },
      forwarded_to: { type: ['string', 'null'] },
      handled_at: { type: ['string', 'null'], format: 'date-time' },
      resolution: { type: ['string', 'null'] },
      overdue: { type: 'object', properties: { forward: { type: 'boolean' }, handle: { type: 'boolean' } } },
      forwarded_late: { type: 'boolean' },
      handled_late: { type: 'boolean' },
      history: {
        type: 'array',
        items: {
          type: 'object',
          properties: { at: { type: 'string', format: 'date-time' }, who: { type: 'string' }, event: { type: 'string' }, note: { type: 'string' } },
        },
      },
    },
  },
  {
    $id: 'ComplaintIntake',
    title: 'ComplaintIntake',
    type: 'object',
    properties: {
      case: { $ref: 'ComplaintCase#' },
      complaints_in_window: { type: ['integer', 'null'], description: "The sender's complaints counted toward auto-suspension (null: counts for no sender)." },
      suspension: { type: 'string', enum: ['suspend', 'would_suspend', 'none'], description: 'What the threshold did (would_suspend: monitor mode).' },
      sender: { type: ['object', 'null'], description: 'The sender registration after the complaint (status shows a suspension).', additionalProperties: true },
    },
  },
] as const;
