/**
 * The config schema's defaults (an empty file is a working config), the defaults of accounts and
 * SMSCs, and the shipped config/gateway.yaml: it loads, and where it says it shows a default, the
 * value shown is the schema's.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { AccountSchema, ConfigSchema, SmscSchema } from '../../src/config/schema.js';
import { quickHash } from '../helpers/fake-link.js';

const SHIPPED = fileURLToPath(new URL('../../config/gateway.yaml', import.meta.url));

describe('defaults', () => {
  it('an empty file (or one with only comments) is a complete config', () => {
    const c = parseConfig('');
    expect(parseConfig('# nothing here\n')).toEqual(c);
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 2775, max_connections: 2000, max_connections_per_ip: 50, plain: true });
    expect(c.http).toEqual({ host: '0.0.0.0', port: 9090, readyz_details: false });
    expect(c.max_pdu_length).toBe(65536);
    expect(c.redis).toEqual({ url: 'redis://127.0.0.1:6379', key_prefix: 'sg:', command_timeout_ms: 250, hot_path: 'commands', tls: false });
    expect(c.log).toEqual({ level: 'info', mask_msisdn: true });
    const { bind_throttle, ...upstream } = c.upstream;
    expect(upstream).toEqual({ idle_timeout_s: 120, bind_timeout_s: 30 });
    expect(bind_throttle).toEqual({ enabled: true, window_s: 60, max_failures: 5, max_failures_per_ip: 20, lockout_s: 60, max_lockout_s: 3600, max_system_ids_per_ip: 32, max_concurrent_checks: 0, max_queued_per_ip: 8 });
    expect(c.accounts).toEqual([]);
    expect(c.downstream).toEqual({
      response_timeout_ms: 5000,
      enquire_link_s: 30,
      bind_timeout_ms: 5000,
      reconnect_initial_ms: 500,
      reconnect_max_ms: 30000,
      max_pending: 10000,
      smscs: [],
      groups: [],
    });
    expect(c.receipts).toEqual({ map_ttl_s: 72 * 3600, map_all: false, held_ttl_h: 72, held_max_per_account: 100_000, dead_letter_after: 5, held_retry_s: 30 });
    expect(c.routes).toEqual({ mo: [], mt: [], no_route_status: 0x0b, portability: { on_redis_error: 'original' } });
    expect(c.shutdown).toEqual({ drain_timeout_ms: 5000 });
    expect(c.queue).toMatchObject({ enabled: true, concurrency: 200, wait_replicas: 0 });
    expect(c.queue.prefix).toBeUndefined();
    expect(c.policy).toMatchObject({ enabled: true, numbering: { country_code: '86', national_prefix: '0', international_prefix: '00' }, fail_open_classes: [] });
    expect(c.policy.opt_out.keywords).toContain('退订');
    expect(c.rules).toEqual({ dir: 'rules', watch: true });
    expect(c.audit.destination).toBe('stdout');
    expect(c.audit.stream).toMatchObject({ enabled: true, shards: 64, buffer_max_bytes: 512 * 1024 * 1024, buffer_max_age_s: 600 });
    expect(c.archive).toMatchObject({ enabled: true, dir: 'data/archive', retention_days: 150 });
    expect(c.complaints.deadlines).toMatchObject({ forward_working_days: 3, handle_working_days: 15, time_zone: 'Asia/Shanghai' });
    expect(c.complaints.auto_suspend).toMatchObject({ threshold: 5, window: '7d', mode: 'monitor' });
    expect(c.admin).toMatchObject({ tokens: [] });
  });

  it('fills a partly written section from its defaults', () => {
    const c = parseConfig('listen:\n  port: 2900\ndownstream:\n  enquire_link_s: 10\n');
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 2900, max_connections: 2000, max_connections_per_ip: 50, plain: true });
    expect(c.downstream.enquire_link_s).toBe(10);
    expect(c.downstream.response_timeout_ms).toBe(5000);
  });

  it('gives an account everything but its system_id, password hash and allowed_ips', () => {
    const hash = quickHash('pw');
    expect(AccountSchema.parse({ system_id: 'a', password_hash: hash, allowed_ips: ['10.0.0.0/8'] })).toEqual({
      system_id: 'a',
      password_hash: hash,
      allowed_ips: ['10.0.0.0/8'],
      max_binds: 4,
      window: 100,
      tps: 0,
      default_class: 'commercial',
      queue: { store_and_forward: [], max_queued: 100_000, max_queued_bytes: 64 * 1024 * 1024, max_age_s: 48 * 3600 },
      require_tls: false,
    });
  });

  it('gives an SMSC everything but its name, port and system_id (and a password, checked on load)', () => {
    expect(SmscSchema.parse({ name: 's', port: 2776, system_id: 'gw' })).toEqual({
      name: 's',
      host: '127.0.0.1',
      port: 2776,
      system_id: 'gw',
      system_type: '',
      bind: 'transceiver',
      binds: 1,
      window: 100,
      tps: 0,
      bind_batch: 32,
      tls: false,
    });
    expect(SmscSchema.parse({ name: 's', port: 1, system_id: 'gw', tls: {} }).tls).toEqual({ reject_unauthorized: true });
  });

  it('accepts store_and_forward as failure names and SMPP statuses, nothing else', () => {
    const hash = quickHash('pw');
    const ok = AccountSchema.parse({ system_id: 'a', password_hash: hash, allowed_ips: ['10.0.0.0/8'], queue: { store_and_forward: ['no_bind', 'timeout', 0x58, 0x14] } });
    expect(ok.queue.store_and_forward).toEqual(['no_bind', 'timeout', 0x58, 0x14]);
    for (const bad of ['sometimes', 0, -1]) {
      expect(AccountSchema.safeParse({ system_id: 'a', password_hash: hash, allowed_ips: ['10.0.0.0/8'], queue: { store_and_forward: [bad] } }).success).toBe(false);
    }
  });
});

describe('the shipped config/gateway.yaml', () => {
  const shipped = loadConfig(SHIPPED);
  const defaults = ConfigSchema.parse({});

  it('loads', () => {
    expect(shipped.accounts.map((a) => a.system_id)).toEqual(['demo']);
    expect(shipped.downstream.smscs.map((s) => s.name)).toEqual(['sim']);
  });

  it("shows the schema's defaults for the sections it says are defaults", () => {
    expect(shipped.listen).toEqual(defaults.listen);
    expect(shipped.http).toEqual(defaults.http);
    expect(shipped.max_pdu_length).toBe(defaults.max_pdu_length);
    expect(shipped.redis).toEqual(defaults.redis);
    expect(shipped.log).toEqual(defaults.log);
    expect(shipped.upstream).toEqual(defaults.upstream);
    const { smscs: _s, ...timings } = shipped.downstream;
    const { smscs: _d, ...defaultTimings } = defaults.downstream;
    expect(timings).toEqual(defaultTimings);
  });
});
