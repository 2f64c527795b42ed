/**
 * Cross-checks of the routing config the schema cannot express: names unique, every group member
 * an SMSC, every route's group a group or an SMSC, every route's account an account.
 */
import type { Config } from './schema.js';

export function routingProblems(cfg: Config, file: string): string[] {
  const out: string[] = [];
  const smscs = new Set<string>();
  for (const s of cfg.downstream.smscs) {
    if (smscs.has(s.name)) out.push(`${file}: downstream.smscs: name ${s.name} appears twice`);
    smscs.add(s.name);
  }
  const groups = new Set<string>();
  for (const g of cfg.downstream.groups) {
    if (groups.has(g.name)) out.push(`${file}: downstream.groups: name ${g.name} appears twice`);
    groups.add(g.name);
    const seen = new Set<string>();
    for (const m of g.members) {
      if (!smscs.has(m.smsc)) out.push(`${file}: downstream.groups ${g.name}: member ${m.smsc} is not an SMSC in downstream.smscs`);
      if (seen.has(m.smsc)) out.push(`${file}: downstream.groups ${g.name}: member ${m.smsc} appears twice`);
      seen.add(m.smsc);
    }
  }
  const accounts = new Set(cfg.accounts.map((a) => a.system_id));
  const names = new Set<string>();
  for (const r of cfg.routes.mt) {
    if (names.has(r.name)) out.push(`${file}: routes.mt: name ${r.name} appears twice`);
    names.add(r.name);
    if (!groups.has(r.group) && !smscs.has(r.group)) out.push(`${file}: routes.mt ${r.name}: group ${r.group} is neither a group in downstream.groups nor an SMSC`);
    for (const a of r.account ?? []) if (!accounts.has(a)) out.push(`${file}: routes.mt ${r.name}: unknown account ${a}`);
  }
  return out;
}
