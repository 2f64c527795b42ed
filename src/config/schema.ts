/**
 * config/: the gateway's configuration file (YAML) as one validated schema. Keys are snake_case,
 * as written in config/gateway.yaml; unknown keys are errors so typos do not pass silently.
 */
import { z } from 'zod';
import { parseCidr } from './cidr.js';
import { SENDER_CLASSES } from '../domain/sender.js';
import { COMPLAINT_SOURCES } from '../domain/complaint.js';
import { isValidZone, parseDuration } from '../domain/time.js';
import { isPasswordHash } from '../domain/password-hash.js';
import { ADMIN_ROLES } from '../domain/admin-role.js';
import { MtRouteSchema, PortabilitySchema, SmscGroupSchema } from './routing-schema.js';

const port = z.number().int().min(0).max(65535);
const ms = z.number().int().min(0);

export const AccountSchema = z.strictObject({
  system_id: z.string().min(1).max(15),
  password_hash: z.string().refine(isPasswordHash, 'must be a scrypt hash from `smppguard hash-password`'),
  /**
   * Source addresses allowed to bind (CIDR or single address; IPv4 also matches its IPv4-mapped IPv6
   * form). Required, not empty: an account without it refuses the config (default deny, below).
   * 0.0.0.0/0 or ::/0 opens the account to anyone, with a warning at start (config/load.ts).
   */
  allowed_ips: z
    .array(
      z.string().superRefine((v, ctx) => {
        const c = parseCidr(v);
        if (typeof c === 'string') ctx.addIssue({ code: 'custom', message: c });
      }),
    )
    .default([]),
  max_binds: z.number().int().min(1).default(4),
  /** Requests outstanding on one bind (at most 65,536: the window's slots are allocated at bind, session/window.ts). */
  window: z.number().int().min(1).max(65_536).default(100),
  /** Submits per second over all the account's binds; 0 = unlimited. */
  tps: z.number().min(0).default(0),
  /** Class of this account's senders registered without one. */
  default_class: z.enum(SENDER_CLASSES).default('commercial'),
  /**
   * How long the first part of a concatenated message waits for the others, so content rules see
   * the whole text. 0 for ESMEs that send one part at a time and wait for its answer.
   */
  concat_hold_ms: z.number().int().min(0).optional(),
  /** What the gateway may queue for this account (answered ESME_ROK, delivered later). */
  queue: z
    .strictObject({
      /**
       * Failures that queue the message instead of answering the ESME with the error:
       * "no_bind" (no SMSC bind up), "timeout" (no SMSC answer in time, link lost) and SMSC statuses
       * (0x58 throttled, 0x14 queue full, 0x08 system error…). Empty: failures go back to the ESME.
       */
      store_and_forward: z.array(z.union([z.enum(['no_bind', 'timeout']), z.number().int().min(1).max(0xffffffff)])).default([]),
      /** Messages this account may have queued at once (all queues); beyond it ESME_RMSGQFUL (0x14). */
      max_queued: z.number().int().min(0).default(100_000),
      /**
       * PDU bytes this account may have queued at once (all queues); beyond it ESME_RMSGQFUL (0x14).
       * Redis holds about 1.4 times this (base64 and the job's fields).
       */
      max_queued_bytes: z.number().int().min(0).default(64 * 1024 * 1024),
      /** Oldest a queued message may get before it expires (its validity_period may say sooner). */
      max_age_s: z.number().int().min(1).default(48 * 3600),
    })
    .prefault({}),
  /** Refuse a bind that does not come over the TLS listener (listen.tls), with ESME_RBINDFAIL. */
  require_tls: z.boolean().default(false),
  /**
   * Bind only over TLS with a verified client certificate whose subject has these attributes, e.g.
   * "CN=partner.example" or "CN=partner.example,O=Partner Ltd" (every one given must match).
   */
  tls_subject: z
    .string()
    .refine((v) => parseSubject(v) !== null, 'expected attributes such as "CN=partner.example" or "CN=x,O=y"')
    .optional(),
}).superRefine((a, ctx) => {
  // Default deny: which addresses may bind is written down for every account.
  if (a.allowed_ips.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['allowed_ips'],
      message: `account ${JSON.stringify(a.system_id)} has no allowed_ips: list the addresses it binds from (0.0.0.0/0 and ::/0 allow anyone; not recommended)`,
    });
  }
});

/**
 * A TLS server's files and settings (listen.tls, http.tls). PEM files, read at start and again on
 * SIGHUP or when they change. `client_auth`: none (no client certificate asked), optional (asked
 * and verified against `ca` when given; a connection without one is still accepted), require (a
 * connection without a certificate `ca` verifies is refused during the handshake).
 */
export const TlsServerSchema = z.strictObject({
  cert: z.string().min(1),
  key: z.string().min(1),
  /** CA(s) that client certificates must chain to (default: the system's). */
  ca: z.string().min(1).optional(),
  client_auth: z.enum(['none', 'optional', 'require']).default('none'),
  min_version: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
});

/** "CN=a,O=b" → [["CN","a"],["O","b"]]; null when malformed. A comma inside a value is written "\,". */
export function parseSubject(text: string): [string, string][] | null {
  const parts = text.split(/(?<!\\),/).map((p) => p.trim());
  const out: [string, string][] = [];
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq <= 0) return null;
    out.push([p.slice(0, eq).trim(), p.slice(eq + 1).trim().replace(/\\,/g, ',')]);
  }
  return out.length > 0 ? out : null;
}

const status = z.number().int().min(0).max(0xffffffff);
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD');
const ReasonStatuses = z.record(z.string(), status);

export const PolicySchema = z.strictObject({
  /** false: forward everything (the "policy off" mode, for passthrough benchmarks). */
  enabled: z.boolean().default(true),
  numbering: z
    .strictObject({
      country_code: z.string().regex(/^\d{1,3}$/).default('86'),
      national_prefix: z.string().regex(/^\d*$/).default('0'),
      international_prefix: z.string().regex(/^\d*$/).default('00'),
    })
    .prefault({}),
  /** Classes forwarded when the policy store cannot be asked. Only commercial messages ask it. */
  fail_open_classes: z.array(z.enum(SENDER_CLASSES)).default([]),
  /** Per reason code, the status to answer instead of the default (e.g. no_consent: 0x401). */
  statuses: ReasonStatuses.default({}),
  classify: z
    .strictObject({
      /** service_type value → class, e.g. { MKT: commercial, OTP: otp }. */
      service_types: z.record(z.string(), z.enum(SENDER_CLASSES)).default({}),
      /** A TLV whose value (as text) names the class, e.g. { tag: 0x1402, values: { P: commercial } }. */
      tlv: z
        .strictObject({ tag: z.number().int().min(1).max(0xffff), values: z.record(z.string(), z.enum(SENDER_CLASSES)) })
        .optional(),
      /** A TLV carrying the DND category (1–7) as text or one octet. */
      category_tlv: z.number().int().min(1).max(0xffff).optional(),
    })
    .prefault({}),
  /** How long consent/DND/sender changes stay in the journal (evidence). */
  journal_retention_days: z.number().int().min(1).default(150),
  /** How long the decision for a concatenated message is kept for parts that arrive late. */
  concat_ttl_s: z.number().int().min(1).default(120),
  reassembly: z
    .strictObject({
      /** Default wait for the remaining parts (accounts may override with concat_hold_ms). */
      hold_ms: z.number().int().min(0).default(1000),
      /** Bounds on what is held; beyond them the oldest message is decided on what it has. */
      max_messages: z.number().int().min(1).default(10_000),
      max_bytes: z.number().int().min(1024).default(16 * 1024 * 1024),
      /**
       * Each account's share of those bounds; past it the account's own oldest message is decided
       * early, so one account flooding parts cannot evict another's. Default: the bound divided by
       * the number of accounts.
       */
      max_messages_per_account: z.number().int().min(1).optional(),
      max_bytes_per_account: z.number().int().min(1024).optional(),
    })
    .prefault({}),
  opt_out: z
    .strictObject({
      keywords: z
        .array(z.string())
        .default(['TD', 'T', 'R', 'N', '退订', '取消', 'STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPT OUT', 'OPTOUT']),
      opt_in_keywords: z.array(z.string()).default(['START', 'UNSTOP']),
      help_keywords: z.array(z.string()).default(['HELP']),
      /** Whether an opt-in keyword re-grants consent for the scope. */
      regrant_on_opt_in: z.boolean().default(true),
      /** Which consent scope a reply revokes: the sender's brand (falls back to the number), the number, or the whole account. */
      scope: z.enum(['brand', 'sender', 'account']).default('brand'),
      /** Sent back from the same sender after an opt-out / opt-in / HELP; empty = none. */
      confirm_text: z.string().default(''),
      opt_in_text: z.string().default(''),
      help_text: z.string().default(''),
    })
    .prefault({}),
});

export const SmscSchema = z.strictObject({
  name: z.string().min(1),
  host: z.string().default('127.0.0.1'),
  port,
  system_id: z.string().min(1).max(15),
  /** Sent in the bind; may be given as password_env (the variable's name) to keep it out of the file. */
  password: z.string().max(8).optional(),
  password_env: z.string().optional(),
  system_type: z.string().max(12).default(''),
  bind: z.enum(['transceiver', 'transmitter', 'receiver']).default('transceiver'),
  binds: z.number().int().min(1).default(1),
  /** Requests outstanding on one bind (at most 65,536: the window's slots are allocated at bind, session/window.ts). */
  window: z.number().int().min(1).max(65_536).default(100),
  tps: z.number().min(0).default(0),
  /**
   * Requests one bind takes in one event-loop turn before the next bind takes over; they leave in
   * one socket write (downstream/smsc-groups.ts). 1: every request to the next bind (strict
   * round-robin), for an SMSC that holds each bind to a rate with no burst.
   */
  bind_batch: z.number().int().min(1).max(65_536).default(32),
  tls: z
    .union([
      z.boolean(),
      z.strictObject({ ca: z.string().optional(), reject_unauthorized: z.boolean().default(true), servername: z.string().optional() }),
    ])
    .default(false),
});

export const ConfigSchema = z.strictObject({
  /**
   * Gateway processes on this box (docs/scaling.md, "All cores of one box"): 1 is one process; N
   * forks N workers sharing the SMPP and HTTP ports (node:cluster), each a full gateway with its
   * share of the SMSC binds, SMSC TPS and connection caps; `auto` is one per core. Restart to change.
   */
  workers: z.union([z.number().int().min(1).max(256), z.literal('auto')]).default(1),
  listen: z
    .strictObject({
      host: z.string().default('0.0.0.0'),
      port: port.default(2775),
      /** ESME connections open at once; one more is closed on accept (counted, logged once a minute per IP). */
      max_connections: z.number().int().min(1).default(2000),
      /** ESME connections open at once from one source IP; one more is closed on accept. */
      max_connections_per_ip: z.number().int().min(1).default(50),
      /** The plain-TCP listener on `port`; false for a TLS-only deployment (then listen.tls is required). */
      plain: z.boolean().default(true),
      /** SMPP over TLS on its own port (3550 by convention), next to or instead of the plain one. */
      tls: TlsServerSchema.extend({ port: port.default(3550) }).optional(),
    })
    .refine((l) => l.plain || l.tls, { message: 'listen.plain is false and listen.tls is not set: nothing to listen on', path: ['plain'] })
    .prefault({}),
  /** /metrics, probes, the admin API; HTTPS when `tls` is set (same shape as listen.tls, no port). */
  http: z
    .strictObject({
      host: z.string().default('0.0.0.0'),
      port: port.default(9090),
      tls: TlsServerSchema.optional(),
      /** /readyz shows each check's detail (hosts, errors) to everyone; false: only to a request with a valid admin token. */
      readyz_details: z.boolean().default(false),
    })
    .prefault({}),
  max_pdu_length: z.number().int().min(64).max(16 * 1024 * 1024).default(65536),
  redis: z
    .strictObject({
      /** A single Redis (also the credentials/TLS template: rediss://user:pass@host for the others). */
      url: z.string().default('redis://127.0.0.1:6379'),
      /** Redis Sentinel: the master's name and the sentinels to ask for it (url then only gives auth/db). */
      sentinel: z
        .strictObject({ name: z.string().min(1), sentinels: z.array(z.strictObject({ host: z.string(), port })).min(1) })
        .optional(),
      /** Redis Cluster: seed nodes (any few). Keys are hash-tagged so no command crosses slots. */
      cluster: z.array(z.strictObject({ host: z.string(), port })).min(1).optional(),
      key_prefix: z.string().default('sg:'),
      command_timeout_ms: ms.default(250),
      /**
       * How a message's policy check and counters reach a single Redis: `commands`, plain commands
       * pipelined on a connection of the hot path's own (less than half the Redis CPU); `script`,
       * one Lua call per batch on the main connection. Sentinel and Cluster always use scripts.
       */
      hot_path: z.enum(['commands', 'script']).default('commands'),
      /**
       * TLS for every Redis connection (the main client, the hot path's, the queue's; a Sentinel
       * setup's sentinels and master, a Cluster's nodes). On with a rediss:// URL or with this set;
       * `ca` (the CA to trust, PEM file; default the system's), `cert`/`key` (a client certificate
       * for servers with tls-auth-clients), `servername` (the name the certificate must carry).
       */
      tls: z
        .union([
          z.boolean(),
          z.strictObject({
            ca: z.string().optional(),
            cert: z.string().optional(),
            key: z.string().optional(),
            reject_unauthorized: z.boolean().default(true),
            servername: z.string().optional(),
          }),
        ])
        .default(false),
    })
    .refine((r) => !(r.sentinel && r.cluster), 'give sentinel or cluster, not both')
    .refine((r) => typeof r.tls !== 'object' || !r.tls.cert === !r.tls.key, { message: 'redis.tls: give cert and key together', path: ['tls'] })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      mask_msisdn: z.boolean().default(true),
    })
    .prefault({}),
  upstream: z
    .strictObject({
      /** Close an ESME session that sends nothing (not even enquire_link) for this long; 0 = never. */
      idle_timeout_s: z.number().min(0).default(120),
      /** A connection not bound this long after it was accepted is closed, whatever it sends meanwhile. */
      bind_timeout_s: z.number().min(1).default(30),
      /** Failed binds counted in Redis (shared by every instance) and lockouts (docs/security.md, "Bind throttling"). */
      bind_throttle: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** Failures are counted in a window this long from the first one. */
          window_s: z.number().int().min(1).default(60),
          /** Failures per (source IP, system_id) in a window that lock that pair out. */
          max_failures: z.number().int().min(1).default(5),
          /** Failures per source IP over every system_id in a window that lock the IP out (stops enumeration). */
          max_failures_per_ip: z.number().int().min(1).default(20),
          /** The first lockout; each further one doubles it, up to max_lockout_s. */
          lockout_s: z.number().int().min(1).default(60),
          max_lockout_s: z.number().int().min(1).default(3600),
          /** Distinct system_ids counted per source IP in a window (they are attacker-chosen); beyond them failures count only toward the IP. */
          max_system_ids_per_ip: z.number().int().min(1).default(32),
          /** Password checks (scrypt) running at once over every source IP, per process; 0 = the CPU count, at most 4 (with workers: divided among them). */
          max_concurrent_checks: z.number().int().min(0).default(0),
          /** Binds from one source IP waiting for a password check; beyond them a bind is refused at once. */
          max_queued_per_ip: z.number().int().min(1).default(8),
        })
        .prefault({}),
    })
    .prefault({}),
  accounts: z.array(AccountSchema).default([]),
  downstream: z
    .strictObject({
      response_timeout_ms: ms.min(1).default(5000),
      enquire_link_s: z.number().min(1).default(30),
      bind_timeout_ms: ms.min(1).default(5000),
      reconnect_initial_ms: ms.min(1).default(500),
      reconnect_max_ms: ms.min(1).default(30000),
      /** Submits waiting for window or throughput on every SMSC before new ones are refused with 0x58. */
      max_pending: z.number().int().min(0).default(10000),
      smscs: z.array(SmscSchema).default([]),
      /** SMSC groups that MT routes name (docs/routing.md); without routes.mt every SMSC shares the traffic. */
      groups: z.array(SmscGroupSchema).default([]),
    })
    .prefault({}),
  receipts: z
    .strictObject({
      /** How long a message id → account entry is kept for routing the delivery receipt. */
      map_ttl_s: z.number().int().min(60).default(72 * 3600),
      /**
       * Also map messages that asked for no receipt, so a complaint can quote any message id
       * (complaints/). Costs one map entry per forwarded message instead of per receipt request.
       */
      map_all: z.boolean().default(false),
      /** Receipts/MO held for an account with no receiver bound are dropped (and counted) after this many hours. */
      held_ttl_h: z.number().min(1).default(72),
      /** Most receipts/MO held per account; beyond it the oldest are dropped (and counted). */
      held_max_per_account: z.number().int().min(1).default(100_000),
      /**
       * A held receipt/MO the receiver refuses this many times moves to the account's dead-letter
       * list (admin API /dead-letters), so it stops blocking the ones behind it.
       */
      dead_letter_after: z.number().int().min(1).default(5),
      /** After a receiver refused a held delivery, delivery of the held list is tried again this much later. */
      held_retry_s: z.number().min(0.1).default(30),
    })
    .prefault({}),
  routes: z
    .strictObject({
      /** MO routing: the account that owns a destination prefix (longest prefix wins). */
      mo: z.array(z.strictObject({ prefix: z.string().min(1), account: z.string().min(1) })).default([]),
      /** MT routing (docs/routing.md): ordered routes to SMSC groups. Empty: every SMSC shares every message. */
      mt: z.array(MtRouteSchema).default([]),
      /** The status a message no MT route matches is refused with (reason no_route). */
      no_route_status: z.number().int().min(1).max(0xffffffff).default(0x0b),
      /** Number portability (docs/routing.md): used only when some MT route matches ported_to. */
      portability: PortabilitySchema,
    })
    .prefault({}),
  shutdown: z.strictObject({ drain_timeout_ms: ms.default(5000) }).prefault({}),
  queue: z
    .strictObject({
      /** false: no queue; store-and-forward is off and rule packs asking for `queue` are refused. */
      enabled: z.boolean().default(true),
      /**
       * The queue's key prefix. Needs one {hash tag} so every queue key shares a Redis Cluster slot.
       * Default: redis.key_prefix + "{q}".
       */
      prefix: z.string().regex(/^[^{}]*\{[^{}]+\}[^{}]*$/, 'needs exactly one {hash tag}, e.g. sg:{q}').optional(),
      /** Messages one gateway instance works on at once per queue (window, saf): in flight to the SMSC, or waiting for a retry. */
      concurrency: z.number().int().min(1).default(200),
      /** A message whose worker stops renewing it for this long (crash) is taken by another worker. */
      lock_duration_ms: ms.min(1000).default(30_000),
      /**
       * A queued message not stored this long after it arrived is answered ESME_RSYSERR (the ESME may
       * retry); also the timeout of each queue command.
       */
      command_timeout_ms: ms.min(1).default(2000),
      /**
       * Replicas that must have a queued message before the ESME gets ESME_ROK (Redis WAIT): with 1,
       * a master that dies right after the answer loses nothing its replica takes over. 0: don't wait.
       */
      wait_replicas: z.number().int().min(0).default(0),
      wait_timeout_ms: ms.min(1).default(500),
      /** Retry backoff after a temporary SMSC refusal: doubles from initial to max. */
      retry_initial_ms: ms.min(1).default(1000),
      retry_max_ms: ms.min(1).default(60_000),
    })
    .prefault({}),
  policy: PolicySchema.prefault({}),
  rules: z
    .strictObject({
      /** Directory of rule packs (*.yaml; *.test.yaml are their tests). Missing or empty: no rules. */
      dir: z.string().default('rules'),
      /** Reload when a file changes (SIGHUP always reloads). */
      watch: z.boolean().default(true),
    })
    .prefault({}),
  audit: z
    .strictObject({
      /** One JSON line per decision: a file path, "stdout", or "off". */
      destination: z.string().default('stdout'),
      /**
       * Audit bytes that may wait for stdout or the file (a pipe nobody reads, a slow disk); beyond
       * it lines are dropped and counted (smppguard_audit_log_dropped_total).
       */
      max_buffer_bytes: z.number().int().min(65536).default(4 * 1024 * 1024),
      /**
       * Every decision's record (evidence) goes first to a bounded buffer of Redis streams sharded by
       * recipient (store/audit-stream.ts), from which the archive writer moves it to Parquet files
       * (`archive:`; docs/evidence.md).
       */
      stream: z
        .strictObject({
          enabled: z.boolean().default(true),
          /**
           * Streams the recipients are spread over (recipient number mod shards); evidence reads one,
           * the archive writes one file per shard and batch (64: ~16 ms of DuckDB per file, measured;
           * docs/evidence.md).
           */
          shards: z.number().int().min(1).max(65536).default(64),
          /** Bytes of decision lines the buffer may hold, all shards together; beyond, the oldest are dropped and counted. */
          buffer_max_bytes: z.number().int().min(1024 * 1024).default(512 * 1024 * 1024),
          /** Entries older than this are dropped (counted when the archive did not have them yet), seconds. */
          buffer_max_age_s: z.number().int().min(10).default(600),
          /** Decisions are collected this long and written as one entry per shard in one script call; 0 = every event-loop turn. */
          flush_ms: z.number().int().min(0).max(10_000).default(250),
          /** Decisions held in this process while Redis cannot take them; beyond this new ones are dropped and counted. */
          max_buffer: z.number().int().min(1000).default(200_000),
        })
        .prefault({}),
    })
    .prefault({}),
  /**
   * The decision archive: Parquet files, partitioned by day and shard, written from the buffer
   * (archive/writer.ts; docs/evidence.md).
   */
  archive: z
    .strictObject({
      /** Run the archive writer with the gateway (else run `smppguard archive` somewhere). Evidence reads the files either way. */
      enabled: z.boolean().default(true),
      /**
       * `smppguard start` runs the writer in a child process of its own (cli/archive-child.ts), at
       * a lower CPU priority (`nice`), so that its batches neither hold the gateway's event loop nor
       * take its core; false: on the gateway's event loop (the only way a gateway embedded through
       * Gateway.start runs one).
       */
      child_process: z.boolean().default(true),
      /** The child's nice value (0–19): higher yields the CPU to the gateway sooner. */
      nice: z.number().int().min(0).max(19).default(10),
      /** The archive directory (relative: to the config file's directory); one shared volume for every instance. */
      dir: z.string().min(1).default('data/archive'),
      /** Day partitions older than this are deleted (the consent journal's 150 days by default). */
      retention_days: z.number().int().min(1).default(150),
      /** Each shard's batch is written once in this period, at the shard's turn (turns spread evenly over it; no decision waits longer) … */
      batch_seconds: z.number().int().min(1).max(3600).default(60),
      /** … or it holds this many decisions. */
      batch_decisions: z.number().int().min(1000).default(1_000_000),
      /** A shard's writer lease; another instance takes over this long after a writer died. */
      lease_seconds: z.number().int().min(5).default(30),
      /** Archived entries stay in the buffer this long (longer than an evidence read takes). */
      trim_grace_seconds: z.number().int().min(5).default(60),
      /** A shard-day's newest files are merged once this many of about one size have piled up (and all its small ones when the day has closed; archive/writer.ts sameSize). */
      compact_files: z.number().int().min(2).default(16),
      /** Files of at least this size are not merged again, MB. */
      compact_target_mb: z.number().int().min(1).default(64),
      /** Shards the writer works on at once, one DuckDB thread each (evidence reads use at least 2). */
      threads: z.number().int().min(1).max(64).default(1),
    })
    .prefault({}),
  complaints: z
    .strictObject({
      deadlines: z
        .strictObject({
          /** Forward a case to the responsible account within this many working days of receipt. */
          forward_working_days: z.number().int().min(1).default(3),
          /** Handle (close with a resolution) within this many working days of receipt. */
          handle_working_days: z.number().int().min(1).default(15),
          /** The zone whose calendar days count. */
          time_zone: z.string().refine(isValidZone, 'not an IANA time zone, e.g. Asia/Shanghai').default('Asia/Shanghai'),
          /** Public holidays (not working days), YYYY-MM-DD. */
          holidays: z.array(isoDate).default([]),
          /** Weekend days that are working days (make-up days, 调休), YYYY-MM-DD. */
          working_weekends: z.array(isoDate).default([]),
        })
        .prefault({}),
      auto_suspend: z
        .strictObject({
          /** Suspend a sender at this many complaints within `window`; 0 = never. */
          threshold: z.number().int().min(0).default(5),
          window: z.string().refine((s) => parseDuration(s) !== null, 'expected a window such as 24h, 7d, 30d').default('7d'),
          /** enforce: suspend; monitor: log and count the would-be suspension only. */
          mode: z.enum(['enforce', 'monitor']).default('monitor'),
          /** Complaint sources that count toward the threshold. */
          sources: z.array(z.enum(COMPLAINT_SOURCES)).default([...COMPLAINT_SOURCES]),
        })
        .prefault({}),
      /** Closed cases older than this are removed. */
      retention_days: z.number().int().min(1).default(400),
    })
    .prefault({}),
  admin: z
    .strictObject({
      /**
       * Bearer tokens for the admin API: name (journaled as "who"), the token's SHA-256 hex, and its
       * role (read | operate | admin; docs/security.md lists what each may call). A token without a
       * role is read as admin, with a warning at start-up (configs from before roles).
       */
      tokens: z
        .array(z.strictObject({ name: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/), role: z.enum(ADMIN_ROLES).optional() }))
        .default([]),
      /**
       * Requests without a valid token, per source address: counted, logged at most once a minute,
       * and slowed — after `free_attempts` failures each 401 waits `delay_ms`, doubling up to
       * `max_delay_ms`. An address is forgotten `forget_s` after its last failure; at most
       * `max_addresses` are remembered (the one that failed longest ago is forgotten first).
       */
      failed_auth: z
        .strictObject({
          free_attempts: z.number().int().min(0).default(5),
          delay_ms: ms.default(100),
          max_delay_ms: ms.default(5000),
          forget_s: z.number().int().min(1).default(300),
          max_addresses: z.number().int().min(1).default(10_000),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Traffic intelligence (issue 18, docs/intelligence.md): campaign marks, reputation sets, the memory (campaign texts; the fingerprints are in the decision record). */
  intel: z
    .strictObject({
      enabled: z.boolean().default(true),
      /**
       * How far back a complaint naming a message id finds it (its fingerprint in the decision
       * record), and how long the text of each campaign fingerprint is kept (0: off; complaints by
       * message id then find nothing and mark by their own text).
       */
      memory_retention_s: z.number().int().min(0).default(3 * 86_400),
      /** Texts (distinct fingerprints) one instance keeps an hour at most; beyond, that hour's other texts are not kept (counted). */
      memory_max_texts: z.number().int().min(100).default(50_000),
      /** A complaint or review mark (and a learned number/domain) counts this long. */
      mark_ttl_s: z.number().int().min(60).default(30 * 86_400),
      /** Marks kept at most (beyond, the soonest to expire go first). */
      max_marks: z.number().int().min(100).default(100_000),
      /** Entries per reputation set at most (imports beyond are refused). */
      max_reputation_entries: z.number().int().min(1).default(1_000_000),
      /** Learn callback numbers and link domains from complaints and reviewer rejects (set "complained"). */
      learn: z.boolean().default(true),
      /**
       * Campaign senders/accounts and sender behaviour (distinct recipients, sequence, baseline, receipts) are counted in
       * process and shared with the other instances through Redis every this many ms
       * (store/intel-tally.ts); 0: every such counter rides each message's round trip instead.
       */
      share_ms: z.number().int().min(0).max(10_000).default(1000),
      /** Those counters one instance keeps at most (least recently used first out). */
      share_max_keys: z.number().int().min(100).max(10_000_000).default(100_000),
    })
    .prefault({}),
  /** Sender behaviour profiles for `behaviour:` rule conditions (docs/intelligence.md#sender-behaviour). */
  behaviour: z
    .strictObject({
      /** The undeliverable share is over each sender's last this many receipts (a ring of bits). */
      receipts_window: z.number().int().min(10).max(100_000).default(500),
      /** Receipt states (stat: text, or message_state) that count as undeliverable. */
      undeliverable_states: z.array(z.enum(['UNDELIV', 'REJECTD', 'EXPIRED', 'DELETED', 'UNKNOWN'])).default(['UNDELIV', 'REJECTD', 'EXPIRED']),
      /** Receipt err: codes that count as undeliverable whatever the state (e.g. "001" for an unknown subscriber on some SMSCs). */
      undeliverable_errors: z.array(z.string().regex(/^[0-9A-Za-z]{1,8}$/)).default([]),
      /** A profile (baseline, receipt ring) is forgotten this long after its sender's last hour or receipt. */
      profile_ttl: z.string().refine((s) => parseDuration(s) !== null, 'expected a duration such as 8d').default('8d'),
      /** The hourly baseline's memory in days (EWMA weight 2 / (days + 1)). */
      baseline_days: z.number().min(1).max(90).default(7),
      /** Days an hour of the day must have been seen before its baseline is used. */
      baseline_min_days: z.number().int().min(1).max(90).default(3),
    })
    .prefault({}),
  /**
   * Content-score models (`smppguard model train`, docs/model.md): name → model file, relative to
   * this config file's directory. Rules read them as `score: {model: <name>, above: <p>}`; each file
   * is reloaded when it changes (and on SIGHUP), the last good model staying on a bad file.
   */
  models: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'model names are letters, digits, _ . - (at most 64)'), z.string().min(1)).default({}),
  /**
   * The labelled store (store/label-store.ts): reviewers' approve/reject and handled complaints keep
   * the message text with a label (ham/spam) for `smppguard model export-labels`.
   */
  labels: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Labels older than this are trimmed. */
      retention_days: z.number().int().min(1).default(180),
      /** And at most about this many are kept (the oldest go first). */
      max_entries: z.number().int().min(1000).default(1_000_000),
    })
    .prefault({}),
  /**
   * The compliance web console under /console on the HTTP port (docs/console.md): sign-in with an
   * admin token, sessions in Redis. Off by default; needs admin.tokens.
   */
  console: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** A session ends after this long without a request. */
      session_idle_s: z.number().int().min(60).default(1800),
      /** A session ends this long after sign-in, used or not. */
      session_max_s: z.number().int().min(60).default(8 * 3600),
      /** Dates are shown in this zone unless the operator picks another at sign-in. */
      time_zone: z.string().refine(isValidZone, 'not an IANA time zone, e.g. Asia/Shanghai').default('Asia/Shanghai'),
    })
    .prefault({}),
}).superRefine((c, ctx) => {
  // An account that may bind only over TLS needs the TLS listener (and, bound to a certificate subject, client certificates).
  c.accounts.forEach((a, i) => {
    if ((a.require_tls || a.tls_subject) && !c.listen.tls) {
      ctx.addIssue({ code: 'custom', path: ['accounts', i], message: `account ${a.system_id} binds only over TLS but listen.tls is not set` });
    } else if (a.tls_subject && c.listen.tls?.client_auth === 'none') {
      ctx.addIssue({ code: 'custom', path: ['accounts', i], message: `account ${a.system_id} has tls_subject but listen.tls.client_auth is none (no client certificate is asked for)` });
    }
  });
});

export type Config = z.infer<typeof ConfigSchema>;
export type AccountConfig = z.infer<typeof AccountSchema>;
export type SmscConfig = z.infer<typeof SmscSchema>;
export type TlsServerConfig = z.infer<typeof TlsServerSchema>;
export type PolicyConfig = z.infer<typeof PolicySchema>;
export type ComplaintsConfig = Config['complaints'];
