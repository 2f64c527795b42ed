/**
 * Evidence's decisions for one recipient: the archive's files plus the buffer's entries not yet
 * archived, with no duplicate and no gap (docs/evidence.md, "Reading"). The shard's cursor C is
 * read first; the files whose stream-id range ends at or before C (and not merged into a bigger
 * listed one) hold every decision up to C; the buffer holds those after C, and the writer keeps
 * them (it trims only entries at or before a cursor, and only a grace after advancing it).
 *
 * The files are read with DuckDB: `recipient = ?` on files sorted by recipient lets row-group
 * statistics skip all but the number's rows.
 */
import { existsSync } from 'node:fs';
import type { ArchiveBuffer } from '../store/archive-buffer.js';
import type { AuditStream, DecisionRecord } from '../store/audit-stream.js';
import { Duck, sqlList } from './duck.js';
import { listDays, readableFiles } from './layout.js';
import { dayOf } from './schema.js';

export interface DecisionQuery {
  from?: number;
  to?: number;
  limit?: number;
  match?: (d: DecisionRecord) => boolean;
}

/** Rows read from the archive for one query at most (a number with more is reported truncated). */
const MAX_ROWS = 200_000;

export class ArchiveReader {
  private readonly duck: Duck;

  constructor(
    private readonly stream: AuditStream,
    private readonly buffer: ArchiveBuffer,
    /** The archive directory; null = no archive (buffer only). */
    private readonly dir: string | null,
    threads = 1,
  ) {
    this.duck = new Duck(threads);
  }

  /** Decisions for one recipient, oldest first: the newest `limit` within [from, to]. */
  async decisionsFor(msisdn: string, q: DecisionQuery = {}): Promise<{ decisions: DecisionRecord[]; truncated: boolean }> {
    const limit = q.limit ?? 1000;
    const shard = this.stream.shardOf(msisdn);
    const cursor = await this.buffer.cursor(shard);
    let archived: { decisions: DecisionRecord[]; truncated: boolean } = { decisions: [], truncated: false };
    if (this.dir !== null && existsSync(this.dir)) {
      try {
        archived = await this.fromFiles(msisdn, shard, cursor, q);
      } catch {
        // A file listed was merged away and deleted meanwhile (after the grace): list again.
        archived = await this.fromFiles(msisdn, shard, cursor, q);
      }
    }
    const buffered = await this.stream.bufferedFor(msisdn, { after: cursor, from: q.from, to: q.to, match: q.match });
    const all = archived.decisions.concat(buffered.decisions).sort((a, b) => a.time - b.time);
    const over = all.length > limit;
    return { decisions: over ? all.slice(all.length - limit) : all, truncated: over || archived.truncated || buffered.truncated };
  }

  private async fromFiles(msisdn: string, shard: number, cursor: string | null, q: DecisionQuery): Promise<{ decisions: DecisionRecord[]; truncated: boolean }> {
    const days = listDays(this.dir!).filter((d) => (q.from === undefined || d >= dayOf(q.from)) && (q.to === undefined || d <= dayOf(q.to)));
    const files = readableFiles(this.dir!, days, shard, this.stream.opts.shards, cursor);
    if (files.length === 0) return { decisions: [], truncated: false };
    const where = [`recipient = ${BigInt(msisdn)}`];
    if (q.from !== undefined) where.push(`time >= epoch_ms(${Math.trunc(q.from)})`);
    if (q.to !== undefined) where.push(`time <= epoch_ms(${Math.trunc(q.to)})`);
    const rows = await this.duck.rows(
      // Every column, by name across files: a file written before a column existed (the schema grows
      // at its end, docs/evidence.md) reads it as NULL instead of failing the query.
      `SELECT epoch_ms(time) AS t, * EXCLUDE (time)
       FROM read_parquet(${sqlList(files.map((f) => f.path))}, union_by_name = true)
       WHERE ${where.join(' AND ')} ORDER BY time DESC LIMIT ${MAX_ROWS + 1}`,
    );
    const truncated = rows.length > MAX_ROWS;
    const out: DecisionRecord[] = [];
    for (const r of rows.slice(0, MAX_ROWS)) {
      const d: DecisionRecord = {
        id: '',
        time: Number(r.t),
        instance: (r.instance as string | null) ?? '',
        account: (r.account as string | null) ?? '',
        decision: (r.action as string | null) ?? '',
        reason: (r.reason as string | null) ?? '',
        rule: (r.rule as string | null) ?? '',
        status: Number(r.status ?? 0),
        class: (r.class as string | null) ?? null,
        src: (r.sender as string | null) ?? '',
        dst: msisdn,
        score: (r.score_detail as string | null | undefined) ?? null,
        msgId: (r.msg_id as string | null | undefined) ?? '',
        smscId: (r.smsc_id as string | null | undefined) ?? null,
        fingerprint: (r.fingerprint as string | null | undefined) ?? null,
      };
      if (q.match && !q.match(d)) continue;
      out.push(d);
    }
    return { decisions: out.reverse(), truncated };
  }

  close(): void {
    this.duck.close();
  }
}
