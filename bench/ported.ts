/**
 * Number portability table benchmark (docs/routing.md#number-portability):
 * `node dist/bench/ported.js [--rows 2000000] [--range 100000000] [--prefix bench:ported:]
 * [--redis redis://127.0.0.1:6379] [--seed 1] [--gzip] [--replace] [--keep]`.
 *
 * Generates a CSV of `--rows` ported numbers (`msisdn,network`, a header line, four network tags)
 * spread evenly over `--range` numbers from 8613800000000 (default 2 M over 10^8: 2 % of the
 * range ported, ~80 numbers in each 4096-number hash), imports it through importFile (as
 * `smppguard import ported` does) into Redis under `--prefix`, optionally again with --replace,
 * and prints the rows/s and the Redis memory per entry: MEMORY USAGE summed over every hash of the
 * table (exact for this table whatever else the server holds), the used_memory difference (noisy on
 * a shared server), and the hashes' encodings. Removes its keys at the end unless --keep.
 */
import { rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { importFile } from '../src/import/import-file.js';
import type { ImportSummary } from '../src/import/summary.js';
import { mix, NUMBERING, writeLines } from './policy-data.js';

const BASE = 8613800000000;
const TAGS = ['cmcc', 'cu', 'ct', 'cbn'];

/** The ported number of block b (one per block of range/rows numbers, at a hashed offset). */
export function portedNumber(seed: number, block: number, blockSize: number): number {
  return BASE + block * blockSize + (mix(seed, block) % blockSize);
}

function usedMemory(info: string): number {
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

async function scanPrefix(redis: Redis, match: string, each: (keys: string[]) => Promise<void> | void): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 10_000);
    cursor = next;
    if (keys.length) await each(keys);
  } while (cursor !== '0');
}

const line = (s: ImportSummary, what: string) =>
  `| ${what} | ${s.imported.toLocaleString('en')} | ${s.seconds.toFixed(2)} | ${s.rowsPerSec.toLocaleString('en')} | ${s.duplicates ?? '–'} | ${s.replace ? `gen ${s.previousGeneration} → ${s.generation}, ${s.removedKeys} keys removed in ${(s.cleanupSeconds ?? 0).toFixed(2)} s` : ''} |`;

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      rows: { type: 'string', default: '2000000' },
      range: { type: 'string', default: '100000000' },
      prefix: { type: 'string', default: 'bench:ported:' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
      seed: { type: 'string', default: '1' },
      gzip: { type: 'boolean', default: false },
      replace: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const rows = Number(a.rows);
  const range = Number(a.range);
  const seed = Number(a.seed);
  const prefix = a.prefix!;
  if (!(rows > 0 && range >= rows)) throw new Error('--rows must be > 0 and --range at least --rows');
  const blockSize = Math.floor(range / rows);
  const file = join(os.tmpdir(), `sg-ported-bench-${process.pid}.csv${a.gzip ? '.gz' : ''}`);
  await writeLines(file, rows + 1, (i) => (i === 0 ? 'msisdn,network' : `${portedNumber(seed, i - 1, blockSize)},${TAGS[mix(seed + 1, i) % TAGS.length]}`), a.gzip);

  const redis = new Redis(a.redis!, { commandTimeout: 60_000, maxRetriesPerRequest: 1 });
  const glob = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  await scanPrefix(redis, glob, async (ks) => void (await redis.unlink(...ks)));
  const before = usedMemory(await redis.info('memory'));
  const out: string[] = [];
  const o = { redis, prefix, numbering: NUMBERING, graceMs: 0 };
  const first = await importFile('ported', file, o);
  const after = usedMemory(await redis.info('memory'));

  let hashes = 0;
  let bytes = 0;
  const encodings = new Map<string, number>();
  await scanPrefix(redis, `${prefix.replace(/[*?[\]\\]/g, '\\$&')}ported:{r:*`, async (ks) => {
    const p = redis.pipeline();
    for (const k of ks) p.memory('USAGE', k, 'SAMPLES', '0').object('ENCODING', k);
    const res = (await p.exec()) ?? [];
    for (let i = 0; i < res.length; i += 2) {
      hashes++;
      bytes += Number(res[i]![1]);
      const enc = String(res[i + 1]![1]);
      encodings.set(enc, (encodings.get(enc) ?? 0) + 1);
    }
  });
  let listpack = '?';
  try {
    listpack = ((await redis.config('GET', 'hash-max-listpack-entries')) as string[])[1] ?? '?';
  } catch {
    // CONFIG may be disabled.
  }

  out.push('| import | rows | seconds | rows/s | already present | note |', '|---|---:|---:|---:|---:|---|');
  out.push(line(first, `ported (add, CSV${a.gzip ? ' gzip' : ''})`));
  if (a.replace) out.push(line(await importFile('ported', file, { ...o, replace: true }), 'ported (replace: new generation + switch)'));
  out.push('', '| ported memory | value |', '|---|---:|');
  out.push(`| entries / range | ${first.imported.toLocaleString('en')} over ${range.toLocaleString('en')} numbers (${((100 * first.imported) / range).toFixed(2)} %) |`);
  out.push(`| hashes (4096 numbers each) | ${hashes.toLocaleString('en')}, ${(first.imported / hashes).toFixed(0)} entries on average |`);
  out.push(`| MEMORY USAGE, every hash | ${(bytes / 2 ** 20).toFixed(1)} MiB = **${(bytes / first.imported).toFixed(2)} bytes/entry** |`);
  out.push(`| used_memory after − before (shared server: noisy) | ${((after - before) / 2 ** 20).toFixed(1)} MiB = ${((after - before) / first.imported).toFixed(2)} bytes/entry |`);
  out.push(`| encodings | ${[...encodings].map(([e, k]) => `${e} ${k}`).join(', ')} (hash-max-listpack-entries ${listpack}) |`);
  process.stdout.write(`${out.join('\n')}\n`);

  if (!a.keep) await scanPrefix(redis, glob, async (ks) => void (await redis.unlink(...ks)));
  rmSync(file, { force: true });
  redis.disconnect();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`ported bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
