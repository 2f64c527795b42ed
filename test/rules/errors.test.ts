import { describe, expect, it } from 'vitest';
import { loadRules } from '../../src/decision/rule-loader.js';
import { compile, errorsOf, oneRule } from './helpers.js';

const F = 'test/fixtures/rules';

function errors(dir: string): string[] {
  const r = loadRules(`${F}/${dir}`);
  if (r.ok) throw new Error(`${dir} loaded`);
  return r.errors;
}

describe('rule files are validated with file:line:col in every error', () => {
  it('YAML syntax', () => {
    expect(errors('bad-syntax')[0]).toMatch(/^test\/fixtures\/rules\/bad-syntax\/rules\.yaml:5:42: Flow sequence .* end with a \]$/);
  });

  it('wrong type, unknown key, bad enum, bad action', () => {
    expect(errors('bad-schema')).toEqual([
      `${F}/bad-schema/rules.yaml:6:20: rules[0].match.data_coding[0]: Invalid input: expected number, received string`,
      `${F}/bad-schema/rules.yaml:11:7: rules[1].match.txt: unknown key`,
      `${F}/bad-schema/rules.yaml:15:11: rules[2].mode: Invalid option: expected one of "enforce"|"monitor"`,
      `${F}/bad-schema/rules.yaml:19:13: rules[3].action: action is forward, {reject: {status, reason}}, {queue: until-window|review}, {tag: {class, category, label}} or {suspend: {status, reason}}`,
    ]);
  });

  it('unknown and unreadable lists, bad list entries, bad status, unknown template list and country, nested rate', () => {
    const e = errors('bad-refs');
    expect(e[0]).toBe(`${F}/bad-refs/rules.yaml:4:12: lists.missing: cannot read lists/nope.txt: ENOENT`);
    expect(e[1]).toBe(`${F}/bad-refs/rules.yaml:9:21: rules[0].match.text.list: unknown list spam (declare it under lists: in this file)`);
    expect(e[2]).toBe(`${F}/bad-refs/lists/domains.txt:2:1: "not a domain" is not a domain`);
    expect(e[3]).toBe(`${F}/bad-refs/rules.yaml:18:33: rules[2].action.reject.status: status 0x64 is for deliver_sm_resp only, never submit_sm_resp`);
    expect(e[4]).toBe(`${F}/bad-refs/rules.yaml:22:25: rules[3].match.template.list: unknown template list dlt (declare it under templates: in this file)`);
    expect(e[5]).toMatch(new RegExp(`^${F}/bad-refs/rules.yaml:27:28: rules\\[4\\].match.destination_country\\[0\\]: unknown country XX`));
    expect(e[6]).toBe(
      `${F}/bad-refs/rules.yaml:33:17: rules[5].match.any[0].rate: rate is only allowed at the top level of a rule match (not inside any, all or not)`,
    );
    expect(e).toHaveLength(7);
  });

  it('duplicate rule ids across files name both places', () => {
    expect(errors('bad-duplicate')).toEqual([
      `${F}/bad-duplicate/b.yaml:6:9: rules[1].id: rule id same is already used at ${F}/bad-duplicate/a.yaml:3:5`,
    ]);
  });

  it('invalid RE2 (PCRE-only lookbehind, backreference) is refused with the reason', () => {
    const e = errors('bad-regex');
    expect(e[0]).toBe(
      `${F}/bad-regex/rules.yaml:6:22: rules[0].match.text.regex: not a valid RE2 regular expression (invalid perl operator: (?<=); RE2 runs in linear time and has no lookahead, lookbehind or backreferences`,
    );
    expect(e[1]).toMatch(/bad-regex\/rules\.yaml:11:22: rules\[1\]\.match\.text\.regex: not a valid RE2 regular expression \(invalid escape sequence: \\1\)/);
  });

  it('queue is refused when the gateway runs without its queue', () => {
    const bad = loadRules(`${F}/bad-queue`, { allowQueue: false });
    if (bad.ok) throw new Error('bad-queue loaded');
    expect(bad.errors).toHaveLength(1);
    expect(bad.errors[0]).toMatch(/^test\/fixtures\/rules\/bad-queue\/rules\.yaml:8:22: rules\[0\]\.action\.queue: queue actions need the message queue, which this gateway runs without \(queue\.enabled: false/);
  });

  it('queue loads by default, and until-window needs a time condition', () => {
    const ok = loadRules(`${F}/bad-queue`);
    expect(ok.ok).toBe(true);
    const r = compile(
      'version: 1\nrules:\n  - id: q\n    description: d\n    action: { queue: until-window }\n',
      {},
      { allowQueue: true },
    );
    expect(r.ok ? [] : r.errors).toEqual([
      '/virtual/rules/rules.yaml:5:22: rules[0].action.queue: queue: until-window needs a time condition in the same rule (which window to wait for)',
    ]);
  });

  it('a missing directory', () => {
    expect(errors('nope')).toEqual([`${F}/nope: no such directory`]);
  });

  it.each([
    ['version', 'version: 2\nrules: []\n', /rules\.yaml:1:10: version: must be 1 \(the only rule file version\)/],
    ['status name', 'version: 1\nrules:\n  - { id: a, description: d, action: { reject: { status: ESME_NOPE, reason: x } } }\n', /status: unknown status ESME_NOPE/],
    ['status ok', 'version: 1\nrules:\n  - { id: a, description: d, action: { reject: { status: 0, reason: x } } }\n', /status 0 \(ESME_ROK\) is not a rejection/],
    ['status outside SMPP', 'version: 1\nrules:\n  - { id: a, description: d, action: { reject: { status: 0x999, reason: x } } }\n', /neither an SMPP status nor vendor-specific/],
    ['reason', 'version: 1\nrules:\n  - { id: a, description: d, action: { reject: { reason: "Bad Reason" } } }\n', /reason codes are snake_case/],
    ['two actions', 'version: 1\nrules:\n  - { id: a, description: d, action: { forward: true, queue: review } }\n', /action is forward/],
    ['empty tag', 'version: 1\nrules:\n  - { id: a, description: d, action: { tag: {} } }\n', /tag sets class, category or label/],
    ['missing description', 'version: 1\nrules:\n  - { id: a, action: forward }\n', /rules\[0\]\.description: Invalid input/],
    ['tlv present and equals', oneRule('{ tlv: { tag: 5120, present: true, equals: x } }'), /give exactly one of present, equals/],
    ['time window', oneRule('{ time: { outside: "8-21" } }'), /expected HH:MM-HH:MM/],
    ['keyword that normalises to nothing', oneRule('{ text: { contains_any: ["..."] } }'), /keyword "\.\.\." normalise to nothing/],
    ['regex flags', oneRule('{ text: { regex: a, flags: g } }'), /regex flags are i, m, s, u/],
    ['flags without regex', oneRule('{ text: { contains_any: [a], flags: i } }'), /flags and normalised apply to regex/],
    ['duplicate YAML key', 'version: 1\nversion: 1\nrules: []\n', /rules\.yaml:2:1: Map keys must be unique/],
  ])('%s', (_, yaml, want) => {
    expect(errorsOf(yaml).join('\n')).toMatch(want);
  });

  it('statuses by name, number, hex string and vendor range load', () => {
    const r = compile(`version: 1
rules:
  - { id: a, description: d, action: { reject: { status: ESME_RSERTYPDENIED, reason: x } } }
  - { id: b, description: d, action: { reject: { status: 0x4ff, reason: x } } }
  - { id: c, description: d, action: { reject: { status: "VENDOR_0x401", reason: x } } }
  - { id: d, description: d, action: { reject: { reason: x } } }
`);
    expect(r.ok && r.set.rules.map((x) => (x.action.kind === 'reject' ? x.action.status : -1))).toEqual([0x103, 0x4ff, 0x401, 0x45]);
  });
});
