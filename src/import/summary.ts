/**
 * The outcome of an import: the summary importFile returns (counts, rates, generations, warnings)
 * and the one line `smppguard import` prints from it.
 */
import type { ImportFormat, ImportKind } from './kinds.js';

export interface ImportSummary {
  kind: ImportKind;
  file: string;
  format: ImportFormat;
  gzip: boolean;
  dryRun: boolean;
  replace: boolean;
  /** Data rows read (blank lines, # comments and the header are not rows). */
  read: number;
  /** Rows that passed validation. */
  valid: number;
  /** Rows written (valid rows; 0 in a dry run). */
  imported: number;
  /** Bad lines (reported through onBadLine). */
  skipped: number;
  /**
   * Rows that added nothing new: DND numbers already in the list (or repeated in the file); consent
   * records and senders that replaced an existing one. null when unknown (dry run).
   */
  duplicates: number | null;
  /** Wall time of reading and writing (replace mode: up to the switch; cleanup is timed apart). */
  seconds: number;
  rowsPerSec: number;
  bytes: number;
  /** DND: the generation written to; replace mode: the one replaced. */
  generation?: number;
  previousGeneration?: number;
  /** Things an operator should know (e.g. DND buckets stored as hash tables: see docs/policy-data.md). */
  warnings: string[];
  /** Replace mode: keys of older generations removed, and how long that took (after the grace delay). */
  removedKeys?: number;
  cleanupSeconds?: number;
}

/** One line for humans: what happened, with rates. */
export function formatSummary(s: ImportSummary): string {
  const parts = [
    `${s.kind}${s.dryRun ? ' (dry run)' : ''}${s.replace ? ' (replace)' : ''}: read ${s.read}`,
    s.dryRun ? `valid ${s.valid}` : `imported ${s.imported}`,
    `skipped ${s.skipped}`,
  ];
  if (s.duplicates !== null) parts.push(`${s.kind === 'dnd' || s.kind === 'ported' ? 'already present' : 'replaced existing'} ${s.duplicates}`);
  parts.push(`${s.seconds.toFixed(2)} s`, `${s.rowsPerSec} rows/s`);
  if (s.replace && s.generation !== undefined) parts.push(`generation ${s.previousGeneration} -> ${s.generation}, ${s.removedKeys ?? 0} old keys removed`);
  else if (s.generation !== undefined) parts.push(`generation ${s.generation}`);
  return parts.join(', ');
}
