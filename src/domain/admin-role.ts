/**
 * The admin API's roles, weakest first: `read` (lookups, masked numbers), `operate` (review
 * decisions, complaints, reinstatement), `admin` (everything). The one source of that list: the
 * config schema and the admin API's route table (admin/roles.ts) both use it.
 */
export const ADMIN_ROLES = ['read', 'operate', 'admin'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** True when a token of role `has` may call a route that needs `needs`. */
export function roleAllows(has: AdminRole, needs: AdminRole): boolean {
  return ADMIN_ROLES.indexOf(has) >= ADMIN_ROLES.indexOf(needs);
}
