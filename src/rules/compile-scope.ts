/**
 * What compiling one rule file needs and collects (its Scope), and the two helpers every compile
 * step shares: reporting a problem at a YAML path, reading a list or template file.
 */
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { RuleCounts } from './counts.js';
import type { Cond } from './facts.js';
import type { DomainSet, KeywordSet, ListEntry } from './lists.js';
import { pathText, type Located, type RuleFile, type YamlPath } from './schema.js';
import type { TemplateIndex } from './templates.js';
import type { ZoneTable } from './hours.js';
import type { ScoreModels } from './types.js';

export interface CompileOptions {
  /** Reads a list or template file (absolute path). */
  read(path: string): string;
  allowQueue: boolean;
  counts: RuleCounts;
  /** The models `score` conditions may name; absent: any name is accepted and no model is loaded (rules check). */
  models?: ScoreModels;
}

/** What compiling one file needs and collects. */
export interface Scope {
  loc: Located;
  data: RuleFile;
  dir: string;
  opts: CompileOptions;
  errors: string[];
  /** Files read for this rule file (for the version hash and the watcher). */
  deps: string[];
  lists: Map<string, ListEntry[]>;
  listFiles: Map<string, string>;
  keywordCache: Map<string, KeywordSet>;
  domainCache: Map<string, DomainSet>;
  templates: Map<string, TemplateIndex>;
  zones: ZoneTable;
  optOut: KeywordSet;
}

export interface Part {
  cond: Cond;
  cost: number;
}

export function err(s: Scope, path: YamlPath, msg: string, key?: string): void {
  s.errors.push(`${s.loc.at(path, key)}: ${pathText(key === undefined ? path : [...path, key])}: ${msg}`);
}

/** Reads a list or template file; `file` is absolute, `shown` as the rule file names it (for errors). */
export function readDep(s: Scope, rel: string, path: YamlPath): { file: string; shown: string; text: string } | null {
  const file = isAbsolute(rel) ? rel : resolve(s.dir, rel);
  const shown = isAbsolute(rel) ? rel : join(dirname(s.loc.file), rel);
  try {
    const text = s.opts.read(file);
    s.deps.push(file);
    return { file, shown, text };
  } catch (e) {
    err(s, path, `cannot read ${rel}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return null;
  }
}
