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

/** What the memory keeps about a forwarded commercial message's text (issue 18): its fingerprint, bands and folded text. */
export interface MessageMemo {
  fingerprint: string;
  bands: readonly string[];
  text: string;
}

export type Verdict =
  /** `route`: the MT route and SMSC group (decision/mt-router.ts), absent without routes.mt (every SMSC). */
  | { action: 'forward'; reason: string; route?: RouteTarget }
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
