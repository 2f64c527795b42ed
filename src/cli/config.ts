/**
 * `smppguard config check FILE`: validates a config file offline, as the gateway would at start
 * or on a reload — YAML and schema problems with file:line:column, the cross-checks (routes,
 * groups, accounts), paths that must exist (resolved against the file's directory) and SMSC
 * password variables. Exit status 0 when it is good, 2 when not; nothing is connected.
 */
import type { Command as Program } from 'commander';
import { ConfigError, configWarnings, loadConfig } from '../config/load.js';
import { missingPaths } from '../config/paths.js';
import { workerCount, workerProblems } from '../config/workers.js';
import { availableParallelism } from 'node:os';
import { smscPassword } from '../downstream/smsc-link.js';

/** The problems in `file` (empty: good) and the warnings the gateway would log at start. */
export function checkConfigFile(file: string): { problems: string[]; warnings: string[] } {
  try {
    const cfg = loadConfig(file);
    const problems = missingPaths(cfg).map((m) => `${file}: ${m}`);
    for (const s of cfg.downstream.smscs) {
      try {
        smscPassword(s);
      } catch (err) {
        problems.push(`${file}: ${(err as Error).message}`);
      }
    }
    // workers: auto counts this machine's cores (the gateway's may have others).
    problems.push(...workerProblems(cfg, workerCount(cfg.workers, availableParallelism())).map((p) => `${file}: ${p}`));
    return { problems, warnings: configWarnings(cfg).map((w) => w.message) };
  } catch (err) {
    return { problems: err instanceof ConfigError ? err.problems : [`${file}: ${(err as Error).message}`], warnings: [] };
  }
}

export function registerConfig(program: Program): void {
  const config = program
    .command('config')
    .description('configuration files')
    .addHelpText('after', '\nExample:\n  $ smppguard config check config/gateway.yaml\n');
  config
    .command('check')
    .description('validate a config file offline (exit 0: good; 2: problems, each with file:line)')
    .argument('<file>')
    .addHelpText('after', '\nExample:\n  $ smppguard config check config/gateway.yaml\n')
    .action((file: string) => {
      const { problems, warnings } = checkConfigFile(file);
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      if (problems.length > 0) {
        for (const p of problems) process.stderr.write(`${p}\n`);
        process.exit(2);
      }
      process.stdout.write(`${file}: OK\n`);
    });
}
