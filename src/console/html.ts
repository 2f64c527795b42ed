/**
 * HTML for the console's server-rendered pages: one tagged template that escapes every
 * interpolated value unless it is already Html (another template's output). No raw string reaches
 * a page without passing through here, so text from messages, senders or complaints can never
 * become markup. Also the small shared formatting helpers (dates in the operator's zone).
 */

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

/** A value as HTML: Html as is, arrays joined, null/undefined/false as nothing, anything else escaped. */
function render(v: unknown): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** An attribute-free query string from the fields that are set. */
export function query(fields: Record<string, string | number | boolean | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** "2026-12-05 10:08:57" in `zone` (the operator's), or "—" for no date. */
export function formatTime(iso: string | number | null | undefined, zone: string): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (!Number.isFinite(t)) return String(iso);
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('sv-SE', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    if (formats.size < 100) formats.set(zone, f);
  }
  return f.format(t);
}

/** A <time> element: the operator's zone shown, the instant in datetime. */
export function time(iso: string | number | null | undefined, zone: string): Html {
  if (iso === null || iso === undefined || iso === '') return html`—`;
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (!Number.isFinite(t)) return html`${String(iso)}`;
  return html`<time datetime="${new Date(t).toISOString()}">${formatTime(t, zone)}</time>`;
}

/** "3 h 12 min" from milliseconds. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** "2026-12-05T10:00" (a datetime-local field) read in `zone` → an ISO instant; undefined when empty or unreadable. */
export function localToIso(local: string | undefined, zone: string, offsetMinutes: (zone: string, t: number) => number): string | undefined {
  const m = local ? /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local) : null;
  if (!m) return undefined;
  const wall = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0));
  let t = wall - offsetMinutes(zone, wall) * 60_000;
  t = wall - offsetMinutes(zone, t) * 60_000;
  return new Date(t).toISOString();
}
