/**
 * The one catalogue of decision reasons: every verdict names one of these codes, and each code has
 * its default SMPP status (overridable per code in config `policy.statuses`, e.g. a vendor code in
 * 0x400–0x4FF) and a sentence for the explain endpoint and the audit log.
 */
import { Status } from '../protocol/status.js';

export const REASONS = {
  // forwards
  policy_off: { status: 0, text: 'policy disabled: forwarded without checks' },
  not_commercial: { status: 0, text: 'authorised sender, message not commercial: no consent needed' },
  consent_granted: { status: 0, text: 'commercial message with the recipient\'s explicit consent' },
  fail_open: { status: 0, text: 'policy store unreachable; configured to fail open for this class' },
  // rejections
  invalid_destination: { status: Status.ESME_RINVDSTADR, text: 'destination is empty or not a valid number' },
  sender_hidden: { status: Status.ESME_RINVSRCADR, text: 'source address is empty (hidden sender)' },
  sender_invalid: { status: Status.ESME_RINVSRCADR, text: 'source address is not a valid number or sender id' },
  sender_unregistered: { status: Status.ESME_RINVSRCADR, text: 'sender number is not registered to any account' },
  sender_not_owned: {
    status: Status.ESME_RINVSRCADR,
    text: 'sender number is registered to another account (borrowed, rented or spoofed)',
  },
  sender_suspended: { status: Status.ESME_RINVSRCADR, text: 'sender number is suspended' },
  sender_revoked: { status: Status.ESME_RINVSRCADR, text: 'sender number registration is revoked' },
  sender_not_yet_valid: { status: Status.ESME_RINVSRCADR, text: 'sender number registration is not valid yet' },
  sender_expired: { status: Status.ESME_RINVSRCADR, text: 'sender number registration has expired' },
  service_port_marketing: {
    status: Status.ESME_RSERTYPDENIED,
    text: 'commercial content from a number registered for service/notification use',
  },
  consent_revoked: { status: Status.ESME_RSUBMITFAIL, text: 'the recipient revoked consent for this sender scope' },
  consent_expired: { status: Status.ESME_RSUBMITFAIL, text: 'the recipient\'s consent for this scope has expired' },
  dnd: { status: Status.ESME_RSUBMITFAIL, text: 'the recipient is on the do-not-disturb register and gave no consent' },
  no_consent: { status: Status.ESME_RSUBMITFAIL, text: 'commercial message without the recipient\'s consent (none counts as refusal)' },
  store_unavailable: { status: Status.ESME_RSYSERR, text: 'policy store unreachable or slow; failing closed (retry later)' },
} as const;

export type ReasonCode = keyof typeof REASONS;


/** Reasons counted as spoofing attempts (smppguard_spoofing_attempts_total). */
export const SPOOFING_REASONS: ReadonlySet<ReasonCode> = new Set(['sender_not_owned', 'sender_hidden', 'sender_unregistered']);

/** The check (rule id) each reason comes from, as shown in audit lines, metrics and explain. */
export function ruleOf(reason: ReasonCode): string {
  if (reason.startsWith('sender_')) return 'policy/sender-authorization';
  if (reason === 'invalid_destination') return 'policy/destination';
  if (reason === 'service_port_marketing' || reason === 'not_commercial') return 'policy/classification';
  if (reason === 'store_unavailable' || reason === 'fail_open') return 'policy/store';
  if (reason === 'policy_off') return 'policy/off';
  return reason === 'dnd' ? 'policy/dnd' : 'policy/consent';
}
