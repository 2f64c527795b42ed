/**
 * `smppguard import complaints FILE`: complaint files through the same desk as the API
 * (complaints/import.ts). Needs Redis (case numbers, the message-id map, the sender registry) and
 * the gateway config (numbering, deadlines, auto_suspend). Bad lines go to stderr as FILE:LINE:
 * reason; one summary line on stdout; suspensions are listed. Exit 0 when rows were imported.
 */
import { readConfig, oneShotRedis } from './one-shot.js';
import { redactUrl } from '../telemetry/redact.js';
import { ComplaintDesk } from '../complaints/desk.js';
import { importComplaints } from '../complaints/import.js';
import { SenderRegistry } from '../policy/senders.js';
import { ComplaintStore } from '../store/complaint-store.js';
import { DlrMap } from '../store/dlr-map.js';
import { PolicyAdmin } from '../store/policy-admin.js';
import type { Redis } from '../store/redis.js';
import type { Config } from '../config/schema.js';
import type { ComplaintCase } from '../domain/complaint.js';
import { Feedback } from '../decision/feedback.js';
import { IntelStore } from '../store/intel-store.js';

function feedbackOf(redis: Redis, cfg: Config): (c: ComplaintCase) => Promise<unknown> {
  const ic = cfg.intel;
  const intel = new IntelStore(redis, cfg.redis.key_prefix, { maxMarks: ic.max_marks, maxEntries: ic.max_reputation_entries, memoryTtlS: ic.memory_retention_s });
  const fb = new Feedback(intel, { markTtlMs: ic.mark_ttl_s * 1000, learn: ic.learn });
  return (c) => fb.complaint(c);
}

export interface ComplaintImportFlags {
  config: string;
  format?: 'csv' | 'jsonl';
  dryRun?: boolean;
  who: string;
  showErrors: number;
}

export async function runComplaintImport(file: string, o: ComplaintImportFlags): Promise<number> {
  const fatal = (msg: string) => {
    process.stderr.write(`smppguard import: fatal: ${msg}\n`);
    return 1;
  };
  const read = readConfig(o.config);
  if ('error' in read) return fatal(read.error);
  const { cfg } = read;
  const label = file === '-' ? '<stdin>' : file;
  let redis: Redis | null = null;
  let desk: ComplaintDesk | null = null;
  if (!o.dryRun) {
    redis = await oneShotRedis(cfg, 10_000);
    if (!redis) return fatal(`Redis at ${redactUrl(cfg.redis.url)} is not reachable; nothing imported`);
    const store = new PolicyAdmin(redis, cfg.redis.key_prefix, cfg.policy.journal_retention_days * 86_400_000);
    const senders = new SenderRegistry();
    for (const s of await store.allSenders()) senders.upsert(s);
    desk = new ComplaintDesk({
      cfg,
      cases: new ComplaintStore(redis, cfg.redis.key_prefix),
      store,
      senders,
      messages: new DlrMap(redis, cfg.redis.key_prefix, cfg.receipts.map_ttl_s),
      // As at the API: each case marks its campaign fingerprint (every running gateway follows via pub/sub).
      feedback: cfg.intel.enabled ? feedbackOf(redis, cfg) : null,
    });
  }
  let shown = 0;
  let badTotal = 0;
  try {
    const s = await importComplaints(file === '-' ? process.stdin : file, {
      desk,
      numbering: cfg.policy.numbering,
      actor: { who: o.who, channel: 'import' },
      dryRun: o.dryRun,
      format: o.format,
      onBadLine: (line, reason) => {
        badTotal++;
        if (shown++ < o.showErrors) process.stderr.write(`${label}:${line}: ${reason}\n`);
      },
    });
    if (badTotal > o.showErrors) process.stderr.write(`${label}: ${badTotal - o.showErrors} more bad lines not shown (--show-errors)\n`);
    for (const id of s.suspended) process.stdout.write(`suspended sender ${id} (complaints.auto_suspend)\n`);
    for (const id of s.wouldSuspend) process.stdout.write(`would suspend sender ${id} (complaints.auto_suspend.mode: monitor)\n`);
    process.stdout.write(
      `complaints ${label}: ${s.read} read, ${s.imported} ${o.dryRun ? 'valid (dry run)' : 'imported'}, ${s.skipped} skipped` +
        (o.dryRun ? '' : `, ${s.resolved} resolved to an account${s.caseIds.length ? `, cases ${s.caseIds[0]}…${s.caseIds.at(-1)}` : ''}`) +
        '\n',
    );
    if (s.imported === 0) {
      process.stderr.write(`smppguard import: no usable rows in ${label}; exit 1\n`);
      return 1;
    }
    return 0;
  } catch (err) {
    return fatal(`${label}: ${(err as Error).message}`);
  } finally {
    redis?.disconnect();
  }
}
