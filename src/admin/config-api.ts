/**
 * The admin API's config plugin (GET /config): the effective configuration the gateway runs on —
 * after defaults, path resolution and the last applied live reload — with every secret redacted:
 * SMSC passwords, account password hashes, admin token digests, and the password in any URL.
 * Which variable a password_env names is shown (it is not the secret).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config/schema.js';
import { redactUrl } from '../telemetry/redact.js';
import { errors, security } from './schemas.js';

export interface ConfigApiOptions {
  /** The live config. */
  config: () => Config;
}

const REDACTED = '[redacted]';
/** Keys whose value is a secret wherever they appear. */
const SECRET_KEYS = new Set(['password', 'password_hash', 'sha256']);

/** A copy of `v` with every secret value replaced by "[redacted]" and URL passwords by "***". */
export function redactConfig(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => redactConfig(x));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = redactConfig(x, k);
    return out;
  }
  if (SECRET_KEYS.has(key) && v !== undefined) return REDACTED;
  if (key === 'url' && typeof v === 'string') return redactUrl(v);
  return v;
}

const schema = {
  tags: ['config'],
  summary: 'The effective configuration, secrets redacted',
  security,
  response: {
    200: { type: 'object', additionalProperties: true, description: 'The config file\'s sections after defaults and the last live reload (docs/routing.md).' },
    ...errors(401, 403),
  },
} as const;

export const configApi: FastifyPluginAsync<ConfigApiOptions> = async (api, o) => {
  api.get('/config', { schema }, async () => redactConfig(o.config()));
};
