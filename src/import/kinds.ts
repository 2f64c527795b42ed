/**
 * What a bulk import is about: the kinds of policy data, the file formats, and the fatal error an
 * import stops with (as opposed to a bad row, which is reported and skipped).
 */

export type ImportKind = 'dnd' | 'consent' | 'senders';
export type ImportFormat = 'csv' | 'jsonl';
export const IMPORT_KINDS: readonly ImportKind[] = ['dnd', 'consent', 'senders'];

/** A fatal problem: the import stopped (missing file, Redis unreachable, unusable header, …). */
export class ImportError extends Error {
  /** Data rows read before the failure (0: nothing was written). */
  read = 0;
}
