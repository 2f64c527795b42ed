/**
 * Routing's share of the gateway's CPU, without sockets (issue 20): `node dist/bench/routing-micro.js
 * [--seconds 5] [--rounds 5] [--root DIR]`. Builds the gateway's DecisionService with policy off,
 * once without a routing table (scenario (b)) and once with scenario (r)'s 10 routes over 3 groups
 * (routing-scenario.ts), and decides submit_sm after submit_sm — each parsed from its PDU as the
 * relay parses it, destinations 86138 + 8 digits as the load generator sends them — alternating the
 * two, `--rounds` times `--seconds`. Prints this process's CPU ns per message for each and their
 * difference (what routing adds per message), medians over the rounds. `--root DIR` runs another
 * checkout's build (its dist/) instead, e.g. the commit before a change, to compare in one sitting.
 */
import { pathToFileURL } from 'node:url';
import { median, numberFlag } from './procs.js';
import { routingGateway } from './routing-scenario.js';

const argv = process.argv.slice(2);
const seconds = numberFlag(argv, '--seconds', 5);
const rounds = numberFlag(argv, '--rounds', 5);
const rootAt = argv.indexOf('--root');
/** The build to load: another checkout's dist/, or this one's. */
const dist = rootAt >= 0 ? pathToFileURL(`${argv[rootAt + 1]}/dist/`).href : new URL('../', import.meta.url).href;

/* eslint-disable @typescript-eslint/no-explicit-any -- modules of another build, loaded by path */
const load = (p: string): Promise<any> => import(new URL(p, dist).href);
const [{ ConfigSchema }, { DecisionService }, { MtRouter }, { Metrics }, { AccountTable }, { MessageView }, { encodePdu }, { systemClock }, { hashPassword }] = await Promise.all([
  load('src/config/schema.js'),
  load('src/decision/service.js'),
  load('src/decision/mt-router.js'),
  load('src/telemetry/metrics.js'),
  load('src/upstream/accounts.js'),
  load('src/protocol/message-view.js'),
  load('src/protocol/encode.js'),
  load('src/session/clock.js'),
  load('src/upstream/password.js'),
]);

const base = {
  listen: { host: '127.0.0.1', port: 0 },
  accounts: [{ system_id: 'bench', password_hash: await hashPassword('x'), allowed_ips: ['127.0.0.0/8'] }],
  downstream: { smscs: [{ name: 'sim', host: '127.0.0.1', port: 1, system_id: 'x', password: 'x' }] },
  policy: { enabled: false },
  audit: { destination: 'off' },
};

function service(routes: boolean): { decide(view: unknown): void } {
  const cfg = ConfigSchema.parse(routes ? { ...base, downstream: { ...base.downstream, groups: routingGateway.downstream.groups }, routes: routingGateway.routes } : base);
  const router = routes ? new MtRouter(cfg.routes.mt) : null;
  const accounts = new AccountTable(cfg.accounts, Date.now());
  const s = new DecisionService({
    cfg,
    accountConfig: (id: string) => accounts.get(id)?.cfg,
    registry: null,
    store: null,
    metrics: new Metrics(false),
    audit: null,
    clock: systemClock,
    isLoaded: () => true,
    router: () => router,
  });
  const done = () => undefined;
  return { decide: (view) => s.decide({ account: 'bench', view }, done) };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

// 4096 submit_sm as the load generator sends them (loadgen.ts): alphanumeric TON 5 sender, 86138 + 8 digits.
const pdus: Buffer[] = [];
for (let i = 0; i < 4096; i++) {
  pdus.push(
    encodePdu(4, 0, i + 1, {
      source_addr_ton: 5,
      source_addr: '10690000',
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: `86138${String((i * 7919) % 100_000_000).padStart(8, '0')}`,
      short_message: Buffer.from('Your verification code is 123456. Do not share it.', 'latin1'),
    }),
  );
}

/** CPU ns per message over `seconds`: parse, then decide. */
function measure(s: { decide(view: unknown): void }): number {
  let n = 0;
  const cpu0 = process.cpuUsage();
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < pdus.length; i++) s.decide(MessageView.parse(pdus[i]!));
    n += pdus.length;
  }
  const cpu = process.cpuUsage(cpu0);
  return ((cpu.user + cpu.system) * 1000) / n;
}

const plain = service(false);
const routed = service(true);
measure(plain);
measure(routed);
const b: number[] = [];
const r: number[] = [];
for (let k = 0; k < rounds; k++) {
  b.push(measure(plain));
  r.push(measure(routed));
  console.log(`round ${k + 1}: policy off ${b[k]!.toFixed(0)} ns, with 10 routes ${r[k]!.toFixed(0)} ns per message (parse + decide)`);
}
const d = r.map((x, i) => x - b[i]!);
console.log(
  `${rootAt >= 0 ? argv[rootAt + 1] : 'this build'}: medians over ${rounds} × ${seconds} s: policy off ${median(b).toFixed(0)} ns, 10 routes ${median(r).toFixed(0)} ns, routing adds ${median(d).toFixed(0)} ns CPU per message`,
);
