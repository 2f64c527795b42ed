/**
 * What a changed config file changes (live reconfiguration, docs/routing.md "Reload"): the plan
 * the gateway applies as a diff. Accounts and SMSC connections are compared one by one (only those
 * that changed are touched); routes, admin tokens, the log level and the policy settings are
 * replaced whole; every other section needs a restart and is named here, left as it was.
 */
import type { AccountConfig, Config, SmscConfig } from './schema.js';

export interface ReloadPlan {
  accounts: {
    added: AccountConfig[];
    /** Limits and settings changed; binds stay (the new limits apply to them at once). */
    changed: AccountConfig[];
    /** Removed, or their password, require_tls or tls_subject changed: their binds are unbound. */
    removed: string[];
    rebind: AccountConfig[];
  };
  smscs: { added: SmscConfig[]; changed: SmscConfig[]; removed: string[] };
  groupsOrRoutes: boolean;
  adminTokens: boolean;
  logLevel: boolean;
  policy: boolean;
  /** Changed settings that need a restart (left as they are), as config paths. */
  restartNeeded: string[];
  /** Anything to do at all. */
  changes: number;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Sections applied live (the rest need a restart). */
const LIVE: ReadonlySet<string> = new Set(['accounts', 'downstream', 'routes', 'admin', 'log', 'policy']);

export function reloadPlan(old: Config, next: Config): ReloadPlan {
  const restartNeeded: string[] = [];
  for (const key of Object.keys(next) as (keyof Config)[]) {
    if (!LIVE.has(key) && !same(old[key], next[key])) restartNeeded.push(key);
  }
  const { smscs: os, groups: og, ...oldTimings } = old.downstream;
  const { smscs: ns, groups: ng, ...newTimings } = next.downstream;
  for (const k of Object.keys(newTimings) as (keyof typeof newTimings)[]) if (!same(oldTimings[k], newTimings[k])) restartNeeded.push(`downstream.${k}`);
  if (old.policy.enabled !== next.policy.enabled) restartNeeded.push('policy.enabled');
  if (!same(old.policy.reassembly, next.policy.reassembly)) restartNeeded.push('policy.reassembly');
  if (old.log.mask_msisdn !== next.log.mask_msisdn) restartNeeded.push('log.mask_msisdn');
  // Reply keywords are compiled once (decision/replies.ts); the reply texts are read live.
  const kw = (c: Config) => [c.policy.opt_out.keywords, c.policy.opt_out.opt_in_keywords, c.policy.opt_out.help_keywords];
  if (!same(kw(old), kw(next))) restartNeeded.push('policy.opt_out keywords');
  if (!same(old.admin.failed_auth, next.admin.failed_auth)) restartNeeded.push('admin.failed_auth');

  const oldAccounts = new Map(old.accounts.map((a) => [a.system_id, a]));
  const accounts: ReloadPlan['accounts'] = { added: [], changed: [], removed: [], rebind: [] };
  for (const a of next.accounts) {
    const was = oldAccounts.get(a.system_id);
    oldAccounts.delete(a.system_id);
    if (!was) accounts.added.push(a);
    else if (was.password_hash !== a.password_hash || was.require_tls !== a.require_tls || was.tls_subject !== a.tls_subject) accounts.rebind.push(a);
    else if (!same(was, a)) accounts.changed.push(a);
  }
  accounts.removed = [...oldAccounts.keys()];

  const oldSmscs = new Map(os.map((s) => [s.name, s]));
  const smscs: ReloadPlan['smscs'] = { added: [], changed: [], removed: [] };
  for (const s of ns) {
    const was = oldSmscs.get(s.name);
    oldSmscs.delete(s.name);
    if (!was) smscs.added.push(s);
    else if (!same(was, s)) smscs.changed.push(s);
  }
  smscs.removed = [...oldSmscs.keys()];

  const groupsOrRoutes = !same(og, ng) || !same(old.routes, next.routes);
  const adminTokens = !same(old.admin.tokens, next.admin.tokens);
  const logLevel = old.log.level !== next.log.level;
  const { enabled: _e1, reassembly: _r1, ...oldPolicy } = old.policy;
  const { enabled: _e2, reassembly: _r2, ...newPolicy } = next.policy;
  const policy = !same(oldPolicy, newPolicy);
  const changes =
    accounts.added.length + accounts.changed.length + accounts.removed.length + accounts.rebind.length +
    smscs.added.length + smscs.changed.length + smscs.removed.length +
    Number(groupsOrRoutes) + Number(adminTokens) + Number(logLevel) + Number(policy);
  return { accounts, smscs, groupsOrRoutes, adminTokens, logLevel, policy, restartNeeded, changes };
}
