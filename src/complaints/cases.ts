/**
 * complaints/: complaints about messages (12321 referrals, GSMA 7726 spam reports, customer care)
 * as cases with deadlines, and the complaint counts that can suspend a sender. This file is the
 * pure part: the input shape, what a case is, its states and transitions, deadlines and overdue
 * checks, and the auto-suspension decision. Redis I/O is store/complaint-store.ts; the intake
 * (resolution, counting, suspension) is desk.ts.
 *
 *   open ──forward──► forwarded ──handle──► handled
 *     │  └────────────handle──────────────►   ▲
 *     └──reject──► rejected ◄──reject── forwarded
 *
 * A case is due to be forwarded (to the account that sent the message) within
 * `forward_working_days` and handled (closed with a resolution) within `handle_working_days` of
 * its receipt (docs/compliance.md §8: 3 and 15 by default). A rejected case (unfounded, duplicate)
 * stops counting toward its sender's suspension threshold.
 */
import { COMPLAINT_SOURCES, type CaseAction, type CaseState, type ComplaintCase, type ComplaintSource } from '../domain/complaint.js';
import { z } from 'zod';
import type { ComplaintsConfig } from '../config/schema.js';
import { normaliseAddress, normaliseMsisdn } from '../policy/address.js';
import { type Numbering } from '../domain/address.js';
import { parseDuration } from '../domain/time.js';
import { calendar, workingDayDeadline, type WorkCalendar } from './deadlines.js';

const iso = z.iso.datetime({ offset: true });

/** A complaint as the API and the import take it (numbers in any accepted form). */
export const ComplaintInputSchema = z
  .strictObject({
    /** The complainant: the number that received the message. */
    recipient: z.string().min(1).max(32),
    /** The sender number or name the complainant reports. */
    sender: z.string().min(1).max(32).optional(),
    /** The SMSC message id, when the complaint centre gives one. */
    message_id: z.string().min(1).max(64).optional(),
    /** The text the complainant received. */
    text: z.string().min(1).max(2000).optional(),
    /** When the complaint was made (default: now). */
    time: iso.optional(),
    /** When the carrier received the case (deadlines count from here; default: now). */
    received_at: iso.optional(),
    source: z.enum(COMPLAINT_SOURCES),
    /** The complaint centre's own reference (12321 ticket number, care ticket). */
    reference: z.string().min(1).max(100).optional(),
    note: z.string().min(1).max(1000).optional(),
  })
  .refine((c) => c.message_id !== undefined || c.text !== undefined, { message: 'give message_id or text (what was received)', path: ['text'] });
export type ComplaintInput = z.input<typeof ComplaintInputSchema>;

/** A validated complaint: numbers normalised, times as epoch ms. */
export interface ComplaintFacts {
  recipient: string;
  reportedSender: string | null;
  /** The reported sender normalised like a source address (digits, or an upper-cased name). */
  senderAddress: { kind: 'number' | 'alpha'; value: string } | null;
  messageId: string | null;
  text: string | null;
  reportedAt: number;
  receivedAt: number;
  source: ComplaintSource;
  reference: string | null;
  note: string | null;
}

export type Problem = { field: string; message: string };

/** Checks a complaint and normalises it; the first problem names its field. */
export function complaintFacts(raw: unknown, numbering: Numbering, now: number): { ok: ComplaintFacts } | { problem: Problem } {
  const parsed = ComplaintInputSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map(String).join('.') || 'body';
    const message = issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : issue.message;
    return { problem: { field: issue.code === 'unrecognized_keys' ? issue.keys[0]! : field, message } };
  }
  const c = parsed.data;
  const recipient = normaliseMsisdn(c.recipient, numbering);
  if (recipient === null || recipient.length > 15) {
    return { problem: { field: 'recipient', message: `"${c.recipient}" is not a phone number (at most 15 digits in international form)` } };
  }
  let senderAddress: ComplaintFacts['senderAddress'] = null;
  if (c.sender !== undefined) {
    const a = normaliseAddress(c.sender, 0, numbering);
    if (a.kind !== 'number' && a.kind !== 'alpha') return { problem: { field: 'sender', message: `"${c.sender}" is not a sender number or name` } };
    senderAddress = { kind: a.kind, value: a.value };
  }
  const reportedAt = c.time ? Date.parse(c.time) : now;
  const receivedAt = c.received_at ? Date.parse(c.received_at) : now;
  if (reportedAt > now + 60_000) return { problem: { field: 'time', message: `${c.time} is in the future` } };
  if (receivedAt > now + 60_000) return { problem: { field: 'received_at', message: `${c.received_at} is in the future` } };
  return {
    ok: {
      recipient,
      reportedSender: c.sender ?? null,
      senderAddress,
      messageId: c.message_id ?? null,
      text: c.text ?? null,
      reportedAt,
      receivedAt,
      source: c.source,
      reference: c.reference ?? null,
      note: c.note ?? null,
    },
  };
}

export interface Deadlines {
  forward_due: number;
  handle_due: number;
}

export function calendarOf(d: ComplaintsConfig['deadlines']): WorkCalendar {
  return calendar(d.time_zone, d.holidays, d.working_weekends);
}

export function deadlinesOf(receivedAt: number, d: ComplaintsConfig['deadlines'], cal: WorkCalendar = calendarOf(d)): Deadlines {
  return {
    forward_due: workingDayDeadline(receivedAt, d.forward_working_days, cal),
    handle_due: workingDayDeadline(receivedAt, d.handle_working_days, cal),
  };
}

/** Which deadlines a case has missed at `now` (only while the step is still to be done). */
export function overdueOf(c: Pick<ComplaintCase, 'state' | 'forward_due' | 'handle_due'>, now: number): { forward: boolean; handle: boolean } {
  return {
    forward: c.state === 'open' && now >= c.forward_due,
    handle: (c.state === 'open' || c.state === 'forwarded') && now >= c.handle_due,
  };
}

const NEXT: Record<CaseAction, { from: readonly CaseState[]; to: CaseState }> = {
  forward: { from: ['open'], to: 'forwarded' },
  handle: { from: ['open', 'forwarded'], to: 'handled' },
  reject: { from: ['open', 'forwarded'], to: 'rejected' },
};

export interface ActionInput {
  who: string;
  at: number;
  note?: string;
  /** forward: to whom (default: the resolved account). */
  to?: string;
  /** handle: the outcome (required). */
  resolution?: string;
}

/** The case after an action, or why the action is not allowed. */
export function applyAction(c: ComplaintCase, action: CaseAction, a: ActionInput): { ok: ComplaintCase } | { problem: Problem } {
  const rule = NEXT[action];
  if (!rule.from.includes(c.state)) {
    return { problem: { field: 'action', message: `case ${c.id} is ${c.state}: ${action} applies to ${rule.from.join(' or ')} cases` } };
  }
  const next: ComplaintCase = { ...c, state: rule.to, history: [...c.history, { at: a.at, who: a.who, event: action, ...(a.note ? { note: a.note } : {}) }] };
  if (action === 'forward') {
    const to = a.to ?? c.account;
    if (!to) return { problem: { field: 'to', message: `case ${c.id} resolved to no account: say whom it was forwarded to` } };
    next.forwarded_at = a.at;
    next.forwarded_to = to;
  } else if (action === 'handle') {
    if (!a.resolution) return { problem: { field: 'resolution', message: 'is required to handle a case (the outcome fed back to the complainant)' } };
    next.handled_at = a.at;
    next.resolution = a.resolution;
  } else {
    next.resolution = a.note ?? 'rejected';
    next.handled_at = a.at;
  }
  return { ok: next };
}

/** The API's view of a case: ISO times, and which deadlines it has missed. */
export function caseView(c: ComplaintCase, now: number) {
  const t = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const overdue = overdueOf(c, now);
  return {
    id: c.id,
    state: c.state,
    source: c.source,
    reference: c.reference,
    recipient: c.recipient,
    reported_sender: c.reported_sender,
    message_id: c.message_id,
    text: c.text,
    reported_at: t(c.reported_at),
    received_at: t(c.received_at),
    resolved_by: c.resolved_by,
    account: c.account,
    sender: c.sender,
    sender_registered: c.sender_registered,
    remarks: c.remarks,
    forward_due: t(c.forward_due),
    handle_due: t(c.handle_due),
    forwarded_at: t(c.forwarded_at),
    forwarded_to: c.forwarded_to,
    handled_at: t(c.handled_at),
    resolution: c.resolution,
    overdue,
    forwarded_late: c.forwarded_at !== null && c.forwarded_at >= c.forward_due,
    handled_late: c.handled_at !== null && c.handled_at >= c.handle_due,
    history: c.history.map((h) => ({ ...h, at: t(h.at) })),
  };
}
export type CaseView = ReturnType<typeof caseView>;

/** Case ids: C<received date, UTC>-<sequence>, e.g. C20261128-000042. */
export function caseId(seq: number, receivedAt: number): string {
  return `C${new Date(receivedAt).toISOString().slice(0, 10).replace(/-/g, '')}-${String(seq).padStart(6, '0')}`;
}

export interface SuspendPolicy {
  threshold: number;
  windowMs: number;
  mode: 'enforce' | 'monitor';
  sources: ReadonlySet<ComplaintSource>;
}

export function suspendPolicyOf(a: ComplaintsConfig['auto_suspend']): SuspendPolicy {
  return { threshold: a.threshold, windowMs: parseDuration(a.window)!, mode: a.mode, sources: new Set(a.sources) };
}

/** Whether a case counts toward its sender's threshold. */
export function countsToward(c: Pick<ComplaintCase, 'sender_registered' | 'source' | 'state'>, p: SuspendPolicy): boolean {
  return p.threshold > 0 && c.sender_registered && p.sources.has(c.source) && c.state !== 'rejected';
}

/**
 * Complaints count from the later of (now − window) and the sender's last reinstatement, so a
 * reinstated sender starts afresh.
 */
export function countSince(now: number, p: SuspendPolicy, reinstatedAt: number | null): number {
  return Math.max(now - p.windowMs, reinstatedAt ?? 0);
}

/** What `count` complaints in the window mean for a sender now in `status`. */
export function suspensionDecision(count: number, status: string, p: SuspendPolicy): 'suspend' | 'would_suspend' | 'none' {
  if (p.threshold === 0 || count < p.threshold || status !== 'active') return 'none';
  return p.mode === 'enforce' ? 'suspend' : 'would_suspend';
}
