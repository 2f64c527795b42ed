/**
 * The archive's one record schema (docs/evidence.md has it as a table): the columns of a decision
 * in the Parquet files, how the buffer's TSV lines (store/audit-stream.ts LINE_FIELDS) map onto
 * them, and the file names and partitions (`day=YYYY-MM-DD/shard=NNN/<first>_<last>[-<k>of<n>].parquet`).
 *
 * Measured before fixing it (bench/RESULTS.md, "Archive"): the recipient as BIGINT takes 7.5 B a
 * decision against 10.0 as VARCHAR, and Parquet V2 encodings 7.5 against 8.1 for V1; files sorted
 * by recipient then time, so one number's rows sit together and row-group statistics skip the rest.
 */
import { LINE_FIELDS } from '../store/audit-stream.js';

/** Column → DuckDB type, in the order of the line. */
export const LINE_TYPES: Record<(typeof LINE_FIELDS)[number], string> = {
  time: 'BIGINT',
  instance: 'VARCHAR',
  account: 'VARCHAR',
  action: 'VARCHAR',
  reason: 'VARCHAR',
  rule: 'VARCHAR',
  status: 'INTEGER',
  class: 'VARCHAR',
  sender: 'VARCHAR',
  recipient: 'BIGINT',
  msg_id: 'VARCHAR',
  smsc_id: 'VARCHAR',
  fingerprint: 'VARCHAR',
  score: 'FLOAT',
  model_version: 'VARCHAR',
  score_detail: 'VARCHAR',
};

/** read_csv's `columns` for a file of buffer lines. */
export const CSV_COLUMNS = `{${LINE_FIELDS.map((f) => `'${f}': '${LINE_TYPES[f]}'`).join(', ')}}`;

/** read_csv options for buffer lines: TAB, no header, no quoting (a line never holds TAB or NL in a field). */
export const CSV_OPTIONS = `delim = '\t', header = false, quote = '', escape = '', nullstr = '', auto_detect = false, columns = ${CSV_COLUMNS}`;

/**
 * The Parquet columns as SELECTed from read_csv: time becomes a TIMESTAMP (UTC, ms precision), the
 * rest as they are. The file's column order is this one.
 */
export const PARQUET_SELECT =
  'epoch_ms(time) AS time, instance, account, sender, recipient, class, action, reason, rule, status, msg_id, smsc_id, fingerprint, score, model_version, score_detail';

/** Rows of a Parquet row group (DuckDB's default, said here): a reader skips by row groups' statistics. */
export const ROW_GROUP_ROWS = 122_880;

/** COPY options of every file. */
export const PARQUET_OPTIONS = `FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION V2, ROW_GROUP_SIZE ${ROW_GROUP_ROWS}`;

/**
 * The sort order of a merged file, and of a batch's file of more than one row group. A batch file
 * of one row group is left in buffer order: a reader reads that row group whole whichever way its
 * rows lie, and the sort was a quarter to a third of the file's DuckDB CPU (bench/RESULTS.md, session 23).
 */
export const SORT = 'recipient, time';

/** Kinds of record and their top-level directory under archive.dir. */
export const DECISIONS_DIR = 'decisions';

/** A published file's name, parsed. */
export interface FileName {
  first: string;
  last: string;
  /** k of n when a batch's decisions span n days (1-based); null for a one-day batch or a merged file. */
  k: number | null;
  n: number | null;
}

const NAME = /^(\d+-\d+)_(\d+-\d+)(?:-(\d+)of(\d+))?\.parquet$/;

export function parseName(name: string): FileName | null {
  const m = NAME.exec(name);
  if (!m) return null;
  return { first: m[1]!, last: m[2]!, k: m[3] ? Number(m[3]) : null, n: m[4] ? Number(m[4]) : null };
}

export function fileName(first: string, last: string, k?: number, n?: number): string {
  return n && n > 1 ? `${first}_${last}-${k}of${n}.parquet` : `${first}_${last}.parquet`;
}

/** The temp name a file is written under before its rename (hidden: no `*.parquet` glob sees it). */
export function tempName(name: string): string {
  return `.${name}.tmp`;
}

export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function shardDir(shard: number, shards: number): string {
  return `shard=${String(shard).padStart(String(shards - 1).length, '0')}`;
}
