/**
 * `smppguard evidence MSISDN [--sender S] [--from T] [--to T] [--tz ZONE]`: the consent journal and the
 * gateway's decisions for one recipient (evidence/), read from Redis and the decision archive
 * (archive.dir) with the gateway's config; a readable table by default (times in --tz, default UTC),
 * `--json` for the same data as the API returns (ISO UTC).
 */
import type { Command } from 'commander';
import { redactUrl } from '../telemetry/redact.js';
import { readConfig, oneShotRedis } from './one-shot.js';
import { Archive } from '../archive/service.js';
import { collectEvidence } from '../evidence/collect.js';
import { evidenceTable } from '../evidence/table.js';
import { isValidZone } from '../domain/time.js';
import { normaliseMsisdn } from '../policy/address.js';
import { SenderRegistry } from '../policy/senders.js';
import { ComplaintStore } from '../store/complaint-store.js';
import { PolicyAdmin } from '../store/policy-admin.js';

interface EvidenceFlags {
  config: string;
  sender?: string;
  from?: string;
  to?: string;
  limit: string;
  tz: string;
  json?: boolean;
}

export function registerEvidence(program: Command): void {
  program
    .command('evidence')
    .description("a recipient's consent journal and the gateway's decisions for messages to it")
    .argument('<msisdn>', 'the recipient (any accepted number form: +86…, 0086…, 0…, national)')
    .option('-c, --config <file>', 'gateway configuration (redis, numbering, audit.stream.shards, archive.dir)', 'config/gateway.yaml')
    .option('--sender <sender>', 'only this sender: a sender id (number:8610690001) or an address as sent')
    .option('--from <time>', 'from this time (ISO 8601, e.g. 2026-11-01 or 2026-11-01T08:00:00+08:00)')
    .option('--to <time>', 'up to this time (ISO 8601)')
    .option('--limit <n>', 'at most this many decisions and journal entries (newest kept)', '1000')
    .option('--tz <zone>', 'show the table\'s times in this IANA zone, e.g. Asia/Shanghai (--json stays UTC)', 'UTC')
    .option('--json', 'print JSON (the API\'s shape) instead of a table')
    .addHelpText(
      'after',
      `
Example:
  $ smppguard evidence +8613800138000 --sender number:8610690001 --from 2026-11-01 --tz Asia/Shanghai -c config/gateway.yaml
`,
    )
    .action(async (msisdn: string, o: EvidenceFlags) => {
      if (!isValidZone(o.tz)) {
        process.stderr.write(`smppguard evidence: --tz "${o.tz}" is not an IANA time zone (e.g. Asia/Shanghai, UTC)\n`);
        process.exitCode = 2;
        return;
      }
      process.exitCode = await runEvidence(msisdn, o);
    });
}

async function runEvidence(raw: string, o: EvidenceFlags): Promise<number> {
  const fail = (msg: string) => {
    process.stderr.write(`smppguard evidence: ${msg}\n`);
    return 1;
  };
  const read = readConfig(o.config);
  if ('error' in read) return fail(read.error);
  const { cfg } = read;
  const msisdn = normaliseMsisdn(raw, cfg.policy.numbering);
  if (!msisdn || msisdn.length > 15) return fail(`"${raw}" is not a phone number`);
  const time = (what: string, v: string | undefined): number | undefined | null => {
    if (v === undefined) return undefined;
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  };
  const from = time('from', o.from);
  const to = time('to', o.to);
  if (from === null) return fail(`--from "${o.from}" is not a time (ISO 8601)`);
  if (to === null) return fail(`--to "${o.to}" is not a time (ISO 8601)`);
  const limit = Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1) return fail('--limit must be a whole number >= 1');

  const redis = await oneShotRedis(cfg, 10_000);
  if (!redis) return fail(`Redis at ${redactUrl(cfg.redis.url)} is not reachable`);
  try {
    const store = new PolicyAdmin(redis, cfg.redis.key_prefix, cfg.policy.journal_retention_days * 86_400_000);
    const senders = new SenderRegistry();
    for (const s of await store.allSenders()) senders.upsert(s);
    // The archive's files (archive.dir) and the Redis buffer's decisions not yet archived.
    const archive = cfg.audit.stream.enabled ? new Archive(cfg, redis, { runWriter: false }) : null;
    const e = await collectEvidence(
      { msisdn, sender: o.sender, from, to, limit },
      {
        store,
        senders,
        numbering: cfg.policy.numbering,
        cases: new ComplaintStore(redis, cfg.redis.key_prefix),
        audit: archive?.reader ?? null,
      },
    );
    await archive?.stop();
    process.stdout.write(o.json ? `${JSON.stringify(e, null, 2)}\n` : evidenceTable(e, o.tz));
    return 0;
  } catch (err) {
    return fail((err as Error).message);
  } finally {
    redis.disconnect();
  }
}
