/**
 * The admin API's do-not-disturb plugin (/dnd): register a number for all commercial messages or
 * one category, read its registrations, and remove one, some or all of them. Numbers are
 * normalised (input.ts); every write is journaled through the policy store with the token's name.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Numbering } from '../domain/address.js';
import { DND_CATEGORIES } from '../store/keys.js';
import type { PolicyAdmin } from '../store/policy-admin.js';
import { notFound } from './errors.js';
import { actor, msisdn, type ActorFields } from './input.js';
import { actorFields, errors, msisdnField, msisdnParams, security } from './schemas.js';

export interface DndApiOptions {
  store: Pick<PolicyAdmin, 'addDnd' | 'dndOf' | 'dndLists' | 'removeDnd'>;
  numbering: Numbering;
}

interface DndBody extends ActorFields {
  msisdn: string;
  category?: number;
}

/** The response shape of every DND route (an OpenAPI component). */
export const dndViewSchema = {
  $id: 'DndView',
  title: 'DndView',
  type: 'object',
  properties: {
    msisdn: { type: 'string' },
    registered: { type: 'boolean', description: 'On the register at all (fully or for some category).' },
    all: { type: 'boolean', description: 'Refuses all commercial messages.' },
    categories: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 7 } },
    lists: {
      type: 'array',
      items: { type: 'string', enum: ['national', 'operator'] },
      description: 'Which lists have the number: the national register (bulk import, replaced daily) and/or the operator list (numbers added through this API, kept across national replaces).',
    },
    national: { $ref: 'DndListView#' },
    operator: { $ref: 'DndListView#' },
  },
} as const;

/** One list's registrations of a number. */
export const dndListViewSchema = {
  $id: 'DndListView',
  title: 'DndListView',
  type: 'object',
  properties: {
    all: { type: 'boolean', description: 'Refuses all commercial messages on this list.' },
    categories: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 7 } },
  },
} as const;

const schemas = {
  add: {
    tags: ['dnd'],
    summary: "Add a number to the operator's do-not-disturb list (all commercial, or one category); kept when the national list is replaced",
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
  get: {
    tags: ['dnd'],
    summary: "A number's do-not-disturb registrations",
    security,
    params: msisdnParams,
    response: { 200: { $ref: 'DndView#' }, ...errors(400, 401, 503) },
  },
  delete: {
    tags: ['dnd'],
    summary: 'Remove a do-not-disturb registration',
    description:
      'No category: the all-commercial registration; 1–7: that category; "all": every registration of the number. Removed from both lists (a number still on the national register comes back with its next import).',
    security,
    params: msisdnParams,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: { category: { type: 'string', pattern: '^([1-7]|all)$' }, ...actorFields },
    },
    response: { 200: { $ref: 'DndView#' }, ...errors(400, 401, 404, 503) },
  },
} as const;

export const dndApi: FastifyPluginAsync<DndApiOptions> = async (api, o) => {
  const { store, numbering } = o;
  api.addSchema(dndListViewSchema);
  api.addSchema(dndViewSchema);

  const dndView = async (number: string) => {
    const { national, operator } = await store.dndLists(number);
    const cats = [...new Set([...national, ...operator])].sort((a, b) => a - b);
    const list = (c: number[]) => ({ all: c.includes(0), categories: c.filter((k) => k > 0) });
    return {
      msisdn: number,
      registered: cats.length > 0,
      all: cats.includes(0),
      categories: cats.filter((c) => c > 0),
      lists: [...(national.length ? ['national'] : []), ...(operator.length ? ['operator'] : [])],
      national: list(national),
      operator: list(operator),
    };
  };

  api.post<{ Body: DndBody }>('/dnd', { schema: schemas.add }, async (req) => {
    const number = msisdn(numbering, 'msisdn', req.body.msisdn);
    await store.addDnd(number, req.body.category ?? null, actor(req, req.body));
    return dndView(number);
  });

  api.get<{ Params: { msisdn: string } }>('/dnd/:msisdn', { schema: schemas.get }, async (req) => dndView(msisdn(numbering, 'msisdn', req.params.msisdn)));

  api.delete<{ Params: { msisdn: string }; Querystring: ActorFields & { category?: string } }>('/dnd/:msisdn', { schema: schemas.delete }, async (req) => {
    const number = msisdn(numbering, 'msisdn', req.params.msisdn);
    const c = req.query.category;
    const targets: (number | null)[] = c === 'all' ? (await store.dndOf(number)).map((k) => k || null) : [c === undefined ? null : Number(c)];
    let removed = false;
    for (const t of targets) if (await store.removeDnd(number, t, actor(req, req.query))) removed = true;
    if (!removed) {
      throw notFound(`${number} is not on the do-not-disturb register${c === undefined ? ' for all commercial messages' : c === 'all' ? '' : ` for category ${c}`}`);
    }
    return dndView(number);
  });
};
