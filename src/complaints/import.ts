/**
 * Complaint files in bulk (`smppguard import complaints FILE`): the daily 12321 referral export,
 * a 7726 report feed, a care-centre dump. Each row goes through the same checks (complaintFacts)
 * and the same desk as the API, one at a time: files are small, and every row may resolve a
 * message id, count toward a sender and suspend it, in order.
 *
 *   CSV   header line required, columns in any order: recipient, sender, message_id, text, time,
 *         received_at, source, reference, note (unknown columns are an error; empty cells = absent)
 *   JSONL one object per line with the API's fields (POST /api/v1/complaints)
 *
 * Gzip is recognised by its magic bytes. Blank lines and # comments are skipped. Files are read
 * and decoded by src/import/ (input.ts, records.ts: CSV by csv-parse, so a quoted text may hold
 * commas and line breaks).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Numbering } from '../domain/address.js';
import { decompress } from '../import/input.js';
import { readRecords } from '../import/records.js';
import type { Actor } from '../store/policy-admin.js';
import { complaintFacts } from './cases.js';
import type { ComplaintDesk } from './desk.js';

export const COMPLAINT_COLUMNS = ['recipient', 'sender', 'message_id', 'text', 'time', 'received_at', 'source', 'reference', 'note'] as const;

export interface ComplaintImportSummary {
  read: number;
  imported: number;
  skipped: number;
  /** Cases whose message id or sender resolved to an account. */
  resolved: number;
  /** Senders suspended (enforce) or that would have been (monitor). */
  suspended: string[];
  wouldSuspend: string[];
  caseIds: string[];
}

export interface ComplaintImportOptions {
  desk: ComplaintDesk | null;
  numbering: Numbering;
  actor: Actor;
  /** Validate only (no desk needed). */
  dryRun?: boolean;
  format?: 'csv' | 'jsonl';
  onBadLine?: (line: number, reason: string) => void;
  now?: () => number;
}

export async function importComplaints(src: string | Readable, o: ComplaintImportOptions): Promise<ComplaintImportSummary> {
  const s: ComplaintImportSummary = { read: 0, imported: 0, skipped: 0, resolved: 0, suspended: [], wouldSuspend: [], caseIds: [] };
  const bad = (line: number, reason: string) => {
    s.skipped++;
    o.onBadLine?.(line, reason);
  };
  const name = typeof src === 'string' ? src : '';
  const format = o.format ?? (/\.(jsonl|ndjson|json)(\.gz)?$/i.test(name) ? 'jsonl' : /\.(csv|txt)(\.gz)?$/i.test(name) ? 'csv' : 'sniff');
  let header: string[] | null = null;
  const { chunks } = await decompress(typeof src === 'string' ? createReadStream(src) : src);
  for await (const rec of readRecords(chunks, { format })) {
    const n = rec.line;
    let row: Record<string, string>;
    if ('bad' in rec) {
      bad(n, rec.bad);
      continue;
    }
    if ('fields' in rec) {
      const fields = rec.fields;
      if (!header) {
        const unknown = fields.filter((f) => !(COMPLAINT_COLUMNS as readonly string[]).includes(f));
        if (unknown.length) throw new Error(`line ${n}: the first line must be a header naming columns of ${COMPLAINT_COLUMNS.join(', ')}; unknown: ${unknown.join(', ')}`);
        header = fields;
        continue;
      }
      row = {};
      header.forEach((h, i) => {
        if (fields[i]) row[h] = fields[i]!;
      });
    } else if ('invalid' in rec) {
      bad(n, `not a JSON object: ${rec.invalid}`);
      continue;
    } else if ('notObject' in rec) {
      bad(n, 'not a JSON object: not an object');
      continue;
    } else {
      row = rec.object as Record<string, string>;
    }
    s.read++;
    const f = complaintFacts(row, o.numbering, (o.now ?? Date.now)());
    if ('problem' in f) {
      bad(n, `${f.problem.field}: ${f.problem.message}`);
      continue;
    }
    if (o.dryRun || !o.desk) {
      s.imported++;
      continue;
    }
    const r = await o.desk.intake(f.ok, o.actor);
    s.imported++;
    s.caseIds.push(r.case.id);
    if (r.case.account) s.resolved++;
    if (r.suspension === 'suspend' && r.case.sender) s.suspended.push(r.case.sender);
    if (r.suspension === 'would_suspend' && r.case.sender) s.wouldSuspend.push(r.case.sender);
  }
  return s;
}
