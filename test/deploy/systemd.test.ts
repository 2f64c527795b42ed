/**
 * deploy/systemd/smppguard.service: the hardening the issue lists, a dedicated user, restart on
 * failure, reload by SIGHUP, and the command it starts exists in the CLI. `systemd-analyze verify`
 * checks it where systemd-analyze is installed (with this machine's node path in ExecStart);
 * without it the test says so and skips that one check.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS } from '../../src/cli/node-flags.js';

const ROOT = resolve(import.meta.dirname, '../..');
const UNIT = join(ROOT, 'deploy/systemd/smppguard.service');
const text = readFileSync(UNIT, 'utf8');

/** section → key → values (a key may repeat). */
function parseUnit(t: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = '';
  for (const raw of t.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^\[(\w+)\]$/.exec(line);
    if (m) {
      section = m[1]!;
      out[section] = {};
      continue;
    }
    const eq = line.indexOf('=');
    const k = line.slice(0, eq);
    (out[section]![k] ??= []).push(line.slice(eq + 1));
  }
  return out;
}

const unit = parseUnit(text);
const svc = unit.Service!;
const one = (k: string) => svc[k]?.at(-1);

const systemdAnalyze = (() => {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('deploy/systemd/smppguard.service', () => {
  it('runs the gateway as a dedicated user with the usual hardening', () => {
    expect(one('User')).toBe('smppguard');
    expect(one('Group')).toBe('smppguard');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('PrivateTmp')).toBe('yes');
    expect(one('ProtectHome')).toBe('yes');
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(one('RestrictAddressFamilies')).toBe('AF_INET AF_INET6 AF_UNIX');
    // V8 compiles code at run time: W^X memory would stop node.
    expect(svc.MemoryDenyWriteExecute).toBeUndefined();
  });

  it('restarts on failure (not on a configuration error), reloads with SIGHUP, stops after the drain', () => {
    expect(one('Restart')).toBe('on-failure');
    expect(one('RestartPreventExitStatus')).toBe('2');
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    // shutdown.drain_timeout_ms (15 s default) + the CLI's 5 s grace, below TimeoutStopSec.
    expect(Number(one('TimeoutStopSec'))).toBeGreaterThan(20);
    expect(unit.Install!.WantedBy).toEqual(['multi-user.target']);
  });

  it('starts `smppguard start` with the configuration named by SMPPGUARD_CONFIG, secrets from an env file', () => {
    // With the gateway's V8 flags (src/cli/node-flags.ts).
    expect(one('ExecStart')).toBe(`/usr/bin/node ${GATEWAY_NODE_FLAGS.join(' ')} /opt/smppguard/dist/src/cli/main.js start`);
    expect(svc.Environment).toContain('SMPPGUARD_CONFIG=/etc/smppguard/gateway.yaml');
    expect(one('EnvironmentFile')).toBe('-/etc/smppguard/smppguard.env');
    expect(readFileSync(join(ROOT, 'docs/operations.md'), 'utf8')).toMatch(/deploy\/systemd\/smppguard\.service/);
  });

  it.runIf(systemdAnalyze)('passes systemd-analyze verify', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-systemd-'));
    try {
      const copy = join(dir, 'smppguard.service');
      // This machine's node, wherever it is installed.
      writeFileSync(copy, text.replace('ExecStart=/usr/bin/node', `ExecStart=${process.execPath}`));
      const out = execFileSync('systemd-analyze', ['verify', copy], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
      expect(out).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it.skipIf(systemdAnalyze)('passes systemd-analyze verify (skipped: systemd-analyze is not installed here)', () => undefined);
});
