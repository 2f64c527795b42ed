/**
 * Policy data benchmark: `node dist/bench/policy-data.js [--dnd 10000000] [--consent 1000000]
 * [--senders 10000] [--prefix bench:pd:] [--seed 1] [--keep] [--replace] [--gzip]`.
 *
 * Generates the files (deterministic for a seed), imports them through importFile into the real
 * Redis under `--prefix`, and prints a markdown table: rows/s per import and the Redis memory per
 * DND entry (used_memory before/after, and MEMORY USAGE sampled over bucket keys). With --keep the
 * data stays in Redis and a manifest (numbers with DND, consent, neither; the senders) is written
 * so a policy-on load test can target them; the DND/consent layout is also computable from the
 * exported functions below (isDnd, dndNumber, consentRecord).
 *
 * Numbers: 10^9 Chinese mobile numbers 86 13x xxxx xxxx (8613000000000 … 8613999999999) cut into
 * `--dnd` blocks of equal size; each block holds exactly one DND number at a hashed offset, so a
 * 10M list is 1 % dense, spread evenly, and membership is a formula.
 */
import { fmix32 } from '../src/domain/hash.js';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { Redis } from 'ioredis';
import { importFile } from '../src/import/import-file.js';
import type { ImportKind } from '../src/import/kinds.js';
import type { ImportSummary } from '../src/import/summary.js';
import { BUCKET_BITS, Keys } from '../src/store/keys.js';

export const BASE = 8613000000000;
export const RANGE = 1_000_000_000;
export const NUMBERING = { country_code: '86', national_prefix: '0', international_prefix: '00' };

/** murmur3 fmix32 of (seed, i): a stateless hash, so membership can be computed for any number. */
export function mix(seed: number, i: number): number {
  return fmix32((Math.imul(seed, 0x9e3779b1) ^ i) >>> 0);
}

export interface Layout {
  seed: number;
  dnd: number;
  consent: number;
  senders: number;
}

const blockSize = (l: Layout) => Math.floor(RANGE / l.dnd);

/** The DND number of block b (0 ≤ b < l.dnd). */
export function dndNumber(l: Layout, b: number): number {
  return BASE + b * blockSize(l) + (mix(l.seed, b) % blockSize(l));
}

export function isDnd(l: Layout, n: number): boolean {
  const bs = blockSize(l);
  const b = Math.floor((n - BASE) / bs);
  return b >= 0 && b < l.dnd && n === dndNumber(l, b);
}

/** A number of block b that is not on the DND list. */
export function cleanNumber(l: Layout, b: number, salt: number): number {
  const bs = blockSize(l);
  const off = (mix(l.seed, b) % bs + 1 + (mix(l.seed ^ 0x5bd1e995, salt) % (bs - 1))) % bs;
  return BASE + b * bs + off;
}

export function senderValue(i: number): string {
  return String(861069000000 + i);
}

export interface ConsentRow {
  msisdn: string;
  scope: string;
  state: 'granted' | 'revoked';
}

/**
 * Consent record j: block floor(j · dnd / consent); even j on that block's DND number (an explicit
 * grant wins over DND), odd j on a clean number of it. Scopes rotate account:bench, brand:BENCH,
 * sender:number:<sender j mod senders>; every 10th is a revocation.
 */
export function consentRecord(l: Layout, j: number): ConsentRow {
  const b = Math.floor((j * l.dnd) / l.consent);
  const n = j % 2 === 0 ? dndNumber(l, b) : cleanNumber(l, b, j);
  const scope = j % 3 === 0 ? 'account:bench' : j % 3 === 1 ? 'brand:BENCH' : `sender:number:${senderValue(j % Math.max(1, l.senders))}`;
  return { msisdn: String(n), scope, state: j % 10 === 9 ? 'revoked' : 'granted' };
}

// ---------------------------------------------------------------------------------------------------

export async function writeLines(path: string, count: number, line: (i: number) => string, gzip = false): Promise<void> {
  const file = createWriteStream(path, { highWaterMark: 1 << 20 });
  const gz = gzip ? createGzip({ level: 1 }) : null;
  gz?.pipe(file);
  const out = gz ?? file;
  const CHUNK = 50_000;
  for (let i = 0; i < count; i += CHUNK) {
    const parts: string[] = [];
    for (let k = i; k < Math.min(count, i + CHUNK); k++) parts.push(line(k));
    if (!out.write(`${parts.join('\n')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(file, 'close');
}

function usedMemory(info: string): number {
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

async function settle(redis: Redis): Promise<number> {
  // used_memory moves with lazy frees and client buffers: wait for lazyfree_pending_objects = 0, then read.
  for (let i = 0; i < 50; i++) {
    const info = await redis.info('memory');
    if (/lazyfree_pending_objects:0/.test(info)) return usedMemory(info);
    await new Promise((r) => setTimeout(r, 100));
  }
  return usedMemory(await redis.info('memory'));
}

async function removePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length) n += await redis.unlink(...keys);
  } while (cursor !== '0');
  return n;
}

interface Row {
  what: string;
  s: ImportSummary;
  note?: string;
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      dnd: { type: 'string', default: '10000000' },
      consent: { type: 'string', default: '1000000' },
      senders: { type: 'string', default: '10000' },
      prefix: { type: 'string', default: 'bench:pd:' },
      seed: { type: 'string', default: '1' },
      redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
      dir: { type: 'string' },
      manifest: { type: 'string' },
      'batch-rows': { type: 'string', default: '1000000' },
      keep: { type: 'boolean', default: false },
      'keep-files': { type: 'boolean', default: false },
      replace: { type: 'boolean', default: false },
      gzip: { type: 'boolean', default: false },
    },
  });
  const l: Layout = { seed: Number(a.seed), dnd: Number(a.dnd), consent: Number(a.consent), senders: Number(a.senders) };
  const prefix = a.prefix!;
  const dir = a.dir ?? join(os.tmpdir(), `smppguard-policy-data-${l.seed}`);
  mkdirSync(dir, { recursive: true });
  const redis = new Redis(a.redis!, { commandTimeout: 60_000, maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  const keys = new Keys(prefix);
  if (await redis.exists(keys.dndGen, keys.senders)) {
    process.stderr.write(`removing existing ${prefix}* keys first\n`);
    await removePrefix(redis, prefix);
  }
  const common = { redis, prefix, numbering: NUMBERING, who: 'bench', batchRows: Number(a['batch-rows']), graceMs: 0 };
  const rows: Row[] = [];
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const run = async (what: string, kind: ImportKind, file: string, extra: Record<string, unknown> = {}, note?: string) => {
    let bad = 0;
    const s = await importFile(kind, file, { ...common, ...extra, onBadLine: () => void bad++ });
    if (bad) throw new Error(`${what}: ${bad} bad lines in generated data`);
    log(`${what}: ${s.read} rows in ${s.seconds.toFixed(2)} s = ${s.rowsPerSec} rows/s`);
    rows.push({ what, s, note });
    return s;
  };

  // ---- files ---------------------------------------------------------------------------------
  const t = performance.now();
  const dndFile = join(dir, `dnd-${l.dnd}.csv`);
  await writeLines(dndFile, l.dnd, (b) => String(dndNumber(l, b)));
  const consentFile = join(dir, `consent-${l.consent}.csv`);
  await writeLines(consentFile, l.consent, (j) => {
    const c = consentRecord(l, j);
    return `${c.msisdn},${c.scope},${c.state},web,bench:${j}`;
  });
  const sendersFile = join(dir, `senders-${l.senders}.jsonl`);
  await writeLines(sendersFile, l.senders, (i) =>
    JSON.stringify({ kind: 'number', value: senderValue(i), account: 'bench', class: 'commercial', signatures: ['BENCH'] }),
  );
  const gzFile = `${dndFile}.gz`;
  if (a.gzip) await writeLines(gzFile, l.dnd, (b) => String(dndNumber(l, b)), true);
  log(`files generated in ${((performance.now() - t) / 1000).toFixed(1)} s under ${dir}`);

  // ---- DND -----------------------------------------------------------------------------------
  const before = await settle(redis);
  await run('DND (add, CSV)', 'dnd', dndFile);
  const after = await settle(redis);
  const entries = l.dnd;
  const bucketKeys: string[] = [];
  {
    let cursor = '0';
    do {
      const [next, ks] = await redis.scan(cursor, 'MATCH', `${prefix}dnd:{r:*}:g1`, 'COUNT', 5000);
      cursor = next;
      bucketKeys.push(...ks);
    } while (cursor !== '0');
  }
  const sample = bucketKeys.filter((_, i) => i % Math.max(1, Math.floor(bucketKeys.length / 2000)) === 0);
  let usage = 0;
  let members = 0;
  const encodings = new Map<string, number>();
  for (const k of sample) {
    const [u, n, e] = await Promise.all([redis.memory('USAGE', k, 'SAMPLES', 0), redis.scard(k), redis.object('ENCODING', k)]);
    usage += Number(u);
    members += n;
    encodings.set(String(e), (encodings.get(String(e)) ?? 0) + 1);
  }
  const perEntryUsage = usage / members;
  const perEntryDelta = (after - before) / entries;
  const intsetMax = (await redis.config('GET', 'set-max-intset-entries')) as string[];

  if (a.gzip) {
    await run('DND (add again, gzip: all already present)', 'dnd', gzFile);
  } else {
    await run('DND (add again: all already present)', 'dnd', dndFile);
  }
  if (a.replace) await run('DND (replace: new generation + switch)', 'dnd', dndFile, { replace: true }, 'cleanup of the old generation timed apart');

  // ---- consent and senders -------------------------------------------------------------------
  const journalBefore = Number((await redis.memory('USAGE', keys.journal, 'SAMPLES', 0)) ?? 0);
  const cBefore = await settle(redis);
  const consentSummary = await run('consent (CSV, HSET + journal XADD each)', 'consent', consentFile);
  const cAfter = await settle(redis);
  const journalBytes = Number((await redis.memory('USAGE', keys.journal, 'SAMPLES', 0)) ?? 0) - journalBefore;
  const consentFields = consentSummary.imported - (consentSummary.duplicates ?? 0);
  await run('senders (JSONL, HSET + XADD + PUBLISH each)', 'senders', sendersFile);

  // ---- report --------------------------------------------------------------------------------
  const out: string[] = [];
  out.push(`Policy data import, ${os.cpus().length} cores, Redis ${/redis_version:(\S+)/.exec(await redis.info('server'))?.[1]}, seed ${l.seed}`);
  out.push('');
  out.push('| import | rows | seconds | rows/s | already present / replaced | note |');
  out.push('|---|---:|---:|---:|---:|---|');
  for (const r of rows) {
    const extra = r.s.replace ? `gen ${r.s.previousGeneration} → ${r.s.generation}, ${r.s.removedKeys} keys removed in ${r.s.cleanupSeconds?.toFixed(2)} s` : (r.note ?? '');
    out.push(`| ${r.what} | ${r.s.read.toLocaleString('en')} | ${r.s.seconds.toFixed(2)} | ${r.s.rowsPerSec.toLocaleString('en')} | ${r.s.duplicates ?? ''} | ${extra} |`);
  }
  out.push('');
  out.push('| DND memory | value |');
  out.push('|---|---:|');
  out.push(`| entries / range | ${entries.toLocaleString('en')} over ${RANGE.toLocaleString('en')} numbers (${((100 * entries) / RANGE).toFixed(2)} %) |`);
  out.push(`| bucket keys (2^${BUCKET_BITS} numbers each) | ${bucketKeys.length.toLocaleString('en')}, ${(entries / bucketKeys.length).toFixed(0)} members on average |`);
  out.push(`| used_memory after − before | ${((after - before) / 2 ** 20).toFixed(1)} MiB = **${perEntryDelta.toFixed(2)} bytes/entry** |`);
  out.push(`| MEMORY USAGE (${sample.length} sampled keys) | ${(usage / sample.length).toFixed(0)} bytes/key = **${perEntryUsage.toFixed(2)} bytes/entry** |`);
  out.push(`| encodings of sampled keys | ${[...encodings].map(([e, n]) => `${e} ${n}`).join(', ')} (set-max-intset-entries ${intsetMax[1]}) |`);
  out.push('');
  out.push('| consent memory | value |');
  out.push('|---|---:|');
  out.push(`| used_memory after − before (records + journal) | ${((cAfter - cBefore) / 2 ** 20).toFixed(1)} MiB = ${((cAfter - cBefore) / consentSummary.imported).toFixed(0)} bytes/record |`);
  out.push(`| of which the journal stream (MEMORY USAGE) | ${(journalBytes / 2 ** 20).toFixed(1)} MiB = ${(journalBytes / consentSummary.imported).toFixed(0)} bytes/entry |`);
  out.push(`| consent hash fields (the rest) | ${consentFields.toLocaleString('en')} fields, ${((cAfter - cBefore - journalBytes) / Math.max(1, consentFields)).toFixed(0)} bytes/field |`);
  process.stdout.write(`${out.join('\n')}\n`);

  // ---- manifest / cleanup -------------------------------------------------------------------
  if (a.keep) {
    // Candidate blocks spread over the range, off the multiples consent records favour.
    const blocks = (n: number) => Array.from({ length: Math.min(n, l.dnd) }, (_, i) => (Math.floor((i * l.dnd) / Math.min(n, l.dnd)) + 1) % l.dnd);
    const consents = Array.from({ length: Math.min(1000, l.consent) }, (_, i) => consentRecord(l, Math.floor((i * l.consent) / Math.min(1000, l.consent))));
    const consentSet = new Set(Array.from({ length: l.consent }, (_, j) => consentRecord(l, j).msisdn));
    const manifest = {
      prefix,
      seed: l.seed,
      counts: { dnd: l.dnd, consent: l.consent, senders: l.senders },
      numbering: NUMBERING,
      layout: {
        dnd: `range ${BASE}…${BASE + RANGE - 1} cut into ${l.dnd} blocks of ${blockSize(l)}; block b's DND number is ${BASE} + b*${blockSize(l)} + fmix32(seed*0x9e3779b1 ^ b) mod ${blockSize(l)} (bench/policy-data.ts dndNumber/isDnd)`,
        consent: 'record j = consentRecord(layout, j) in bench/policy-data.ts: even j on a DND number (grant wins over DND), odd j on a clean one; scopes account:bench, brand:BENCH, sender:number:<sender>; every 10th revoked',
        senders: `kind number, values ${senderValue(0)}…${senderValue(l.senders - 1)}, account bench, class commercial, signature BENCH`,
      },
      dnd_no_consent: blocks(5000)
        .map((b) => String(dndNumber(l, b)))
        .filter((n) => !consentSet.has(n))
        .slice(0, 1000),
      clean_no_consent: blocks(5000)
        .map((b) => String(cleanNumber(l, b, 7 + b)))
        .filter((n) => !consentSet.has(n))
        .slice(0, 1000),
      consent: consents,
      senders: Array.from({ length: Math.min(1000, l.senders) }, (_, i) => senderValue(i)),
    };
    const path = a.manifest ?? join(dir, 'manifest.json');
    writeFileSync(path, `${JSON.stringify(manifest, null, 1)}\n`);
    log(`kept ${prefix}* in Redis; manifest: ${path}`);
  } else {
    const n = await removePrefix(redis, prefix);
    log(`removed ${n} keys under ${prefix}`);
  }
  if (!a['keep-files']) {
    for (const f of [dndFile, consentFile, sendersFile, gzFile]) rmSync(f, { force: true });
  }
  redis.disconnect();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`policy-data bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
