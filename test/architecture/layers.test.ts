// Architecture test: runs dependency-cruiser with .dependency-cruiser.mjs (the layering of issue 15:
// who in src/ may import whom, pure layers without I/O, no cycles) over src/, one test per rule so a
// failure names the rule and lists every import that breaks it. The same rules also run over a small
// fixture tree (test/architecture/fixture/src/) built to break them, to prove they bite.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { cruise, type ICruiseOptions, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const FIXTURE = resolve(ROOT, 'test/architecture/fixture');

async function loadOptions(): Promise<ICruiseOptions> {
  return extractDepcruiseOptions(resolve(ROOT, '.dependency-cruiser.mjs'));
}

/** Cruises `<baseDir>/src` with the project's rules and returns the result. */
async function cruiseSrc(options: ICruiseOptions, baseDir: string): Promise<ICruiseResult> {
  const result = await cruise(['src'], {
    ...options,
    baseDir,
    tsConfig: { fileName: resolve(ROOT, 'tsconfig.json') },
  });
  if (typeof result.output === 'string') throw new Error('dependency-cruiser returned a report, not a result');
  return result.output;
}

/** One line per violation: `rule: from → to`, or the cycle's path for no-circular. */
function describeViolation(v: IViolation): string {
  if (v.cycle?.length) return `${v.rule.name}: ${v.from} → ${v.cycle.map((c) => c.name).join(' → ')}`;
  return `${v.rule.name}: ${v.from} → ${v.to}`;
}

function violationsOf(result: ICruiseResult, rule?: string): string[] {
  return (result.summary.violations ?? [])
    .filter((v) => rule === undefined || v.rule.name === rule)
    .map(describeViolation)
    .sort();
}

describe('src/ layering (.dependency-cruiser.mjs)', () => {
  let options: ICruiseOptions;
  let result: ICruiseResult;

  beforeAll(async () => {
    options = await loadOptions();
    result = await cruiseSrc(options, ROOT);
  }, 120_000);

  it('cruised the whole of src/', () => {
    // A misconfigured cruise (wrong base dir, unresolved .js → .ts imports) would see nothing and pass
    // every rule: make sure it saw the tree.
    const sources = result.modules.filter((m) => m.source.startsWith('src/'));
    expect(sources.length).toBeGreaterThan(100);
    expect(sources.map((m) => m.source)).toContain('src/gateway.ts');
  });

  const ruleNames = [
    'layer-protocol', 'layer-domain', 'layer-config', 'layer-session', 'layer-telemetry', 'layer-policy',
    'layer-rules', 'layer-store', 'layer-import', 'layer-decision', 'layer-upstream', 'layer-downstream',
    'layer-queue', 'layer-relay', 'layer-complaints', 'layer-evidence', 'layer-archive', 'layer-model',
    'pure-no-io', 'no-circular', 'not-to-unresolvable',
  ];

  it('has a test for every rule in the config', () => {
    expect((options.ruleSet?.forbidden ?? []).map((r) => r.name).sort()).toEqual([...ruleNames].sort());
  });

  for (const rule of ruleNames) {
    it(`${rule}: no violations`, () => {
      const found = violationsOf(result, rule);
      expect(found, `${found.length} violation(s) of ${rule}:\n  ${found.join('\n  ')}`).toEqual([]);
    });
  }
});

describe('the rules bite (fixture tree)', () => {
  it('reports exactly the planted violations', async () => {
    const result = await cruiseSrc(await loadOptions(), FIXTURE);
    expect(result.modules.filter((m) => m.source.startsWith('src/')).length).toBe(8);
    expect(violationsOf(result)).toEqual([
      'layer-policy: src/policy/bad.ts → src/session/window.ts',
      'layer-store: src/store/x.ts → src/decision/y.ts',
      'no-circular: src/domain/a.ts → src/domain/b.ts → src/domain/a.ts', // a cycle is reported once
      'pure-no-io: src/policy/bad.ts → fs',
    ]);
  }, 60_000);
});
