/**
 * Who may call what: every admin route and the weakest role (domain/admin-role.ts) that may call
 * it, in one table — scope.ts enforces it for every request, docs/security.md prints it, and a test
 * checks that every registered route is listed. A route missing here needs `admin` (a new route is
 * closed until someone decides otherwise). Also the masking a `read` token's answers get: subscriber
 * numbers keep their country/operator prefix and last three digits.
 */
import type { AdminRole } from '../domain/admin-role.js';

/** "<METHOD> <path under /api/v1>" → the role it needs. HEAD follows GET. */
export const ROUTE_ROLES: Readonly<Record<string, AdminRole>> = {
  'GET /senders': 'read',
  'GET /senders/:id': 'read',
  'POST /senders': 'admin',
  'PUT /senders/:id': 'admin',
  'PATCH /senders/:id': 'admin',
  'DELETE /senders/:id': 'admin',
  'POST /senders/:id/reinstate': 'operate',
  'GET /consent/:msisdn': 'read',
  'POST /consent': 'admin',
  'DELETE /consent/:msisdn': 'admin',
  'GET /dnd/:msisdn': 'read',
  'POST /dnd': 'admin',
  'DELETE /dnd/:msisdn': 'admin',
  'GET /ported/:msisdn': 'read',
  'PUT /ported/:msisdn': 'admin',
  'DELETE /ported/:msisdn': 'admin',
  'POST /explain': 'read',
  'GET /journal': 'read',
  'GET /queue/review': 'read',
  'GET /queue/messages/:id': 'read',
  'GET /queue/depth/:account': 'read',
  'POST /queue/review/:id/approve': 'operate',
  'POST /queue/review/:id/reject': 'operate',
  'POST /queue/review/bulk': 'operate',
  'GET /complaints': 'read',
  'GET /complaints/:id': 'read',
  'POST /complaints': 'operate',
  'POST /complaints/:id/:action': 'operate',
  'GET /evidence/:msisdn': 'read',
  'GET /lockouts': 'read',
  'DELETE /lockouts': 'admin',
  'GET /dead-letters/:account': 'operate',
  'POST /dead-letters/:account/:id/retry': 'operate',
  'GET /config': 'operate',
};

/** The role a route needs (`admin` when it is not in the table). */
export function roleFor(method: string, path: string): AdminRole {
  return ROUTE_ROLES[`${method === 'HEAD' ? 'GET' : method} ${path}`] ?? 'admin';
}

/** Fields of an answer that hold a subscriber's number (masked for `read`). */
const NUMBER_FIELDS = new Set(['msisdn', 'recipient', 'destination_addr', 'dst']);

/** "8613812345678" → "86138*****678", as the logs mask (telemetry/log.ts), but whatever log.mask_msisdn says. */
export function maskNumber(s: string): string {
  const start = s.startsWith('+') ? 1 : 0;
  const digits = s.slice(start);
  if (digits.length < 7 || !/^\d+$/.test(digits)) return s;
  const keep = Math.min(5, digits.length - 6);
  return digits.slice(0, keep) + '*'.repeat(digits.length - keep - 3) + digits.slice(-3);
}

/** A JSON answer with every subscriber-number field masked (a copy; the original is not touched). */
export function maskNumbers(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(maskNumbers);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = typeof x === 'string' && NUMBER_FIELDS.has(k) ? maskNumber(x) : maskNumbers(x);
  return out;
}

/** A text answer (the evidence table) with every run of 7–15 digits masked. */
export function maskText(s: string): string {
  return s.replace(/(?<!\d)\d{7,15}(?!\d)/g, maskNumber);
}
