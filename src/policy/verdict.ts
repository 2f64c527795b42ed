/**
 * policy/: the pure decision for every submit_sm and data_sm. This file is the contract the relay
 * calls: a Policy turns a message and its account into a Verdict. The Core issue ships
 * forward-everything; sender authorization, consent and rules plug in here.
 */
import type { MessageView } from '../protocol/message-view.js';

export interface SubmitContext {
  /** system_id of the bound account that sent the message. */
  account: string;
  view: MessageView;
}

export type Verdict =
  | { action: 'forward'; reason: string }
  | { action: 'reject'; status: number; reason: string; rule?: string }
  /** Stored durably and answered ESME_ROK; released when the window opens (releaseAt) or on approval. */
  | { action: 'queue'; queue: 'until-window' | 'review'; reason: string; rule: string; releaseAt: number | null };

export interface Policy {
  /**
   * Returns the verdict when it is known at once; otherwise returns null and calls `done` exactly
   * once later (a callback rather than a promise: this runs for every message).
   */
  decide(ctx: SubmitContext, done: (v: Verdict) => void): Verdict | null;
}

const FORWARD: Verdict = { action: 'forward', reason: 'policy_off' };

/** Forwards everything: the Core issue's policy, and the benchmark's "policy off" scenario. */
export const forwardAll: Policy = {
  decide: () => FORWARD,
};
