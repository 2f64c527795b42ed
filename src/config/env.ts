/**
 * config/env.ts: configuration from the environment (12-factor, containers, Kubernetes). Every key
 * of the YAML file can be set by a variable named `SMPPGUARD_` + the key's path, upper case, with
 * `__` between levels (one `_` stays part of a key): `SMPPGUARD_REDIS__URL` is `redis.url`,
 * `SMPPGUARD_REDIS__KEY_PREFIX` is `redis.key_prefix`. Array elements by index
 * (`SMPPGUARD_ACCOUNTS__0__SYSTEM_ID`), or a whole value at once as JSON or YAML flow text
 * (`SMPPGUARD_ACCOUNTS='[{system_id: demo, …}]'`, needed for maps whose keys are not lower case,
 * e.g. `policy.classify.service_types`). A name ending in `_FILE` reads the value from that file
 * (Docker/Kubernetes secrets; one trailing newline dropped): `SMPPGUARD_ADMIN__TOKENS__0__SHA256_FILE`.
 *
 * The environment wins over the file. It is applied to the parsed YAML before validation, so the
 * same checks and defaults apply and a bad value is reported by its variable's name.
 *
 * overlayEnv is pure (it reads `*_FILE` files only through the `readFile` it is given); withEnv,
 * what load.ts calls, gives it the real file system.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

export const ENV_PREFIX = 'SMPPGUARD_';
/**
 * Not a key: the configuration file `start` (and the container's healthcheck) reads when no
 * `--config` is given; empty or unset, none (the environment alone).
 */
export const CONFIG_FILE_VAR = 'SMPPGUARD_CONFIG';
const FILE_SUFFIX = '_FILE';

export type EnvRecord = Record<string, string | undefined>;

export class EnvConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/** The overlay's result: the merged object, and which variable set each path ("a.b.0.c"). */
export interface EnvOverlay {
  value: Record<string, unknown>;
  /** Path (joined with ".") → the variable that set it, for error messages. */
  vars: Map<string, string>;
}

type Path = (string | number)[];

/** `SMPPGUARD_DOWNSTREAM__SMSCS__0__HOST` → ["downstream", "smscs", 0, "host"]; null when not ours. */
export function envPath(name: string): { path: Path; file: boolean } | null {
  if (!name.startsWith(ENV_PREFIX) || name.length === ENV_PREFIX.length) return null;
  let rest = name.slice(ENV_PREFIX.length);
  const file = rest.endsWith(FILE_SUFFIX);
  if (file) rest = rest.slice(0, -FILE_SUFFIX.length);
  const parts = rest.split('__');
  if (parts.some((p) => p === '' || !/^[A-Za-z0-9_]+$/.test(p))) return null;
  return { path: parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p.toLowerCase())), file };
}

/** A variable's text as a value: `[…]`/`{…}` as JSON/YAML; numbers, true/false and null as such; anything else a string. */
function valueOf(text: string, name: string): unknown {
  const t = text.trim();
  if (t.startsWith('[') || t.startsWith('{')) {
    try {
      return parseYaml(t) as unknown;
    } catch (err) {
      throw new EnvConfigError([`${name}: not valid JSON/YAML: ${(err as Error).message.split('\n')[0]}`]);
    }
  }
  if (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(t)) return Number(t);
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'null' || t === '~') return null;
  return text;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function setIn(root: Record<string, unknown>, path: Path, value: unknown, name: string): void {
  let at: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    const last = i === path.length - 1;
    if (Array.isArray(at)) {
      if (typeof key !== 'number') throw new EnvConfigError([`${name}: ${path.slice(0, i).join('.')} is a list: the next part must be an index`]);
      if (key > at.length) throw new EnvConfigError([`${name}: index ${key} of ${path.slice(0, i).join('.')} leaves a gap (the list has ${at.length})`]);
    }
    const container = at as Record<string | number, unknown>;
    if (last) {
      container[key] = value;
      return;
    }
    const next = path[i + 1]!;
    let child = container[key];
    if (typeof next === 'number' ? !Array.isArray(child) : !isObject(child)) {
      if (child !== undefined && child !== null) {
        throw new EnvConfigError([`${name}: ${path.slice(0, i + 1).join('.')} is ${Array.isArray(child) ? 'a list' : typeof child}, not ${typeof next === 'number' ? 'a list' : 'a map'}`]);
      }
      child = typeof next === 'number' ? [] : {};
      container[key] = child;
    }
    at = child as Record<string, unknown> | unknown[];
  }
}

/**
 * The parsed YAML (`base`, not changed) with every `SMPPGUARD_*` variable of `env` applied, in name
 * order (so `X='[…]'` comes before `X__0__Y`, which then changes the list it gave).
 */
export function overlayEnv(base: unknown, env: EnvRecord, readFile: (path: string) => string = noFiles): EnvOverlay {
  const vars = new Map<string, string>();
  // Not a map (a list, a scalar): left to the schema to refuse.
  if (base !== null && base !== undefined && !isObject(base)) return { value: base as Record<string, unknown>, vars };
  const value = (isObject(base) ? structuredClone(base) : {}) as Record<string, unknown>;
  const problems: string[] = [];
  const names = Object.keys(env)
    .filter((n) => n.startsWith(ENV_PREFIX) && n !== CONFIG_FILE_VAR && env[n] !== undefined)
    .sort();
  for (const name of names) {
    const at = envPath(name);
    if (!at) {
      problems.push(`${name}: not a configuration path (SMPPGUARD_SECTION__KEY, letters, digits and _)`);
      continue;
    }
    try {
      let v: unknown;
      if (at.file) {
        const file = env[name]!;
        let text: string;
        try {
          text = readFile(file);
        } catch (err) {
          throw new EnvConfigError([`${name}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
        }
        v = text.replace(/\r?\n$/, '');
      } else {
        v = valueOf(env[name]!, name);
      }
      setIn(value, at.path, v, name);
      vars.set(at.path.join('.'), name);
    } catch (err) {
      if (err instanceof EnvConfigError) problems.push(...err.problems);
      else throw err;
    }
  }
  if (problems.length) throw new EnvConfigError(problems);
  return { value, vars };
}

function noFiles(path: string): string {
  throw new Error(`no file reader (${path})`);
}

/**
 * A value that looks like a number or a boolean but goes into a string key (a password "1234", a
 * system_id "12345"): back to the variable's text, by asking the schema where a string was expected.
 */
export function restoreStrings(o: EnvOverlay, env: EnvRecord, schema: z.ZodType): void {
  for (let round = 0; round < 4; round++) {
    const r = schema.safeParse(o.value);
    if (r.success) return;
    let changed = false;
    for (const issue of r.error.issues) {
      if (issue.code !== 'invalid_type' || issue.expected !== 'string') continue;
      const name = o.vars.get(issue.path.join('.'));
      if (name === undefined || envPath(name)?.file) continue;
      setIn(o.value, issue.path as Path, env[name]!, name);
      changed = true;
    }
    if (!changed) return;
  }
}

/** The variable that set a schema issue's path (or an unrecognized key in it, or a parent), if any (for error messages). */
export function varFor(o: EnvOverlay, issue: { path: readonly PropertyKey[]; keys?: readonly string[] }): string | undefined {
  for (const key of issue.keys ?? []) {
    const v = o.vars.get([...issue.path, key].map(String).join('.'));
    if (v !== undefined) return v;
  }
  const path = issue.path;
  for (let n = path.length; n > 0; n--) {
    const v = o.vars.get(path.slice(0, n).map(String).join('.'));
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * What load.ts calls: the overlay over the parsed YAML with `*_FILE` read from disk and string keys
 * given back their text; a problem with a variable is thrown as `toError(problems)`.
 */
export function withEnv(raw: unknown, env: EnvRecord, schema: z.ZodType, toError: (problems: string[]) => Error): EnvOverlay {
  try {
    const o = overlayEnv(raw, env, (p) => readFileSync(p, 'utf8'));
    if (o.vars.size > 0) restoreStrings(o, env, schema);
    return o;
  } catch (err) {
    throw err instanceof EnvConfigError ? toError(err.problems) : err;
  }
}

/** The file to read: `--config` if given, else $SMPPGUARD_CONFIG if set and not empty, else none. */
export function configFile(option: string | undefined, env: EnvRecord): string | null {
  if (option !== undefined) return option;
  const v = env[CONFIG_FILE_VAR];
  return v === undefined || v === '' ? null : v;
}

/** Whether `env` configures anything (a file by SMPPGUARD_CONFIG or keys by SMPPGUARD_*). */
export function hasEnvConfig(env: EnvRecord): boolean {
  return Object.keys(env).some((k) => k.startsWith(ENV_PREFIX) && env[k] !== undefined);
}
