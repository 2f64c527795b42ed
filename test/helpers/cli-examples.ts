/**
 * Command lines shown to people (`--help` examples, the demo's next steps) checked against the real
 * command tree (cli/program.ts): the subcommands they name exist, and so does every option they give.
 */
import type { Command } from 'commander';

/** A shell line's words up to the first `&&`, `&`, `|`, `;` or `#` (quotes kept together, unquoted). */
export function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) {
    const w = m[3];
    if (w !== undefined && (['&&', '&', '|', ';', '||'].includes(w) || w.startsWith('#'))) break;
    out.push(m[1] ?? m[2] ?? w!);
  }
  return out;
}

/** `$ [VAR=value …] smppguard …` → the part from `smppguard` on; null for other lines. */
export function exampleCommand(line: string): string | null {
  return /^\s*\$ (?:[A-Z_][A-Z0-9_]*=\S+ )*(smppguard(?: .*)?)$/.exec(line)?.[1] ?? null;
}

/** The command a `smppguard …` line runs, and the problems with it (unknown options); [] when it parses. */
export function resolveExample(program: Command, line: string): { target: Command; problems: string[] } {
  const ws = words(line).slice(1);
  let target: Command = program;
  while (ws.length && !ws[0]!.startsWith('-')) {
    const sub = target.commands.find((c) => c.name() === ws[0]);
    if (!sub) break;
    target = sub;
    ws.shift();
  }
  const known = new Set(['-h', '--help']);
  for (const o of target.options) {
    if (o.short) known.add(o.short);
    if (o.long) known.add(o.long);
  }
  const problems: string[] = [];
  for (const w of ws) {
    if (!w.startsWith('-') || w === '-') continue;
    const flag = w.split('=')[0]!;
    if (!known.has(flag)) problems.push(`${line}: ${target.name()} has no option ${flag}`);
  }
  if (target === program && ws.length && !ws[0]!.startsWith('-')) problems.push(`${line}: no command ${ws[0]}`);
  return { target, problems };
}
