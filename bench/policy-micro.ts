/**
 * The policy's share of the gateway's CPU, without sockets: `node dist/bench/policy-micro.js
 * [--rules [--variant no-intel]] [--share-ms 1000] [--script] [--seconds 10] [--batch 2048]`. Builds
 * the gateway's DecisionService (sender registry, rules from rules/cn-miit.yaml with --rules — or a
 * variant of it as the (d0)… scenarios run it —, the intelligence index and the shared tally as the
 * gateway wires them (--share-ms 0: no tally), the real PolicyCheck on the real Redis with
 * the benchmark's policy data under bench:pd:, on the gateway's own plain-command connection as
 * redis.hot_path: commands does (--script: one script call per batch instead), audit to a temp
 * file) and decides submit_sm after submit_sm, `batch` per event-loop turn as a busy gateway sees
 * them, printing decisions per second, this process's CPU µs per decision (the figure to
 * compare; run node with --no-allocation-site-pretenuring, or it varies 10–36 µs from run to run:
 * bench/README.md) and Redis's (INFO cpu over the same seconds: all of Redis's clients count).
 * With --cpu-prof the profile shows the policy alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigSchema } from '../src/config/schema.js';
import { DecisionService } from '../src/decision/service.js';
import { SenderRegistry } from '../src/policy/senders.js';
import { senderId } from '../src/domain/sender.js';
import type { Verdict } from '../src/decision/verdict.js';
import { Command } from '../src/protocol/commands.js';
import { encodePdu } from '../src/protocol/encode.js';
import { MessageView, isScanError } from '../src/protocol/message-view.js';
import { RuleLoader } from '../src/decision/rule-loader.js';
import { ShiftedClock, systemClock } from '../src/session/clock.js';
import { PolicyCheck } from '../src/store/policy-check.js';
import { RespPipe } from '../src/store/resp-pipe.js';
import { RateStore } from '../src/store/rates.js';
import { IntelStore } from '../src/store/intel-store.js';
import { IntelTally } from '../src/store/intel-tally.js';
import { connectRedis, createRedis } from '../src/store/redis.js';
import { AuditLog } from '../src/telemetry/log.js';
import { Metrics } from '../src/telemetry/metrics.js';
import { AccountTable } from '../src/upstream/accounts.js';
import { hashPassword } from '../src/upstream/password.js';
import { senderValue } from './policy-data.js';
import { cleanRedis, numberFlag, parseRedisCpu } from './procs.js';
import { POLICY_PREFIX, SCATTER_STRIDE, preparePolicyData, prepareCnPack, rulesClock, rulesGatewayFor, type CnVariant } from './policy-scenario.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const argv = process.argv.slice(2);
const flag = (name: string, dflt: number) => numberFlag(argv, name, dflt);
const withRules = argv.includes('--rules');
const seconds = flag('--seconds', 10);
const batch = flag('--batch', 2048);
const script = argv.includes('--script');
const shareMs = flag('--share-ms', 1000);
const vi = argv.indexOf('--variant');
const variant = (vi >= 0 ? argv[vi + 1] : 'pack') as CnVariant;

await preparePolicyData(ROOT, (l) => console.error(l));
if (withRules) await prepareCnPack(ROOT, variant);
const tmp = mkdtempSync(join(tmpdir(), 'sg-policy-micro-'));
const cfg = ConfigSchema.parse({
  listen: { host: '127.0.0.1', port: 0 },
  redis: { url: 'redis://127.0.0.1:6379', key_prefix: POLICY_PREFIX },
  accounts: [{ system_id: 'bench', password_hash: await hashPassword('x'), allowed_ips: ['127.0.0.0/8'], window: 1024, tps: 0 }],
  downstream: { smscs: [{ name: 'sim', host: '127.0.0.1', port: 1, system_id: 'x', password: 'x' }] },
  policy: { enabled: true },
  audit: { destination: join(tmp, 'audit.log') },
});
const offset = withRules ? Number(rulesClock().args[1] ?? 0) : 0;
const clock = offset === 0 ? systemClock : new ShiftedClock(offset);
const redis = createRedis(cfg.redis);
if (!(await connectRedis(redis, 5000))) throw new Error('no Redis on 127.0.0.1:6379');
const rates = new RateStore(redis, POLICY_PREFIX, { clock });
const pipe = script ? null : new RespPipe(cfg.redis.url, cfg.redis.command_timeout_ms, () => undefined);
if (pipe && !(await pipe.whenReady(5000))) throw new Error('the plain-command connection did not come up');
const store = new PolicyCheck(redis, POLICY_PREFIX, undefined, rates, pipe);
await store.generation.refresh();
const registry = new SenderRegistry();
const src = senderValue(0);
registry.upsert({ id: senderId('number', src), kind: 'number', value: src, account: 'bench', class: 'commercial', status: 'active', signatures: ['BENCH'] });
const metrics = new Metrics(false);
let loader: RuleLoader | null = null;
if (withRules) {
  // SG_RULES_DIR: another pack to compare against (e.g. cn-miit without its rate rules).
  loader = new RuleLoader(process.env.SG_RULES_DIR ?? (rulesGatewayFor(variant)(undefined).rules as { dir: string }).dir, { registry: metrics.registry });
  loader.load();
}
const intel = withRules ? new IntelStore(redis, POLICY_PREFIX, { now: () => clock.now() }) : null;
await intel?.start();
const tally = shareMs > 0 ? new IntelTally(rates, { flushMs: shareMs, now: () => clock.now() }) : null;
tally?.start();
const audit = AuditLog.create(cfg.audit.destination);
const accounts = new AccountTable(cfg.accounts, clock.now());
const policy = new DecisionService({
  cfg,
  accountConfig: (id) => accounts.get(id)?.cfg,
  registry,
  store,
  metrics,
  audit,
  clock,
  isLoaded: () => true,
  rules: loader ? () => loader!.current : undefined,
  rates: process.env.SG_NO_RATES ? null : rates,
  intel: intel?.index ?? null,
  tally,
});

// `batch` submits, 16 texts as in scenario (d); before every round each gets the next consented
// destination (86139 + 6 digits, from a random start, scattered as (d)'s are), patched in place.
let next = Math.floor(Math.random() * 1_000_000);
const code = 100_000 + 16 * Math.floor(Math.random() * 50_000);
const views: MessageView[] = [];
for (let i = 0; i < batch; i++) {
  const text = `【BENCH】本周会员日全场8折，活动码${code + (i % 16)}，详情见官网。回T退订`;
  const pdu = encodePdu(Command.submit_sm, 0, i + 1, {
    source_addr_ton: 1,
    source_addr_npi: 1,
    source_addr: src,
    dest_addr_ton: 1,
    dest_addr_npi: 1,
    destination_addr: '86139000000',
    data_coding: 8,
    short_message: Buffer.from(text, 'utf16le').swap16(),
  });
  const v = MessageView.parse(pdu);
  if (isScanError(v)) throw new Error(v.reason);
  views.push(v);
}
const dstAt = views[0]!.pdu.indexOf(Buffer.from('86139000000\0', 'latin1')) + 5;

/** Patches the next destinations in; each PDU is parsed again, as the gateway parses every submit_sm it reads. */
function patchDestinations(): void {
  for (let i = 0; i < views.length; i++) {
    const pdu = views[i]!.pdu;
    let n = next;
    next = (next + SCATTER_STRIDE) % 1_000_000;
    for (let d = 5; d >= 0; d--, n = Math.floor(n / 10)) pdu[dstAt + d] = 48 + (n % 10);
    const v = MessageView.parse(pdu);
    if (isScanError(v)) throw new Error(v.reason);
    views[i] = v;
  }
}

const mix = new Map<string, number>();
let decided = 0;
async function round(): Promise<void> {
  patchDestinations();
  let left = batch;
  await new Promise<void>((resolve) => {
    const done = (v: Verdict) => {
      mix.set(`${v.action}/${v.reason}`, (mix.get(`${v.action}/${v.reason}`) ?? 0) + 1);
      decided++;
      if (--left === 0) resolve();
    };
    for (let i = 0; i < batch; i++) {
      const v = policy.decide({ account: 'bench', view: views[i]! }, done);
      if (v) done(v);
    }
  });
}

const warm = Date.now() + 2000;
while (Date.now() < warm) await round();
mix.clear();
decided = 0;
const redisCpu = async () => parseRedisCpu(await redis.info('cpu')) ?? NaN;
const redis0 = await redisCpu();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const end = t0 + seconds * 1000;
while (performance.now() < end) await round();
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuUs = (cpu.user + cpu.system) / decided;
const redisUs = ((await redisCpu()) - redis0) * 1e6 / decided;
console.log(
  `${withRules ? `policy + cn-miit${variant === 'pack' ? '' : ` (${variant})`}` : 'policy'}${script ? ' (script)' : ''}${tally ? '' : ', no tally'}: ${decided} decisions in ${wall.toFixed(1)} s = ${Math.round(decided / wall).toLocaleString('en-US')}/s; ` +
    `CPU ${cpuUs.toFixed(2)} µs per decision (${((cpu.user + cpu.system) / 1e4 / wall).toFixed(0)} % of a core), Redis ${redisUs.toFixed(2)} µs; ` +
    `${[...mix].map(([k, v]) => `${k} ${v}`).join(', ')}`,
);
policy.close();
await tally?.stop();
await intel?.stop();
redis.disconnect();
pipe?.close();
// The counters this run made would make the next run's recipients "already counting".
if (withRules) await cleanRedis(`${POLICY_PREFIX}{rate:*`);
rmSync(tmp, { recursive: true, force: true });
