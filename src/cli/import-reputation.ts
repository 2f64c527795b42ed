/**
 * `smppguard import reputation FILE --set NAME --kind number|domain`: a reputation feed (号码库) into
 * Redis (store/intel-store.ts): replaces the set (or, --add, extends it), refusing more than
 * intel.max_reputation_entries; every running gateway reloads the set through pub/sub. Bad lines go
 * to stderr as FILE:LINE: reason; one summary line on stdout. Exit 0 when entries were imported.
 */
import { readConfig, oneShotRedis } from './one-shot.js';
import { redactUrl } from '../telemetry/redact.js';
import { REPUTATION_KINDS, type ReputationKind } from '../domain/intel.js';
import { readReputationFile } from '../import/reputation-rows.js';
import { IntelStore } from '../store/intel-store.js';

export interface ReputationImportFlags {
  config: string;
  set?: string;
  kind?: string;
  add?: boolean;
  expiresDays?: number;
  dryRun?: boolean;
  showErrors: number;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export async function runReputationImport(file: string, o: ReputationImportFlags): Promise<number> {
  const fatal = (msg: string) => {
    process.stderr.write(`smppguard import: fatal: ${msg}\n`);
    return 1;
  };
  if (!o.set || !NAME.test(o.set)) return fatal('reputation: --set <name> is required (letters, digits, _ . -; at most 64)');
  if (!o.kind || !(REPUTATION_KINDS as readonly string[]).includes(o.kind)) return fatal('reputation: --kind number|domain is required');
  const kind = o.kind as ReputationKind;
  const read = readConfig(o.config);
  if ('error' in read) return fatal(read.error);
  const { cfg } = read;
  const label = file === '-' ? '<stdin>' : file;
  let shown = 0;
  let rows;
  try {
    rows = await readReputationFile(kind, file === '-' ? process.stdin : file, (line, reason) => {
      if (shown++ < o.showErrors) process.stderr.write(`${label}:${line}: ${reason}\n`);
    });
  } catch (err) {
    return fatal(`${(err as Error).message}; nothing imported`);
  }
  if (rows.entries.length === 0) return fatal(`no usable ${kind} entries in ${label} (${rows.bad} bad lines); nothing imported`);
  if (o.dryRun) {
    process.stdout.write(`reputation ${kind}:${o.set}: ${rows.entries.length} entries valid, ${rows.bad} bad lines (dry run: nothing written)\n`);
    return 0;
  }
  const redis = await oneShotRedis(cfg, 30_000);
  if (!redis) return fatal(`Redis at ${redactUrl(cfg.redis.url)} is not reachable; nothing imported`);
  try {
    const store = new IntelStore(redis, cfg.redis.key_prefix, { maxEntries: cfg.intel.max_reputation_entries });
    const expires = o.expiresDays ? Date.now() + o.expiresDays * 86_400_000 : Infinity;
    const size = await store.importSet(kind, o.set, rows.entries, { add: o.add ?? false, expires });
    process.stdout.write(`reputation ${kind}:${o.set}: ${rows.entries.length} entries ${o.add ? 'added' : 'loaded'}, ${rows.bad} bad lines; the set holds ${size}\n`);
    return 0;
  } catch (err) {
    return fatal(`${(err as Error).message}; the set is unchanged`);
  } finally {
    redis.disconnect();
  }
}
