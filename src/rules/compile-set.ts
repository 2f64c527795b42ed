/**
 * Compiles rule files given as text into one RuleSet: parse, validate, compile, and a version
 * (sha256 of the rule files and of the list and template files they read, 12 hex digits). Pure:
 * every file it needs beyond the sources comes through `read` (decision/rule-loader.ts reads disk).
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { compileFile } from './compile.js';
import { RuleSet, type CompiledRule } from './engine.js';
import { RuleCounts } from './counts.js';
import { RuleFileSchema, parseYaml } from './schema.js';
import type { ScoreModels } from './types.js';

export interface CompileSetOptions {
  /** Accept `queue` actions (default true; false when the gateway runs without its queue). */
  allowQueue?: boolean;
  /** Shared match counters (the loader's, so counts survive reloads). */
  counts?: RuleCounts;
  /** Reads a list or template file a rule names (the caller's file system; tests pass a map). */
  read: (path: string) => string;
  /** The gateway's content-score models (`score` conditions); absent: names are not checked. */
  models?: ScoreModels;
}

export type LoadResult =
  | { ok: true; set: RuleSet; deps: string[]; warnings: string[] }
  | { ok: false; errors: string[] };

export class RulesError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid rules:\n  ${problems.join('\n  ')}`);
  }
}

export interface RuleSource {
  /** The file name shown in errors; lists and templates resolve relative to its directory. */
  path: string;
  text: string;
}

/** Compiles rule files given in memory, in the order given (loadRules sorts by file name). */
export function compileSources(sources: readonly RuleSource[], opts: CompileSetOptions): LoadResult {
  const read = opts.read;
  const counts = opts.counts ?? new RuleCounts();
  const allowQueue = opts.allowQueue ?? true;
  const errors: string[] = [];
  const warnings: string[] = [];
  const rules: CompiledRule[] = [];
  const seenIds = new Map<string, string>();
  const hash = createHash('sha256');
  const deps = new Set<string>();
  for (const { path: file, text } of sources) {
    hash.update(basename(file)).update('\0').update(text).update('\0');
    const parsed = parseYaml(text, file, RuleFileSchema);
    if (!parsed.ok) {
      errors.push(...parsed.errors);
      continue;
    }
    const out = compileFile(parsed.loc, parsed.data, { read, allowQueue, counts, models: opts.models }, errors, seenIds);
    rules.push(...out.rules);
    for (const d of out.deps) deps.add(d);
    if (parsed.data.rules.length === 0) warnings.push(`${file}: no rules`);
  }
  if (errors.length) return { ok: false, errors };
  for (const d of [...deps].sort()) {
    try {
      hash.update(basename(d)).update('\0').update(read(d)).update('\0');
    } catch {
      /* read during compile; a file that vanished since only changes the hash */
    }
  }
  const version = hash.digest('hex').slice(0, 12);
  return { ok: true, set: new RuleSet(rules, version, sources.map((s) => s.path), counts), deps: [...deps], warnings };
}

