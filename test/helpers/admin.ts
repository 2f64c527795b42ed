/**
 * Admin API test helpers: a stack (SMSC simulator + gateway + real Redis) with policy on and admin
 * tokens configured, and a small fetch client over real loopback HTTP.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Config } from '../../src/config/schema.js';
import type { GatewayOptions } from '../../src/gateway.js';
import { startStack, type Stack } from './stack.js';

/** Plain tokens the tests present; the config holds only their SHA-256. */
export const TOKENS = { ops: 'ops-token-0123456789abcdef', crm: 'crm-token-fedcba9876543210' } as const;
export type TokenName = keyof typeof TOKENS;

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export interface ApiResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

export interface ApiCall {
  body?: unknown;
  /** A configured token's name, a literal token ({raw}), or null for no Authorization header. */
  token?: TokenName | { raw: string } | null;
  headers?: Record<string, string>;
}

export interface AdminStack extends Stack {
  base: string;
  api(method: string, path: string, call?: ApiCall): Promise<ApiResponse>;
}

export async function startAdminStack(
  over: { cfg?: (c: Config) => void; tokens?: boolean; policy?: boolean; gw?: GatewayOptions } = {},
): Promise<AdminStack> {
  const stack = await startStack({
    cfg: (c) => {
      c.policy.enabled = over.policy ?? true;
      c.admin.tokens = over.tokens === false ? [] : Object.entries(TOKENS).map(([name, t]) => ({ name, sha256: sha256(t) }));
      over.cfg?.(c);
    },
    gw: over.gw,
  });
  const base = `http://127.0.0.1:${stack.gw.httpPort}`;
  return {
    ...stack,
    base,
    async api(method, path, call = {}) {
      const headers: Record<string, string> = { ...call.headers };
      const tok = call.token === undefined ? 'ops' : call.token;
      if (tok !== null) headers.authorization = `Bearer ${typeof tok === 'string' ? TOKENS[tok] : tok.raw}`;
      if (call.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(base + path, {
        method,
        headers,
        body: call.body === undefined ? undefined : typeof call.body === 'string' ? call.body : JSON.stringify(call.body),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON */
      }
      return { status: res.status, body, headers: res.headers };
    },
  };
}

/** A pino destination that keeps every line, for checking what was (not) logged. */
export function captureLog(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}
