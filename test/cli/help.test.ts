/**
 * Every command's `--help` ends with a working example: the test walks the whole command tree
 * (cli/program.ts), so a new command without one fails here. An example line is
 * `$ [VAR=value …] smppguard <this command's path> …`; each option it uses must be one the command
 * it names declares (test/helpers/cli-examples.ts). `smppguard --version` prints the package's version.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { exampleCommand, resolveExample } from '../helpers/cli-examples.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');

/** Every command under `root`, with its path ("" for the program, "sim mo", …). */
function walk(cmd: Command, path: string[] = []): { cmd: Command; path: string[] }[] {
  return [{ cmd, path }, ...cmd.commands.flatMap((c) => walk(c, [...path, c.name()]))];
}

/** What `smppguard <path> --help` prints (the help text and everything addHelpText adds). */
function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.outputHelp();
  return out;
}

describe('smppguard --help', () => {
  const program = buildProgram();
  const all = walk(program);

  it('walks the whole tree (every registered command)', () => {
    const paths = all.map((c) => c.path.join(' '));
    for (const p of ['', 'start', 'demo', 'send', 'sim', 'sim mo', 'explain', 'evidence', 'complaints', 'rules check', 'model train', 'config check']) {
      expect(paths).toContain(p);
    }
  });

  for (const { cmd, path } of all) {
    const name = ['smppguard', ...path].join(' ');
    it(`${name} --help shows an example of ${name}`, () => {
      const help = helpOf(cmd);
      expect(help, help).toMatch(/^Examples?\b.*:$/m);
      const examples = help
        .split('\n')
        .map(exampleCommand)
        .filter((l): l is string => l !== null);
      const mine = examples.filter((e) => `${e} `.startsWith(`${name} `));
      expect(mine, `no "$ ${name} …" line in:\n${help}`).not.toEqual([]);
      for (const e of mine) {
        const { target, problems } = resolveExample(program, e);
        expect(problems).toEqual([]);
        // The example runs this command or one of its subcommands.
        let up: Command | null = target;
        while (up && up !== cmd) up = up.parent;
        expect(up === cmd, `${e} runs ${target.name()}, not ${name} or one of its subcommands`).toBe(true);
      }
    });
  }

  it('smppguard --version prints the package version', async () => {
    const version = (JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version: string }).version;
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, '--version']);
    expect(stdout.trim()).toBe(version);
  });
});
