/**
 * Every Lua script the gateway runs, and the one function that registers them on a client.
 *
 * SCRIPTS is the table: per command its file under lua/ (each file starts with its Input/Output:
 * KEYS, ARGV, return value), its number of keys (absent: every call passes it first, the keys
 * varying per call), the files of shared Lua functions that go in front of it (its prelude: the
 * rate counters', the decision buffer's), and its TypeScript signature. withScripts() defines them
 * all as ioredis commands (EVALSHA, with EVAL once per connection) and returns the client typed with
 * them; every module that runs a script calls it, however many share the client.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

type Arg = string | number;

/** One script of the table; `Call` is its command's signature (a type only: nothing at run time). */
interface Script<Call> {
  readonly file: string;
  /** KEYS per call, when fixed. */
  readonly numberOfKeys: number | undefined;
  /** Files of shared Lua functions that go in front, in order (COUNTERS: the script calls their sg_* functions). */
  readonly prelude: readonly string[];
  readonly signature?: Call;
}

/** The rate counters' functions and the behaviour profiles' ops, in front of the scripts that count. */
export const COUNTERS = ['rate-counters.lua', 'behaviour.lua'] as const;
/** The decision buffer's functions (stream ids, bounds), in front of its append, hold and trim scripts. */
export const AUDIT_BUFFER = ['audit-buffer.lua'] as const;

function script<Call>(file: string, numberOfKeys?: number, prelude: readonly string[] = []): Script<Call> {
  return { file, numberOfKeys, prelude };
}

export const SCRIPTS = {
  /** One message's consent/DND check (Redis Cluster, explain, tools): store/policy-check.ts. */
  sgPolicyCheck: script<(consentKey: string, dndKey: string, dndCategoryKey: string, opKey: string, opCategoryKey: string, member: number, ...scopes: string[]) => Promise<(number | string | null)[]>>(
    'policy-check.lua',
    5,
  ),
  /** A turn's checks and counters in one call (hot path on a single Redis, redis.hot_path: script): store/policy-check.ts. */
  sgPolicyCheckBatch: script<(prefix: string, dndGen: number, scopeLists: string, messages: string, counterLines: string, horizon: number, portedLines?: string, portedGen?: number) => Promise<string>>(
    'policy-check-batch.lua',
    0,
    COUNTERS,
  ),
  /** Rate counters' own calls (per slot on a cluster; names the batch cannot carry): store/rates.ts. Arrays are flattened by ioredis. */
  sgRateBump: script<(numKeys: number, keys: string[], prefix: string, horizon: number, groups: Arg[]) => Promise<number[]>>('rates.lua', undefined, COUNTERS),
  /** Purge bookkeeping of count hashes the plain-command path made fields in: store/rates.ts. */
  sgRatePurge: script<(numKeys: number, ...keysThenHorizonThenCounts: Arg[]) => Promise<number>>('rate-purge.lua', undefined, COUNTERS),
  /** A flush of the decision buffer, held in its bounds (0 keys on a single Redis; the shard's stream and meta on a cluster): store/audit-stream.ts. */
  sgAuditAppend: script<(numKeys: 0 | 2, ...args: (string | Buffer)[]) => Promise<[number, number, number]>>('audit-append.lua', undefined, AUDIT_BUFFER),
  /** One shard held in its bounds after the plain-command append on a single Redis: store/audit-stream.ts. */
  sgAuditHold: script<(stream: string, meta: string, maxBytes: number, maxAgeMs: number) => Promise<number>>('audit-hold.lua', 2, AUDIT_BUFFER),
  /** The archive writer's cursor and trim of one shard, under its lease: store/archive-buffer.ts. */
  sgAuditArchived: script<(stream: string, meta: string, lease: string, token: string, cursor: string, upto: string, ttlMs: number) => Promise<[number, number, number]>>(
    'audit-trim.lua',
    3,
    AUDIT_BUFFER,
  ),
  /** A receipt's message id in the hour buckets: store/dlr-map.ts. */
  sgDlrLookup: script<(numKeys: number, ...bucketsThenIds: string[]) => Promise<[string, string] | null>>('dlr-lookup.lua'),
  /** A batch of messages queued: the per-account quota, and window/saf messages stored: queue/message-queue.ts. */
  sgQueueAdd: script<(numKeys: number, ...keysThenArgs: (string | number | Buffer)[]) => Promise<number[]>>('queue-add.lua'),
  /** Ended messages off the quota's books, out of the message hash, acknowledged in their stream: queue/message-queue.ts. */
  sgQueueFinish: script<(numKeys: number, ...keysThenArgs: string[]) => Promise<number>>('queue-finish.lua'),
  /** Window messages whose time has come, from the due set into the window stream: queue/message-queue.ts. */
  sgQueuePromote: script<(due: string, stream: string, now: number, limit: number) => Promise<number>>('queue-promote.lua', 2),
  /** An approved review message into the saf stream, once: queue/message-queue.ts. */
  sgQueueApprove: script<(messages: string, stream: string, reviewSet: string, safSet: string, id: string, packed: Buffer, acceptedAt: number) => Promise<number>>('queue-approve.lua', 4),
  /** Messages an earlier version queued as BullMQ window/saf jobs, into the streams: queue/message-queue.ts. */
  sgQueueMigrate: script<(...keysThenArgs: (string | number)[]) => Promise<number>>('queue-migrate.lua', 8),
  /** An instance's share of an account's TPS: upstream/shared-limits.ts. */
  sgTpsShare: script<(key: string, instance: string, demand: number, now: number, staleMs: number) => Promise<[number, number, number]>>('tps-share.lua', 1),
  /** A bulk load's journal entries of one pipeline (queued on the pipeline; the reply is not read): store/bulk-load.ts. */
  sgImportJournal: script<(journalKey: string, minId: string, ...countThenFields: string[]) => unknown>('journal-batch.lua', 1),
  /** One bind of an account over every instance: upstream/shared-limits.ts. */
  sgBindReserve: script<(key: string, instance: string, maxBinds: number, now: number, staleMs: number) => Promise<number>>('bind-reserve.lua', 1),
  /** Bind failures and lockouts per (source IP, system_id) and per source IP: store/bind-throttle.ts. */
  sgBindThrottle: script<(...keysThenArgs: Arg[]) => Promise<[number, number, number, number]>>('bind-throttle.lua', 8),
  /** Held receipts/MO of one account and its dead letters: hold, read, acknowledge, refuse, retry (store/held-deliveries.ts). */
  sgHeld: script<(key: string, deadKey: string, op: string, ...args: (string | number | Buffer)[]) => Promise<unknown>>('held.lua', 2),
  /** Receipts into sender behaviour profiles (the undeliverable share's ring): store/behaviour-store.ts. */
  sgBehaviourReceipts: script<(numKeys: number, ...keysThenArgs: Arg[]) => Promise<number>>('behaviour-receipts.lua'),
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/** A client with every script of the table as a command. */
export type ScriptClient = Redis & { [K in ScriptName]: (typeof SCRIPTS)[K] extends Script<infer Call> ? Call : never };

const sources = new Map<string, string>();

/** A Lua file shipped beside this module (copied into dist/ by the build), read once. */
function lua(file: string): string {
  let text = sources.get(file);
  if (text === undefined) {
    text = readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');
    sources.set(file, text);
  }
  return text;
}

/** A script's full source: its prelude's files, then its own. */
export function scriptSource(name: ScriptName): string {
  const s = SCRIPTS[name];
  return [...s.prelude, s.file].map(lua).join('\n');
}

/** Defines every script of the table on `redis` (those it has already are left alone) and returns it typed with them. */
export function withScripts(redis: Redis): ScriptClient {
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    if (!(name in redis)) redis.defineCommand(name, { lua: scriptSource(name), numberOfKeys: SCRIPTS[name].numberOfKeys });
  }
  return redis as ScriptClient;
}
