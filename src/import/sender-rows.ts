/**
 * Sender rows: the admin API's sender objects as JSON (SenderInputSchema), or CSV
 * `kind,value,account,class,status,valid_from,valid_until,signatures` (header optional, signatures
 * separated by `|`) → a SenderRecord, checked as the admin API checks it: the schema, the value
 * canonical for its kind (numbers normalised), senderProblems, and a configured account when
 * accounts are given.
 */
import type { Numbering } from '../domain/address.js';
import { SenderInputSchema, senderId, senderProblems, type SenderRecord } from '../domain/sender.js';
import { clip, Columns, senderValueOf, type Checked, type RowValidator } from './fields.js';

export class SenderRows implements RowValidator<SenderRecord> {
  private readonly cols = new Columns(['kind', 'value', 'account', 'class', 'status', 'valid_from', 'valid_until', 'signatures']);
  private header_ = false;

  constructor(
    private readonly numbering: Numbering,
    /** Configured account names; null: not checked. */
    private readonly accounts: ReadonlySet<string> | null,
    /** Recorded as updated_by. */
    private readonly who: string,
  ) {}

  header(f: string[]): boolean {
    if ((f[0] ?? '').toLowerCase() !== 'kind') return false;
    this.header_ = this.cols.useHeader(
      f.map((h) => h.toLowerCase()),
      ['kind', 'value', 'account'],
    );
    return this.header_;
  }

  csv(f: string[]): Checked<SenderRecord> {
    if (f.length < 3 || (!this.header_ && f.length > 8)) return { bad: `expected kind,value,account,class,status,valid_from,valid_until,signatures, got ${f.length} fields` };
    const o: Record<string, unknown> = {};
    for (const n of this.cols.names) {
      const v = this.cols.get(f, n);
      if (v === undefined || v === '') continue;
      o[n] = n === 'signatures' ? v.split('|').map((s) => s.trim()).filter(Boolean) : v;
    }
    return this.json(o);
  }

  json(o: Record<string, unknown>): Checked<SenderRecord> {
    const r = SenderInputSchema.safeParse(o);
    if (!r.success) return { bad: r.error.issues.map((i) => `${i.path.join('.') || 'record'}: ${i.message}`).join('; ') };
    const value = senderValueOf(r.data.kind, r.data.value, this.numbering);
    if ('bad' in value) return value;
    const rec: SenderRecord = { ...r.data, value: value.ok, id: senderId(r.data.kind, value.ok), updated_at: new Date().toISOString(), updated_by: this.who };
    const problems = senderProblems(rec);
    if (problems.length) return { bad: problems.join('; ') };
    if (this.accounts && !this.accounts.has(rec.account)) return { bad: `no account ${clip(rec.account)} is configured (accounts[].system_id)` };
    return { ok: rec };
  }
}
