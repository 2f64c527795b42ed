/**
 * The rule file and rule-test file formats as zod schemas, and YAML parsing that reports every
 * problem as file:line:column (the same approach as config/load.ts: a LineCounter, and each zod
 * issue mapped to the YAML node its path names). docs/rules.md documents the formats.
 */
import { HOLD_KINDS } from '../domain/hold.js';
import { LineCounter, isMap, isPair, isScalar, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { SenderInputSchema, SENDER_CLASSES, type SenderClass } from '../domain/sender.js';
import { TEMPLATE_TYPES, type TemplateType } from './templates.js';
import { parseHours } from './hours.js';
import { isValidZone, parseDuration } from '../domain/time.js';
import { BEHAVIOUR_SIGNALS } from '../domain/behaviour.js';
import { RECENT_CAP } from '../domain/store-facts.js';
import type { BehaviourSpec } from './behaviour.js';

// ---- helpers -------------------------------------------------------------------------------------

/** YAML reads 8613800138000 as a number: accept whole numbers where text is expected. */
const text = (min = 1) =>
  z.preprocess((v) => (typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v), z.string().min(min));

/** One value or a list of them; always a list after parsing. */
function oneOrMany<T extends z.ZodType>(item: T) {
  return z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(item).min(1));
}

const name = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'names are letters, digits, _ . - (at most 64)');
const digits = text().pipe(z.string().regex(/^\+?\d{1,15}$/, 'expected digits (international form)'));
const senderClass = z.enum(SENDER_CLASSES);
const category = z.number().int().min(1).max(7);
const tag = z.number().int().min(1).max(0xffff);
const reason = z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'reason codes are snake_case: a-z, 0-9, _ (at most 48)');

// ---- rule files ----------------------------------------------------------------------------------

export interface TlvSpec {
  tag: number;
  present?: boolean;
  equals?: string;
}
export interface TextSpec {
  contains_any?: string[];
  contains_all?: string[];
  list?: string[];
  regex?: string;
  flags?: string;
  normalised?: boolean;
}
export interface UrlsSpec {
  present?: boolean;
  domains_in?: string | string[];
  domains_not_in?: string | string[];
}
export interface TemplateSpec {
  list: string;
  matches: boolean;
  tlv: number | null;
  types?: TemplateType[];
}
export const RATE_PER = ['sender', 'recipient', 'account', 'sender_recipient', 'content_recipient'] as const;
export type RatePer = (typeof RATE_PER)[number];
export interface RateSpec {
  per: RatePer;
  window: string;
  max: number;
  distinct?: 'recipient';
}
export interface ScoreSpec {
  model: string;
  above: number;
}
export interface TimeSpec {
  outside?: string;
  inside?: string;
  tz: string;
}

export interface CampaignSpec {
  senders_over?: number;
  accounts_over?: number;
  recipients_over?: number;
  window: string;
  near: boolean;
  complained?: boolean;
}
export interface ContentSpec {
  numbers_in?: string[];
  domains_in?: string[];
}

export interface MatchSpec {
  account?: string[];
  sender?: string[];
  sender_class?: SenderClass[];
  destination_prefix?: string[];
  destination_country?: string[];
  service_type?: string[];
  data_coding?: number[];
  tlv?: TlvSpec;
  text?: TextSpec;
  urls?: UrlsSpec;
  signature?: 'present' | 'absent' | 'unregistered';
  opt_out_hint?: 'present' | 'absent';
  template?: TemplateSpec;
  class?: SenderClass[];
  category?: number[];
  label?: string[];
  rate?: RateSpec;
  time?: TimeSpec;
  campaign?: CampaignSpec;
  content?: ContentSpec;
  score?: ScoreSpec;
  any?: MatchSpec[];
  all?: MatchSpec[];
  not?: MatchSpec;
  behaviour?: BehaviourSpec;
}

const windowText = z.string().refine((s) => parseDuration(s) !== null, 'expected a window such as 60s, 15m, 1h, 1d');

/** `behaviour:` (rules/behaviour.ts): exactly one signal, and only the settings that signal reads. */
const BehaviourSchema = z
  .strictObject({
    distinct_recipients_over: z.number().int().min(1).optional(),
    sequential_recipients_over: z.number().int().min(2).optional(),
    undeliverable_share_over: z.number().gt(0).lt(1).optional(),
    volume_over_baseline: z.number().gt(1).optional(),
    window: windowText.optional(),
    gap: z.number().int().min(1).max(31).optional(),
    min_receipts: z.number().int().min(1).optional(),
    min_baseline: z.number().min(0).optional(),
  })
  .superRefine((b, ctx) => {
    const signals = BEHAVIOUR_SIGNALS.filter((k) => b[(k === 'volume_over_baseline' ? k : `${k}_over`) as keyof typeof b] !== undefined);
    if (signals.length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of distinct_recipients_over, sequential_recipients_over, undeliverable_share_over, volume_over_baseline' });
      return;
    }
    const windowed = signals[0] === 'distinct_recipients' || signals[0] === 'sequential_recipients';
    if (windowed && b.window === undefined) ctx.addIssue({ code: 'custom', path: ['window'], message: `${signals[0]} is counted per window: give window, e.g. 10m` });
    if (!windowed && b.window !== undefined) ctx.addIssue({ code: 'custom', path: ['window'], message: `${signals[0]} has no window (receipts: the last N; baseline: this hour)` });
    if (b.gap !== undefined && signals[0] !== 'sequential_recipients') ctx.addIssue({ code: 'custom', path: ['gap'], message: 'gap applies to sequential_recipients_over' });
    if (b.min_receipts !== undefined && signals[0] !== 'undeliverable_share') ctx.addIssue({ code: 'custom', path: ['min_receipts'], message: 'min_receipts applies to undeliverable_share_over' });
    if (b.min_baseline !== undefined && signals[0] !== 'volume_over_baseline') ctx.addIssue({ code: 'custom', path: ['min_baseline'], message: 'min_baseline applies to volume_over_baseline' });
  });

const listRef = z.union([name, z.array(z.string().min(1)).min(1)], {
  error: 'expected a list name or a list of domains',
});

export const MatchSchema: z.ZodType<MatchSpec> = z.lazy(() =>
  z.strictObject({
    account: oneOrMany(text()).optional(),
    sender: oneOrMany(text()).optional(),
    sender_class: oneOrMany(senderClass).optional(),
    destination_prefix: oneOrMany(digits).optional(),
    destination_country: oneOrMany(z.string().regex(/^[A-Z]{2}$/, 'expected an ISO 3166 code such as CN, IN, US')).optional(),
    service_type: oneOrMany(text(0)).optional(),
    data_coding: oneOrMany(z.number().int().min(0).max(255)).optional(),
    tlv: z
      .strictObject({ tag, present: z.boolean().optional(), equals: text(0).optional() })
      .refine((t) => (t.present === undefined) !== (t.equals === undefined), 'give exactly one of present, equals')
      .optional(),
    text: z
      .strictObject({
        contains_any: oneOrMany(text()).optional(),
        contains_all: oneOrMany(text()).optional(),
        list: oneOrMany(name).optional(),
        regex: z.string().min(1).optional(),
        flags: z.string().regex(/^[imsu]*$/, 'regex flags are i, m, s, u').optional(),
        normalised: z.boolean().optional(),
      })
      .refine((t) => t.contains_any || t.contains_all || t.list || t.regex, 'give contains_any, contains_all, list or regex')
      .optional(),
    urls: z
      .strictObject({ present: z.boolean().optional(), domains_in: listRef.optional(), domains_not_in: listRef.optional() })
      .refine((u) => u.present !== undefined || u.domains_in || u.domains_not_in, 'give present, domains_in or domains_not_in')
      .optional(),
    signature: z.enum(['present', 'absent', 'unregistered']).optional(),
    opt_out_hint: z.enum(['present', 'absent']).optional(),
    template: z
      .strictObject({
        list: name,
        matches: z.boolean(),
        tlv: tag.nullable().default(0x1401),
        types: oneOrMany(z.enum(TEMPLATE_TYPES)).optional(),
      })
      .optional(),
    class: oneOrMany(senderClass).optional(),
    category: oneOrMany(category).optional(),
    label: oneOrMany(name).optional(),
    rate: z
      .strictObject({
        per: z.enum(RATE_PER),
        window: z.string().refine((s) => parseDuration(s) !== null, 'expected a window such as 60s, 15m, 1h, 1d'),
        max: z.number().int().min(0),
        distinct: z.literal('recipient').optional(),
      })
      .refine((r) => !r.distinct || r.per === 'sender' || r.per === 'account', {
        message: 'distinct: recipient counts recipients per sender or per account',
        path: ['distinct'],
      })
      .optional(),
    time: z
      .strictObject({
        outside: z.string().refine((s) => parseHours(s) !== null, 'expected HH:MM-HH:MM, e.g. 08:00-21:00').optional(),
        inside: z.string().refine((s) => parseHours(s) !== null, 'expected HH:MM-HH:MM, e.g. 08:00-21:00').optional(),
        tz: z.string().refine((s) => s === 'recipient' || isValidZone(s), 'expected recipient or an IANA zone such as Asia/Shanghai').default('recipient'),
      })
      .refine((t) => (t.outside === undefined) !== (t.inside === undefined), 'give exactly one of outside, inside')
      .optional(),
    campaign: z
      .strictObject({
        // Counted exactly up to RECENT_CAP members (sliding window): a limit must be below it.
        senders_over: z.number().int().min(0).max(RECENT_CAP - 1).optional(),
        accounts_over: z.number().int().min(0).max(RECENT_CAP - 1).optional(),
        recipients_over: z.number().int().min(0).optional(),
        window: z.string().refine((s) => parseDuration(s) !== null, 'expected a window such as 60s, 15m, 1h, 1d').default('10m'),
        near: z.boolean().default(true),
        complained: z.boolean().optional(),
      })
      .refine(
        (c) => c.senders_over !== undefined || c.accounts_over !== undefined || c.recipients_over !== undefined || c.complained !== undefined,
        'give senders_over, accounts_over, recipients_over or complained',
      )
      .optional(),
    content: z
      .strictObject({ numbers_in: oneOrMany(name).optional(), domains_in: oneOrMany(name).optional() })
      .refine((c) => c.numbers_in || c.domains_in, 'give numbers_in or domains_in (reputation set names)')
      .optional(),
    score: z
      .strictObject({
        model: name,
        above: z.number().min(0, 'above is a probability in [0, 1)').lt(1, 'above is a probability in [0, 1)'),
      })
      .optional(),
    any: z.array(MatchSchema).min(1).optional(),
    all: z.array(MatchSchema).min(1).optional(),
    not: MatchSchema.optional(),
    behaviour: BehaviourSchema.optional(),
  }),
);

const ACTION_HELP = 'action is forward, {reject: {status, reason}}, {queue: until-window|review}, {tag: {class, category, label}} or {suspend: {status, reason}}';

export const ActionSchema = z.preprocess(
  (v) => (v === 'forward' ? { forward: true } : v),
  z
    .strictObject(
      {
        forward: z.literal(true).optional(),
        reject: z.strictObject({ status: z.union([z.number().int(), z.string()]).default('ESME_RSUBMITFAIL'), reason }).optional(),
        queue: z.enum(HOLD_KINDS).optional(),
        tag: z
          .strictObject({ class: senderClass.optional(), category: category.optional(), label: name.optional() })
          .refine((t) => t.class || t.category || t.label, 'tag sets class, category or label')
          .optional(),
        /** Suspends the sender's registration (enforce) and refuses the message; monitor: counted and logged only. */
        suspend: z
          .strictObject({ status: z.union([z.number().int(), z.string()]).default('ESME_RINVSRCADR'), reason: reason.default('sender_suspended_behaviour') })
          .optional(),
      },
      { error: (iss) => (iss.code === 'invalid_type' ? ACTION_HELP : undefined) },
    )
    .refine((a) => [a.forward, a.reject, a.queue, a.tag, a.suspend].filter((x) => x !== undefined).length === 1, ACTION_HELP),
);
export type ActionSpec = z.output<typeof ActionSchema>;

export const RuleSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,79}$/, 'rule ids are letters, digits, _ . : / - (at most 80)'),
  description: z.string().min(1),
  mode: z.enum(['enforce', 'monitor']).default('enforce'),
  match: MatchSchema.default({}),
  action: ActionSchema,
});
export type RuleSpec = z.output<typeof RuleSchema>;

export const RuleFileSchema = z.strictObject({
  version: z.literal(1, 'must be 1 (the only rule file version)'),
  description: z.string().optional(),
  /** Number prefix → IANA zone for `time: {tz: recipient}`; added to the built-in table. */
  zones: z
    .record(z.string().regex(/^\d{1,15}$/, 'zone prefixes are digits'), z.string().refine(isValidZone, 'not an IANA time zone'))
    .default({}),
  /** Zone for recipients no prefix matches. */
  default_zone: z.string().refine(isValidZone, 'not an IANA time zone').default('UTC'),
  lists: z.record(name, z.string().min(1)).default({}),
  templates: z.record(name, z.string().min(1)).default({}),
  /** Opt-out hints (replacing the defaults): inline, or the name of a list. */
  opt_out_hints: z.union([name, z.array(z.string().min(1)).min(1)]).optional(),
  rules: z.array(RuleSchema).default([]),
});
export type RuleFile = z.output<typeof RuleFileSchema>;

// ---- rule tests ----------------------------------------------------------------------------------

const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO 8601 time, e.g. 2026-11-28T10:00:00+08:00');
const statusRef = z.union([z.number().int(), z.string()]);

const ConsentFact = z.strictObject({
  msisdn: digits,
  scope: z.string().regex(/^(sender|brand|account):.+$/, 'scope is sender:<id>, brand:<name> or account:<id>'),
  state: z.enum(['granted', 'revoked']),
  expires: iso.optional(),
});
const DndFact = z.strictObject({ msisdn: digits, category: category.optional() });

export const TestCaseSchema = z.strictObject({
  name: z.string().min(1),
  account: text(),
  sender: text(),
  sender_ton: z.number().int().min(0).max(6).optional(),
  recipient: digits,
  text: z.string().default(''),
  data_coding: z.number().int().min(0).max(255).default(0),
  service_type: text(0).default(''),
  esm_class: z.number().int().min(0).max(255).default(0),
  /** TLV tag (0x1401 or decimal) → value as text. */
  tlvs: z.record(z.string().regex(/^(0x[0-9a-fA-F]{1,4}|\d{1,5})$/, 'TLV tags are 0x… or decimal'), text(0)).default({}),
  time: iso,
  /** The classifier's view, when the test's `classify` config is not used. */
  class: senderClass.optional(),
  category: category.optional(),
  /** Rule id → counter value this message sees for that rule's rate (after counting itself). */
  counters: z.record(z.string(), z.number().int().min(0)).default({}),
  /** The sender's behaviour profile as this message sees it (behaviour: rules), after counting it. */
  profile: z
    .strictObject({
      distinct_recipients: z.number().int().min(0).optional(),
      sequential_run: z.number().int().min(0).optional(),
      receipts: z.number().int().min(0).optional(),
      undeliverable: z.number().int().min(0).optional(),
      hour_count: z.number().int().min(0).optional(),
      /** The sender's baseline for this hour of the day; absent: no history yet. */
      baseline: z.number().min(0).optional(),
    })
    .optional(),
  /** Replace the file's consent / DND facts for this case. */
  consent: z.array(ConsentFact).optional(),
  /** Texts complained about (or reviewer-rejected) before this message: their fingerprints are marked. */
  complained: z.array(z.string().min(1)).optional(),
  dnd: z.array(DndFact).optional(),
  expect: z.strictObject({
    action: z.enum(['forward', 'reject', 'queue']),
    reason: z.string().optional(),
    status: statusRef.optional(),
    rule: z.string().optional(),
    class: senderClass.optional(),
    labels: z.array(z.string()).optional(),
    /** The monitor-mode rules that matched (would-be actions), in any order; [] for none. */
    monitor: z.array(z.string()).optional(),
  }),
});
export type TestCase = z.output<typeof TestCaseSchema>;

export const TestFileSchema = z.strictObject({
  numbering: z
    .strictObject({
      country_code: z.string().regex(/^\d{1,3}$/).default('86'),
      national_prefix: z.string().regex(/^\d*$/).default('0'),
      international_prefix: z.string().regex(/^\d*$/).default('00'),
    })
    .prefault({}),
  /** Same keys as the gateway's policy.classify. */
  classify: z
    .strictObject({
      service_types: z.record(z.string(), senderClass).default({}),
      tlv: z.strictObject({ tag, values: z.record(z.string(), senderClass) }).optional(),
      category_tlv: tag.optional(),
    })
    .prefault({}),
  accounts: z.array(z.strictObject({ system_id: text(), default_class: senderClass.default('commercial') })).default([]),
  senders: z.array(SenderInputSchema).default([]),
  consent: z.array(ConsentFact).default([]),
  dnd: z.array(DndFact).default([]),
  /** Reputation sets (content: numbers_in / domains_in) by name: numbers and domains. */
  reputation: z.record(name, z.array(text())).default({}),
  /** Texts complained about before every case (see the case's own `complained`). */
  complained: z.array(z.string().min(1)).default([]),
  cases: z.array(TestCaseSchema).min(1),
});
export type TestFile = z.output<typeof TestFileSchema>;

// ---- YAML with positions -------------------------------------------------------------------------

export type YamlPath = readonly (string | number)[];

/** A parsed YAML document that can say where any path in it is. */
export class Located {
  constructor(
    readonly file: string,
    readonly doc: Document,
    readonly lines: LineCounter,
  ) {}

  /** "file:line:col" of the node at `path` (or of `key` in the map there), else of its nearest parent. */
  at(path: YamlPath, key?: string): string {
    const pos = (offset: number) => {
      const p = this.lines.linePos(offset);
      return `${this.file}:${p.line}:${p.col}`;
    };
    if (key !== undefined) {
      const map = this.doc.getIn(path as (string | number)[], true);
      if (isMap(map)) {
        const pair = map.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
        const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
        if (range) return pos(range[0]);
      }
    }
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, n) as (string | number)[], true);
      const range = (node as { range?: [number, number] } | null | undefined)?.range;
      if (range) return pos(range[0]);
    }
    return `${this.file}:1:1`;
  }
}

export function pathText(path: YamlPath): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out || '(root)';
}

/**
 * Parses YAML and validates it: the data, or every problem as "file:line:col: path: message".
 */
export function parseYaml<S extends z.ZodType>(
  source: string,
  file: string,
  schema: S,
): { ok: true; data: z.output<S>; loc: Located } | { ok: false; errors: string[] } {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const errors = doc.errors.map((e) => {
      const p = lines.linePos(e.pos[0]);
      return `${file}:${p.line}:${p.col}: ${e.message.split('\n')[0]}`;
    });
    return { ok: false, errors: [...new Set(errors)] };
  }
  const loc = new Located(file, doc, lines);
  const result = schema.safeParse(doc.toJS() ?? {});
  if (result.success) return { ok: true, data: result.data, loc };
  const errors: string[] = [];
  for (const issue of result.error.issues) {
    const path = issue.path as (string | number)[];
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) errors.push(`${loc.at(path, k)}: ${pathText([...path, k])}: unknown key`);
      continue;
    }
    errors.push(`${loc.at(path)}: ${pathText(path)}: ${issue.message}`);
  }
  return { ok: false, errors: [...new Set(errors)] };
}
