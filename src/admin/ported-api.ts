/**
 * The admin API's number portability plugin (/ported; docs/routing.md): one number at a time —
 * read its network tag, set it (the number moved to that network), remove it (routed by its
 * original range again). Bulk loads are `smppguard import ported`. Numbers are normalised
 * (input.ts); every write is journaled (ported.set, ported.remove) with the token's name, and goes
 * to the current generation and to one a replace import is loading.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Numbering } from '../domain/address.js';
import { NETWORK_TAG_TEXT } from '../domain/ported.js';
import type { PortedAdmin } from '../store/ported.js';
import { notFound } from './errors.js';
import { actor, msisdn, type ActorFields } from './input.js';
import { actorFields, errors, msisdnParams, security } from './schemas.js';

export interface PortedApiOptions {
  ported: Pick<PortedAdmin, 'get' | 'set' | 'remove'>;
  numbering: Numbering;
}

interface PortedBody extends ActorFields {
  network: string;
}

/** The response shape of every /ported route (an OpenAPI component). */
export const portedViewSchema = {
  $id: 'PortedView',
  title: 'PortedView',
  type: 'object',
  properties: {
    msisdn: { type: 'string' },
    ported: { type: 'boolean', description: 'In the number portability table.' },
    network: { type: ['string', 'null'], description: 'The network tag MT routes match with ported_to; null when not ported.' },
    previous: { type: ['string', 'null'], description: 'PUT only: the tag it had before (null: it was not ported).' },
  },
} as const;

const network = {
  type: 'string',
  pattern: '^[A-Za-z0-9_.-]{1,32}$',
  description: `The network the number moved to, as routes name it in ported_to (${NETWORK_TAG_TEXT}).`,
  examples: ['cu'],
} as const;

const schemas = {
  get: {
    tags: ['ported'],
    summary: "A number's ported network (number portability, 携号转网)",
    security,
    params: msisdnParams,
    response: { 200: { $ref: 'PortedView#' }, ...errors(400, 401, 503) },
  },
  put: {
    tags: ['ported'],
    summary: 'Set the network a number was ported to (MT routes with ported_to take it from the next message on)',
    security,
    params: msisdnParams,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['network'],
      properties: { network, ...actorFields },
    },
    response: { 200: { $ref: 'PortedView#' }, ...errors(400, 401, 503) },
  },
  delete: {
    tags: ['ported'],
    summary: 'Remove a number from the number portability table (routed by its original range again)',
    description: 'A number still in the operator feed comes back with its next `smppguard import ported`.',
    security,
    params: msisdnParams,
    querystring: { type: 'object', additionalProperties: false, properties: { ...actorFields } },
    response: { 200: { $ref: 'PortedView#' }, ...errors(400, 401, 404, 503) },
  },
} as const;

export const portedApi: FastifyPluginAsync<PortedApiOptions> = async (api, o) => {
  const { ported, numbering } = o;
  api.addSchema(portedViewSchema);

  api.get<{ Params: { msisdn: string } }>('/ported/:msisdn', { schema: schemas.get }, async (req) => {
    const number = msisdn(numbering, 'msisdn', req.params.msisdn);
    const tag = await ported.get(number);
    return { msisdn: number, ported: tag !== null, network: tag };
  });

  api.put<{ Params: { msisdn: string }; Body: PortedBody }>('/ported/:msisdn', { schema: schemas.put }, async (req) => {
    const number = msisdn(numbering, 'msisdn', req.params.msisdn);
    const previous = await ported.set(number, req.body.network, actor(req, req.body));
    return { msisdn: number, ported: true, network: req.body.network, previous };
  });

  api.delete<{ Params: { msisdn: string }; Querystring: ActorFields }>('/ported/:msisdn', { schema: schemas.delete }, async (req) => {
    const number = msisdn(numbering, 'msisdn', req.params.msisdn);
    if (!(await ported.remove(number, actor(req, req.query)))) throw notFound(`${number} is not in the number portability table`);
    return { msisdn: number, ported: false, network: null };
  });
};
