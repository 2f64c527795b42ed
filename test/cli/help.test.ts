/**
 * Every command's `--help` ends with a working example: the test walks the whole command tree
 * (cli/program.ts), so a new command without one fails here. An example line is
 * `$ [VAR=value …] smppguard <this command's path> …`; each option it uses must be one the command
 * it names declares. `smppguard --version` prints the package's version.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';

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

/** A shell line's words up to the first `&&`, `|`, `;` or `#` (quotes kept together, unquoted). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) {
    const w = m[3];
    if (w !== undefined && (w === '&&' || w === '|' || w === ';' || w === '||' || w.startsWith('#'))) break;
    out.push(m[1] ?? m[2] ?? w!);
  }
  return out;
}

const EXAMPLE = /^\s*\$ (?:[A-Z_][A-Z0-9_]*=\S+ )*(smppguard(?: .*)?)$/;

/** The option names a command accepts (its own, plus -h/--help; --version on the program). */
function optionNames(cmd: Command): Set<string> {
  const names = new Set(['-h', '--help']);
  for (const o of cmd.options) {
    if (o.short) names.add(o.short);
    if (o.long) names.add(o.long);
  }
  return names;
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
        .map((l) => EXAMPLE.exec(l)?.[1])
        .filter((l): l is string => l !== undefined);
      const mine = examples.filter((e) => `${e} `.startsWith(`${name} `));
      expect(mine, `no "$ ${name} …" line in:\n${help}`).not.toEqual([]);
      for (const e of mine) {
        // Resolve the command the example runs, then check every option it gives exists there.
        const ws = words(e).slice(1);
        let target: Command = program;
        while (ws.length && !ws[0]!.startsWith('-')) {
          const sub = target.commands.find((c) => c.name() === ws[0]);
          if (!sub) break;
          target = sub;
          ws.shift();
        }
        let up: Command | null = target;
        while (up && up !== cmd) up = up.parent;
        expect(up === cmd, `${e} runs ${target.name()}, not ${name} or one of its subcommands`).toBe(true);
        const known = optionNames(target);
        for (const w of ws) {
          if (!w.startsWith('-') || w === '-') continue;
          const flag = w.split('=')[0]!;
          expect(known.has(flag) || (target === program && (flag === '-V' || flag === '--version')), `${e}: ${target.name()} has no option ${flag}`).toBe(true);
        }
      }
    });
  }

  it('smppguard --version prints the package version', async () => {
    const version = (JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version: string }).version;
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, '--version']);
    expect(stdout.trim()).toBe(version);
  });
});
