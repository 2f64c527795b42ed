import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rulesCheck, rulesTest, type Output } from '../../src/cli/rules.js';

const F = 'test/fixtures/rules';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io: Output = { out: (l) => out.push(l), err: (l) => err.push(l) };
  return { io, out, err };
}

describe('smppguard rules check', () => {
  it('prints OK with the rule count and version', () => {
    const c = capture();
    expect(rulesCheck(`${F}/examples`, c.io)).toBe(0);
    expect(c.out).toEqual([expect.stringMatching(/^OK: 16 rules in 2 files, version [0-9a-f]{12}$/)]);
  });

  it('prints every problem as file:line:col and exits 1', () => {
    const c = capture();
    expect(rulesCheck(`${F}/bad-schema`, c.io)).toBe(1);
    expect(c.err).toHaveLength(5);
    for (const l of c.err.slice(0, 4)) expect(l).toMatch(/^test\/fixtures\/rules\/bad-schema\/rules\.yaml:\d+:\d+: /);
    expect(c.err[4]).toBe('4 problems: rule set not loadable');
  });
});

describe('smppguard rules test', () => {
  it('the example packs pass their tests, every rule touched', () => {
    const c = capture();
    expect(rulesTest(`${F}/examples`, [], {}, c.io)).toBe(0);
    expect(c.out.at(-1)).toBe('19 passed, 0 failed');
    expect(c.out.filter((l) => l.startsWith('PASS '))).toHaveLength(19);
  });

  it('a failing case prints the diff and the trace; untested rules are listed; exit 1', () => {
    const c = capture();
    expect(rulesTest(`${F}/failing`, [`${F}/failing/rules.test.yaml`], {}, c.io)).toBe(1);
    expect(c.out[0]).toBe('PASS lottery is refused');
    expect(c.out[1]).toMatch(/^FAIL a wrong expectation \(test\/fixtures\/rules\/failing\/rules\.test\.yaml:11:5\)$/);
    expect(c.out).toContain('    action: want reject, got forward');
    expect(c.out).toContain('    reason: want spam_content, got not_commercial');
    expect(c.out).toContain('    status: want 0x45, got 0x0');
    expect(c.out).toContain('untested rules: never-hit');
    expect(c.out.at(-1)).toBe('1 passed, 1 failed');
  });

  it('untested rules alone fail the run unless allowed', () => {
    const passing = `${F}/failing/only-pass.test.yaml`;
    const c = capture();
    expect(rulesTest(`${F}/failing`, [passing], {}, c.io)).toBe(1);
    expect(c.out.at(-1)).toBe('1 passed, 0 failed');
    expect(c.err).toContain('untested rules fail the run (--allow-untested to accept them)');
    expect(rulesTest(`${F}/failing`, [passing], { allowUntested: true }, capture().io)).toBe(0);
  });

  it('a case file with errors fails with file:line:col', () => {
    const c = capture();
    expect(rulesTest(`${F}/failing`, [`${F}/bad-cases.test.yaml`], {}, c.io)).toBe(1);
    expect(c.out[0]).toMatch(/^test\/fixtures\/rules\/bad-cases\.test\.yaml:\d+:\d+: cases\[0\]\.expect\.action: /);
    expect(rulesTest(`${F}/failing`, [`${F}/nope.test.yaml`], {}, capture().io)).toBe(1);
  });

  it('counters naming an unknown rule or a rule without rate are case errors', () => {
    const c = capture();
    expect(rulesTest(`${F}/failing`, [`${F}/bad-counters.test.yaml`], { allowUntested: true }, c.io)).toBe(1);
    expect(c.out).toContain(`    ${F}/bad-counters.test.yaml:9:17: counters: no rule nope`);
    expect(c.out).toContain(`    ${F}/bad-counters.test.yaml:9:26: counters: rule no-lottery has no rate or campaign counts`);
  });
});

describe.skipIf(!existsSync('dist/src/cli/rules.js'))('the built command (after npm run build)', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['dist/src/cli/main.js', 'rules', ...args], { encoding: 'utf8' });
  it('check exit codes', () => {
    expect(run('check', `${F}/examples`).status).toBe(0);
    const bad = run('check', `${F}/bad-regex`);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/bad-regex\/rules\.yaml:6:22: .*invalid perl operator/);
  });
  it('test exit codes', () => {
    const ok = run('test', `${F}/examples`);
    expect(ok.status).toBe(0);
    expect(ok.stdout.trim().split('\n').at(-1)).toBe('19 passed, 0 failed');
    expect(run('test', `${F}/failing`).status).toBe(1);
  });
});
