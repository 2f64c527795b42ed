/**
 * `smppguard archive --config FILE`: the decision archive writer on its own (archive/writer.ts),
 * for deployments that keep it off the gateways (archive.enabled: false there). It takes the
 * leases of the shards no other writer holds, moves their decisions from the Redis buffer to
 * archive.dir, and on SIGTERM/SIGINT finishes the batch in hand and gives the leases back.
 * `--metrics-port` serves its Prometheus metrics (/metrics).
 */
import { createServer } from 'node:http';
import type { Command } from 'commander';
import { Archive } from '../archive/service.js';
import { createLogger } from '../telemetry/log.js';
import { Metrics } from '../telemetry/metrics.js';
import { redactUrl } from '../telemetry/redact.js';
import { oneShotRedis, readConfig } from './one-shot.js';

interface ArchiveFlags {
  config: string;
  metricsPort?: string;
}

export function registerArchive(program: Command): void {
  program
    .command('archive')
    .description('run the decision archive writer (Redis buffer → Parquet files in archive.dir) outside the gateway')
    .requiredOption('-c, --config <file>', 'gateway configuration (redis, audit.stream, archive)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port (127.0.0.1 only: put a proxy in front to expose it)')
    .addHelpText('after', '\nExample:\n  $ smppguard archive -c config/gateway.yaml --metrics-port 9091\n')
    .action(async (o: ArchiveFlags) => {
      process.exitCode = await runArchive(o);
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
  process.once('SIGINT', () => signalled('SIGINT'));
  const read = readConfig(o.config);
  if ('error' in read) {
    process.stderr.write(`smppguard archive: ${read.error}\n`);
    return 2;
  }
  const { cfg } = read;
  const log = createLogger(cfg.log.level);
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
  server?.close();
  log.info('archive writer stopped');
  return 0;
}
