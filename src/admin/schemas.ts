/**
 * The JSON-schema pieces the admin API's route plugins share: fastify validates requests with
 * them (ajv) and @fastify/swagger turns them into the OpenAPI document served at /openapi.json.
 * Each plugin (*-api.ts) holds its own route schemas built from these. Shapes only — meaning (a
 * number that normalises, a range whose ends agree, an account that exists) is checked in input.ts
 * and the plugins. The sender enums come from domain/sender.ts, their one source.
 */
import { SENDER_CLASSES, SENDER_KINDS, SENDER_STATUSES } from '../domain/sender.js';

export const str = (min: number, max: number, description?: string) => ({
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
export const actorFields = {
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
    correlation_id: { type: 'string', description: '5xx only: find the cause in the gateway log under this id.' },
  },
} as const;

/** Error responses of a route, each described and shaped as errorSchema. */
export const errors = (...codes: number[]) => {
  const texts: Record<number, string> = {
    400: 'Bad input: the message names the field.',
    401: 'Missing or invalid bearer token.',
    404: 'Not found.',
    409: 'Conflict with an existing record.',
    503: 'No admin tokens configured, or the policy store is unreachable.',
  };
  return Object.fromEntries(codes.map((c) => [c, { description: texts[c], ...errorSchema }]));
};

/** Every admin route needs the bearer token (the scheme is declared in http.ts). */
export const security = [{ bearerAuth: [] as string[] }];

export const datetime = (description: string) => ({ type: 'string', format: 'date-time', description });
export const nullable = <T extends object>(s: T & { type: string; enum?: readonly string[] }) => ({
  ...s,
  type: [s.type, 'null'],
  ...(s.enum ? { enum: [...s.enum, null] } : {}),
});

export const senderFields = {
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
  class: { type: 'string', enum: SENDER_CLASSES, description: "Unset: the account's default_class." },
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

/** A sender registration as the API returns it (senders-api.ts, and reinstatement in complaints-api.ts). */
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

export const senderIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: str(3, 64, 'Sender id "<kind>:<value>"; numbers may be given in any accepted form.') },
} as const;

export const msisdnParams = { type: 'object', required: ['msisdn'], properties: { msisdn: msisdnField } } as const;
