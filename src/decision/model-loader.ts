/**
 * Reads the content-score models named in the config (`models:` name → file) and keeps them
 * current: the file-system adapter of the pure model/ core, as rule-loader.ts is for rules/.
 *
 *   load()   reads every model file; one that fails (missing, not a model, another normaliser
 *            version, corrupted weights) keeps that model's last good version — or, before the
 *            first good load, leaves it unloaded, so score conditions on it never hold — with a
 *            metric and an error log line naming the file and what is wrong.
 *   start()  load(), then watch each file's directory (a Kubernetes ConfigMap or Secret swaps a
 *            link, so the directory is watched, and a file is reloaded only when its bytes changed).
 *
 * Rules ask `get(name)` when they score (rules/types.ts ScoreModels), so a reloaded model is used
 * from the next message on without recompiling the rules.
 */
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import { LinearModel } from '../model/model.js';
import type { ScoreModels } from '../rules/types.js';

export interface ModelLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ModelLoaderOptions {
  registry?: Registry;
  log?: ModelLog;
  /** Wait this long after the last file event before reloading (default 200 ms). */
  debounceMs?: number;
  /** Reads a model file (tests); default readFileSync. */
  read?: (path: string) => Buffer;
}

interface Slot {
  name: string;
  file: string;
  model: LinearModel | null;
  /** sha256 of the bytes last tried (loaded or refused): an unchanged file is not read again. */
  digest: string | null;
  loadedAt: number | null;
  problem: string | null;
}

export class ModelLoader implements ScoreModels {
  private readonly slots = new Map<string, Slot>();
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly read: (path: string) => Buffer;
  private readonly m: { failures: Counter<'model'>; success: Gauge<'model'>; info: Gauge<'model' | 'version' | 'algorithm'>; loadedAt: Gauge<'model'> } | null = null;

  constructor(
    files: Readonly<Record<string, string>>,
    private readonly opts: ModelLoaderOptions = {},
  ) {
    for (const [name, file] of Object.entries(files)) this.slots.set(name, { name, file, model: null, digest: null, loadedAt: null, problem: null });
    this.read = opts.read ?? ((p) => readFileSync(p));
    const r = opts.registry;
    if (r) {
      this.m = {
        failures: new Counter({
          name: 'smppguard_model_reload_failures_total',
          help: 'Model file loads that failed (the last good model stays active)',
          labelNames: ['model'],
          registers: [r],
        }),
        success: new Gauge({ name: 'smppguard_model_last_reload_success', aggregator: 'min', help: '1 when the last load of the model file succeeded', labelNames: ['model'], registers: [r] }),
        info: new Gauge({
          name: 'smppguard_model_info', aggregator: 'max',
          help: 'The active model per name: its version (first 12 hex digits of its weights_sha256) and algorithm as labels',
          labelNames: ['model', 'version', 'algorithm'],
          registers: [r],
        }),
        loadedAt: new Gauge({ name: 'smppguard_model_loaded_timestamp_seconds', aggregator: 'max', help: 'When the active model was loaded', labelNames: ['model'], registers: [r] }),
      };
    }
  }

  /** The configured model names. */
  names(): string[] {
    return [...this.slots.keys()];
  }

  has(name: string): boolean {
    return this.slots.has(name);
  }

  /** The active model of that name (null: not configured, or never loaded). */
  get(name: string): LinearModel | null {
    return this.slots.get(name)?.model ?? null;
  }

  /** Per model: its file, version, when loaded, and the last problem (for /readyz and logs). */
  status(): { name: string; file: string; version: string | null; loadedAt: number | null; problem: string | null }[] {
    return [...this.slots.values()].map((s) => ({
      name: s.name,
      file: s.file,
      version: s.model ? s.model.header.weights_sha256.slice(0, 12) : null,
      loadedAt: s.loadedAt,
      problem: s.problem,
    }));
  }

  /** Loads every model file now (unchanged files are skipped); returns whether all are loaded. */
  load(): boolean {
    let ok = true;
    for (const s of this.slots.values()) if (!this.loadOne(s)) ok = false;
    return ok;
  }

  /** Same as load(), and a refused file is read again even if unchanged (SIGHUP). */
  reload(): boolean {
    for (const s of this.slots.values()) if (s.problem !== null) s.digest = null;
    return this.load();
  }

  private loadOne(s: Slot): boolean {
    let bytes: Buffer;
    try {
      bytes = this.read(s.file);
    } catch (e) {
      return this.refuse(s, `${s.file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, null);
    }
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest === s.digest) return s.problem === null;
    let model: LinearModel;
    try {
      model = LinearModel.decode(bytes, s.file);
    } catch (e) {
      return this.refuse(s, (e as Error).message, digest);
    }
    const previous = s.model ? s.model.header.weights_sha256.slice(0, 12) : null;
    s.model = model;
    s.digest = digest;
    s.problem = null;
    s.loadedAt = Date.now();
    const version = model.header.weights_sha256.slice(0, 12);
    if (this.m) {
      this.m.success.set({ model: s.name }, 1);
      this.m.info.reset();
      for (const x of this.slots.values()) {
        if (x.model) this.m.info.set({ model: x.name, version: x.model.header.weights_sha256.slice(0, 12), algorithm: x.model.header.algorithm }, 1);
      }
      this.m.loadedAt.set({ model: s.name }, s.loadedAt / 1000);
    }
    this.opts.log?.info(
      {
        model: s.name,
        file: s.file,
        version,
        previous,
        algorithm: model.header.algorithm,
        ngrams: `${model.header.features.min_n}-${model.header.features.max_n}`,
        threshold: model.header.threshold,
        data_sha256: model.header.training.data_sha256,
      },
      'model: loaded',
    );
    return true;
  }

  private refuse(s: Slot, problem: string, digest: string | null): boolean {
    s.problem = problem;
    s.digest = digest;
    this.m?.failures.inc({ model: s.name });
    this.m?.success.set({ model: s.name }, 0);
    this.opts.log?.error(
      { model: s.name, file: s.file, err: problem, active_version: s.model ? s.model.header.weights_sha256.slice(0, 12) : null },
      s.model ? 'model: load failed; keeping the last good model' : 'model: load failed; no model of this name is active (its score conditions do not hold)',
    );
    return false;
  }

  /** Loads, then reloads a model whenever its file changes. */
  start(): boolean {
    const ok = this.load();
    for (const s of this.slots.values()) this.addWatch(dirname(s.file), basename(s.file));
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
    }, this.opts.debounceMs ?? 200);
    this.timer.unref?.();
  }

  private addWatch(dir: string, _file: string): void {
    if (this.watchers.has(dir)) return;
    try {
      // Any event in the directory: a ConfigMap update renames links, not the file itself.
      const w = watch(dir, { persistent: false }, () => this.schedule());
      w.on('error', (e) => this.opts.log?.error({ dir, err: e.message }, 'model: watch failed'));
      this.watchers.set(dir, w);
    } catch (e) {
      this.opts.log?.error({ dir, err: (e as Error).message }, 'model: cannot watch; reload with SIGHUP');
    }
  }
}
