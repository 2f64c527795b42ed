/**
 * What the console's page modules share with the plugin that mounts them (plugin.ts): its
 * dependencies, the environment each page gets (call the admin API as the operator, render a page,
 * answer a write) and the small form helpers. Its own file so pages and plugin do not import each other.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthFailures } from '../admin/auth-failures.js';
import type { Config } from '../config/schema.js';
import type { Redis } from '../store/redis.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { ConsoleGrants } from './grants.js';
import type { Html } from './html.js';
import type { Flash, Session, SessionStore } from './sessions.js';
import { BASE, type Viewer } from './ui.js';

export interface ConsoleReadiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail: string }>;
}

export interface ConsoleDeps {
  cfg: Config;
  redis: Redis;
  metrics: Metrics;
  readiness: () => Promise<ConsoleReadiness>;
  grants: ConsoleGrants;
  failures: AuthFailures | null;
  log: Logger | null;
  /** Served over TLS (the cookie is then Secure). */
  tls: boolean;
}

export interface ApiAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export type Form = Record<string, string | string[] | undefined>;

/** What each page module gets: how to call the API as the operator, render, and answer a write. */
export interface ConsoleEnv {
  deps: ConsoleDeps;
  sessions: SessionStore;
  /** Calls /api/v1`path` as the signed-in operator (role, journal "who" and masking are the API's). */
  api(req: FastifyRequest, method: string, path: string, body?: unknown): Promise<ApiAnswer>;
  viewer(req: FastifyRequest): Viewer & { session: Session };
  /** May this operator call that admin route ("POST /consent")? Decides which controls a page shows. */
  can(req: FastifyRequest, route: string): boolean;
  render(reply: FastifyReply, req: FastifyRequest, active: string, title: string, body: Html, status?: number): FastifyReply;
  /** After a write: on success a flash and a redirect (303) to `back`; on refusal the API's status and message. */
  finish(req: FastifyRequest, reply: FastifyReply, r: ApiAnswer, ok: string, back: string, active: string): Promise<FastifyReply>;
  flash(req: FastifyRequest, f: Flash): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    consoleViewer: (Viewer & { session: Session }) | null;
  }
}

/** A path inside the console, or the overview (a "back" from a form never leaves the console). */
export function consolePath(raw: unknown, fallback = `${BASE}/`): string {
  return typeof raw === 'string' && raw.startsWith(`${BASE}/`) && !raw.startsWith(`${BASE}//`) && !/[\\\r\n]/.test(raw) ? raw : fallback;
}

export function one(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}
