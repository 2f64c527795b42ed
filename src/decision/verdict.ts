/**
 * The contract between the relay and the decision layer: a Policy turns a message and its account
 * into a Verdict (DecisionService is the one implementation; relay tests use their own).
 */
import type { HoldKind } from '../domain/hold.js';
import type { MessageView } from '../protocol/message-view.js';
import type { RouteTarget } from './mt-router.js';

export interface SubmitContext {
  /** system_id of the bound account that sent the message. */
  account: string;
  view: MessageView;
}

/** What the per-message memory keeps about a forwarded message (issue 18): its fingerprint and folded text. */
export interface MessageMemo {
  fingerprint: string;
  bands: readonly string[];
  text: string;
}

export type Verdict =
  /** `memo`: the per-message memory's fingerprint and text (issue 18); `route`: the MT route and SMSC group (decision/mt-router.ts), absent without routes.mt (every SMSC). */
  | { action: 'forward'; reason: string; memo?: MessageMemo; route?: RouteTarget }
  | { action: 'reject'; status: number; reason: string; rule?: string }
  /** Stored durably and answered ESME_ROK; released when the window opens (releaseAt) or on approval. */
  | { action: 'queue'; queue: HoldKind; reason: string; rule: string; releaseAt: number | null };

export interface Policy {
  /**
   * Returns the verdict when it is known at once; otherwise returns null and calls `done` exactly
   * once later (a callback rather than a promise: this runs for every message).
   */
  decide(ctx: SubmitContext, done: (v: Verdict) => void): Verdict | null;
}
