/**
 * The rule packs shipped in rules/ (cn-miit, in-dlt, us-ctia): they load, every case in their case files
 * passes, every rule is touched by some case (of its own pack's file, too), and a few invariants the
 * packs rely on hold — so `npm test` runs every shipped pack's tests.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { rulesCheck, rulesTest, type Output } from '../../src/cli/rules.js';
import { isRuleFile, isTestFile, loadRules } from '../../src/decision/rule-loader.js';
import { resolveStatus } from '../../src/rules/compile.js';
import { formatReport, runRuleTests } from '../../src/decision/rule-tests.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** As an operator would type it (relative paths keep the report's file:line:col short). */
const DIR = relative(process.cwd(), join(ROOT, 'rules')) || 'rules';

const PACKS = { 'cn-miit': 'CN', 'in-dlt': 'IN', 'us-ctia': 'US' } as const;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io: Output = { out: (l) => out.push(l), err: (l) => err.push(l) };
  return { io, out, err };
}

const ruleFileNames = () => readdirSync(DIR).filter(isRuleFile).sort();
const caseFiles = () =>
  readdirSync(DIR)
    .filter(isTestFile)
    .sort()
    .map((f) => join(DIR, f));

function loaded() {
  const r = loadRules(DIR);
  if (!r.ok) throw new Error(`rules/ does not load:\n${r.errors.join('\n')}`);
  return r.set;
}

interface PackRule {
  id: string;
  match?: Record<string, unknown>;
  action: { reject?: { status: number | string; reason: string } };
}
const rulesOf = (pack: string): PackRule[] => (parse(readFileSync(join(DIR, `${pack}.yaml`), 'utf8')) as { rules: PackRule[] }).rules;

describe('shipped rule packs (rules/)', () => {
  it('are the three packs, each with its case file', () => {
    expect(ruleFileNames()).toEqual(Object.keys(PACKS).map((p) => `${p}.yaml`));
    for (const p of Object.keys(PACKS)) expect(existsSync(join(DIR, `${p}.test.yaml`)), `${p}.test.yaml`).toBe(true);
  });

  it('smppguard rules check rules: OK, exit 0', () => {
    const c = capture();
    expect(rulesCheck(DIR, c.io)).toBe(0);
    expect(c.err).toEqual([]);
    expect(c.out).toEqual([expect.stringMatching(/^OK: \d+ rules in 3 files, version [0-9a-f]{12}$/)]);
  });

  it('every case of every pack passes and no rule is untested', () => {
    const files = caseFiles();
    const report = runRuleTests(loaded(), files);
    const shown = formatReport(report).filter((l) => !l.startsWith('PASS ')).join('\n');
    expect(report.errors, shown).toEqual([]);
    expect(report.failed, shown).toBe(0);
    expect(report.untested, shown).toEqual([]);
    expect(report.passed).toBe(report.results.length);
    expect(report.passed).toBeGreaterThan(60);
  });

  it('smppguard rules test rules <the three case files>: "N passed, 0 failed", exit 0', () => {
    const c = capture();
    const code = rulesTest(DIR, caseFiles(), {}, c.io);
    expect(c.out.filter((l) => l.startsWith('FAIL ') || l.startsWith('untested rules'))).toEqual([]);
    expect(c.out.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    expect(code).toBe(0);
  });

  it("each pack's own case file touches every rule of that pack", () => {
    const set = loaded();
    for (const pack of Object.keys(PACKS)) {
      const mine = set.rules.filter((r) => r.where.startsWith(`${join(DIR, `${pack}.yaml`)}:`)).map((r) => r.id);
      expect(mine.length, pack).toBeGreaterThan(0);
      const report = runRuleTests(set, [join(DIR, `${pack}.test.yaml`)]);
      expect(report.failed, pack).toBe(0);
      expect(report.untested.filter((id) => mine.includes(id)), pack).toEqual([]);
    }
  });

  it('every rule is scoped to its pack country, so the packs coexist', () => {
    for (const [pack, country] of Object.entries(PACKS)) {
      for (const r of rulesOf(pack)) expect(r.match?.destination_country, `${pack}: ${r.id}`).toBe(country);
    }
  });

  it('a reason code has the same status in every pack', () => {
    const statusOf = new Map<string, number>();
    for (const pack of Object.keys(PACKS)) {
      for (const r of rulesOf(pack)) {
        const rej = r.action.reject;
        if (!rej) continue;
        const st = resolveStatus(rej.status);
        expect(typeof st, `${pack}: ${r.id}`).toBe('number');
        const seen = statusOf.get(rej.reason);
        if (seen !== undefined) expect(st, `${pack}: ${r.id} (${rej.reason})`).toBe(seen);
        else statusOf.set(rej.reason, st as number);
      }
    }
    expect(statusOf.get('quiet_hours')).toBe(0x404);
  });

  it('us-ctia: the unlisted-area rule names exactly the area codes of the zones table', () => {
    const doc = parse(readFileSync(join(DIR, 'us-ctia.yaml'), 'utf8')) as { zones: Record<string, string>; rules: PackRule[] };
    const rule = doc.rules.find((r) => r.id === 'us-quiet-hours-unlisted-area');
    const listed = ((rule?.match?.not as { destination_prefix?: string[] } | undefined)?.destination_prefix ?? []).map(String);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(Object.keys(doc.zones).sort());
  });
});
