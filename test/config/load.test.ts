/**
 * Reading the config file: YAML syntax errors and schema errors reported as file:line:column with
 * the key's path, every problem at once, the cross-checks the schema cannot express, and loadConfig
 * reading a file by name.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { quickHash } from '../helpers/fake-link.js';

const HASH = quickHash('pw');

/** The problems parseConfig reports for `yaml` (fails the test if it parses). */
function problems(yaml: string, file = 'gw.yaml'): string[] {
  try {
    parseConfig(yaml, file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected the config to be refused');
}

describe('YAML syntax errors', () => {
  it('give file:line:column and the first line of the parser message', () => {
    expect(problems('listen: [1, 2\n')).toEqual(['gw.yaml:2:1: Flow sequence in block collection must be sufficiently indented and end with a ]']);
  });

  it('refuse a key given twice', () => {
    expect(problems('listen:\n  port: 1\n  port: 2\n')).toEqual(['gw.yaml:3:3: Map keys must be unique']);
  });

  it('name the file as given', () => {
    expect(problems('a: [\n', '/etc/smppguard/gateway.yaml')[0]).toMatch(/^\/etc\/smppguard\/gateway\.yaml:2:1: /);
  });
});

describe('schema errors', () => {
  it('point at the offending value with its dotted path', () => {
    expect(problems('listen:\n  port: 70000\n')).toEqual(['gw.yaml:2:9: listen.port: Too big: expected number to be <=65535']);
    expect(problems('max_pdu_length: "big"\n')).toEqual(['gw.yaml:1:17: max_pdu_length: Invalid input: expected number, received string']);
  });

  it('index into lists', () => {
    const yaml = `accounts:\n  - system_id: ok\n    password_hash: "${HASH}"\n    allowed_ips: [10.0.0.0/8]\n  - system_id: bad\n    password_hash: plain-text\n    allowed_ips: [10.0.0.0/8]\n`;
    expect(problems(yaml)).toEqual(['gw.yaml:6:20: accounts.1.password_hash: must be a scrypt hash from `smppguard hash-password`']);
  });

  it('refuse unknown keys (typos), at the map that holds them', () => {
    expect(problems('listen:\n  prot: 1\n')).toEqual(['gw.yaml:2:3: listen: Unrecognized key: "prot"']);
    expect(problems('lisen: {}\n')).toEqual(['gw.yaml:1:1: (root): Unrecognized key: "lisen"']);
    expect(problems(`accounts:\n  - system_id: a\n    password_hash: "${HASH}"\n    allowed_ips: [10.0.0.0/8]\n    windw: 5\n`)).toEqual(['gw.yaml:2:5: accounts.0: Unrecognized key: "windw"']);
  });

  it('report a missing required key at the entry that lacks it', () => {
    expect(problems('downstream:\n  smscs:\n    - name: s\n      system_id: x\n      password: p\n')).toEqual([
      'gw.yaml:3:7: downstream.smscs.0.port: Invalid input: expected number, received undefined',
    ]);
  });

  it('report every problem at once, in file order', () => {
    const yaml = 'listen:\n  port: -1\nhttp:\n  port: 1.5\nlog:\n  level: loud\n';
    const p = problems(yaml);
    expect(p).toHaveLength(3);
    expect(p[0]).toMatch(/^gw\.yaml:2:9: listen\.port: /);
    expect(p[1]).toMatch(/^gw\.yaml:4:9: http\.port: /);
    expect(p[2]).toMatch(/^gw\.yaml:6:10: log\.level: Invalid option/);
  });

  it('refuse a document that is not a map', () => {
    expect(problems('- 1\n- 2\n')).toEqual(['gw.yaml:1:1: (root): Invalid input: expected object, received array']);
  });

  it('check the rules that span keys: sentinel or cluster, TLS cert with key', () => {
    expect(problems('redis:\n  sentinel: { name: m, sentinels: [{ host: a, port: 1 }] }\n  cluster: [{ host: a, port: 1 }]\n')).toEqual([
      'gw.yaml:2:3: redis: give sentinel or cluster, not both',
    ]);
    const [tls] = problems('redis:\n  tls: { cert: a.pem }\n');
    expect(tls).toMatch(/^gw\.yaml:2:8: redis\.tls: .*give cert and key together$/);
  });

  it('check formats: queue prefix hash tag, time zone, suspension window, admin token digest', () => {
    expect(problems('queue:\n  prefix: "sg:q"\n')).toEqual(['gw.yaml:2:11: queue.prefix: needs exactly one {hash tag}, e.g. sg:{q}']);
    expect(problems('complaints:\n  deadlines:\n    time_zone: Mars/Base\n  auto_suspend:\n    window: soon\n')).toEqual([
      'gw.yaml:3:16: complaints.deadlines.time_zone: not an IANA time zone, e.g. Asia/Shanghai',
      'gw.yaml:5:13: complaints.auto_suspend.window: expected a window such as 24h, 7d, 30d',
    ]);
    expect(problems('admin:\n  tokens: [{ name: ops, sha256: "ABC" }]\n')[0]).toMatch(/^gw\.yaml:2:\d+: admin\.tokens\.0\.sha256: /);
  });

  it('hold SMPP field limits: system_id 15 octets, SMSC password 8', () => {
    const p = problems(
      `accounts:\n  - system_id: "${'x'.repeat(16)}"\n    password_hash: "${HASH}"\n    allowed_ips: [10.0.0.0/8]\ndownstream:\n  smscs:\n    - { name: s, port: 1, system_id: gw, password: "123456789" }\n`,
    );
    expect(p.map((x) => x.split(': ')[1])).toEqual(['accounts.0.system_id', 'downstream.smscs.0.password']);
  });

  it('hold a bind\'s window to 65,536 (its slots are allocated when the bind is made)', () => {
    const cfg = (w: number) =>
      `accounts:\n  - system_id: a\n    password_hash: "${HASH}"\n    allowed_ips: [10.0.0.0/8]\n    window: ${w}\ndownstream:\n  smscs:\n    - { name: s, port: 1, system_id: gw, password: p, window: ${w} }\n`;
    expect(parseConfig(cfg(65_536)).accounts[0]!.window).toBe(65_536);
    expect(problems(cfg(65_537)).map((x) => x.split(': ')[1])).toEqual(['accounts.0.window', 'downstream.smscs.0.window']);
  });
});

describe('cross-checks', () => {
  it('refuse a system_id given twice', () => {
    const acct = (id: string) => `  - system_id: ${id}\n    password_hash: "${HASH}"\n    allowed_ips: [10.0.0.0/8]\n`;
    expect(problems(`accounts:\n${acct('a')}${acct('b')}${acct('a')}`)).toEqual(['gw.yaml: accounts: system_id a appears twice']);
  });

  it('refuse an MO route to an account that does not exist', () => {
    expect(problems('routes:\n  mo: [{ prefix: "1069", account: ghost }]\n')).toEqual(['gw.yaml: routes.mo: prefix 1069 names unknown account ghost']);
  });

  it('refuse an SMSC with neither password nor password_env, and accept either', () => {
    expect(problems('downstream:\n  smscs: [{ name: s, port: 1, system_id: x }]\n')).toEqual(['gw.yaml: downstream.smscs s: give password or password_env']);
    const env = parseConfig('downstream:\n  smscs: [{ name: s, port: 1, system_id: x, password_env: SMSC_PW }]\n');
    // The variable is read when the link binds (downstream/smsc-link.ts), not at load: it need not exist now.
    expect(env.downstream.smscs[0]).toMatchObject({ password_env: 'SMSC_PW' });
    expect(env.downstream.smscs[0]!.password).toBeUndefined();
    expect(parseConfig('downstream:\n  smscs: [{ name: s, port: 1, system_id: x, password: pw }]\n').downstream.smscs[0]!.password).toBe('pw');
  });

  it('report every cross-check problem together', () => {
    const yaml = `accounts:\n  - { system_id: a, password_hash: "${HASH}", allowed_ips: [10.0.0.0/8] }\n  - { system_id: a, password_hash: "${HASH}", allowed_ips: [10.0.0.0/8] }\nroutes:\n  mo: [{ prefix: "1", account: b }]\ndownstream:\n  smscs: [{ name: s, port: 1, system_id: x }]\n`;
    expect(problems(yaml)).toHaveLength(3);
  });

  it('are only run on a config that passed the schema', () => {
    // Schema errors stop first: no cross-check noise about the same file.
    expect(problems('listen: { port: -1 }\nroutes:\n  mo: [{ prefix: "1", account: ghost }]\n')).toEqual([
      expect.stringMatching(/^gw\.yaml:1:17: listen\.port: /),
    ]);
  });
});

describe('ConfigError', () => {
  it('lists the problems in its message, one per line', () => {
    const e = new ConfigError(['a: one', 'b: two']);
    expect(e.message).toBe('invalid configuration:\n  a: one\n  b: two');
    expect(e.problems).toEqual(['a: one', 'b: two']);
    expect(e).toBeInstanceOf(Error);
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the file and reports problems under its path', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'listen:\n  port: 99999\n');
    expect(() => loadConfig(file)).toThrow(ConfigError);
    try {
      loadConfig(file);
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([`${file}:2:9: listen.port: Too big: expected number to be <=65535`]);
    }
  });

  it('returns the validated config of a good file', () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, 'listen:\n  port: 12775\n');
    expect(loadConfig(file).listen).toEqual({ host: '0.0.0.0', port: 12775, max_connections: 2000, max_connections_per_ip: 50, plain: true });
  });

  it('throws the file system error for a missing file', () => {
    expect(() => loadConfig(join(dir, 'missing.yaml'))).toThrow(/ENOENT/);
  });
});
