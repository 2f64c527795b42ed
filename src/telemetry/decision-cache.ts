/**
 * A value derived once per decision tuple (account, decision, reason, rule, status, class) and
 * reused: the audit log's line middle, the decision stream's encoded prefix. A handful of tuples
 * carry all the traffic, so a lookup is three Map reads and three comparisons, with no key string
 * built per decision.
 */
interface Entry<T> {
  decision: string;
  status: number;
  cls: string | null;
  value: T;
}

/** Entries kept at most; past that the cache starts again (rule ids change with reloads). */
const MAX_ENTRIES = 10_000;

export class DecisionCache<T> {
  private readonly byAccount = new Map<string, Map<string, Map<string, Entry<T>>>>();
  private size = 0;

  constructor(private readonly make: (account: string, decision: string, reason: string, rule: string, status: number, cls: string | null) => T) {}

  get(account: string, decision: string, reason: string, rule: string, status: number, cls: string | null): T {
    let byReason = this.byAccount.get(account);
    if (!byReason) this.byAccount.set(account, (byReason = new Map()));
    let byRule = byReason.get(reason);
    if (!byRule) byReason.set(reason, (byRule = new Map()));
    const e = byRule.get(rule);
    if (e !== undefined && e.decision === decision && e.status === status && e.cls === cls) return e.value;
    if (e === undefined && ++this.size > MAX_ENTRIES) {
      this.byAccount.clear();
      this.size = 0;
      return this.get(account, decision, reason, rule, status, cls);
    }
    const value = this.make(account, decision, reason, rule, status, cls);
    byRule.set(rule, { decision, status, cls, value });
    return value;
  }
}
