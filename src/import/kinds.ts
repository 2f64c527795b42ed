/**
 * What a bulk import is about: the kinds of policy data (and the number portability table), the file formats, and the fatal error an
 * import stops with (as opposed to a bad row, which is reported and skipped).
 */

export type ImportKind = 'dnd' | 'consent' | 'senders' | 'ported';
export type ImportFormat = 'csv' | 'jsonl';
export const IMPORT_KINDS: readonly ImportKind[] = ['dnd', 'consent', 'senders', 'ported'];
/** The kinds loaded in generations: `--replace` switches to a new one atomically. */
export const GENERATION_KINDS: readonly ImportKind[] = ['dnd', 'ported'];

/** A fatal problem: the import stopped (missing file, Redis unreachable, unusable header, …). */
export class ImportError extends Error {
  /** Data rows read before the failure (0: nothing was written). */
  read = 0;
}
