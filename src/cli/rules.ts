/**
 * `smppguard rules check DIR` — validate a rule directory: OK with the rule count and version, or
 * every problem as file:line:col: message (exit 1).
 * `smppguard rules test DIR [CASES.yaml…]` — run rule tests (default: every *.test.yaml in DIR)
 * through the full decision; PASS/FAIL per case, the rules no case touched, then
 * "N passed, N failed" on the last line. Exit 1 on a failure, a bad file, or an untested rule
 * (unless --allow-untested).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { isTestFile, loadRules } from '../decision/rule-loader.js';
import { formatReport, runRuleTests } from '../decision/rule-tests.js';

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const stdio: Output = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

export function rulesCheck(dir: string, io: Output = stdio): number {
  const r = loadRules(dir);
  if (!r.ok) {
    for (const e of r.errors) io.err(e);
    io.err(`${r.errors.length} problem${r.errors.length === 1 ? '' : 's'}: rule set not loadable`);
    return 1;
  }
  for (const w of r.warnings) io.err(`warning: ${w}`);
  const n = r.set.rules.length;
  io.out(`OK: ${n} rule${n === 1 ? '' : 's'} in ${r.set.files.length} file${r.set.files.length === 1 ? '' : 's'}, version ${r.set.version}`);
  return 0;
}

export interface TestFlags {
  allowUntested?: boolean;
  verbose?: boolean;
}

export function rulesTest(dir: string, cases: readonly string[], flags: TestFlags = {}, io: Output = stdio): number {
  const r = loadRules(dir);
  if (!r.ok) {
    for (const e of r.errors) io.err(e);
    io.err(`${r.errors.length} problem${r.errors.length === 1 ? '' : 's'}: rule set not loadable`);
    io.out('0 passed, 1 failed');
    return 1;
  }
  let files = [...cases];
  if (files.length === 0) {
    files = readdirSync(dir)
      .filter(isTestFile)
      .sort()
      .map((f) => join(dir, f));
    if (files.length === 0) {
      io.err(`${dir}: no *.test.yaml files; name the case files`);
      io.out('0 passed, 1 failed');
      return 1;
    }
  }
  const report = runRuleTests(r.set, files);
  for (const line of formatReport(report, flags.verbose)) io.out(line);
  if (report.errors.length) return 1;
  if (report.failed > 0) return 1;
  if (report.untested.length > 0 && !flags.allowUntested) {
    io.err('untested rules fail the run (--allow-untested to accept them)');
    return 1;
  }
  return 0;
}

export function registerRules(program: Command): void {
  const rules = program
    .command('rules')
    .description('validate and test rule packs (rules/*.yaml)')
    .addHelpText('after', '\nExamples:\n  $ smppguard rules check rules/\n  $ smppguard rules test rules/\n');
  rules
    .command('check')
    .description('validate every rule file in DIR; prints file:line:col for each problem')
    .argument('<dir>', 'rule directory')
    .addHelpText('after', '\nExample:\n  $ smppguard rules check rules/\n')
    .action((dir: string) => {
      process.exitCode = rulesCheck(dir);
    });
  rules
    .command('test')
    .description('run rule tests: sample messages through the full decision, compared with the expected outcome')
    .argument('<dir>', 'rule directory')
    .argument('[cases...]', 'case files (default: every *.test.yaml in DIR)')
    .option('--allow-untested', 'do not fail when some rule is touched by no case')
    .option('-v, --verbose', 'show the decision trace of passing cases too')
    .addHelpText('after', '\nExamples:\n  $ smppguard rules test rules/\n  $ smppguard rules test rules/ rules/cn-miit.test.yaml --allow-untested    # only the cases of that file\n')
    .action((dir: string, cases: string[], o: TestFlags) => {
      process.exitCode = rulesTest(dir, cases, o);
    });
}
