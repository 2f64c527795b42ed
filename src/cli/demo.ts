/**
 * `smppguard demo`: the gateway's main job on a laptop. Starts the SMSC simulator, a Redis (the
 * configured one if it answers, else a private `redis-server` on a free port), the gateway in front,
 * and a demo ESME that submits messages, receives their delivery receipts and an MO reply,
 * printing each step so the traffic flow is visible. Exits when done (or runs on with --forever).
 * Its output is for people: one line a step, every time in Beijing time (the demo's rule zone), the
 * gateway's warnings as one readable line each (never raw log JSON), and next steps at the end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { redactUrl } from '../telemetry/redact.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command as Program } from 'commander';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../config/load.js';
import { Gateway } from '../gateway.js';
import { scanKeys } from '../store/redis.js';
import { parseReceiptText } from '../protocol/receipt.js';
import { statusName } from '../protocol/status.js';
import { startSimulator } from '../sim/index.js';
import { connect } from '../sim/esme-client.js';
import { normaliseMsisdn } from '../policy/address.js';
import { senderId } from '../domain/sender.js';
import { decodeText, encodeText } from '../protocol/text.js';
import { freePort } from '../sim/free-port.js';
import { ShiftedClock } from '../session/clock.js';
import { formatInZone } from '../domain/time.js';

/** The one zone the demo shows times in: its rules' zone. */
const ZONE = 'Asia/Shanghai';

/**
 * The demo's own rules: a content rule (instant-loan ads are refused, whoever sends them), and
 * commercial messages to Chinese numbers wait for 08:00–21:00 Beijing time.
 */
const DEMO_RULES = `version: 1
rules:
  - id: demo-no-loans
    description: instant-loan ads are refused, whoever sends them and whatever the consent
    match:
      destination_country: CN
      text: { contains_any: [贷款, instant loan] }
    action: { reject: { status: ESME_RSUBMITFAIL, reason: spam_content } }
  - id: demo-quiet-hours
    description: marketing only 08:00-21:00 Beijing time; outside it, hold until the window opens
    match:
      destination_country: CN
      class: commercial
      time: { outside: "08:00-21:00", tz: Asia/Shanghai }
    action: { queue: until-window }
`;

interface DemoFlags {
  config: string;
  count: number;
  forever?: boolean;
  withRules?: boolean;
}

const say = (s: string) => process.stdout.write(`${s}\n`);

/**
 * The gateway's log for the demo: warnings and errors as one readable line each ("warning    …"),
 * each message once (a lost archive lease on 64 shards is one line, not 64); never pino's JSON.
 */
function demoLog(): Logger {
  const seen = new Set<string>();
  return pino(
    { level: 'warn', base: undefined, timestamp: false },
    {
      write(line: string) {
        let msg = line.trim();
        let level = 'warning';
        try {
          const o = JSON.parse(line) as { msg?: string; level?: number; err?: { message?: string } };
          msg = `${o.msg ?? ''}${o.err?.message ? `: ${o.err.message}` : ''}`;
          if ((o.level ?? 40) >= 50) level = 'error';
        } catch {
          // not JSON: shown as it is
        }
        if (seen.has(msg)) return;
        seen.add(msg);
        say(`${level.padEnd(10)} ${msg}`);
      },
    },
  );
}

async function redisAnswers(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}


/** The configured Redis if it answers, else a private redis-server; null when neither is possible. */
async function ensureRedis(url: string): Promise<{ url: string; child: ChildProcess | null } | null> {
  if (await redisAnswers(url)) return { url, child: null };
  if (spawnSync('redis-server', ['--version']).status !== 0) return null;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'smppguard-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--set-max-intset-entries', '32768', '--dir', dir], {
    stdio: 'ignore',
  });
  const privateUrl = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(privateUrl)) return { url: privateUrl, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  return null;
}

export async function runDemo(f: DemoFlags): Promise<number> {
  const cfg = loadConfig(f.config);
  const redis = await ensureRedis(cfg.redis.url);
  if (!redis) {
    process.stderr.write(
      `No Redis answers at ${redactUrl(cfg.redis.url)} and no redis-server binary was found.\n` +
        `Install one (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis),\n` +
        `or point redis.url in ${f.config} at a running Redis, then run the demo again.\n`,
    );
    return 1;
  }
  say(`redis      ${redactUrl(redis.url)}${redis.child ? ' (private, started for this demo)' : ''}`);
  const sim = await startSimulator({ port: 0, receiptDelayMs: 300 });
  say(`smsc-sim   SMPP on 127.0.0.1:${sim.port} (simulated SMSC: answers submits, sends receipts after 300 ms)`);
  cfg.redis.url = redis.url;
  // Demo data lives under its own prefix and is removed at the end.
  cfg.redis.key_prefix = `${cfg.redis.key_prefix}demo:${process.pid}:`;
  cfg.audit.destination = 'off';
  // No archive writer: the demo's decisions are removed at the end, and its clock jumps by hours
  // (leases would lapse). Nothing is written under archive.dir.
  cfg.archive.enabled = false;
  // Without --with-rules the demo loads one rule of its own (quiet hours that queue) and runs on a
  // shifted clock that starts at 10:00 in Shanghai, so what it shows does not depend on the time of day.
  if (!f.withRules) {
    cfg.rules.dir = mkdtempSync(join(tmpdir(), 'smppguard-demo-rules-'));
    writeFileSync(join(cfg.rules.dir, 'demo.yaml'), DEMO_RULES);
  }
  cfg.rules.watch = false;
  // The demo moves its clock by hours; sessions must not count that as idleness.
  cfg.upstream.idle_timeout_s = 0;
  const day = new Date();
  const start = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), 2, 0); // 10:00 Shanghai
  const clock = ShiftedClock.at(start);
  cfg.listen = { ...cfg.listen, host: '127.0.0.1', port: 0, plain: true };
  cfg.http = { ...cfg.http, host: '127.0.0.1', port: 0 };
  cfg.downstream.smscs = cfg.downstream.smscs.slice(0, 1).map((s) => ({ ...s, host: '127.0.0.1', port: sim.port }));
  const gw = await Gateway.start(cfg, { log: demoLog(), clock });
  say(`gateway    SMPP on 127.0.0.1:${gw.smppPort}, metrics on http://127.0.0.1:${gw.httpPort}/metrics`);
  say(`clock      ${formatInZone(clock.now(), ZONE)} (the demo's clock starts at 10:00 in Shanghai; every time shown is ${ZONE})`);
  for (let i = 0; i < 100 && gw.pool.boundCount === 0; i++) await new Promise((r) => setTimeout(r, 50));

  const account = cfg.accounts[0]!.system_id;
  const moPrefix = cfg.routes.mo[0]?.prefix ?? '10690';
  const senderNumber = `${moPrefix}01`;
  const consenting = '8613800138001';
  const stranger = '8613800138002';
  const dndNumber = '8613800138003';
  const policyOn = cfg.policy.enabled;
  if (policyOn) {
    // Demo data, as an operator would enter it through the admin API or `smppguard import`.
    const n = cfg.policy.numbering;
    const value = normaliseMsisdn(senderNumber, n)!;
    const actor = { who: 'demo', channel: 'demo', evidence: 'smppguard demo' };
    await gw.store.putSender(
      { id: senderId('number', value), kind: 'number', value, account, class: 'commercial', status: 'active', signatures: ['DemoShop'] },
      actor,
    );
    await gw.store.setConsent(consenting, 'brand:DemoShop', 'granted', actor);
    await gw.store.addDnd(dndNumber, null, actor);
    for (let i = 0; i < 40 && !gw.sync.registry.get(senderId('number', value)); i++) await new Promise((r) => setTimeout(r, 25));
    say(`policy     sender ${senderNumber} registered to "${account}" (brand DemoShop); ${consenting} consented to DemoShop`);
    say(`policy     ${dndNumber} on the operator's do-not-disturb list (all commercial messages)`);
  }
  const esme = await connect('127.0.0.1', gw.smppPort);
  const bindStatus = await esme.bind('transceiver', account, 'demo');
  say(`esme       bind_transceiver as "${account}" -> ${statusName(bindStatus)}`);
  if (bindStatus !== 0) {
    say('           (the demo account password is "demo"; did you change config/gateway.yaml?)');
  }
  esme.onDeliver((d) => {
    const text = decodeText(d.view.shortMessage, d.view.dataCoding);
    if (d.view.isReceipt) {
      const r = parseReceiptText(text);
      say(`esme    <- deliver_sm receipt for id ${r?.id} stat:${r?.stat}`);
    } else {
      say(`esme    <- deliver_sm MO from ${d.view.sourceAddr} to ${d.view.destinationAddr}: "${text}"`);
    }
  });
  const why = async (src: string, dst: string, text: string) => {
    if (!policyOn) return '';
    const e = await gw.decisions.explain({ account, source_addr: src, source_addr_ton: 0, destination_addr: dst, dest_addr_ton: 1, text, at: new Date(clock.now()).toISOString() });
    return ` (${e.reason}: ${e.explanation})`;
  };
  const sendOne = async (label: string, src: string, dst: string, text: string) => {
    const r = await esme.submit({
      source_addr_ton: 0,
      source_addr_npi: 1,
      source_addr: src,
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: dst,
      registered_delivery: 1,
      // GSM 7-bit when it fits, else UCS-2 (data_coding 8), as a real ESME sends Chinese text.
      data_coding: encodeText(text).dataCoding,
      short_message: encodeText(text).bytes,
    });
    const outcome = r.status === 0 ? `ESME_ROK message_id=${r.messageId}` : `${statusName(r.status)}${await why(src, dst, text)}`;
    say(`esme    -> submit_sm ${label}: ${src} -> ${dst} -> ${outcome}`);
    return r.status;
  };
  let expected = 0;
  for (let i = 1; i <= f.count; i++) {
    if ((await sendOne(`#${i}`, senderNumber, consenting, `【DemoShop】Offer ${i}, reply TD to stop`)) === 0) expected++;
  }
  await esme.waitDeliveries(expected, 5000).catch(() => undefined);
  if (policyOn) {
    await sendOne('(no consent)', senderNumber, stranger, '【DemoShop】Offer');
    await sendOne('(spoofed sender)', '10690999', consenting, '【DemoShop】Offer');
    await sendOne('(do-not-disturb)', senderNumber, dndNumber, '【DemoShop】Offer');
    if (!f.withRules) await sendOne('(content rule)', senderNumber, consenting, '【DemoShop】Instant 贷款 approved in 5 minutes');
  }
  say(`smsc-sim   injecting an MO reply "TD" from ${consenting} to ${senderNumber}`);
  await sim.injectMo({ source: consenting, destination: senderNumber, text: 'TD' });
  await esme.waitDeliveries(expected + 1, 3000).catch(() => undefined);
  if (policyOn) await sendOne('(after opt-out)', senderNumber, consenting, '【DemoShop】Offer');
  if (policyOn && gw.queue && !f.withRules) {
    // Quiet hours: 21:00 in Shanghai. The message is stored and answered ESME_ROK at once; it goes
    // out when the window opens at 08:00, and its receipt carries the id the ESME was given.
    await gw.store.setConsent(consenting, 'brand:DemoShop', 'granted', { who: 'demo', channel: 'demo' });
    clock.advance(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), 13, 0) - clock.now());
    say(`clock      ${formatInZone(clock.now(), ZONE)}: quiet hours (rule demo-quiet-hours queues until 08:00)`);
    const before = esme.deliveries.length;
    const r = await esme.submit({
      source_addr_ton: 0,
      source_addr_npi: 1,
      source_addr: senderNumber,
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: consenting,
      registered_delivery: 1,
      short_message: Buffer.from('【DemoShop】Night offer, reply TD to stop'),
    });
    const info = r.status === 0 ? await gw.queue.store.inspect(r.messageId) : null;
    say(`esme    -> submit_sm (quiet hours): ${senderNumber} -> ${consenting} -> ${r.status === 0 ? `ESME_ROK message_id=${r.messageId}` : statusName(r.status)}`);
    if (info) say(`queue      ${info.id} in queue "${info.queue}" (rule ${info.rule}), release at ${formatInZone(Date.parse(info.release_at), ZONE)}`);
    clock.advance(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1, 0, 0) - 3000 - clock.now());
    say(`clock      ${formatInZone(clock.now(), ZONE)}: the window opens in 3 s`);
    await esme.waitDeliveries(before + 1, 10_000).catch(() => undefined);
  }
  const sendLoop = (i: number) => sendOne(`#${i}`, senderNumber, consenting, `Demo message ${i}`);
  if (f.forever) {
    say('running on (Ctrl-C to stop): one message a second');
    let i = f.count;
    const t = setInterval(() => void sendLoop(++i), 1000);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    clearInterval(t);
  }
  const m = await gw.metrics.text();
  const line = (re: RegExp) => m.split('\n').filter((l) => re.test(l) && !l.startsWith('#'));
  say('metrics    (excerpt of /metrics)');
  for (const l of [
    ...line(/^smppguard_decisions_total/),
    ...line(/^smppguard_spoofing_attempts_total|^smppguard_replies_total/),
    ...line(/^smppguard_receipts_total|^smppguard_mo_total/),
    ...line(/^smppguard_queue_jobs_total/),
  ]) {
    say(`           ${l}`);
  }
  await esme.close();
  // SCAN, not KEYS: the Redis may be a shared one with millions of keys.
  await scanKeys(gw.redis, `${cfg.redis.key_prefix}*`, async (keys) => void (await Promise.all(keys.map((k) => gw.redis.del(k)))), 1000);
  await gw.stop();
  await sim.close();
  redis.child?.kill();
  say('done');
  const tenAm = `${formatInZone(start, ZONE).slice(0, 10)}T10:00:00+08:00`;
  say('');
  say('next steps (smppguard is `npm link`ed, or node dist/src/cli/main.js)');
  say('  run a gateway of your own in front of the simulator, register the sender and a consent through its admin API');
  say('  (README.md, "Walk-through"), and send it a message:');
  say('    $ smppguard smsc-sim --port 2776 --http-port 2777 &');
  say('    $ smppguard start --config config/gateway.yaml &');
  say(`    $ SMPP_PASSWORD=demo smppguard send -u ${account} -f ${senderNumber} -t ${consenting} --text "【DemoShop】您的订单已发货，回T退订"`);
  say(`  ask it why a message would be refused, and what if it were 10:00 (an admin API token in $ADMIN_TOKEN):`);
  say(`    $ smppguard explain -a ${account} -f ${senderNumber} --source-ton 0 -t ${stranger} --text "【DemoShop】今日特价，回T退订" --at ${tenAm}`);
  say('  watch it in Grafana (gateway, Redis, simulator, Prometheus and the dashboard; then http://localhost:3000):');
  say('    $ docker compose -f deploy/docker-compose.yml up -d --build');
  return 0;
}

export function registerDemo(program: Program): void {
  program
    .command('demo')
    .description('run the gateway with the SMSC simulator, a Redis and a demo ESME, showing the traffic')
    .option('-c, --config <file>', 'configuration to start from', 'config/gateway.yaml')
    .option('-n, --count <n>', 'messages to send', (v) => Number(v), 5)
    .option('--forever', 'keep sending one message a second until Ctrl-C')
    .option('--with-rules', 'also load the rule packs in rules/ (results then depend on the time of day: quiet hours)')
    .addHelpText('after', '\nExamples:\n  $ smppguard demo\n  $ smppguard demo --count 20 --forever     # keep traffic flowing until Ctrl-C\n')
    .action(async (f: DemoFlags) => {
      process.exitCode = await runDemo(f);
    });
}
