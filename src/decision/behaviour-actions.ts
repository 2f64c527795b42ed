/**
 * What a decision's sender behaviour evidence and `suspend` hits set off (issue 18), after the verdict: the metrics
 * per signal, a log line per flagged sender (at most one per sender and rule an hour: a scanning
 * sender's thousand messages are one line), and the `suspend` action — in enforce mode the sender's
 * registration is suspended through the same registry write as the complaint desk's automatic
 * suspension (journaled as sender.suspend; every instance follows through pub/sub), in monitor mode
 * only counted and logged. Never waits: the suspension is written in the background.
 */
import type { NormalAddress } from '../domain/address.js';
import type { SenderRecord } from '../domain/sender.js';
import type { RuleEvidence, RuleHit } from '../rules/types.js';
import type { Actor, PolicyAdmin } from '../store/policy-admin.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';

/** Who acts when a behaviour rule suspends a sender. */
export const BEHAVIOUR_ACTOR = 'auto:behaviour';

/** Log lines and the flagged-senders metric: once per sender and rule within this. */
const NOTE_EVERY_MS = 3_600_000;
/** (sender, rule) pairs remembered for that, at most (then forgotten all at once: a few repeated lines). */
const MAX_NOTED = 10_000;

export interface BehaviourActionDeps {
  admin: Pick<PolicyAdmin, 'putSender' | 'getSender'>;
  /** The in-process registry: updated at once (pub/sub brings the others). */
  registry: { upsert(rec: SenderRecord): void };
  metrics: Pick<Metrics, 'behaviourFlag' | 'behaviourSenders' | 'suspensions'>;
  log: Pick<Logger, 'warn' | 'error'> | null;
  now: () => number;
}

export class BehaviourActions {
  private readonly noted = new Map<string, number>();
  /** Per rule, the sender last noted and when: a bulk sender flagged on every message needs no key built and looked up for each. */
  private readonly lastNoted = new Map<string, { account: string; sender: string; at: number }>();
  private readonly suspending = new Set<string>();

  constructor(private readonly deps: BehaviourActionDeps) {}

  /**
   * One decision's evidence and hits. `suspend`: an enforce-mode suspend rule decided (the message
   * was refused); `rule` that rule.
   */
  note(account: string, src: NormalAddress, sender: SenderRecord | null, evidence: readonly RuleEvidence[], hits: readonly RuleHit[], suspend: boolean, rule: string): void {
    const { metrics, log } = this.deps;
    const now = this.deps.now();
    for (const e of evidence) {
      metrics.behaviourFlag(e.signal, e.mode);
      if (!this.firstFlag(account, src.value, e.rule, now)) continue;
      metrics.behaviourSenders.inc({ signal: e.signal, mode: e.mode });
      const would = hits.some((h) => h.rule === e.rule && h.mode === 'monitor' && h.action.kind === 'suspend');
      if (would) metrics.suspensions.inc({ trigger: 'behaviour', mode: 'monitor' });
      log?.warn(
        { account, sender: src.value, registration: sender?.id ?? null, rule: e.rule, signal: e.signal, mode: e.mode, evidence: e.text },
        would ? `monitor mode: would suspend sender: ${e.text}` : `sender flagged by behaviour: ${e.text}`,
      );
    }
    // A suspend rule that matched on something else than behaviour (text, a rate): trigger "rules".
    for (const h of hits) {
      if (h.mode !== 'monitor' || h.action.kind !== 'suspend' || evidence.some((e) => e.rule === h.rule)) continue;
      if (!this.firstIn(`${account}\u0001${src.value}\u0001${h.rule}`, now)) continue;
      metrics.suspensions.inc({ trigger: 'rules', mode: 'monitor' });
      log?.warn({ account, sender: src.value, registration: sender?.id ?? null, rule: h.rule, mode: 'monitor' }, `monitor mode: would suspend sender: rule ${h.rule}`);
    }
    if (suspend) {
      const e = evidence.find((x) => x.rule === rule);
      this.suspend(account, src, sender, rule, e ? e.text : 'its conditions matched', e ? 'behaviour' : 'rules');
    }
  }

  /** firstIn() for a (sender, rule) pair, answered without building its key when it is the rule's last one. */
  private firstFlag(account: string, sender: string, rule: string, now: number): boolean {
    const last = this.lastNoted.get(rule);
    if (last !== undefined && last.account === account && last.sender === sender && now - last.at < NOTE_EVERY_MS) return false;
    const key = `${account}\u0001${sender}\u0001${rule}`;
    const first = this.firstIn(key, now);
    // Rules are the loaded set's: a few hundred at most. The pair's time is firstIn()'s (set by it when first).
    if (last !== undefined || this.lastNoted.size < 1000) this.lastNoted.set(rule, { account, sender, at: this.noted.get(key)! });
    return first;
  }

  /** True the first time `key` is seen within NOTE_EVERY_MS. */
  private firstIn(key: string, now: number): boolean {
    const at = this.noted.get(key);
    if (at !== undefined && now - at < NOTE_EVERY_MS) return false;
    if (this.noted.size >= MAX_NOTED) this.noted.clear();
    this.noted.set(key, now);
    return true;
  }

  private suspend(account: string, src: NormalAddress, sender: SenderRecord | null, rule: string, why: string, trigger: 'behaviour' | 'rules'): void {
    const { admin, registry, metrics, log } = this.deps;
    if (sender === null) {
      // Nothing registered to suspend (an unregistered sender is refused by sender authorization
      // where the policy requires registration): the message is refused all the same.
      if (this.firstIn(`unregistered\u0001${account}\u0001${src.value}\u0001${rule}`, this.deps.now())) {
        log?.warn({ account, sender: src.value, rule }, `suspend: sender not registered, nothing to suspend: ${why}`);
      }
      return;
    }
    if (sender.status === 'suspended' || this.suspending.has(sender.id)) return;
    this.suspending.add(sender.id);
    const run = async () => {
      // The registry may lag a write made elsewhere a moment ago: decide on the stored record.
      const current = (await admin.getSender(sender.id)) ?? sender;
      if (current.status !== 'active') return;
      const at = new Date(this.deps.now()).toISOString();
      const reason = `${trigger === 'behaviour' ? 'behaviour rule' : 'rule'} ${rule}: ${why}`.slice(0, 500);
      const rec: SenderRecord = { ...current, status: 'suspended', status_reason: reason, status_by: BEHAVIOUR_ACTOR, status_at: at, updated_at: at, updated_by: BEHAVIOUR_ACTOR };
      const actor: Actor = { who: BEHAVIOUR_ACTOR, channel: 'rules', evidence: rule };
      await admin.putSender(rec, actor, 'sender.suspend');
      registry.upsert(rec);
      metrics.suspensions.inc({ trigger, mode: 'enforce' });
      log?.warn({ account, sender: src.value, registration: rec.id, rule }, `sender suspended: ${reason}`);
    };
    run()
      .catch((err: unknown) => log?.error({ err: String(err), registration: sender.id, rule }, 'behaviour suspension failed (the message was refused; the next one tries again)'))
      .finally(() => this.suspending.delete(sender.id));
  }
}
