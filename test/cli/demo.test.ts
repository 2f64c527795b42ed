/**
 * `smppguard demo` (the README's main command) runs to the end and shows every step it promises, in
 * lines for people: no log JSON, one time zone, and next steps whose commands the CLI accepts.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { exampleCommand, resolveExample } from '../helpers/cli-examples.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');

describe('smppguard demo', () => {
  it('forwards, refuses (no consent, spoofed sender, DND, content rule), applies an opt-out, queues through quiet hours, and says what next', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, 'demo'], { timeout: 60_000 });
    expect(stdout).toMatch(/submit_sm #1: .* -> ESME_ROK message_id=/);
    expect(stdout).toMatch(/\(no consent\): .* -> ESME_RSUBMITFAIL \(no_consent/);
    expect(stdout).toMatch(/\(spoofed sender\): .* -> ESME_RINVSRCADR/);
    expect(stdout).toMatch(/\(do-not-disturb\): 1069001 -> 8613800138003 -> ESME_RSUBMITFAIL \(dnd: /);
    expect(stdout).toMatch(/\(content rule\): .* -> ESME_RSUBMITFAIL \(spam_content: rule demo-no-loans/);
    expect(stdout).toMatch(/\(after opt-out\): .* -> ESME_RSUBMITFAIL \(consent_revoked/);
    const queued = /\(quiet hours\): .* -> ESME_ROK message_id=(Q\w+)/.exec(stdout);
    expect(queued).not.toBeNull();
    expect(stdout).toContain(`receipt for id ${queued![1]} stat:DELIVRD`);

    // Lines for people: nothing on either stream is a log record (JSON).
    for (const line of `${stdout}\n${stderr}`.split('\n')) {
      let json = false;
      try {
        JSON.parse(line);
        json = line.trim() !== '' && !/^\d+$/.test(line.trim());
      } catch {
        // not JSON: good
      }
      expect(json, `a JSON line in the demo's output: ${line}`).toBe(false);
    }
    // One time zone: every time shown is Beijing time, offset and all; no ISO UTC.
    expect(stdout).toMatch(/^clock {6}\d{4}-\d\d-\d\d 10:00:\d\d \+08:00 /m);
    expect(stdout).toMatch(/release at \d{4}-\d\d-\d\d 08:00:00 \+08:00/);
    expect(stdout).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/);
    const times = [...stdout.matchAll(/\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d)? ?([+-]\d\d:\d\d|Z)/g)].map((m) => m[1]);
    expect(new Set(times)).toEqual(new Set(['+08:00']));

    // Next steps: send, explain, Grafana; every smppguard command shown is one the CLI accepts.
    const next = stdout.slice(stdout.indexOf('\nnext steps'));
    expect(next).toMatch(/\$ SMPP_PASSWORD=demo smppguard send -u demo /);
    expect(next).toMatch(/\$ smppguard explain -a demo .* --at \d{4}-\d\d-\d\dT10:00:00\+08:00/);
    expect(next).toMatch(/Grafana.*\n\s+\$ docker compose -f deploy\/docker-compose\.yml up/);
    const program = buildProgram();
    const commands = next.split('\n').map(exampleCommand).filter((l): l is string => l !== null);
    expect(commands.map((c) => c.split(' ')[1])).toEqual(['smsc-sim', 'start', 'send', 'explain']);
    for (const c of commands) expect(resolveExample(program, c).problems).toEqual([]);
  }, 90_000);
});
