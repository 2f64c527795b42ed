/**
 * Receipts into sender behaviour profiles (issue 18): the relay hands every receipt it matched to a
 * forwarded message (store/dlr-map.ts knows the message's account, source and recipient) to
 * receipt(); a final one becomes one bit in its sender's ring of the last N receipts
 * (store/behaviour-store.ts batches them, off the submit path). Only while a loaded rule reads the
 * undeliverable share: otherwise nothing is written.
 *
 * Undeliverable: the receipt's state (message_state TLV, else the text's stat:) is one of
 * behaviour.undeliverable_states, or its err: code is one of behaviour.undeliverable_errors.
 * Intermediate states (ENROUTE, ACCEPTD) are not final and are skipped.
 */
import type { Config } from '../config/schema.js';
import { normaliseAddress } from '../policy/address.js';
import { parseReceiptText } from '../protocol/receipt.js';
import type { MessageView } from '../protocol/message-view.js';
import { Tag } from '../protocol/tlv.js';
import type { BehaviourStore } from '../store/behaviour-store.js';
import type { MappedMessage } from '../store/dlr-map.js';
import type { Metrics } from '../telemetry/metrics.js';

/** message_state (SMPP 5.2.28) → the receipt text's stat: word. */
const STATE_NAMES: Record<number, string> = { 1: 'ENROUTE', 2: 'DELIVRD', 3: 'EXPIRED', 4: 'DELETED', 5: 'UNDELIV', 6: 'ACCEPTD', 7: 'UNKNOWN', 8: 'REJECTD' };
const FINAL = new Set(['DELIVRD', 'EXPIRED', 'DELETED', 'UNDELIV', 'UNKNOWN', 'REJECTD']);

/** A receipt's outcome for the profile: true undeliverable, false delivered, null not final / unreadable. */
export function receiptVerdict(view: Pick<MessageView, 'tlv' | 'shortMessage'>, badStates: ReadonlySet<string>, badErrors: ReadonlySet<string>): boolean | null {
  const st = view.tlv(Tag.message_state);
  const text = view.shortMessage.length > 0 ? parseReceiptText(view.shortMessage.toString('latin1')) : null;
  let state = st !== undefined && st.length > 0 ? STATE_NAMES[st[0]!] : undefined;
  state ??= text?.stat?.toUpperCase().slice(0, 7);
  const err = text?.err?.trim();
  if (err !== undefined && badErrors.has(err)) return true;
  if (state === undefined || !FINAL.has(state)) return null;
  return badStates.has(state);
}

export interface BehaviourFeedDeps {
  cfg: Pick<Config, 'behaviour' | 'policy'>;
  store: Pick<BehaviourStore, 'recordReceipt'>;
  metrics: Pick<Metrics, 'behaviourReceipts'>;
  /** Whether a loaded rule reads the undeliverable share (checked per receipt: rules reload). */
  wanted(): boolean;
}

export class BehaviourFeed {
  private readonly badStates: ReadonlySet<string>;
  private readonly badErrors: ReadonlySet<string>;

  constructor(private readonly deps: BehaviourFeedDeps) {
    this.badStates = new Set(deps.cfg.behaviour.undeliverable_states);
    this.badErrors = new Set(deps.cfg.behaviour.undeliverable_errors);
  }

  /** One matched receipt (never throws: the receipt is relayed whatever happens here). */
  receipt(m: MappedMessage, view: Pick<MessageView, 'tlv' | 'shortMessage'>): void {
    if (!this.deps.wanted()) return;
    const counter = this.deps.metrics.behaviourReceipts;
    if (m.source === null) {
      counter.inc({ outcome: 'unmapped' });
      return;
    }
    const bad = receiptVerdict(view, this.badStates, this.badErrors);
    if (bad === null) {
      counter.inc({ outcome: 'not_final' });
      return;
    }
    const src = normaliseAddress(m.source, m.sourceTon ?? 0, this.deps.cfg.policy.numbering);
    this.deps.store.recordReceipt(m.account, src.value, bad);
    counter.inc({ outcome: 'recorded' });
  }
}
