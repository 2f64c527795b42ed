/**
 * deploy/docker-compose.yml and the Dockerfile, checked by parsing (this machine has the docker
 * CLI without an engine or the compose plugin; where `docker compose` exists, its own `config`
 * check runs too): the services the issue asks for, Redis persistence, that every mounted file
 * exists, that the services find each other (hosts, ports, paths agree across the compose file,
 * the gateway config, prometheus.yml and Grafana provisioning), and that the image runs the
 * commands the compose file gives it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS } from '../../src/cli/node-flags.js';
import { loadConfig } from '../../src/config/load.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DEPLOY = join(ROOT, 'deploy');
const MAIN = join(ROOT, 'dist/src/cli/main.js');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
}
const compose = parse(readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const svc = compose.services;
const flag = (s: Service, name: string) => {
  const i = (s.command ?? []).indexOf(name);
  return i < 0 ? undefined : s.command![i + 1];
};
/** "host:container[:ro]" → parts; named volumes have no "/" or "." at the start. */
const mounts = (s: Service) =>
  (s.volumes ?? []).map((v) => {
    const [source, target, mode] = v.split(':');
    return { source: source!, target: target!, mode, bind: /^[./]/.test(source!) };
  });

describe('docker-compose.yml', () => {
  it('has the gateway, Redis, the simulator, Prometheus and Grafana', () => {
    expect(Object.keys(svc).sort()).toEqual(['gateway', 'grafana', 'prometheus', 'redis', 'smsc-sim']);
    expect(svc.gateway!.build).toEqual({ context: '..', dockerfile: 'Dockerfile' });
    expect(svc['smsc-sim']!.image).toBe(svc.gateway!.image);
    for (const [name, s] of Object.entries(svc)) {
      expect(s.image, `${name} has an image`).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(s.image, `${name}: pin a tag`).not.toMatch(/:latest$/);
    }
  });

  it('runs Redis with persistence on a volume, no eviction, compact DND sets', () => {
    const r = svc.redis!;
    expect(r.command![0]).toBe('redis-server');
    expect(flag(r, '--appendonly')).toBe('yes');
    expect(flag(r, '--appendfsync')).toBe('everysec');
    expect(flag(r, '--save')).toMatch(/^\d+ \d+/);
    expect(flag(r, '--maxmemory-policy')).toBe('noeviction');
    expect(Number(flag(r, '--set-max-intset-entries'))).toBeGreaterThanOrEqual(32768);
    const data = mounts(r).find((m) => m.target === '/data');
    expect(data?.bind).toBe(false);
    expect(Object.keys(compose.volumes)).toContain(data!.source);
    expect(r.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('mounts only files that exist, and every named volume is declared', () => {
    for (const [name, s] of Object.entries(svc)) {
      for (const m of mounts(s)) {
        if (m.bind) expect(existsSync(resolve(DEPLOY, m.source)), `${name}: ${m.source}`).toBe(true);
        else expect(Object.keys(compose.volumes), `${name}: volume ${m.source}`).toContain(m.source);
      }
    }
  });

  /** The gateway's environment as compose gives it, with deploy/.env.example's names set (test values). */
  const gatewayEnv = (): Record<string, string> => {
    const dotenv = { ADMIN_TOKEN_SHA256: 'a'.repeat(64), SMSC_PASSWORD: 'secret' } as Record<string, string>;
    const example = readFileSync(join(DEPLOY, '.env.example'), 'utf8');
    for (const name of Object.keys(dotenv)) expect(example, `deploy/.env.example names ${name}`).toMatch(new RegExp(`^${name}=`, 'm'));
    return Object.fromEntries(
      Object.entries(svc.gateway!.environment ?? {}).map(([k, v]) => [
        k,
        // ${VAR}, ${VAR:-default}, ${VAR:?message}
        String(v).replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => dotenv[name] ?? (op === '-' ? arg! : '')),
      ]),
    );
  };

  it('the gateway config is valid and points at the Redis and simulator services', () => {
    const g = svc.gateway!;
    expect(g.command).toEqual(['start']);
    const env = gatewayEnv();
    const cfgPath = env.SMPPGUARD_CONFIG!;
    const mount = mounts(g).find((m) => m.target === cfgPath);
    expect(mount, `the config ${cfgPath} is mounted`).toBeDefined();
    const cfg = loadConfig(resolve(DEPLOY, mount!.source), env);
    expect(new URL(cfg.redis.url).hostname).toBe('redis');
    const smsc = cfg.downstream.smscs[0]!;
    expect(smsc.host).toBe('smsc-sim');
    expect(String(smsc.port)).toBe(flag(svc['smsc-sim']!, '--port'));
    expect(flag(svc['smsc-sim']!, '--host')).toBe('0.0.0.0');
    if (smsc.password_env) expect(Object.keys(g.environment ?? {})).toContain(smsc.password_env);
    expect(g.ports).toEqual(expect.arrayContaining([`${cfg.listen.port}:${cfg.listen.port}`, `${cfg.http.port}:${cfg.http.port}`]));
    expect(cfg.listen.host).toBe('0.0.0.0');
    expect(mounts(g).find((m) => m.target === cfg.rules.dir)?.source).toBe('../rules');
    expect(cfg.shutdown.drain_timeout_ms).toBeLessThan(15_000);
    expect(g.depends_on).toMatchObject({ redis: { condition: 'service_healthy' }, 'smsc-sim': { condition: 'service_healthy' } });
    expect(svc['smsc-sim']!.healthcheck).toBeDefined();
  });

  it('gives the admin API a token from deploy/.env (its SHA-256, required: no default token)', () => {
    const cfg = loadConfig(join(DEPLOY, 'gateway.compose.yaml'), gatewayEnv());
    expect(cfg.admin.tokens).toEqual([{ name: 'ops', role: 'admin', sha256: 'a'.repeat(64) }]);
    expect(svc.gateway!.environment?.SMPPGUARD_ADMIN__TOKENS__0__SHA256).toMatch(/^\$\{ADMIN_TOKEN_SHA256:\?/);
    expect(readFileSync(join(ROOT, '.gitignore'), 'utf8')).toMatch(/^\.env$/m);
  });

  it('Prometheus scrapes the gateway and loads the alert rules; Grafana gets the data source and the dashboard', () => {
    const p = svc.prometheus!;
    const conf = mounts(p).find((m) => m.target === '/etc/prometheus')!;
    expect(conf.source).toBe('./prometheus');
    expect(flag(p, '--config.file') ?? p.command!.find((c) => c.startsWith('--config.file='))).toMatch(/\/etc\/prometheus\/prometheus\.yml$/);
    const prom = parse(readFileSync(join(DEPLOY, 'prometheus/prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    for (const f of prom.rule_files) expect(existsSync(join(DEPLOY, 'prometheus', f)), f).toBe(true);
    const job = prom.scrape_configs.find((j) => j.job_name === 'smppguard')!;
    const cfg = loadConfig(join(DEPLOY, 'gateway.compose.yaml'));
    expect(job.static_configs[0]!.targets).toEqual([`gateway:${cfg.http.port}`]);

    const g = svc.grafana!;
    const dashboards = mounts(g).find((m) => m.source === './grafana/dashboards')!;
    expect(mounts(g).find((m) => m.source === './grafana/provisioning')?.target).toBe('/etc/grafana/provisioning');
    const provider = parse(readFileSync(join(DEPLOY, 'grafana/provisioning/dashboards/smppguard.yml'), 'utf8')) as { providers: { options: { path: string } }[] };
    expect(provider.providers[0]!.options.path).toBe(dashboards.target);
    expect(g.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(`${dashboards.target}/smppguard.json`);
    const ds = parse(readFileSync(join(DEPLOY, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: { url: string; type: string }[] };
    expect(ds.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    expect(g.environment?.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD/);
  });

  it('the image runs the subcommands the compose file gives it', () => {
    for (const name of ['gateway', 'smsc-sim']) {
      const sub = svc[name]!.command![0]!;
      expect(() => execFileSync(process.execPath, [MAIN, sub, '--help'], { stdio: 'ignore' }), `${name}: smppguard ${sub}`).not.toThrow();
    }
  });

  const composeCli = (() => {
    try {
      execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  it.runIf(composeCli)('docker compose config accepts it', () => {
    expect(() => execFileSync('docker', ['compose', '-f', join(DEPLOY, 'docker-compose.yml'), 'config', '--quiet'], { stdio: 'pipe' })).not.toThrow();
  });
});

describe('Dockerfile', () => {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const ins = lines.map((l) => {
    const sp = l.indexOf(' ');
    return { op: l.slice(0, sp).toUpperCase(), arg: l.slice(sp + 1).trim() };
  });
  const stages: { op: string; arg: string }[][] = [];
  for (const i of ins) {
    if (i.op === 'FROM') stages.push([]);
    stages.at(-1)!.push(i);
  }
  const final = stages.at(-1)!;

  const build = stages[0]!;
  const runs = build.filter((i) => i.op === 'RUN').map((i) => i.arg);

  it('builds in one stage, native modules from source, and runs a slim Node 20 image as a non-root user', () => {
    expect(stages.length).toBe(2);
    expect(build[0]!.arg).toMatch(/^node:20[\w.-]* AS build$/);
    expect(final[0]!.arg).toMatch(/^node:20[\w.-]*$/);
    expect(final.find((i) => i.op === 'USER')?.arg).toBe('node');
    // The compilers re2 needs, then an install that builds it instead of downloading a binary.
    expect(runs[0]).toMatch(/apt-get install .*python3 .*make .*g\+\+/);
    const ci = runs.find((r) => /npm ci/.test(r))!;
    expect(ci).toMatch(/DOWNLOAD_FORCE_BUILD=1/);
    expect(ci).toMatch(/npm_config_nodedir=/);
    expect(JSON.parse(readFileSync(join(ROOT, 'node_modules/re2/package.json'), 'utf8')).scripts.install).toMatch(/install-from-cache .*\|\| node-gyp/);
    expect(runs.some((r) => /tsc -p tsconfig\.image\.json/.test(r) && /npm prune --omit=dev/.test(r))).toBe(true);
  });

  it('compiles src only; the runtime image holds dist/src, config, rules, models and production modules, no test or bench', () => {
    const image = JSON.parse(readFileSync(join(ROOT, 'tsconfig.image.json'), 'utf8')) as { include: string[] };
    expect(image.include).toEqual(['src/**/*.ts']);
    const copies = final.filter((i) => i.op === 'COPY').map((i) => i.arg.split(/\s+/));
    const targets = copies.map((c) => c.at(-1));
    expect(targets.sort()).toEqual(['./', './config', './dist/src', './models', './node_modules', './rules'].sort());
    expect(copies.flat().join(' ')).not.toMatch(/\b(test|bench)\b/);
    for (const ignored of ['test', 'bench', 'node_modules', 'dist', '.env']) {
      expect(readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n'), `.dockerignore: ${ignored}`).toContain(ignored);
    }
  });

  it('copies only what exists, exposes SMPP and HTTP, checks health on the configured port, and starts the gateway', () => {
    for (const i of ins.filter((x) => x.op === 'COPY' && !x.arg.startsWith('--from'))) {
      const parts = i.arg.split(/\s+/);
      for (const src of parts.slice(0, -1)) if (src !== '.') expect(existsSync(join(ROOT, src)), src).toBe(true);
    }
    expect(final.find((i) => i.op === 'EXPOSE')?.arg.split(/\s+/).sort()).toEqual(['2775', '9090']);
    const hc = final.find((i) => i.op === 'HEALTHCHECK')!.arg;
    expect(JSON.parse(hc.slice(hc.indexOf('CMD ') + 4))).toEqual(['node', 'dist/src/cli/main.js', 'healthcheck']);
    expect(hc).not.toMatch(/9090/);
    expect(JSON.parse(final.find((i) => i.op === 'ENTRYPOINT')!.arg)).toEqual(['node', ...GATEWAY_NODE_FLAGS, 'dist/src/cli/main.js']);
    expect(JSON.parse(final.find((i) => i.op === 'CMD')!.arg)).toEqual(['start']);
    expect(final.some((i) => i.op === 'ENV' && i.arg === 'SMPPGUARD_CONFIG=config/gateway.yaml')).toBe(true);
    expect(() => loadConfig(join(ROOT, 'config/gateway.yaml'))).not.toThrow();
  });

  it('`smppguard healthcheck` asks /healthz on the port the configuration (file and environment) names', async () => {
    const { createServer } = await import('node:http');
    const { freePort } = await import('../../src/sim/free-port.js');
    const port = await freePort();
    let status = 200;
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.statusCode = status;
      res.end();
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    const run = () =>
      new Promise<number | null>((resolve) => {
        const env = { PATH: process.env.PATH ?? '', SMPPGUARD_CONFIG: join(ROOT, 'config/gateway.yaml'), SMPPGUARD_HTTP__PORT: String(port) };
        const p = spawn(process.execPath, [MAIN, 'healthcheck'], { env, stdio: 'ignore' });
        p.once('exit', resolve);
      });
    try {
      expect(await run()).toBe(0);
      status = 503;
      expect(await run()).toBe(1);
      expect(seen).toEqual(['/healthz', '/healthz']);
    } finally {
      server.close();
    }
    const down = spawn(process.execPath, [MAIN, 'healthcheck'], { env: { PATH: process.env.PATH ?? '', SMPPGUARD_HTTP__PORT: String(port) }, stdio: 'ignore' });
    expect(await new Promise((r) => down.once('exit', r))).toBe(1);
  });
});
