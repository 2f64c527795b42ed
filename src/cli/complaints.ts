/**
 * `smppguard complaints [--state S] [--overdue] [--account A] [--sender ID] [--msisdn N] [--from T]
 * [--to T] [--count N] [--tz ZONE] [--json]`: complaint cases, newest first, read from Redis with the
 * gateway's config (store/complaint-store.ts) — the same list as GET /api/v1/complaints. A readable
 * table by default (complaints/table.ts; times in --tz, default UTC), `--json` for the API's shape (ISO UTC).
 */
import type { Command } from 'commander';
import { caseView } from '../complaints/cases.js';
import { complaintsTable } from '../complaints/table.js';
import { CASE_STATES, type CaseState } from '../domain/complaint.js';
import { isValidZone } from '../domain/time.js';
import { normaliseMsisdn } from '../policy/address.js';
import { ComplaintStore } from '../store/complaint-store.js';
import { redactUrl } from '../telemetry/redact.js';
import { oneShotRedis, readConfig } from './one-shot.js';

interface ComplaintsFlags {
  config: string;
  state?: string;
  overdue?: boolean;
  account?: string;
  sender?: string;
  msisdn?: string;
  from?: string;
  to?: string;
  count: string;
  tz: string;
  json?: boolean;
}

export function registerComplaints(program: Command): void {
  program
    .command('complaints')
    .description('complaint cases, newest first (the list of GET /api/v1/complaints), as a table or JSON')
    .option('-c, --config <file>', 'gateway configuration (redis, numbering)', 'config/gateway.yaml')
    .option('--state <state>', `only cases in this state: ${CASE_STATES.join(', ')}`)
    .option('--overdue', 'only cases past a deadline (forward or handle)')
    .option('--account <system_id>', 'only cases resolved to this account')
    .option('--sender <id>', 'only cases about this sender (a sender id, e.g. number:8610690001)')
    .option('--msisdn <number>', 'only cases raised by this recipient')
    .option('--from <time>', 'received at or after (ISO 8601, e.g. 2026-11-01)')
    .option('--to <time>', 'received at or before (ISO 8601)')
    .option('--count <n>', 'at most this many cases', '100')
    .option('--tz <zone>', "show the table's times in this IANA zone, e.g. Asia/Shanghai (--json stays UTC)", 'UTC')
    .option('--json', "print JSON (the API's shape) instead of a table")
    .addHelpText(
      'after',
      `
Example:
  $ smppguard complaints --state open --overdue --tz Asia/Shanghai -c config/gateway.yaml
`,
    )
    .action(async (o: ComplaintsFlags) => {
      process.exitCode = await runComplaints(o);
    });
}

async function runComplaints(o: ComplaintsFlags): Promise<number> {
  const usage = (msg: string) => {
    process.stderr.write(`smppguard complaints: ${msg}\n`);
    return 2;
  };
  if (!isValidZone(o.tz)) return usage(`--tz "${o.tz}" is not an IANA time zone (e.g. Asia/Shanghai, UTC)`);
  if (o.state !== undefined && !(CASE_STATES as readonly string[]).includes(o.state)) return usage(`--state is one of ${CASE_STATES.join(', ')}, got "${o.state}"`);
  const time = (flag: string, v: string | undefined): number | undefined | string => {
    if (v === undefined) return undefined;
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : `${flag} "${v}" is not a time (ISO 8601)`;
  };
  const from = time('--from', o.from);
  const to = time('--to', o.to);
  if (typeof from === 'string') return usage(from);
  if (typeof to === 'string') return usage(to);
  const count = Number(o.count);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) return usage('--count must be a whole number from 1 to 100000');

  const fail = (msg: string) => {
    process.stderr.write(`smppguard complaints: ${msg}\n`);
    return 1;
  };
  const read = readConfig(o.config);
  if ('error' in read) return fail(read.error);
  const { cfg } = read;
  let recipient: string | undefined;
  if (o.msisdn !== undefined) {
    const n = normaliseMsisdn(o.msisdn, cfg.policy.numbering);
    if (!n || n.length > 15) return usage(`--msisdn "${o.msisdn}" is not a phone number`);
    recipient = n;
  }
  const redis = await oneShotRedis(cfg, 10_000);
  if (!redis) return fail(`Redis at ${redactUrl(cfg.redis.url)} is not reachable`);
  try {
    const now = Date.now();
    const cases = await new ComplaintStore(redis, cfg.redis.key_prefix).list({
      state: o.state as CaseState | undefined,
      overdue: o.overdue,
      account: o.account,
      sender: o.sender,
      recipient,
      from,
      to,
      count,
      now,
    });
    const views = cases.map((c) => caseView(c, now));
    process.stdout.write(o.json ? `${JSON.stringify({ count: views.length, cases: views }, null, 2)}\n` : complaintsTable(views, o.tz));
    return 0;
  } catch (err) {
    return fail((err as Error).message);
  } finally {
    redis.disconnect();
  }
}
