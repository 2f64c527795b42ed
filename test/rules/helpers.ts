/** Builds rule sets from YAML text in memory (list and template files from a map) for rule tests. */
import { type LoadOptions } from '../../src/decision/rule-loader.js';
import { compileSources } from '../../src/rules/compile-set.js';
import type { RuleSet } from '../../src/rules/engine.js';
import type { RuleContext, RuleState } from '../../src/rules/types.js';
import type { SenderRecord } from '../../src/domain/sender.js';

export const DIR = '/virtual/rules';

function reader(files: Record<string, string>) {
  return (p: string) => {
    const rel = p.startsWith(`${DIR}/`) ? p.slice(DIR.length + 1) : p;
    const v = files[rel];
    if (v === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    return v;
  };
}

export function compile(yaml: string, files: Record<string, string> = {}, opts: LoadOptions = {}) {
  return compileSources([{ path: `${DIR}/rules.yaml`, text: yaml }], { read: reader(files), ...opts });
}

export function ruleSet(yaml: string, files: Record<string, string> = {}, opts: LoadOptions = {}): RuleSet {
  const r = compile(yaml, files, opts);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.set;
}

export function errorsOf(yaml: string, files: Record<string, string> = {}): string[] {
  const r = compile(yaml, files);
  if (r.ok) throw new Error('expected errors, the rules loaded');
  return r.errors;
}

/** A one-rule file: `match` is YAML flow text; the action tags label "hit". */
export function oneRule(match: string, extra = ''): string {
  return `version: 1\n${extra}rules:\n  - id: r\n    description: test rule\n    match: ${match}\n    action: { tag: { label: hit } }\n`;
}

export const NOW = Date.parse('2026-11-28T10:00:00+08:00');

export function sender(over: Partial<SenderRecord> = {}): SenderRecord {
  return {
    id: 'number:861069001',
    kind: 'number',
    value: '861069001',
    account: 'acme',
    class: 'commercial',
    status: 'active',
    signatures: ['ACME商城'],
    ...over,
  };
}

export function ctx(over: Partial<RuleContext> & { tlvs?: Record<number, string> } = {}): RuleContext {
  const { tlvs = {}, ...rest } = over;
  return {
    account: 'acme',
    src: { kind: 'number', value: '861069001' },
    sender: sender(),
    senderClass: 'commercial',
    dst: '8613800138000',
    serviceType: '',
    dataCoding: 8,
    esmClass: 0,
    tlv: (t) => (tlvs[t] === undefined ? undefined : Buffer.from(tlvs[t]!, 'latin1')),
    text: 'hello',
    now: NOW,
    ...rest,
  };
}

export const INITIAL: RuleState = { class: 'commercial', category: null, labels: [] };

/** Whether the one-rule set's rule matched this message. */
export function matches(set: RuleSet, c: RuleContext, initial: RuleState = INITIAL, counters = new Map<string, number>()): boolean {
  return set.evaluate(c, initial, counters).hits.length > 0;
}
