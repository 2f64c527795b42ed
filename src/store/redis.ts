/**
 * store/: everything the gateway keeps in Redis. This file makes the clients: a single Redis, a
 * Sentinel-managed master or a Redis Cluster, from the same `redis:` config, so every code path runs
 * on each. Every command has a timeout and nothing queues while Redis is down (calls fail at once
 * and the caller degrades as configured); reconnects run forever in the background, so recovery
 * (a Sentinel or Cluster failover included) needs no restart.
 * The hot path's checks on a single Redis go on a connection of their own (resp-pipe.ts).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Config } from '../config/schema.js';
import type { Logger } from '../telemetry/log.js';
import type { ScriptName } from './scripts.js';
import { keySlot } from './slots.js';
import { Cluster, Command, Redis, type ChainableCommander, type ClusterNode, type RedisOptions as IoRedisOptions } from 'ioredis';

export type { Redis };

/**
 * ioredis times a command out from a timer, and Node runs an event-loop turn's timers before it
 * reads the sockets: after the loop was held past `command_timeout_ms` (a long batch, a GC pause),
 * a command whose reply was already waiting in the socket failed as "timed out" — on Sentinel and
 * Cluster, a policy check failed closed for nothing. The verdict now waits for the turn's reads
 * (setImmediate runs after them), as the hot path's own pipe does (resp-pipe.ts). ioredis has no
 * option for this, so its one timer method is replaced, for every client of this process.
 */
const timedCommand = Command.prototype as unknown as { setTimeout(ms: number): void; _commandTimeoutTimer?: NodeJS.Timeout; isSettled: boolean; reject(err: Error): void };
timedCommand.setTimeout = function (this: typeof timedCommand, ms: number): void {
  if (this._commandTimeoutTimer) return;
  this._commandTimeoutTimer = setTimeout(() => {
    setImmediate(() => {
      if (!this.isSettled) this.reject(new Error('Command timed out'));
    });
  }, ms);
};

export interface RedisOptions {
  url: string;
  command_timeout_ms: number;
  sentinel?: { name: string; sentinels: { host: string; port: number }[] };
  cluster?: { host: string; port: number }[];
  /** TLS (config `redis.tls`); a rediss:// URL turns it on too. */
  tls?: Config['redis']['tls'];
}

/**
 * The TLS options of every Redis connection, or null for plain TCP. Files are read here, once per
 * client (a missing file stops the start with its config path).
 */
export function redisTls(opts: Pick<RedisOptions, 'url' | 'tls'>): ConnectionOptions | null {
  const t = opts.tls;
  if (!t && !opts.url.startsWith('rediss://')) return null;
  if (typeof t !== 'object') return {};
  const file = (name: 'ca' | 'cert' | 'key'): Buffer | undefined => {
    const path = t[name];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`redis.tls.${name}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  return { rejectUnauthorized: t.reject_unauthorized, ca: file('ca'), cert: file('cert'), key: file('key'), servername: t.servername };
}

/** A TLS socket's options for `host` (SNI only for a name: an IP address may not be sent as one). */
export function tlsFor(host: string, tls: ConnectionOptions): ConnectionOptions {
  return tls.servername !== undefined || isIP(host) !== 0 ? tls : { ...tls, servername: host };
}

const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000);

/**
 * A client for the configured topology. A Cluster client is typed as Redis: it has the same command
 * methods, and code that must differ checks `isCluster` (scripts grouped by slot, SCAN per master).
 * `over`: options for special connections (BullMQ workers need maxRetriesPerRequest null).
 */
export function redisClient(opts: RedisOptions, over: IoRedisOptions = {}): Redis {
  const tls = redisTls(opts);
  const base: IoRedisOptions = {
    commandTimeout: opts.command_timeout_ms,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    // The hot path's batched check is already one call for a whole turn's messages: auto-pipelining
    // would hold it until setImmediate, after the rest of a long I/O turn, and Redis would wait for
    // the gateway and the gateway for Redis (bench (d): ~20 % of both cores idle). It goes out at once.
    autoPipeliningIgnoredCommands: ['sgPolicyCheckBatch' satisfies ScriptName],
    lazyConnect: true,
    retryStrategy,
    reconnectOnError: () => false,
    ...(tls ? { tls } : {}),
    ...over,
  };
  if (opts.cluster) {
    const { enableOfflineQueue, enableAutoPipelining, lazyConnect, ...node } = base;
    const url = new URL(opts.url);
    return new Cluster(opts.cluster as ClusterNode[], {
      enableOfflineQueue,
      enableAutoPipelining,
      lazyConnect,
      scaleReads: 'master',
      // After a failover the new master's slots are picked up within a second.
      slotsRefreshInterval: 1000,
      clusterRetryStrategy: retryStrategy,
      // A command to a dead master is retried a little, then fails: callers time out and fail
      // closed instead of waiting out the failover (ioredis's defaults wait up to ~2 s).
      retryDelayOnFailover: 50,
      retryDelayOnClusterDown: 50,
      maxRedirections: 3,
      redisOptions: { ...node, ...(url.password ? { password: decodeURIComponent(url.password) } : {}), ...(url.username ? { username: url.username } : {}) },
    }) as unknown as Redis;
  }
  if (opts.sentinel) {
    const url = new URL(opts.url);
    return new Redis({
      ...base,
      // TLS to the master and replicas the sentinels name, and to the sentinels themselves.
      ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
      sentinels: opts.sentinel.sentinels,
      name: opts.sentinel.name,
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      ...(url.username ? { username: url.username } : {}),
      db: Number(url.pathname.slice(1) || 0),
    });
  }
  return new Redis(opts.url, base);
}

/** The gateway's main client (every policy, store and queue call). */
export function createRedis(opts: RedisOptions): Redis {
  return redisClient(opts);
}

/**
 * A client's connection errors, for the operator: each is counted (`onError`), a new kind is logged
 * at once and the same one again at most once a minute, recovery is logged, and `lastError` says
 * why Redis is not answering (/readyz shows it: "self-signed certificate", "WRONGPASS …").
 */
export class ConnectionWatch {
  lastError: string | null = null;
  private loggedAt = 0;

  constructor(client: Redis, log: Logger, onError: () => void, now: () => number = Date.now) {
    client.on('error', (err: Error) => {
      onError();
      const msg = err.message;
      const t = now();
      if (msg !== this.lastError || t - this.loggedAt >= 60_000) {
        log.warn({ err: msg }, 'Redis connection failed');
        this.loggedAt = t;
      }
      this.lastError = msg;
    });
    client.on('ready', () => {
      if (this.lastError !== null) log.info('Redis connected');
      this.lastError = null;
    });
  }
}

/** True for a Redis Cluster client. */
export function isCluster(client: Redis): boolean {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/** Runs `each` on every key matching `match`: SCAN on a single Redis, on every master of a Cluster. */
export async function scanKeys(client: Redis, match: string, each: (keys: string[]) => Promise<void> | void, count = 5000): Promise<void> {
  const nodes = isCluster(client) ? (client as unknown as Cluster).nodes('master') : [client];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', count);
      cursor = next;
      if (keys.length) await each(keys);
    } while (cursor !== '0');
  }
}

/** Connects, waiting at most `timeoutMs`; false when Redis did not answer (the client keeps trying). */
export async function connectRedis(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  const ready = new Promise<boolean>((resolve) => {
    client.once('ready', () => resolve(true));
  });
  if (client.status === 'wait') client.connect().catch(() => undefined);
  const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
  return Promise.race([ready, timer]);
}

/**
 * A pipeline for bulk writes (the importer). On a Cluster, one ioredis pipeline must stay within one
 * slot; this stand-in sends the commands at once instead (auto-pipelined per node by the client)
 * and answers exec() in the pipeline's [error, result] shape.
 */
export function bulk(client: Redis): ChainableCommander {
  if (!isCluster(client)) return client.pipeline();
  const calls: Promise<unknown>[] = [];
  const target = client as unknown as Record<string | symbol, (...a: unknown[]) => Promise<unknown>>;
  const proxy: ChainableCommander = new Proxy({} as ChainableCommander, {
    get(_t, prop) {
      if (prop === 'exec') return () => Promise.all(calls.map((p) => p.then((r) => [null, r], (e: unknown) => [e, null])));
      if (prop === 'length') return calls.length;
      return (...args: unknown[]) => {
        calls.push(target[prop]!.apply(client, args));
        return proxy;
      };
    },
  });
  return proxy;
}

/** A second connection like `client` with other options (pub/sub subscribers). */
export function duplicateClient(client: Redis, over: IoRedisOptions): Redis {
  if (!isCluster(client)) return client.duplicate(over);
  const c = client as unknown as Cluster;
  return c.duplicate(undefined, { ...c.options, enableOfflineQueue: over.enableOfflineQueue ?? c.options.enableOfflineQueue, redisOptions: { ...c.options.redisOptions, ...over } }) as unknown as Redis;
}

/**
 * The connection to the master serving `key`'s slot (the client itself when not a Cluster): for
 * keyless commands that must reach that node, such as WAIT after writing the key.
 */
export function masterOf(client: Redis, key: string): Redis {
  if (!isCluster(client)) return client;
  const c = client as unknown as Cluster & { slots: string[][] };
  const owner = c.slots[keySlot(key)]?.[0];
  return c.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner) ?? client;
}
