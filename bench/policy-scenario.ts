/**
 * Scenario (c) of the benchmark: the full policy on national-size data. Seeds once, under a fixed
 * key prefix reused across runs, what issue 3 asks for — 10M DND numbers over a 10^9 range, 1M
 * consent records, 10k senders (bench/policy-data.ts, --keep) — plus consent for the load
 * generator's own destinations, so every message is commercial, asks Redis and is forwarded
 * (the most expensive path: sender check, one script call, audit line).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { Keys } from '../src/store/keys.js';
import { minuteOfDay } from '../src/domain/time.js';
import { senderValue } from './policy-data.js';
import { ROOT } from './procs.js';
import type { LoadOptions } from './loadgen.js';

export const POLICY_PREFIX = 'bench:pd:';
/**
 * Load generator destinations: 86139 + 6 digits, 1M of them, each with consent — enough that the
 * cn-miit frequency caps (15/min, 50/day per recipient) are not what scenario (d) measures.
 */
const DEST_PREFIX = '86139';
const DEST_DIGITS = 6;
const DEST_COUNT = 1_000_000;

export const policyLoad: Partial<LoadOptions> = {
  sourceAddr: senderValue(0),
  sourceTon: 1,
  destPrefix: DEST_PREFIX,
  destDigits: DEST_DIGITS,
  destCount: DEST_COUNT,
};

/**
 * A stride through the 1M consented recipients (coprime with DEST_COUNT: every one once per wrap):
 * a campaign to a subscriber list reaches them in no numeric order. Consecutive numbers are what
 * cn-miit's range-scan rule (号段扫号) looks for; `--loadgen '{"destStride":1}'` sends them so.
 */
export const SCATTER_STRIDE = 387_403;

/**
 * Scenario (d): the same data with the cn-miit pack; messages carry a registered signature and an
 * opt-out hint. Like a campaign: each run sends its own texts (16 variants of an activity code, new
 * codes every run) to consented recipients, scattered from a random first one (SCATTER_STRIDE), so
 * repeated runs within a minute do not trip the identical-content cap (2 a minute) and (d) measures
 * forwarding. One sender reaches far more than 5,000 recipients an hour, so cn-miit's
 * recipient-spread rule (monitor mode) flags every message, evidence and all.
 */
export const rulesLoad: Partial<LoadOptions> = {
  ...policyLoad,
  dataCoding: 8,
  text: '【BENCH】本周会员日全场8折，活动码{n}，详情见官网。回T退订',
  textVariants: 16,
  destStride: SCATTER_STRIDE,
};

/** Per run of (d): a random first recipient and a random block of activity codes. */
export function rulesLoadPerRun(): Partial<LoadOptions> {
  return { destStart: Math.floor(Math.random() * DEST_COUNT), textStart: 100_000 + 16 * Math.floor(Math.random() * 50_000) };
}

/** cn-miit's marketing window (rule cn-quiet-hours): 08:00–21:00 Asia/Shanghai. */
const CN_WINDOW = { zone: 'Asia/Shanghai', from: 8 * 60, to: 21 * 60 };

/**
 * Per gateway start of (d): outside cn-miit's marketing window every commercial message is refused
 * (quiet_hours, 0x404), which would measure the reject path. Then the gateway's clock is shifted
 * forward (`--clock-offset-ms`) to 10:00 Beijing time, so every rule, the consent check and the rate
 * counters run as they would in the daytime; inside the window (with 5 minutes to spare) it is not.
 */
export function rulesClock(now = Date.now()): { args: string[]; note: string; summary: string } {
  const minute = minuteOfDay(CN_WINDOW.zone, now);
  const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  if (minute >= CN_WINDOW.from && minute < CN_WINDOW.to - 5) {
    return {
      args: [],
      note: `forward path: it is ${hhmm(minute)} in ${CN_WINDOW.zone}, inside cn-miit's marketing window 08:00–21:00`,
      summary: "the forward path (real clock, inside cn-miit's marketing window 08:00–21:00 Asia/Shanghai)",
    };
  }
  const shiftMin = (10 * 60 - minute + 1440) % 1440;
  return {
    args: ['--clock-offset-ms', String(shiftMin * 60_000)],
    note:
      `forward path: it is ${hhmm(minute)} in ${CN_WINDOW.zone}, outside cn-miit's marketing window 08:00–21:00, so the gateway's ` +
      `clock runs ${Math.floor(shiftMin / 60)} h ${shiftMin % 60} min ahead (--clock-offset-ms): 10:00 there, every rule, consent and rate counter as in the daytime`,
    summary:
      "the forward path (outside cn-miit's marketing window 08:00–21:00 Asia/Shanghai on the real clock, so the gateway clock was shifted to 10:00 there)",
  };
}

/**
 * What of rules/cn-miit.yaml a (d) scenario runs: the pack as shipped; the pack without its traffic
 * intelligence rules (every rule whose match uses `behaviour`, `campaign` or `content`: what issue 18
 * added, for the ≥ 0.8× comparison); or the pack plus one `score` rule on the shipped spam-en model
 * (above 0.99, so the bench's texts are still forwarded and (d) keeps measuring the forward path).
 */
export type CnVariant = 'pack' | 'no-intel' | 'no-behaviour' | 'no-campaign' | 'score';

/** The match keys each variant takes out (rules using any of them are dropped). */
const DROPPED: Partial<Record<CnVariant, string[]>> = {
  'no-intel': ['behaviour', 'campaign', 'content'],
  'no-behaviour': ['behaviour'],
  'no-campaign': ['campaign'],
};

/** The rules directory of one variant of the pack as one build (`root`) ships it. */
function cnRulesDir(variant: CnVariant, root: string): string {
  return join(tmpdir(), `smppguard-bench-cn-miit-${process.pid}-${variant}-${createHash('sha1').update(resolve(root)).digest('hex').slice(0, 8)}`);
}

function uses(match: Record<string, unknown>, keys: readonly string[]): boolean {
  return Object.entries(match).some(([k, v]) => keys.includes(k) || ((k === 'any' || k === 'all') && Array.isArray(v) && v.some((m) => uses(m as Record<string, unknown>, keys))));
}

/** Only cn-miit.yaml (with the lists and templates it reads) of `root`'s rules/, in the variant's form. */
export function prepareCnPack(root: string, variant: CnVariant = 'pack'): Promise<void> {
  const dir = cnRulesDir(variant, root);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const pack = parseYaml(readFileSync(join(root, 'rules/cn-miit.yaml'), 'utf8')) as { rules: { match: Record<string, unknown> }[] };
  const dropped = DROPPED[variant];
  if (dropped) pack.rules = pack.rules.filter((r) => !uses(r.match, dropped));
  if (variant === 'score') {
    pack.rules.push({
      id: 'bench-spam-score',
      description: 'the learned spam score (never above 0.99 for the bench texts: every message is still forwarded)',
      match: { destination_country: 'CN', score: { model: 'spam-en', above: 0.99 } },
      action: { reject: { status: 'ESME_RSUBMITFAIL', reason: 'spam_score' } },
    } as never);
  }
  writeFileSync(join(dir, 'cn-miit.yaml'), stringifyYaml(pack));
  for (const sub of ['lists', 'templates']) {
    if (existsSync(join(root, 'rules', sub))) cpSync(join(root, 'rules', sub), join(dir, sub), { recursive: true });
  }
  return Promise.resolve();
}

/** An empty rules directory (a configured one must exist). */
const NO_RULES_DIR = join(tmpdir(), 'smppguard-bench-no-rules');
mkdirSync(NO_RULES_DIR, { recursive: true });

export const policyGateway = {
  redis: { key_prefix: POLICY_PREFIX },
  policy: { enabled: true },
  // Policy only: no rule packs (scenario d adds them).
  rules: { dir: NO_RULES_DIR },
  audit: { destination: join(tmpdir(), `smppguard-bench-audit-${process.pid}.log`) },
};

/** Seeds the data unless a previous run left it (marker key), printing what it does. */
export async function preparePolicyData(root: string, log: (s: string) => void): Promise<void> {
  const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, commandTimeout: 60_000 });
  await redis.connect();
  const keys = new Keys(POLICY_PREFIX);
  // v3: consent as one hash per recipient.
  const marker = `${POLICY_PREFIX}bench-ready-v3`;
  try {
    if ((await redis.get(marker)) === '1') {
      log(`policy data: reusing ${POLICY_PREFIX}* (10M DND, 1M consent, 10k senders, ${DEST_COUNT} loadgen consents)`);
      return;
    }
    log('policy data: generating 10M DND, 1M consent, 10k senders (takes a minute or two, once)');
    const child = spawn(process.execPath, [join(root, 'dist/bench/policy-data.js'), '--keep', '--prefix', POLICY_PREFIX], {
      stdio: ['ignore', 'inherit', 'inherit'],
      cwd: root,
    });
    const [code] = (await once(child, 'exit')) as [number];
    if (code !== 0) throw new Error(`policy-data.js exited ${code}`);
    // The load generator's destinations get consent in the account scope (as a bulk consent import would).
    const at = Date.now();
    for (let start = 0; start < DEST_COUNT; start += 10_000) {
      const p = redis.pipeline();
      for (let i = start; i < Math.min(DEST_COUNT, start + 10_000); i++) {
        const msisdn = DEST_PREFIX + String(i).padStart(DEST_DIGITS, '0');
        p.hset(keys.consent(msisdn), 'account:bench', `g:${at}`);
      }
      await p.exec();
    }
    await redis.set(marker, '1');
    log(`policy data: ready under ${POLICY_PREFIX}*`);
  } finally {
    redis.disconnect();
  }
}

/**
 * The archive writer writes a batch every 10 s rather than the default 60 s, so a measured run of
 * 20 s or more pays for at least one write of every shard (more, smaller files than in production:
 * the conservative side). A baseline build (`root`) gets the same when its configuration knows the
 * setting, and none when it predates the archive. (Until session 28 no baseline got it: a baseline
 * with an archive then wrote no batch in a short run, and every --baseline pair since had its
 * archive child's CPU and tail on this build's side only.)
 */
function withArchive(config: Record<string, unknown>, root: string | undefined): Record<string, unknown> {
  return root && !knowsArchiveBatches(root) ? config : { ...config, archive: { batch_seconds: 10 } };
}

/** Whether the build at `root` has the archive's batch_seconds setting (its compiled config schema names it). */
function knowsArchiveBatches(root: string): boolean {
  const schema = join(root, 'dist/src/config/schema.js');
  return existsSync(schema) && readFileSync(schema, 'utf8').includes('batch_seconds');
}

/** Scenario (c)'s gateway for this build (root undefined) or a baseline build. */
export function policyGatewayFor(root: string | undefined): Record<string, unknown> {
  return withArchive(policyGateway, root);
}

/** A (d) scenario's gateway: policy on and the variant of cn-miit, as this build or a baseline build (`root`) ships it. */
export function rulesGatewayFor(variant: CnVariant): (root: string | undefined) => Record<string, unknown> {
  return (root) =>
    withArchive(
      {
        ...policyGateway,
        rules: { dir: cnRulesDir(variant, root ?? ROOT), watch: false },
        ...(variant === 'score' ? { models: { 'spam-en': join(root ?? ROOT, 'models/spam-en.model') } } : {}),
      },
      root,
    );
}

