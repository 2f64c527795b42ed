/**
 * deploy/docker-compose.yml and the Dockerfile, checked by parsing (this machine has the docker
 * CLI without an engine or the compose plugin; where `docker compose` exists, its own `config`
 * check runs too): the services the issue asks for, Redis persistence, that every mounted file
 * exists, that the services find each other (hosts, ports, paths agree across the compose file,
 * the gateway config, prometheus.yml and Grafana provisioning), and that the image runs the
 * commands the compose file gives it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
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

  it('the gateway config is valid and points at the Redis and simulator services', () => {
    const g = svc.gateway!;
    const cfgPath = g.command![g.command!.indexOf('--config') + 1]!;
    const mount = mounts(g).find((m) => m.target === cfgPath);
    expect(mount, `the config ${cfgPath} is mounted`).toBeDefined();
    const cfg = loadConfig(resolve(DEPLOY, mount!.source));
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

  it('builds in one stage and runs a slim Node 20 image as a non-root user', () => {
    expect(stages.length).toBe(2);
    expect(stages[0]![0]!.arg).toMatch(/^node:20[\w.-]* AS build$/);
    expect(final[0]!.arg).toMatch(/^node:20[\w.-]*$/);
    expect(final.find((i) => i.op === 'USER')?.arg).toBe('node');
    expect(stages[0]!.some((i) => i.op === 'RUN' && /npm ci/.test(i.arg))).toBe(true);
    expect(stages[0]!.some((i) => i.op === 'RUN' && /npm run build/.test(i.arg) && /npm prune --omit=dev/.test(i.arg))).toBe(true);
  });

  it('copies only what exists, exposes SMPP and HTTP, checks health, and starts the gateway', () => {
    for (const i of ins.filter((x) => x.op === 'COPY' && !x.arg.startsWith('--from'))) {
      const parts = i.arg.split(/\s+/);
      for (const src of parts.slice(0, -1)) expect(existsSync(join(ROOT, src)), src).toBe(true);
    }
    expect(final.find((i) => i.op === 'EXPOSE')?.arg.split(/\s+/).sort()).toEqual(['2775', '9090']);
    expect(final.find((i) => i.op === 'HEALTHCHECK')?.arg).toMatch(/http:\/\/127\.0\.0\.1:9090\/healthz/);
    expect(JSON.parse(final.find((i) => i.op === 'ENTRYPOINT')!.arg)).toEqual(['node', 'dist/src/cli/main.js']);
    expect(JSON.parse(final.find((i) => i.op === 'CMD')!.arg)).toEqual(['start', '--config', 'config/gateway.yaml']);
    expect(final.some((i) => i.op === 'ENV' && /--max-semi-space-size=64/.test(i.arg))).toBe(true);
    expect(existsSync(join(ROOT, 'config/gateway.yaml'))).toBe(true);
    expect(() => loadConfig(join(ROOT, 'config/gateway.yaml'))).not.toThrow();
  });
});
