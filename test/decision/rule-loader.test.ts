import { mkdtempSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RuleLoader, loadRules, ruleFiles } from '../../src/decision/rule-loader.js';
import type { RuleSet } from '../../src/rules/engine.js';

const GOOD = `version: 1
lists: { spam: lists/spam.txt }
rules:
  - id: spam
    description: spam words
    match: { text: { list: spam } }
    action: { reject: { reason: spam } }
`;

let dir: string;
const logs: { level: string; msg: string; obj: object }[] = [];
const log = {
  info: (obj: object, msg: string) => logs.push({ level: 'info', msg, obj }),
  error: (obj: object, msg: string) => logs.push({ level: 'error', msg, obj }),
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sg-rules-'));
  mkdirSync(join(dir, 'lists'));
  writeFileSync(join(dir, 'lists/spam.txt'), 'lottery\n');
  writeFileSync(join(dir, '10-spam.yaml'), GOOD);
  logs.length = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('loading a directory', () => {
  it('takes *.yaml in file-name order, not tests or dot files', () => {
    writeFileSync(join(dir, '02-b.yml'), 'version: 1\n');
    writeFileSync(join(dir, '10-spam.test.yaml'), 'cases: []\n');
    writeFileSync(join(dir, '.10-spam.yaml.swp'), 'x');
    writeFileSync(join(dir, 'notes.txt'), 'x');
    expect(ruleFiles(dir).map((f) => f.slice(dir.length + 1))).toEqual(['02-b.yml', '10-spam.yaml']);
  });

  it('the version is a content hash of rule files and the lists they read', () => {
    const a = loadRules(dir);
    const b = loadRules(dir);
    expect(a.ok && b.ok && a.set.version === b.set.version).toBe(true);
    writeFileSync(join(dir, 'lists/spam.txt'), 'lottery\njackpot\n');
    const c = loadRules(dir);
    expect(a.ok && c.ok && /^[0-9a-f]{12}$/.test(c.set.version) && a.set.version !== c.set.version).toBe(true);
  });
});

describe('RuleLoader', () => {
  it('keeps the last good set when a file turns invalid, counts the failure, applies the fixed file', async () => {
    const registry = new Registry();
    const loader = new RuleLoader(dir, { registry, log });
    expect(loader.load()).toBe(true);
    const good = loader.current;
    expect(good.ruleIds).toEqual(['spam']);
    expect(loader.lastError).toBe(null);

    writeFileSync(join(dir, '10-spam.yaml'), GOOD.replace('list: spam', 'list: nope'));
    expect(loader.reload()).toBe(false);
    expect(loader.current).toBe(good);
    expect(loader.version).toBe(good.version);
    expect(loader.failures).toBe(1);
    expect(loader.lastError).toMatch(/10-spam\.yaml:6:28: rules\[0\]\.match\.text\.list: unknown list nope/);
    expect(logs.at(-1)).toMatchObject({ level: 'error', msg: 'rules: load failed; keeping the last good rule set' });
    let text = await registry.metrics();
    expect(text).toContain('smppguard_rules_reload_failures_total 1');
    expect(text).toContain('smppguard_rules_last_reload_success 0');
    expect(text).toContain(`smppguard_rules_info{version="${good.version}"} 1`);

    writeFileSync(join(dir, '10-spam.yaml'), GOOD.replace('id: spam', 'id: spam-v2'));
    expect(loader.reload()).toBe(true);
    expect(loader.current.ruleIds).toEqual(['spam-v2']);
    expect(loader.version).not.toBe(good.version);
    expect(loader.lastError).toBe(null);
    text = await registry.metrics();
    expect(text).toContain('smppguard_rules_last_reload_success 1');
    expect(text).toContain(`smppguard_rules_info{version="${loader.version}"} 1`);
    expect(text).not.toContain(`version="${good.version}"`);
    expect(text).toContain('smppguard_rules_active 1');
  });

  it('starts with an empty set when the first load fails', () => {
    writeFileSync(join(dir, '10-spam.yaml'), 'version: [');
    const loader = new RuleLoader(dir);
    expect(loader.load()).toBe(false);
    expect(loader.current.ruleIds).toEqual([]);
    expect(loader.loadedAt).toBe(null);
  });

  it('reloads by itself when a rule file or a list changes (debounced)', async () => {
    const loads: RuleSet[] = [];
    const loader = new RuleLoader(dir, { debounceMs: 50, log, onLoad: (s) => loads.push(s) });
    try {
      expect(loader.start()).toBe(true);
      expect(loads).toHaveLength(1);
      const waitFor = async (n: number) => {
        for (let i = 0; i < 100 && loads.length < n; i++) await new Promise((r) => setTimeout(r, 20));
      };
      writeFileSync(join(dir, '20-more.yaml'), 'version: 1\nrules:\n  - { id: more, description: d, action: forward }\n');
      await waitFor(2);
      expect(loads.at(-1)?.ruleIds).toEqual(['spam', 'more']);
      writeFileSync(join(dir, 'lists/spam.txt'), 'jackpot\n');
      await waitFor(3);
      expect(loads).toHaveLength(3);
      expect(loads[2]!.version).not.toBe(loads[1]!.version);
    } finally {
      loader.close();
    }
  });

  it('loads a Kubernetes ConfigMap mount (every file a link into ..data/) and follows the kubelet\'s swap', async () => {
    // The layout the kubelet makes: the files in a timestamped directory, `..data` a link to it, and
    // every key a link through `..data`. An update writes a new directory, renames a new `..data`
    // link over the old one (atomic), and removes the old directory.
    const cm = join(dir, 'cm');
    mkdirSync(cm);
    const version = (n: number, listWord: string) => {
      const d = join(cm, `..2026_11_29_01_00_0${n}.1`);
      mkdirSync(join(d, 'lists'), { recursive: true });
      writeFileSync(join(d, '10-spam.yaml'), GOOD);
      writeFileSync(join(d, 'lists/spam.txt'), `${listWord}\n`);
      return d;
    };
    const first = version(1, 'lottery');
    symlinkSync(basename(first), join(cm, '..data'));
    symlinkSync('..data/10-spam.yaml', join(cm, '10-spam.yaml'));
    symlinkSync('..data/lists', join(cm, 'lists'));
    const loads: RuleSet[] = [];
    const loader = new RuleLoader(cm, { debounceMs: 50, log, onLoad: (s) => loads.push(s) });
    try {
      expect(loader.start()).toBe(true);
      expect(loader.current.ruleIds).toEqual(['spam']);
      const second = version(2, 'jackpot');
      symlinkSync(basename(second), join(cm, '..data_tmp'));
      renameSync(join(cm, '..data_tmp'), join(cm, '..data'));
      rmSync(first, { recursive: true });
      for (let i = 0; i < 100 && loads.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(loads.length).toBeGreaterThanOrEqual(2);
      expect(loads.at(-1)!.version).not.toBe(loads[0]!.version);
      expect(loader.lastOk).toBe(true);
    } finally {
      loader.close();
    }
  });

  it('a rule file link that points nowhere fails the load by name (the last good set stays)', () => {
    const loader = new RuleLoader(dir);
    expect(loader.load()).toBe(true);
    symlinkSync('gone/20-x.yaml', join(dir, '20-x.yaml'));
    expect(loader.load()).toBe(false);
    expect(loader.lastError).toMatch(/20-x\.yaml links to gone\/20-x\.yaml, which cannot be read \(ENOENT\)/);
    expect(loader.current.ruleIds).toEqual(['spam']);
  });
});
