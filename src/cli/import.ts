/**
 * `smppguard import dnd|consent|senders|ported FILE`: bulk-loads policy data and the number
 * portability table through import/import-file.ts.
 * Redis and numbering come from the gateway config; a progress bar shows on a terminal; bad lines go
 * to stderr as FILE:LINE: reason (the first --show-errors of them) and are skipped; one summary line
 * ends the run on stdout. Exit 0 when rows were imported (or, dry run, validated) and nothing fatal
 * happened; 1 on a fatal error (missing file, Redis down, …) or when no row was usable.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { redactUrl } from '../telemetry/redact.js';
import cliProgress from 'cli-progress';
import { readConfig, oneShotRedis } from './one-shot.js';
import type { Redis } from '../store/redis.js';
import { runComplaintImport } from './import-complaints.js';
import { runReputationImport } from './import-reputation.js';
import { importFile } from '../import/import-file.js';
import { GENERATION_KINDS, ImportError, IMPORT_KINDS, type ImportFormat, type ImportKind } from '../import/kinds.js';
import { formatSummary, type ImportSummary } from '../import/summary.js';

interface ImportFlags {
  config: string;
  format?: ImportFormat;
  replace?: boolean;
  category: number;
  dryRun?: boolean;
  who: string;
  graceMs: number;
  showErrors: number;
  progress: boolean;
  set?: string;
  kind?: string;
  add?: boolean;
  expiresDays?: number;
}

function parseCategory(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 7) throw new InvalidArgumentError('expected a category 1–7 (0 = all commercial)');
  return n;
}

function parseCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number >= 0');
  return n;
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('bulk-load policy data — DND register, consent records, sender registry —, the number portability table, or complaint files, from CSV or JSON lines (gzip too)')
    .addArgument(program.createArgument('<kind>', 'what the file holds').choices([...IMPORT_KINDS, 'complaints', 'reputation']))
    .argument('<file>', 'the file (.csv, .txt, .jsonl, optionally .gz); "-" reads stdin')
    .option('-c, --config <file>', 'gateway configuration (redis url and key prefix, policy.numbering)', 'config/gateway.yaml')
    .addOption(new Option('--format <format>', 'file format (default: from the extension, else sniffed)').choices(['csv', 'jsonl']))
    .option('--replace', 'dnd, ported: load the file as a new generation and switch to it atomically; numbers absent from the file are dropped')
    .option('--category <n>', 'dnd: category of rows that give none (1–7; 0 = all commercial messages)', parseCategory, 0)
    .option('--dry-run', 'parse and validate only; write nothing')
    .option('--who <name>', 'actor recorded in the journal', 'import')
    .option('--grace-ms <ms>', 'replace: wait this long after switching before deleting the old generation (gateways re-read the generation every 5 s even if they miss the event)', parseCount, 15_000)
    .option('--show-errors <n>', 'print at most this many bad lines (all are counted)', parseCount, 100)
    .option('--no-progress', 'no progress bar even on a terminal')
    .option('--set <name>', 'reputation: the set to load (rules name it in content: {numbers_in/domains_in})')
    .addOption(new Option('--kind <kind>', 'reputation: what the set holds').choices(['number', 'domain']))
    .option('--add', 'reputation: add to the set instead of replacing it')
    .option('--expires-days <n>', 'reputation: the entries count this many days (default: until replaced)', parseCount)
    .addHelpText(
      'after',
      `
Formats (a header line is optional and detected; with one, columns may come in any order):
  dnd      CSV  msisdn[,category]          JSONL {"msisdn":"8613812345678","category":3}
  consent  CSV  msisdn,scope,state,channel,evidence[,expires_at]   JSONL same keys
           (state granted|revoked; a grant needs evidence; scope sender:<kind>:<value> | brand:<name> |
           account:<id>; expires_at ISO 8601 or epoch ms, grants only)
  senders  JSONL the admin API's sender objects     CSV kind,value,account,class,status,valid_from,
           valid_until,signatures (signatures separated by |)
  reputation  one number or domain a line (or the first CSV column, or JSONL {"value": …}); with
           --set <name> --kind number|domain; numbers as digits (+ and 00 dropped), domains as hosts
  ported   CSV  msisdn,network              JSONL {"msisdn":"8613812345678","network":"cu"}
           (network: the tag MT routes match with ported_to, 1–32 letters, digits, _ . -)
  complaints  CSV with a header: recipient,sender,message_id,text,time,received_at,source,reference,note
           JSONL the admin API's complaint objects (POST /api/v1/complaints); source 12321|7726|customer_care
Numbers are normalised with policy.numbering (+86…, 0086…, 0…, national). Re-running a policy data
file is harmless; re-running a complaints file opens its cases again.

Examples:
  $ smppguard import dnd national-dnd.csv.gz --replace -c config/gateway.yaml
  $ smppguard import consent consents.jsonl --dry-run
  $ smppguard import reputation fraud-numbers.txt --set fraud-numbers --kind number
`,
    )
    .action(async (kind: ImportKind | 'complaints' | 'reputation', file: string, o: ImportFlags) => {
      if (kind === 'reputation') {
        process.exitCode = await runReputationImport(file, { config: o.config, set: o.set, kind: o.kind, add: o.add, expiresDays: o.expiresDays, dryRun: o.dryRun, showErrors: o.showErrors });
        return;
      }
      if (kind === 'complaints') {
        if (o.replace || o.category) {
          process.stderr.write('smppguard import: fatal: --replace applies to dnd and ported imports, --category to dnd imports only\n');
          process.exitCode = 1;
          return;
        }
        process.exitCode = await runComplaintImport(file, { config: o.config, format: o.format, dryRun: o.dryRun, who: o.who, showErrors: o.showErrors });
        return;
      }
      process.exitCode = await runImport(kind, file, o);
    });
}

async function runImport(kind: ImportKind, file: string, o: ImportFlags): Promise<number> {
  const fatal = (msg: string) => {
    process.stderr.write(`smppguard import: fatal: ${msg}\n`);
    return 1;
  };
  if (o.replace && !GENERATION_KINDS.includes(kind)) return fatal('--replace applies to dnd and ported imports only');
  if (o.category && kind !== 'dnd') return fatal('--category applies to dnd imports only');
  const read = readConfig(o.config);
  if ('error' in read) return fatal(read.error);
  const { cfg } = read;

  let redis: Redis | null = null;
  if (!o.dryRun) {
    // Pipelines of thousands of commands: a longer timeout than the gateway's per-message one.
    redis = await oneShotRedis(cfg, 30_000);
    if (!redis) return fatal(`Redis at ${redactUrl(cfg.redis.url)} is not reachable; nothing imported`);
  }

  const label = file === '-' ? '<stdin>' : file;
  const tty = o.progress && process.stderr.isTTY === true;
  let multi: cliProgress.MultiBar | null = null;
  let bar: cliProgress.SingleBar | null = null;
  const say = (line: string) => {
    if (multi) multi.log(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  };
  let badShown = 0;
  let badTotal = 0;
  const abort = new AbortController();
  let interrupted = 0;
  const onSigint = () => {
    if (++interrupted > 1) process.exit(130);
    say('interrupted: stopping (again to quit at once)');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  let summary: ImportSummary | null = null;
  let error: string | null = null;
  let readBeforeError = 0;
  try {
    summary = await importFile(kind, file === '-' ? process.stdin : file, {
      redis: redis ?? undefined,
      prefix: cfg.redis.key_prefix,
      numbering: cfg.policy.numbering,
      journalRetentionMs: cfg.policy.journal_retention_days * 86_400_000,
      // As the admin API: senders and account scopes must name configured accounts (if any are).
      accounts: cfg.accounts.length ? cfg.accounts.map((a) => a.system_id) : undefined,
      format: o.format,
      replace: o.replace ?? false,
      category: o.category,
      dryRun: o.dryRun ?? false,
      who: o.who,
      name: label,
      graceMs: o.graceMs,
      signal: abort.signal,
      onBadLine: (line, reason) => {
        badTotal++;
        if (badShown < o.showErrors) {
          badShown++;
          say(`${label}:${line}: ${reason}`);
        }
      },
      onProgress: tty
        ? (p) => {
            const rate = p.seconds > 0 ? Math.round(p.rows / p.seconds) : 0;
            if (!multi) {
              multi = new cliProgress.MultiBar(
                {
                  stream: process.stderr,
                  format: p.totalBytes
                    ? `${kind} {bar} {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_formatted}`
                    : `${kind} {rows} rows | {rate} rows/s | {mb} MB read`,
                  hideCursor: true,
                  clearOnComplete: true,
                  etaBuffer: 50,
                },
                cliProgress.Presets.shades_classic,
              );
              bar = multi.create(p.totalBytes ?? 1, 0, { rows: 0, rate: 0, mb: '0' });
            }
            bar!.update(p.totalBytes ? Math.min(p.bytes, p.totalBytes) : 0, { rows: p.rows.toLocaleString('en'), rate: rate.toLocaleString('en'), mb: (p.bytes / 1e6).toFixed(1) });
          }
        : undefined,
    });
  } catch (err) {
    error = err instanceof ImportError ? err.message : `${(err as Error).message}`;
    readBeforeError = err instanceof ImportError ? err.read : 0;
  } finally {
    (multi as cliProgress.MultiBar | null)?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    redis?.disconnect();
  }

  if (badTotal > badShown) process.stderr.write(`${label}: ${badTotal - badShown} more bad lines not shown (--show-errors)\n`);
  if (error !== null) {
    let tail: string;
    if (o.replace) tail = `; the ${kind === 'ported' ? 'ported-number' : 'DND'} generation in use is unchanged`;
    else if (o.dryRun || readBeforeError === 0) tail = '; nothing imported';
    else tail = `; rows before the error (${readBeforeError} read) may be written — re-running the file is safe`;
    return fatal(`${error}${tail}`);
  }
  const s = summary!;
  for (const w of s.warnings) process.stderr.write(`smppguard import: warning: ${w}\n`);
  process.stdout.write(`${formatSummary(s)}\n`);
  if (s.valid === 0) {
    process.stderr.write(`smppguard import: no usable rows in ${label}; exit 1\n`);
    return 1;
  }
  return 0;
}
