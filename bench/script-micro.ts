/**
 * Redis's side of a policy decision, without the gateway: `node dist/bench/script-micro.js
 * [--rounds 5] [--batches 300]`. Sends PolicyCheck.fetchThen() checks for the benchmark's consented
 * recipients (policy data under bench:pd:, as scenario c/d), 256 per event-loop turn as a busy
 * gateway does, alternating rounds without and with three per-recipient counters shaped like
 * cn-miit's (identical content a minute, recipient a minute, recipient a day; every message a new
 * recipient, the counters removed between rounds), and prints the script's Redis CPU per message
 * from INFO commandstats (evalsha usec / messages) — the figure to compare when changing the Lua:
 * it does not depend on the gateway, but does on what else the box runs (compare versions in
 * alternating runs). Medians over the rounds.
 */
import { fileURLToPath } from 'node:url';
import type { RateNeed } from '../src/domain/store-facts.js';
import { PolicyCheck } from '../src/store/policy-check.js';
import { RateStore } from '../src/store/rates.js';
import { connectRedis, createRedis } from '../src/store/redis.js';
import { cleanRedis, median, numberFlag } from './procs.js';
import { POLICY_PREFIX, preparePolicyData } from './policy-scenario.js';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: number) => numberFlag(argv, name, dflt);
const rounds = flag('--rounds', 5);
const batches = flag('--batches', 300);
const PER_TURN = 256;

await preparePolicyData(fileURLToPath(new URL('../../', import.meta.url)), (l) => console.error(l));
const redis = createRedis({ url: 'redis://127.0.0.1:6379', command_timeout_ms: 10_000 });
if (!(await connectRedis(redis, 5000))) throw new Error('no Redis on 127.0.0.1:6379');
const rates = new RateStore(redis, POLICY_PREFIX);
const store = new PolicyCheck(redis, POLICY_PREFIX, undefined, rates);
await store.generation.refresh();
const scopes = ['sender:bench', 'brand:BENCH', 'account:bench'];
let next = Math.floor(Math.random() * 1_000_000);

function counters(dst: string): RateNeed[] {
  const entity = `rate:recipient:${dst}`;
  const need = (field: string, periodMs: number): RateNeed => ({ key: entity + field, periodMs, kind: 'count', entity, field });
  return [need(':content:0123456789abcdef:60', 60_000), need(':60', 60_000), need(':86400', 86_400_000)];
}

function turn(withCounters: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = PER_TURN;
    for (let i = 0; i < PER_TURN; i++) {
      const dst = `86139${String(next).padStart(6, '0')}`;
      next = next === 999_999 ? 0 : next + 1;
      store.fetchThen({ msisdn: dst, scopes, category: null }, withCounters ? counters(dst) : null, (err) => {
        if (err) reject(err);
        else if (--left === 0) resolve();
      });
    }
  });
}

async function round(withCounters: boolean): Promise<number> {
  await redis.config('RESETSTAT');
  for (let b = 0; b < batches; b++) await turn(withCounters);
  const line = (await redis.info('commandstats')).split('\n').find((l) => l.startsWith('cmdstat_evalsha'));
  const usec = Number(/usec=(\d+)/.exec(line ?? '')?.[1] ?? NaN);
  await cleanRedis(`${POLICY_PREFIX}{rate:*`);
  return usec / (batches * PER_TURN);
}

const without: number[] = [];
const withThree: number[] = [];
for (let r = 0; r < rounds; r++) {
  without.push(await round(false));
  withThree.push(await round(true));
  console.log(`round ${r + 1}: consent/DND ${without[r]!.toFixed(2)} µs, with 3 counters ${withThree[r]!.toFixed(2)} µs of script time per message`);
}
console.log(
  `median over ${rounds} rounds of ${batches} × ${PER_TURN} messages: consent/DND ${median(without).toFixed(2)} µs, ` +
    `with cn-miit's 3 counters ${median(withThree).toFixed(2)} µs of Redis script time per message`,
);
redis.disconnect();
