/**
 * `smppguard archive --config FILE`: the decision archive writer on its own (archive/writer.ts),
 * for deployments that keep it off the gateways (archive.enabled: false there). It takes the
 * leases of the shards no other writer holds, moves their decisions from the Redis buffer to
 * archive.dir, and on SIGTERM/SIGINT finishes the batch in hand and gives the leases back.
 * `--metrics-port` serves its Prometheus metrics (/metrics); `--nice` lowers its CPU priority.
 * `smppguard start` runs this command as its child (cli/archive-child.ts): with an IPC channel it
 * reports its metrics there and stops when the channel closes (the gateway is gone).
 */
import { createServer } from 'node:http';
import type { Command } from 'commander';
import { Archive } from '../archive/service.js';
import { ENV_PREFIX, configFile, hasEnvConfig } from '../config/env.js';
import { createLogger } from '../telemetry/log.js';
import { Metrics } from '../telemetry/metrics.js';
import { redactUrl } from '../telemetry/redact.js';
import { lowerPriority, report, REPORT_MS } from './archive-child.js';
import { oneShotRedis, readConfig } from './one-shot.js';

interface ArchiveFlags {
  config?: string;
  metricsPort?: string;
  nice?: string;
}

export function registerArchive(program: Command): void {
  program
    .command('archive')
    .description('run the decision archive writer (Redis buffer → Parquet files in archive.dir) outside the gateway')
    .option('-c, --config <file>', `gateway configuration (redis, audit.stream, archive); else the ${ENV_PREFIX}* environment, as for start`)
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port (127.0.0.1 only: put a proxy in front to expose it)')
    .option('--nice <n>', 'lower the CPU priority to this nice value (0–19), every thread of the process')
    .addHelpText('after', '\nExample:\n  $ smppguard archive -c config/gateway.yaml --metrics-port 9091 --nice 10\n')
    .action(async (o: ArchiveFlags) => {
      process.exitCode = await runArchive(o);
      // Forked by a gateway: the open channel would keep this process running, also after an early return.
      if (process.connected) process.disconnect();
    });
}

async function runArchive(o: ArchiveFlags): Promise<number> {
  // A signal during the start stops the writer as soon as it runs.
  let stopSignal: string | null = null;
  let onStop: ((signal: string) => void) | null = null;
  const signalled = (signal: string) => {
    stopSignal ??= signal;
    onStop?.(signal);
  };
  process.once('SIGTERM', () => signalled('SIGTERM'));
  if (process.send !== undefined) {
    // Forked by a gateway (cli/archive-child.ts): its end is ours. A Ctrl-C at its terminal reaches
    // both; the gateway stops this process (SIGTERM) in its own shutdown.
    process.once('disconnect', () => signalled('disconnect'));
    process.on('SIGINT', () => undefined);
    // A gateway that failed to start (or was killed) while this process was loading is gone
    // already: no event comes for that, and a writer left running would be an orphan.
    if (!process.connected) return 0;
  } else process.once('SIGINT', () => signalled('SIGINT'));
  if (o.nice !== undefined) {
    const nice = Number(o.nice);
    if (!Number.isInteger(nice) || nice < 0 || nice > 19) {
      process.stderr.write(`smppguard archive: --nice takes a whole number from 0 to 19, got ${o.nice}\n`);
      return 2;
    }
    // Before anything starts a thread of its own (DuckDB, libuv's pool): those inherit it.
    lowerPriority(nice);
  }
  if (o.config === undefined && !hasEnvConfig(process.env)) {
    process.stderr.write(`smppguard archive: give --config <file>, or the configuration as ${ENV_PREFIX}* environment variables\n`);
    return 2;
  }
  const read = readConfig(configFile(o.config, process.env));
  if ('error' in read) {
    process.stderr.write(`smppguard archive: ${read.error}\n`);
    return 2;
  }
  const { cfg } = read;
  const log = createLogger(cfg.log.level).child({ role: 'archive' });
  const redis = await oneShotRedis(cfg, 10_000);
  if (!redis) {
    process.stderr.write(`smppguard archive: Redis at ${redactUrl(cfg.redis.url)} is not reachable\n`);
    return 1;
  }
  const metrics = new Metrics(true);
  const archive = new Archive(cfg, redis, { runWriter: true, metrics, log, ownsRedis: true });
  const server = o.metricsPort
    ? createServer((req, res) => {
        if (req.url !== '/metrics') {
          res.writeHead(404).end();
          return;
        }
        void metrics.registry.metrics().then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text));
      }).listen(Number(o.metricsPort), '127.0.0.1')
    : null;
  archive.start();
  log.info({ dir: cfg.archive.dir, shards: cfg.audit.stream.shards, pid: process.pid }, 'archive writer running');
  const send = () => void report(metrics.registry).then((r) => process.connected && process.send?.(r), () => undefined);
  const reporting = process.connected ? setInterval(send, REPORT_MS) : null;
  await new Promise<void>((resolve) => {
    onStop = (signal: string) => {
      log.info({ signal }, 'archive writer: stopping after the batch in hand');
      // Whatever hangs, the process ends.
      setTimeout(() => process.exit(1), 30_000).unref();
      resolve();
    };
    if (stopSignal) onStop(stopSignal);
  });
  await archive.stop();
  if (reporting) clearInterval(reporting);
  if (process.connected) {
    // The last figures before the channel closes.
    const last = await report(metrics.registry);
    await new Promise<void>((resolve) => process.send!(last, () => resolve()));
  }
  server?.close();
  log.info('archive writer stopped');
  return 0;
}
