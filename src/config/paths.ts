/**
 * Relative paths in the config: every file or directory the config names (rules.dir, the audit
 * file, TLS certificates, keys and CAs) is resolved against the directory of the config file that
 * names it — never against the working directory the gateway happens to be started from. Without a
 * file (a config built in code) the working directory is the base. Existence is checked where the
 * path is used (gateway start, `config check`), not here: a config may be validated on another host.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Config } from './schema.js';

/** Values of audit.destination that are not paths. */
const NOT_PATHS = new Set(['stdout', 'off']);

function abs(base: string, p: string): string {
  return isAbsolute(p) ? p : resolve(base, p);
}

/** The config with every relative path made absolute against `baseDir` (mutates and returns `cfg`). */
export function resolveConfigPaths(cfg: Config, baseDir: string): Config {
  cfg.rules.dir = abs(baseDir, cfg.rules.dir);
  if (!NOT_PATHS.has(cfg.audit.destination)) cfg.audit.destination = abs(baseDir, cfg.audit.destination);
  for (const t of [cfg.listen.tls, cfg.http.tls]) {
    if (!t) continue;
    t.cert = abs(baseDir, t.cert);
    t.key = abs(baseDir, t.key);
    if (t.ca) t.ca = abs(baseDir, t.ca);
  }
  const rt = cfg.redis.tls;
  if (typeof rt === 'object') {
    if (rt.ca) rt.ca = abs(baseDir, rt.ca);
    if (rt.cert) rt.cert = abs(baseDir, rt.cert);
    if (rt.key) rt.key = abs(baseDir, rt.key);
  }
  for (const s of cfg.downstream.smscs) {
    if (typeof s.tls === 'object' && s.tls.ca) s.tls.ca = abs(baseDir, s.tls.ca);
  }
  return cfg;
}

/**
 * Paths the config names that must exist for the gateway to start: the rules directory (with policy
 * on — a missing one is an error, never "no rules") and the TLS files. One message per problem.
 */
export function missingPaths(cfg: Config): string[] {
  const out: string[] = [];
  if (cfg.policy.enabled) {
    if (!existsSync(cfg.rules.dir)) out.push(`rules.dir: ${cfg.rules.dir} does not exist (create it, even empty, for no rules)`);
    else if (!statSync(cfg.rules.dir).isDirectory()) out.push(`rules.dir: ${cfg.rules.dir} is not a directory`);
  }
  const files: [string, string | undefined][] = [];
  for (const [name, t] of [['listen.tls', cfg.listen.tls], ['http.tls', cfg.http.tls]] as const) {
    if (t) files.push([`${name}.cert`, t.cert], [`${name}.key`, t.key], [`${name}.ca`, t.ca]);
  }
  const rt = cfg.redis.tls;
  if (typeof rt === 'object') files.push(['redis.tls.ca', rt.ca], ['redis.tls.cert', rt.cert], ['redis.tls.key', rt.key]);
  for (const s of cfg.downstream.smscs) if (typeof s.tls === 'object') files.push([`downstream.smscs ${s.name} tls.ca`, s.tls.ca]);
  for (const [name, p] of files) if (p && !existsSync(p)) out.push(`${name}: ${p} does not exist`);
  return out;
}
