/**
 * The admin API's lockouts plugin (/lockouts): the bind lockouts in force (upstream bind throttling,
 * store/bind-throttle.ts: a source IP with one system_id, or a whole source IP) and lifting one,
 * which also forgets its failure count and back-off. Every lift is logged with the token's name.
 * With bind throttling off (upstream.bind_throttle.enabled: false) every route answers 503.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { BindThrottleStore } from '../store/bind-throttle.js';
import { ApiError, notFound } from './errors.js';
import { datetime, errors, nullable, security, str } from './schemas.js';

export interface LockoutsApiOptions {
  /** The bind throttle's store; null when bind throttling is off. */
  lockouts: Pick<BindThrottleStore, 'list' | 'lift'> | null;
}

const lockout = {
  type: 'object',
  properties: {
    ip: { type: 'string', description: 'The source IP locked out.' },
    system_id: nullable({ type: 'string', description: 'The system_id locked out from that IP; null: every system_id (the IP is locked out).' }),
    scope: { type: 'string', enum: ['pair', 'ip'] },
    until: datetime('When the lockout ends.'),
    seconds_left: { type: 'integer' },
  },
} as const;

const target = {
  type: 'object',
  additionalProperties: false,
  required: ['ip'],
  properties: {
    ip: str(2, 45, 'The source IP (as listed).'),
    system_id: str(0, 64, 'The system_id of a pair lockout; absent: the IP-wide lockout.'),
  },
} as const;

const schemas = {
  list: {
    tags: ['lockouts'],
    summary: 'Bind lockouts in force, soonest to end first',
    security,
    response: { 200: { type: 'object', properties: { count: { type: 'integer' }, lockouts: { type: 'array', items: lockout } } }, ...errors(401, 503) },
  },
  lift: {
    tags: ['lockouts'],
    summary: 'Lift a bind lockout (and forget its failures and back-off)',
    security,
    querystring: target,
    response: {
      200: { type: 'object', properties: { ip: { type: 'string' }, system_id: nullable({ type: 'string' }), lifted: { type: 'boolean' } } },
      ...errors(400, 401, 404, 503),
    },
  },
} as const;

export const lockoutsApi: FastifyPluginAsync<LockoutsApiOptions> = async (api, o) => {
  const store = () => {
    if (!o.lockouts) throw new ApiError(503, 'unavailable', 'bind throttling is off (upstream.bind_throttle.enabled: false)');
    return o.lockouts;
  };

  api.get('/lockouts', { schema: schemas.list }, async () => {
    const now = Date.now();
    const lockouts = (await store().list()).map((l) => ({
      ip: l.ip,
      system_id: l.systemId,
      scope: l.systemId === null ? 'ip' : 'pair',
      until: new Date(l.until).toISOString(),
      seconds_left: Math.max(0, Math.ceil((l.until - now) / 1000)),
    }));
    return { count: lockouts.length, lockouts };
  });

  api.delete<{ Querystring: { ip: string; system_id?: string } }>('/lockouts', { schema: schemas.lift }, async (req) => {
    const { ip } = req.query;
    const systemId = req.query.system_id ?? null;
    if (!(await store().lift(ip, systemId))) throw notFound(systemId === null ? `no lockout of ${ip}` : `no lockout of ${systemId} from ${ip}`);
    req.log.info({ who: req.adminWho, ip, system_id: systemId }, 'bind lockout lifted');
    return { ip, system_id: systemId, lifted: true };
  });
};
