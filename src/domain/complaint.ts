/**
 * A complaint case's shape as every layer sees it: where complaints come from, the states and
 * actions of a case (one source for each list), and the stored record. complaints/ owns the
 * rules for moving a case; store/ keeps it.
 */
export const COMPLAINT_SOURCES = ['12321', '7726', 'customer_care'] as const;
export type ComplaintSource = (typeof COMPLAINT_SOURCES)[number];

export const CASE_STATES = ['open', 'forwarded', 'handled', 'rejected'] as const;
export type CaseState = (typeof CASE_STATES)[number];
export const CASE_ACTIONS = ['forward', 'handle', 'reject'] as const;
export type CaseAction = (typeof CASE_ACTIONS)[number];

/** How the complaint was tied to an account and sender. */
export type ResolvedBy = 'message_id' | 'sender' | 'none';

export interface CaseEvent {
  at: number;
  who: string;
  /** received, forward, handle, reject, suspend (auto-suspension), would_suspend (monitor mode). */
  event: string;
  note?: string;
}

/** A complaint case as stored (epoch ms times); caseView() is what the API shows. */
export interface ComplaintCase {
  id: string;
  state: CaseState;
  source: ComplaintSource;
  reference: string | null;
  recipient: string;
  reported_sender: string | null;
  message_id: string | null;
  text: string | null;
  reported_at: number;
  received_at: number;
  /** Resolution: the account and the sender (registry id, else the normalised address) that sent it. */
  resolved_by: ResolvedBy;
  account: string | null;
  sender: string | null;
  /** Whether the sender is a registration (counts toward auto-suspension). */
  sender_registered: boolean;
  /** Resolution remarks, e.g. the message id maps to a different recipient. */
  remarks: string[];
  forward_due: number;
  handle_due: number;
  forwarded_at: number | null;
  forwarded_to: string | null;
  handled_at: number | null;
  resolution: string | null;
  history: CaseEvent[];
}
