/** `smppguard demo` (the README's main command) runs to the end and shows every step it promises. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');

describe('smppguard demo', () => {
  it('forwards, refuses without consent and a spoofed sender, applies an opt-out, and queues through quiet hours', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'demo'], { timeout: 60_000 });
    expect(stdout).toMatch(/submit_sm #1: .* -> ESME_ROK message_id=/);
    expect(stdout).toMatch(/\(no consent\): .* -> ESME_RSUBMITFAIL \(no_consent/);
    expect(stdout).toMatch(/\(spoofed sender\): .* -> ESME_RINVSRCADR/);
    expect(stdout).toMatch(/\(after opt-out\): .* -> ESME_RSUBMITFAIL \(consent_revoked/);
    const queued = /\(quiet hours\): .* -> ESME_ROK message_id=(Q\w+)/.exec(stdout);
    expect(queued).not.toBeNull();
    expect(stdout).toContain(`receipt for id ${queued![1]} stat:DELIVRD`);
    expect(stdout).toMatch(/\ndone\nnext steps\n.*smppguard send.*\n.*smppguard explain.*\n.*Grafana/);
  }, 90_000);
});
