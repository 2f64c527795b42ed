/**
 * Relative paths in a config file resolve against the file's directory, not the working directory;
 * a rules directory that is not there is an error at start, never "no rules".
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { missingPaths, resolveConfigPaths } from '../../src/config/paths.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { Gateway } from '../../src/gateway.js';
import { pino } from 'pino';

const dir = mkdtempSync(join(tmpdir(), 'sg-paths-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const YAML = `
listen:
  tls: { cert: certs/gw.crt, key: /abs/gw.key, ca: ../ca.pem }
http:
  tls: { cert: certs/http.crt, key: certs/http.key }
redis:
  tls: { ca: redis-ca.pem, cert: r.crt, key: r.key }
downstream:
  smscs: [{ name: s, port: 1, system_id: x, password: pw, tls: { ca: smsc-ca.pem } }]
rules:
  dir: packs
audit:
  destination: logs/audit.log
`;

describe('relative paths', () => {
  it('resolve against the config file directory, absolute ones stay', () => {
    const sub = join(dir, 'etc');
    mkdirSync(sub);
    writeFileSync(join(sub, 'gw.yaml'), YAML);
    const c = loadConfig(join(sub, 'gw.yaml'));
    expect(c.rules.dir).toBe(join(sub, 'packs'));
    expect(c.audit.destination).toBe(join(sub, 'logs/audit.log'));
    expect(c.listen.tls).toMatchObject({ cert: join(sub, 'certs/gw.crt'), key: '/abs/gw.key', ca: join(dir, 'ca.pem') });
    expect(c.http.tls).toMatchObject({ cert: join(sub, 'certs/http.crt'), key: join(sub, 'certs/http.key') });
    expect(c.redis.tls).toMatchObject({ ca: join(sub, 'redis-ca.pem'), cert: join(sub, 'r.crt'), key: join(sub, 'r.key') });
    expect(c.downstream.smscs[0]!.tls).toMatchObject({ ca: join(sub, 'smsc-ca.pem') });
  });

  it('leave stdout and off alone; the default rules dir sits beside the file', () => {
    writeFileSync(join(dir, 'min.yaml'), 'audit: { destination: stdout }\n');
    const c = loadConfig(join(dir, 'min.yaml'));
    expect(c.audit.destination).toBe('stdout');
    expect(c.rules.dir).toBe(join(dir, 'rules'));
  });

  it('without a file, resolve against the directory given (the working directory)', () => {
    const c = resolveConfigPaths(ConfigSchema.parse({ rules: { dir: 'r' } }), '/srv/x');
    expect(c.rules.dir).toBe('/srv/x/r');
  });
});

describe('paths that must exist', () => {
  it('a missing rules directory or TLS file is named; with policy off the rules directory is not needed', () => {
    const c = resolveConfigPaths(ConfigSchema.parse({ rules: { dir: 'nope' }, http: { tls: { cert: 'c.pem', key: 'k.pem' } } }), dir);
    expect(missingPaths(c)).toEqual([
      `rules.dir: ${join(dir, 'nope')} does not exist (create it, even empty, for no rules)`,
      `http.tls.cert: ${join(dir, 'c.pem')} does not exist`,
      `http.tls.key: ${join(dir, 'k.pem')} does not exist`,
    ]);
    writeFileSync(join(dir, 'file'), '');
    expect(missingPaths(resolveConfigPaths(ConfigSchema.parse({ rules: { dir: 'file' } }), dir))).toEqual([`rules.dir: ${join(dir, 'file')} is not a directory`]);
    expect(missingPaths(resolveConfigPaths(ConfigSchema.parse({ rules: { dir: 'nope' }, policy: { enabled: false } }), dir))).toEqual([]);
  });

  it('the gateway refuses to start on a missing rules directory rather than running with no rules', async () => {
    const c = ConfigSchema.parse({ rules: { dir: join(dir, 'missing-rules') }, listen: { port: 0 }, http: { port: 0 } });
    await expect(Gateway.start(c, { log: pino({ level: 'silent' }), processMetrics: false })).rejects.toThrow(/rules\.dir: .*missing-rules does not exist/);
  });
});
