/**
 * Rules on live traffic through a gateway: a keyword split across the parts of a concatenated
 * message, a hostile regex against 64 KB of text, and hot reload (bad file keeps the last good set).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Command } from '../../src/protocol/commands.js';
import { Tag } from '../../src/protocol/tlv.js';
import { senderId } from '../../src/domain/sender.js';
import type { EsmeClient } from '../helpers/esme-client.js';
import { sm, startStack, waitFor, type Stack } from '../helpers/stack.js';

const SENDER = '8610690002';
const USER = '8613800138000';
let stack: Stack | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
});

function rulesDir(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sg-rules-'));
  writeFileSync(join(dir, 'test.yaml'), yaml);
  return dir;
}

const keywordPack = (word: string) => `version: 1
rules:
  - id: block-${word.toLowerCase()}
    description: test keyword
    match:
      text: { contains_any: [${word}] }
    action: { reject: { status: 0x410, reason: keyword_${word.toLowerCase()} } }
`;

async function startWithRules(dir: string): Promise<{ esme: EsmeClient }> {
  stack = await startStack({
    cfg: (c) => {
      c.policy.enabled = true;
      c.rules = { dir, watch: true };
      c.http.readyz_details = true; // a test reads the checks
    },
  });
  // An OTP sender: forwarded without consent unless a rule says otherwise.
  const rec = { id: senderId('number', SENDER), kind: 'number' as const, value: SENDER, account: 'esme', class: 'otp' as const, status: 'active' as const, signatures: [] };
  await stack.gw.store.putSender(rec, { who: 'test' });
  await waitFor(() => stack!.gw.sync.registry.get(rec.id) !== undefined, 1000, 'sender cached');
  return { esme: await stack.esme('transmitter') };
}

const send = (esme: EsmeClient, text: string | Buffer, over: Record<string, string | number | Buffer> = {}) =>
  esme.submit(sm({ source_addr: SENDER, destination_addr: USER, short_message: text, ...over })).then((r) => r.status);

describe('rules on live traffic', () => {
  it('catches a keyword split across two parts of a concatenated message, and both parts get that answer', async () => {
    const { esme } = await startWithRules(rulesDir(keywordPack('FREE')));
    const udh = (seq: number) => Buffer.from([5, 0, 3, 0x21, 2, seq]);
    const parts = await Promise.all([
      send(esme, Buffer.concat([udh(1), Buffer.from('Get your FR')]), { esm_class: 0x40 }),
      send(esme, Buffer.concat([udh(2), Buffer.from('EE gift now')]), { esm_class: 0x40 }),
    ]);
    expect(parts).toEqual([0x410, 0x410]);
    // The same parts without the keyword pass, and a plain message with it is caught.
    const clean = await Promise.all([
      send(esme, Buffer.concat([Buffer.from([5, 0, 3, 0x22, 2, 1]), Buffer.from('Your code ')]), { esm_class: 0x40 }),
      send(esme, Buffer.concat([Buffer.from([5, 0, 3, 0x22, 2, 2]), Buffer.from('is 1234')]), { esm_class: 0x40 }),
    ]);
    expect(clean).toEqual([0, 0]);
    expect(await send(esme, 'totally ｆｒｅｅ stuff')).toBe(0x410); // full-width, case-folded
    const metrics = await stack!.gw.metrics.text();
    expect(metrics).toMatch(/smppguard_rule_matches_total\{rule="block-free",action="reject",mode="enforce"\} 2/);
  });

  it('a catastrophic-backtracking-shaped regex against 64 KB of hostile text does not delay other traffic', async () => {
    const { esme } = await startWithRules(
      rulesDir(`version: 1
rules:
  - id: hostile-shape
    description: (a+)+$ is exponential in a backtracking engine, linear in RE2
    match:
      text: { regex: "(a+)+$" }
    action: { reject: { status: 0x411, reason: regex_hit } }
`),
    );
    const hostile = Buffer.from(`${'a'.repeat(65_000)}!`);
    const latencies: number[] = [];
    let stop = false;
    const steady = (async () => {
      while (!stop) {
        const t0 = performance.now();
        expect(await send(esme, 'normal traffic')).toBe(0);
        latencies.push(performance.now() - t0);
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    const hostileStatuses = await Promise.all(
      Array.from({ length: 5 }, () =>
        esme.submit(sm({ source_addr: SENDER, destination_addr: USER, short_message: '' }), [{ tag: Tag.message_payload, value: hostile }], Command.data_sm),
      ),
    );
    const hostileMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await steady;
    // Not matched ($ after '!' fails) and not stalled: five 64 KB scans took milliseconds, not forever.
    expect(hostileStatuses.map((r) => r.status)).toEqual([0, 0, 0, 0, 0]);
    expect(hostileMs).toBeLessThan(1000);
    expect(latencies.length).toBeGreaterThan(10);
    expect(Math.max(...latencies)).toBeLessThan(250);
    // And the regex does match when it should.
    expect(await send(esme, 'aaaa')).toBe(0x411);
  });

  it('keeps the last good rules when a file turns invalid under load, reports it, and applies the fix without restart', async () => {
    const dir = rulesDir(keywordPack('ALPHA'));
    const { esme } = await startWithRules(dir);
    const versionBefore = stack!.gw.rules!.version;
    let stop = false;
    let failures = 0;
    let sent = 0;
    const load = (async () => {
      while (!stop) {
        const s = await send(esme, 'steady load');
        sent++;
        if (s !== 0) failures++;
      }
    })();
    expect(await send(esme, 'ALPHA inside')).toBe(0x410);
    writeFileSync(join(dir, 'test.yaml'), 'version: 1\nrules:\n  - id: broken\n    match: { text: [unclosed\n');
    await waitFor(() => stack!.gw.rules!.failures > 0, 3000, 'reload failure');
    const ready = (await (await fetch(`http://127.0.0.1:${stack!.gw.httpPort}/readyz`)).json()) as { checks: { rules: { detail: string } } };
    expect(ready.checks.rules.detail).toMatch(/last reload failed: .*test\.yaml:\d+:\d+/);
    expect(await stack!.gw.metrics.text()).toMatch(/smppguard_rules_last_reload_success 0/);
    expect(stack!.gw.rules!.version).toBe(versionBefore);
    expect(await send(esme, 'ALPHA still blocked')).toBe(0x410);
    writeFileSync(join(dir, 'test.yaml'), keywordPack('BETA'));
    await waitFor(() => stack!.gw.rules!.version !== versionBefore && stack!.gw.rules!.lastOk, 3000, 'reload of the fixed file');
    expect(await send(esme, 'BETA now blocked')).toBe(0x410);
    expect(await send(esme, 'ALPHA now fine')).toBe(0);
    expect(await stack!.gw.metrics.text()).toMatch(/smppguard_rules_last_reload_success 1/);
    stop = true;
    await load;
    expect(sent).toBeGreaterThan(20);
    expect(failures).toBe(0);
  });

  it('explains a rule decision with the rule id and the trace', async () => {
    await startWithRules(rulesDir(keywordPack('FREE')));
    const policy = stack!.gw.decisions;
    const e = await policy.explain({ account: 'esme', source_addr: SENDER, destination_addr: USER, text: 'all FREE today' });
    expect(e).toMatchObject({ action: 'reject', reason: 'keyword_free', status: 0x410, rule: 'block-free' });
    expect(e.trace.join('\n')).toMatch(/block-free/);
  });
});
