/**
 * The archive as the gateway, `smppguard archive` and `smppguard evidence` use it: the writer (when
 * it runs in this process) and the reader evidence asks, built from the configuration.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { ArchiveBuffer } from '../store/archive-buffer.js';
import { AuditStream } from '../store/audit-stream.js';
import type { Metrics } from '../telemetry/metrics.js';
import { ArchiveReader } from './reader.js';
import { ArchiveWriter, type ArchiveWriterOptions } from './writer.js';

/** The writer's options from the configuration; `env` for the test-only SG_TEST_ARCHIVE_SLOW_PUBLISH_MS. */
export function writerOptions(cfg: Config, env: NodeJS.ProcessEnv = process.env): ArchiveWriterOptions {
  const a = cfg.archive;
  const slow = Number(env.SG_TEST_ARCHIVE_SLOW_PUBLISH_MS ?? 0);
  return {
    dir: a.dir,
    shards: cfg.audit.stream.shards,
    batchDecisions: a.batch_decisions,
    batchMs: a.batch_seconds * 1000,
    leaseMs: a.lease_seconds * 1000,
    graceMs: a.trim_grace_seconds * 1000,
    retentionDays: a.retention_days,
    compactFiles: a.compact_files,
    compactTargetBytes: a.compact_target_mb * 1024 * 1024,
    threads: a.threads,
    tickMs: Math.min(1000, a.batch_seconds * 250),
    ...(slow > 0 ? { slowPublishMs: slow } : {}),
  };
}

/**
 * Where a gateway's archive writer runs: on its event loop, in its child process (`smppguard start`
 * forks it: cli/archive-child.ts), or nowhere (archive.enabled false, or no decisions recorded: the
 * decision stream runs with the policy and audit.stream.enabled).
 */
export function writerPlace(cfg: Config): 'loop' | 'child' | null {
  if (!cfg.policy.enabled || !cfg.audit.stream.enabled || !cfg.archive.enabled) return null;
  return cfg.archive.child_process ? 'child' : 'loop';
}

export class Archive {
  readonly buffer: ArchiveBuffer;
  readonly reader: ArchiveReader;
  readonly writer: ArchiveWriter | null;

  /**
   * `stream`: the gateway's decision stream (its shard count); one is made for reading when absent.
   * `runWriter`: run the writer in this process.
   */
  constructor(
    cfg: Config,
    private readonly redis: Redis,
    private readonly opts: { stream?: AuditStream; runWriter: boolean; metrics?: Metrics | null; log?: Logger | null; ownsRedis?: boolean },
  ) {
    const st = cfg.audit.stream;
    const stream =
      opts.stream ??
      new AuditStream(redis, cfg.redis.key_prefix, { shards: st.shards, maxBytes: st.buffer_max_bytes, maxAgeMs: st.buffer_max_age_s * 1000, flushMs: 0, maxBuffer: 1000 });
    this.buffer = new ArchiveBuffer(redis, cfg.redis.key_prefix);
    // Evidence reads get two DuckDB threads at least: measured 0.66 s against 1.15 s with one over 88 days of files (bench/RESULTS.md).
    this.reader = new ArchiveReader(stream, this.buffer, cfg.archive.dir, Math.max(2, cfg.archive.threads));
    this.writer = opts.runWriter ? new ArchiveWriter(this.buffer, writerOptions(cfg), { metrics: opts.metrics ?? null, log: opts.log ?? null }) : null;
  }

  start(): void {
    this.writer?.start();
  }

  async stop(): Promise<void> {
    await this.writer?.stop();
    this.reader.close();
    if (this.opts.ownsRedis) this.redis.disconnect();
  }
}
