/**
 * Content templates in the style of India's DLT registry: each registered template is literal text
 * with {#var#} placeholders, owned by one or more headers (sender ids) and typed Transactional /
 * Service-Implicit / Service-Explicit / Promotional. A template file has one template a line:
 *
 *   id|sender[,sender…]|type|text with {#var#} placeholders
 *
 * (`*` as sender: any header). Each template compiles to an anchored RE2 at load: literal text
 * matches itself (whitespace runs match any whitespace run), a placeholder matches up to 30
 * characters ({#numeric#}: up to 30 digits). The message text is matched with surrounding
 * whitespace trimmed; matching is linear-time whatever the text.
 */
import RE2 from 're2';

export const TEMPLATE_TYPES = ['transactional', 'service_implicit', 'service_explicit', 'promotional'] as const;
export type TemplateType = (typeof TEMPLATE_TYPES)[number];

const TYPE_NAMES: Record<string, TemplateType> = {
  t: 'transactional',
  transactional: 'transactional',
  si: 'service_implicit',
  'service-implicit': 'service_implicit',
  service_implicit: 'service_implicit',
  se: 'service_explicit',
  'service-explicit': 'service_explicit',
  service_explicit: 'service_explicit',
  p: 'promotional',
  promotional: 'promotional',
};

export function templateType(s: string): TemplateType | null {
  return TYPE_NAMES[s.trim().toLowerCase()] ?? null;
}

export interface Template {
  id: string;
  /** Upper-cased header ids / sender numbers; null = any sender. */
  senders: string[] | null;
  type: TemplateType;
  text: string;
  re: RE2;
  line: number;
}

const PLACEHOLDER = /\{#([A-Za-z_]*)#\}/g;

function escapeLiteral(s: string): string {
  return s
    .split(/\s+/)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('\\s+');
}

export function compileTemplate(text: string): RE2 {
  let src = '^';
  let last = 0;
  for (const m of text.trim().matchAll(PLACEHOLDER)) {
    src += escapeLiteral(text.trim().slice(last, m.index));
    src += m[1]!.toLowerCase() === 'numeric' ? '[0-9]{0,30}' : '[\\s\\S]{0,30}';
    last = m.index + m[0].length;
  }
  src += `${escapeLiteral(text.trim().slice(last))}$`;
  return new RE2(src);
}

export function parseTemplates(text: string, file: string): { templates: Template[]; errors: string[] } {
  const templates: Template[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const at = `${file}:${i + 1}:1`;
    const parts = raw.split('|');
    if (parts.length < 4) {
      errors.push(`${at}: expected id|sender[,sender…]|type|text`);
      continue;
    }
    const [id, senders, type] = parts.map((p) => p.trim()) as [string, string, string];
    const body = parts.slice(3).join('|');
    const t = templateType(type);
    if (!id) errors.push(`${at}: empty template id`);
    else if (seen.has(id)) errors.push(`${at}: template id ${id} appears twice`);
    if (!t) errors.push(`${at}: unknown template type "${type}" (T, SI, SE or P)`);
    if (!senders) errors.push(`${at}: no sender (use * for any)`);
    if (body.trim() === '') errors.push(`${at}: empty template text`);
    if (!id || !t || !senders || body.trim() === '' || seen.has(id)) continue;
    seen.add(id);
    const list = senders.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
    templates.push({ id, senders: list.includes('*') ? null : list, type: t, text: body.trim(), re: compileTemplate(body), line: i + 1 });
  }
  return { templates, errors };
}

/** The templates of one file, by id and by sender. */
export class TemplateIndex {
  private readonly byId = new Map<string, Template>();
  private readonly bySender = new Map<string, Template[]>();
  private readonly anySender: Template[] = [];

  constructor(readonly templates: readonly Template[]) {
    for (const t of templates) {
      this.byId.set(t.id, t);
      if (t.senders === null) this.anySender.push(t);
      else
        for (const s of t.senders) {
          const l = this.bySender.get(s);
          if (l) l.push(t);
          else this.bySender.set(s, [t]);
        }
    }
  }

  get size(): number {
    return this.templates.length;
  }

  /**
   * The template the text matches for this sender: the one named by `id` (when given) if the sender
   * owns it and the text fits it; else, without an id, any of the sender's templates the text fits.
   */
  match(text: string, sender: string, id: string | null, types: ReadonlySet<TemplateType> | null): Template | null {
    const body = text.trim();
    const ok = (t: Template) => (types === null || types.has(t.type)) && t.re.test(body);
    if (id !== null) {
      const t = this.byId.get(id);
      if (!t || (t.senders !== null && !t.senders.includes(sender))) return null;
      return ok(t) ? t : null;
    }
    for (const t of this.bySender.get(sender) ?? []) if (ok(t)) return t;
    for (const t of this.anySender) if (ok(t)) return t;
    return null;
  }
}
