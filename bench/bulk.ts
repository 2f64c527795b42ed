/**
 * Bulk-path benchmark: consent import (CSV with its journal, through importFile) in rows/s, with
 * the importer's CPU and Redis's CPU (INFO cpu) per row. With `--other DIR` (another checkout,
 * built), every round runs that build's importer and this one's on the same file, the other first
 * in odd rounds and second in even ones, so two versions are compared in one sitting.
 *
 *   npm run build && node dist/bench/bulk.js [--consent 300000] [--rounds 3] [--other ../before] [--redis URL]
 *
 * Each run imports into a fresh key prefix (removed after the run) on `--redis` (default
 * redis://127.0.0.1:6379; a private redis-server keeps other users' commands out of Redis's CPU per
 * row). The file is bench/policy-data.ts's consent layout (consentRecord), generated once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import type { ImportOptions } from '../src/import/import-file.js';
import type { ImportSummary } from '../src/import/summary.js';
import { NUMBERING, consentRecord, writeLines, type Layout } from './policy-data.js';
import { ROOT, cleanRedis, median, numberFlag, parseRedisCpu } from './procs.js';

type ImportFn = (kind: 'consent', file: string, o: ImportOptions) => Promise<ImportSummary>;

/** Redis CPU seconds (INFO cpu); 0 when the reply has none. */
const redisCpu = (info: string): number => parseRedisCpu(info) ?? 0;

interface Run {
  build: string;
  rowsPerSec: number;
  /** µs of CPU per row: this process (the importer) and Redis. */
  clientUs: number;
  redisUs: number;
}

async function runOnce(build: string, importFile: ImportFn, file: string, rows: number, redis: Redis, url: string, tag: string): Promise<Run> {
  const prefix = `bench:bulk:${process.pid}:${tag}:`;
  try {
    const r0 = redisCpu(await redis.info('cpu'));
    const c0 = process.cpuUsage();
    let bad = 0;
    const s = await importFile('consent', file, { redis, prefix, numbering: NUMBERING, who: 'bench', onBadLine: () => void bad++ });
    const c = process.cpuUsage(c0);
    const r1 = redisCpu(await redis.info('cpu'));
    if (bad || s.read !== rows) throw new Error(`${build}: ${bad} bad lines, ${s.read} of ${rows} rows read`);
    return { build, rowsPerSec: s.rowsPerSec, clientUs: (c.user + c.system) / rows, redisUs: ((r1 - r0) * 1e6) / rows };
  } finally {
    await cleanRedis(`${prefix}*`, url);
  }
}

async function main(argv: string[]): Promise<void> {
  const rows = numberFlag(argv, '--consent', 300_000);
  const rounds = numberFlag(argv, '--rounds', 3);
  const ri = argv.indexOf('--redis');
  const url = ri >= 0 ? argv[ri + 1]! : 'redis://127.0.0.1:6379';
  const oi = argv.indexOf('--other');
  const other = oi >= 0 ? resolve(argv[oi + 1]!) : null;
  const builds: [string, ImportFn][] = [];
  if (other) builds.push([`other (${other})`, (await import(pathToFileURL(join(other, 'dist/src/import/import-file.js')).href)).importFile as ImportFn]);
  builds.push(['this build', (await import(pathToFileURL(join(ROOT, 'dist/src/import/import-file.js')).href)).importFile as ImportFn]);

  const dir = mkdtempSync(join(os.tmpdir(), 'sg-bench-bulk-'));
  const file = join(dir, `consent-${rows}.csv`);
  const l: Layout = { seed: 1, dnd: 10_000_000, consent: rows, senders: 10_000 };
  await writeLines(file, rows, (j) => {
    const c = consentRecord(l, j);
    return `${c.msisdn},${c.scope},${c.state},web,bench:${j}`;
  });
  const redis = new Redis(url, { commandTimeout: 60_000, maxRetriesPerRequest: 1 });
  const runs: Run[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      // The two builds swap places every other round (as run.ts's roundOrder does): a drift within
      // a round then falls on both.
      for (const [name, fn] of round % 2 === 1 ? builds : [...builds].reverse()) {
        const r = await runOnce(name, fn, file, rows, redis, url, `${round}-${runs.length}`);
        runs.push(r);
        console.log(`round ${round} ${name}: ${r.rowsPerSec.toLocaleString('en-US')} rows/s, importer ${r.clientUs.toFixed(2)} µs/row, Redis ${r.redisUs.toFixed(2)} µs/row`);
      }
    }
  } finally {
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nconsent import, ${rows.toLocaleString('en-US')} rows, ${rounds} round(s), Redis ${url}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
  console.log('| build | rows/s (median) | per round | importer µs CPU/row | Redis µs CPU/row |');
  console.log('|---|---:|---|---:|---:|');
  for (const [name] of builds) {
    const rs = runs.filter((r) => r.build === name);
    console.log(
      `| ${name} | ${Math.round(median(rs.map((r) => r.rowsPerSec))).toLocaleString('en-US')} | ${rs.map((r) => r.rowsPerSec.toLocaleString('en-US')).join(', ')} | ` +
        `${median(rs.map((r) => r.clientUs)).toFixed(2)} | ${median(rs.map((r) => r.redisUs)).toFixed(2)} |`,
    );
  }
  process.exit(0);
}

if (process.argv[1]?.endsWith('bulk.js')) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  });
}
