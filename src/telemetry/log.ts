/**
 * Logging: pino JSON lines. MSISDNs are masked by default (keep the country/operator prefix and the
 * last three digits) so logs can be shipped without exposing subscribers.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { svc: 'smppguard' } }, destination as never);
}

let maskingOn = true;

export function setMasking(on: boolean): void {
  maskingOn = on;
}

/** "8613812345678" → "86138*****678"; short or alphanumeric ids (sender names) are kept. */
export function maskMsisdn(addr: string): string {
  if (!maskingOn) return addr;
  const digits = addr.replace(/^\+/, '');
  if (!/^\d+$/.test(digits) || digits.length < 7) return addr;
  const keep = Math.min(5, digits.length - 6);
  return digits.slice(0, keep) + '*'.repeat(digits.length - keep - 3) + digits.slice(-3);
}

/** The audit trail: one JSON line per decision, to stdout, a file (async, buffered), or nowhere. */
export function createAudit(destination: string): Logger | null {
  if (destination === 'off') return null;
  const dest = destination === 'stdout' ? pino.destination(1) : pino.destination({ dest: destination, sync: false, mkdir: true });
  return pino({ base: { log: 'audit' }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}
