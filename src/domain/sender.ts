/**
 * A sender registration (码号) as every layer sees it: its kinds, classes and statuses (the one
 * source for each list), its input schema, its id, and the checks beyond the schema. Pure data.
 */
import { z } from 'zod';

/** number: one number; prefix: every number starting with value; range: "from-to"; alpha: a sender name. */
export const SENDER_KINDS = ['number', 'prefix', 'range', 'alpha'] as const;
export type SenderKind = (typeof SENDER_KINDS)[number];
export const SENDER_STATUSES = ['active', 'suspended', 'revoked'] as const;
export type SenderStatus = (typeof SENDER_STATUSES)[number];

/** A message's class: what consent and DND apply to (commercial) or not (service, otp). */
export const SENDER_CLASSES = ['commercial', 'service', 'otp'] as const;
export type SenderClass = (typeof SENDER_CLASSES)[number];

export const SenderInputSchema = z.strictObject({
  /** number: one number; prefix: every number starting with value; range: "from-to" (same length); alpha: a sender name. */
  kind: z.enum(SENDER_KINDS),
  value: z.string().min(1).max(41),
  account: z.string().min(1).max(15),
  /** Unset: the owning account's default_class applies. */
  class: z.enum(SENDER_CLASSES).optional(),
  status: z.enum(SENDER_STATUSES).default('active'),
  /** Why the status is what it is (e.g. "5 complaints in 7d"); set with a status change. */
  status_reason: z.string().min(1).max(500).optional(),
  /** Who set the current status ("auto:complaints" for an automatic suspension) and when (RFC 3339). */
  status_by: z.string().min(1).max(64).optional(),
  status_at: z.iso.datetime({ offset: true }).optional(),
  valid_from: z.iso.datetime({ offset: true }).optional(),
  valid_until: z.iso.datetime({ offset: true }).optional(),
  /** Brand names allowed in the 【品牌】 signature; the first is the consent scope brand. */
  signatures: z.array(z.string().min(1).max(18)).default([]),
});
export type SenderInput = z.input<typeof SenderInputSchema>;
export type SenderRecord = z.output<typeof SenderInputSchema> & { id: string; updated_at?: string; updated_by?: string };

export function senderId(kind: SenderRecord['kind'], value: string): string {
  return `${kind}:${kind === 'alpha' ? value.toUpperCase() : value}`;
}

/** Checks a sender input beyond its schema: range shape, normalised values, validity order. */
export function senderProblems(rec: SenderRecord): string[] {
  const out: string[] = [];
  if (rec.kind === 'range') {
    const m = rec.value.match(/^(\d+)-(\d+)$/);
    if (!m) out.push('range value must be "from-to" with digits');
    else if (m[1]!.length !== m[2]!.length || m[1]! > m[2]!) out.push('range ends must have the same length and from <= to');
  }
  if ((rec.kind === 'number' || rec.kind === 'prefix') && !/^\d{1,20}$/.test(rec.value)) {
    out.push(`${rec.kind} value must be digits (international form, no +)`);
  }
  if (rec.valid_from && rec.valid_until && Date.parse(rec.valid_from) >= Date.parse(rec.valid_until)) {
    out.push('valid_from must be before valid_until');
  }
  return out;
}
