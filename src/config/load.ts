/**
 * Reads a YAML config file, validates it, and reports every problem with its file:line:column.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { parseCidr } from './cidr.js';
import { withEnv, varFor, type EnvRecord } from './env.js';
import { ConfigSchema, type Config } from './schema.js';
import { resolveConfigPaths } from './paths.js';
import { routingProblems } from './routing-check.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** `env`: SMPPGUARD_* variables applied over the file (config/env.ts); none by default. */
export function parseConfig(text: string, file = '<config>', env: EnvRecord = {}): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return `${file}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  const raw = withEnv(doc.toJS() ?? {}, env, ConfigSchema, (problems) => new ConfigError(problems));
  const result = ConfigSchema.safeParse(raw.value);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const name = varFor(raw, issue as { path: PropertyKey[]; keys?: string[] });
        if (name !== undefined) return `${name}: ${issue.path.join('.')}: ${issue.message}`;
        const node = doc.getIn(issue.path as (string | number)[], true) as { range?: [number, number] } | undefined;
        const parentNode =
          node?.range === undefined ? (doc.getIn(issue.path.slice(0, -1) as (string | number)[], true) as typeof node) : node;
        const at = parentNode?.range ? lines.linePos(parentNode.range[0]) : { line: 1, col: 1 };
        return `${file}:${at.line}:${at.col}: ${issue.path.join('.') || '(root)'}: ${issue.message}`;
      }),
    );
  }
  return resolveModels(crossCheck(result.data, file), file);
}

/** Model files are relative to the config file's directory (like a path written in it reads). */
function resolveModels(cfg: Config, file: string): Config {
  const dir = dirname(resolve(file));
  for (const [name, path] of Object.entries(cfg.models)) cfg.models[name] = resolve(dir, path);
  return cfg;
}

function crossCheck(cfg: Config, file: string): Config {
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const a of cfg.accounts) {
    if (ids.has(a.system_id)) problems.push(`${file}: accounts: system_id ${a.system_id} appears twice`);
    ids.add(a.system_id);
  }
  for (const r of cfg.routes.mo) {
    if (!ids.has(r.account)) problems.push(`${file}: routes.mo: prefix ${r.prefix} names unknown account ${r.account}`);
  }
  for (const s of cfg.downstream.smscs) {
    if (s.password === undefined && s.password_env === undefined) {
      problems.push(`${file}: downstream.smscs ${s.name}: give password or password_env`);
    }
  }
  problems.push(...routingProblems(cfg, file));
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

/**
 * The file (null: none, the environment only) with the process's SMPPGUARD_* variables over it;
 * relative paths resolve against the file's directory (config/paths.ts), the working directory without a file.
 */
export function loadConfig(file: string | null, env: EnvRecord = process.env): Config {
  const base = file === null ? process.cwd() : dirname(resolve(file));
  const cfg = resolveConfigPaths(parseConfig(file === null ? '' : readFileSync(file, 'utf8'), file ?? '<environment>', env), base);
  // The archive directory is the config file's business too, wherever the gateway starts from.
  cfg.archive.dir = resolve(base, cfg.archive.dir);
  return cfg;
}

/** A configuration that loads but that the gateway warns about at start. */
export interface ConfigWarning {
  account: string;
  message: string;
}

/**
 * Accounts open to every address: an allowed_ips entry with prefix length 0 (0.0.0.0/0, ::/0),
 * which the config allows when written out but the gateway names at every start.
 */
export function configWarnings(cfg: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  for (const a of cfg.accounts) {
    const open = a.allowed_ips.filter((e) => {
      const c = parseCidr(e);
      return typeof c !== 'string' && c.prefix === 0;
    });
    if (open.length > 0) {
      out.push({ account: a.system_id, message: `account ${a.system_id} may bind from any address (allowed_ips: ${open.join(', ')})` });
    }
  }
  return out;
}
