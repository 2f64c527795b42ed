/**
 * Reads a rule directory from disk into one CompiledRuleSet (rules/compile-set.ts compiles the
 * text) and keeps it current: the file-system adapter of the pure rules/ core.
 *
 *   loadRules(dir)  — pure load: every *.yaml / *.yml in dir (not *.test.yaml, not dot files), in
 *                     file-name order; validates everything and returns the set or every problem
 *                     as file:line:col lines. version = sha256 of the rule files and the list and
 *                     template files they read (12 hex digits).
 *   RuleLoader      — the gateway's holder: load() / reload() (SIGHUP), fs.watch on the directory
 *                     (debounced), last good set kept when a reload fails, metrics and log lines.
 */
import { readFileSync, readdirSync, readlinkSync, statSync, watch, type FSWatcher } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import { compileSources, type CompileSetOptions, type LoadResult, type RuleSource } from '../rules/compile-set.js';
import { RuleSet } from '../rules/engine.js';
import { RuleCounts } from '../rules/counts.js';
import type { ScoreModels } from '../rules/types.js';

export type LoadOptions = Omit<CompileSetOptions, 'read'> & { read?: (path: string) => string };

const readUtf8 = (p: string) => readFileSync(p, 'utf8');

export function isRuleFile(name: string): boolean {
  return /\.ya?ml$/.test(name) && !/\.test\.ya?ml$/.test(name) && !name.startsWith('.');
}

export function isTestFile(name: string): boolean {
  return /\.test\.ya?ml$/.test(name) && !name.startsWith('.');
}

/**
 * Rule files of a directory in file-name order (code-unit order, independent of locale). A symbolic
 * link counts as the file it points to: a Kubernetes ConfigMap mounts every file as a link into
 * `..data/` (which the kubelet swaps on an update). A link that points nowhere throws (the load
 * fails and the last good rule set stays).
 */
export function ruleFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => isRuleFile(e.name) && (e.isFile() || (e.isSymbolicLink() && linkedFile(dir, e.name))))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((n) => join(dir, n));
}

function linkedFile(dir: string, name: string): boolean {
  const path = join(dir, name);
  try {
    return statSync(path).isFile();
  } catch (e) {
    throw new Error(`${name} links to ${readlinkSync(path)}, which cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
}

export function loadRules(dir: string, opts: LoadOptions = {}): LoadResult {
  const read = opts.read ?? readUtf8;
  let files: string[];
  try {
    if (!statSync(dir).isDirectory()) return { ok: false, errors: [`${dir}: not a directory`] };
    files = ruleFiles(dir);
  } catch (e) {
    return { ok: false, errors: [`${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`] };
  }
  const sources: RuleSource[] = [];
  const errors: string[] = [];
  for (const file of files) {
    try {
      sources.push({ path: file, text: read(file) });
    } catch (e) {
      errors.push(`${file}: ${(e as Error).message}`);
    }
  }
  if (errors.length) return { ok: false, errors };
  const r = compileSources(sources, { ...opts, read });
  if (r.ok && files.length === 0) r.warnings.push(`${dir}: no rule files (*.yaml)`);
  return r;
}

/** Where the loader logs (a pino Logger fits). */
export interface RuleLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RuleLoaderOptions {
  registry?: Registry;
  log?: RuleLog;
  /** Wait this long after the last file event before reloading (default 200 ms). */
  debounceMs?: number;
  allowQueue?: boolean;
  /** The gateway's content-score models, for rules' `score` conditions (model-loader.ts). */
  models?: ScoreModels;
  /** Called after every successful (re)load with the new set. */
  onLoad?: (set: RuleSet) => void;
}

export class RuleLoader {
  /** The active set: the last one that loaded cleanly (an empty set before the first). */
  current: RuleSet;
  /** Epoch ms of the last successful load; null before one. */
  loadedAt: number | null = null;
  /** Problems of the last failed load, as file:line:col lines; null after a success. */
  problems: string[] | null = null;
  /** Failed loads since start. */
  failures = 0;
  /** Whether the last load succeeded. */
  lastOk = false;
  readonly counts = new RuleCounts();

  private readonly dir: string;
  private readonly debounceMs: number;
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly m: {
    failures: Counter;
    success: Gauge;
    info: Gauge<'version'>;
    rules: Gauge;
    loadedAt: Gauge;
  } | null = null;

  constructor(
    dir: string,
    private readonly opts: RuleLoaderOptions = {},
  ) {
    this.dir = resolve(dir);
    this.debounceMs = opts.debounceMs ?? 200;
    this.current = RuleSet.empty(this.counts);
    const r = opts.registry;
    if (r) {
      const counts = this.counts;
      const matches: Counter<'rule' | 'action' | 'mode'> = new Counter({
        name: 'smppguard_rule_matches_total',
        help: 'Rule matches by rule id, action and mode (monitor: what the rule would have done, not done)',
        labelNames: ['rule', 'action', 'mode'],
        registers: [r],
        collect() {
          counts.flush((labels, n) => matches.inc(labels, n));
        },
      });
      this.m = {
        failures: new Counter({
          name: 'smppguard_rules_reload_failures_total',
          help: 'Rule loads that failed (the last good rule set stays active)',
          registers: [r],
        }),
        success: new Gauge({ name: 'smppguard_rules_last_reload_success', aggregator: 'min', help: '1 when the last rule load succeeded', registers: [r] }),
        info: new Gauge({
          name: 'smppguard_rules_info', aggregator: 'max',
          help: 'The active rule set: its version (content hash) as a label',
          labelNames: ['version'],
          registers: [r],
        }),
        rules: new Gauge({ name: 'smppguard_rules_active', aggregator: 'max', help: 'Rules in the active rule set', registers: [r] }),
        loadedAt: new Gauge({
          name: 'smppguard_rules_loaded_timestamp_seconds', aggregator: 'max',
          help: 'When the active rule set was loaded',
          registers: [r],
        }),
      };
    }
  }

  get version(): string {
    return this.current.version;
  }

  /** The problems of the last failed load as one string; null after a success. */
  get lastError(): string | null {
    return this.problems ? this.problems.join('\n') : null;
  }

  /** Loads the directory now; on failure the previous set stays active. Returns whether it loaded. */
  load(): boolean {
    const r = loadRules(this.dir, { allowQueue: this.opts.allowQueue, counts: this.counts, models: this.opts.models });
    if (!r.ok) {
      this.failures++;
      this.lastOk = false;
      this.problems = r.errors;
      this.m?.failures.inc();
      this.m?.success.set(0);
      this.opts.log?.error(
        { dir: this.dir, errors: r.errors, active_version: this.current.version },
        'rules: load failed; keeping the last good rule set',
      );
      return false;
    }
    const old = this.current.version;
    this.current = r.set;
    this.loadedAt = Date.now();
    this.lastOk = true;
    this.problems = null;
    if (this.m) {
      this.m.success.set(1);
      this.m.info.reset();
      this.m.info.set({ version: r.set.version }, 1);
      this.m.rules.set(r.set.rules.length);
      this.m.loadedAt.set(this.loadedAt / 1000);
    }
    this.opts.log?.info(
      { dir: this.dir, version: r.set.version, previous: old, rules: r.set.rules.length, files: r.set.files.length, warnings: r.warnings },
      'rules: loaded',
    );
    if (!this.closed) this.watchDeps(r.deps);
    this.opts.onLoad?.(r.set);
    return true;
  }

  /** Same as load(); the gateway calls it on SIGHUP. */
  reload(): boolean {
    return this.load();
  }

  /** Loads, then reloads whenever a file in the directory (or a list it reads elsewhere) changes. */
  start(): boolean {
    const ok = this.load();
    this.addWatch(this.dir, true);
    return ok;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.closed) this.load();
    }, this.debounceMs);
    this.timer.unref?.();
  }

  private addWatch(dir: string, recursive: boolean): void {
    if (this.watchers.has(dir)) return;
    try {
      const w = watch(dir, { recursive, persistent: false }, () => this.schedule());
      w.on('error', (e) => this.opts.log?.error({ dir, err: e.message }, 'rules: watch failed'));
      this.watchers.set(dir, w);
    } catch (e) {
      this.opts.log?.error({ dir, err: (e as Error).message }, 'rules: cannot watch; reload with SIGHUP');
    }
  }

  /** List and template files outside the rule directory get a watch on their own directory. */
  private watchDeps(deps: string[]): void {
    if (!this.watchers.has(this.dir)) return;
    for (const d of deps) {
      const rel = relative(this.dir, d);
      if (!rel.startsWith('..') && !rel.startsWith(sep)) continue;
      this.addWatch(dirname(d), false);
    }
  }
}
