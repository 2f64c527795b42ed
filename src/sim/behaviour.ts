/**
 * The simulator's adjustable behaviour (slowness, error injection, receipts, blackhole): defaults,
 * and validation of a patch coming from the control API or setBehaviour.
 */
export interface Behaviour {
  responseDelayMs: number;
  errorStatus: number;
  errorRatio: number;
  receiptDelayMs: number;
  receiptSuccessRatio: number;
  blackhole: boolean;
}

export type BehaviourPatch = Partial<Behaviour>;

export const DEFAULT_BEHAVIOUR: Readonly<Behaviour> = {
  responseDelayMs: 0,
  errorStatus: 0,
  errorRatio: 0,
  receiptDelayMs: 1000,
  receiptSuccessRatio: 1,
  blackhole: false,
};

type Check = (v: unknown) => boolean;

const isMs: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isRatio: Check = (v) => typeof v === 'number' && v >= 0 && v <= 1;
const isStatus: Check = (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
const isBool: Check = (v) => typeof v === 'boolean';

const CHECKS: Record<keyof Behaviour, [Check, string]> = {
  responseDelayMs: [isMs, 'a number of milliseconds >= 0'],
  errorStatus: [isStatus, 'an integer command_status 0..0xFFFFFFFF'],
  errorRatio: [isRatio, 'a ratio between 0 and 1'],
  receiptDelayMs: [isMs, 'a number of milliseconds >= 0'],
  receiptSuccessRatio: [isRatio, 'a ratio between 0 and 1'],
  blackhole: [isBool, 'true or false'],
};

/** The patch with undefined keys dropped, or an error message naming the first bad key. */
export function checkBehaviourPatch(input: unknown): { ok: true; patch: BehaviourPatch } | { ok: false; error: string } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, error: 'expected a JSON object' };
  }
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const check = Object.hasOwn(CHECKS, key) ? CHECKS[key as keyof Behaviour] : undefined;
    if (!check) return { ok: false, error: `unknown behaviour key "${key}"` };
    if (!check[0](value)) return { ok: false, error: `${key} must be ${check[1]}` };
    patch[key] = value;
  }
  return { ok: true, patch: patch as BehaviourPatch };
}

/** Applies a checked patch; throws RangeError on a bad value (programming error in the caller). */
export function applyBehaviour(target: Behaviour, input: BehaviourPatch): void {
  const r = checkBehaviourPatch(input);
  if (!r.ok) throw new RangeError(r.error);
  Object.assign(target, r.patch);
}
