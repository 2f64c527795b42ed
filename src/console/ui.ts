/**
 * The console's page shell and shared pieces: the layout (skip link, navigation, who is signed in,
 * sign-out), the flash message, form fields with labels, the CSRF field, an error page. Pages build
 * their body with html`` (html.ts) and hand it to page().
 */
import type { AdminRole } from '../domain/admin-role.js';
import { html, type Html } from './html.js';
import type { Flash } from './sessions.js';

export const BASE = '/console';

/** What a page needs to know about the signed-in operator. */
export interface Viewer {
  who: string;
  role: AdminRole;
  csrf: string;
  tz: string;
  flash: Flash | null;
}

const NAV: [string, string][] = [
  ['overview', 'Overview'],
  ['review', 'Review queue'],
  ['complaints', 'Complaints'],
  ['evidence', 'Evidence'],
  ['senders', 'Senders'],
  ['numbers', 'Consent & DND'],
  ['explain', 'Explain'],
];

const HTMX_CONFIG = JSON.stringify({
  // Under a strict CSP htmx must not add its own <style> or evaluate anything.
  includeIndicatorStyles: false,
  allowEval: false,
  allowScriptTags: false,
  selfRequestsOnly: true,
  // Pages hold subscriber data: none of it is copied into localStorage.
  historyCacheSize: 0,
  refreshOnHistoryMiss: true,
});

function head(title: string, csrf: string | null): Html {
  return html`<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · smppguard console</title>
<meta name="htmx-config" content="${HTMX_CONFIG}">
${csrf ? html`<meta name="csrf-token" content="${csrf}">` : ''}
<link rel="stylesheet" href="${BASE}/assets/console.css">
<script src="${BASE}/assets/htmx.min.js" defer></script>
<script src="${BASE}/assets/console.js" defer></script>`;
}

export function page(v: Viewer, active: string, title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>${head(title, v.csrf)}</head>
<body hx-boost="true">
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <p class="brand"><a href="${BASE}/">smppguard console</a></p>
  <nav aria-label="Main">
    <ul>
      ${NAV.map(([k, label]) => html`<li><a href="${BASE}/${k === 'overview' ? '' : k}"${k === active ? html` aria-current="page"` : ''}>${label}</a></li>`)}
    </ul>
  </nav>
  <div class="who">
    <span>Signed in as <strong>${v.who}</strong> (role ${v.role}) · times in ${v.tz}</span>
    <form method="post" action="${BASE}/logout" class="inline">${csrfField(v)}<button type="submit" class="link">Sign out</button></form>
  </div>
</header>
<main id="main" tabindex="-1">
<h1>${title}</h1>
${flash(v.flash)}
${body}
</main>
</body>
</html>`;
}

/** A page outside a session (sign-in). */
export function barePage(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>${head(title, null)}</head>
<body>
<main id="main" class="narrow">
<h1>${title}</h1>
${body}
</main>
</body>
</html>`;
}

export function flash(f: Flash | null): Html {
  if (!f) return html``;
  return f.kind === 'ok'
    ? html`<p class="flash ok" role="status">${f.text}</p>`
    : html`<p class="flash error" role="alert">${f.text}</p>`;
}

export function csrfField(v: Pick<Viewer, 'csrf'>): Html {
  return html`<input type="hidden" name="_csrf" value="${v.csrf}">`;
}

let seq = 0;
/** A labelled input. */
export function field(
  label: string,
  name: string,
  value: string | undefined,
  o: { type?: string; required?: boolean; hint?: string; id?: string; placeholder?: string; autocomplete?: string } = {},
): Html {
  const id = o.id ?? `f-${name}-${++seq % 1000}`;
  const hintId = o.hint ? `${id}-hint` : '';
  return html`<div class="field"><label for="${id}">${label}</label>
<input id="${id}" name="${name}" type="${o.type ?? 'text'}" value="${value ?? ''}"${o.required ? html` required` : ''}${o.placeholder ? html` placeholder="${o.placeholder}"` : ''}${o.autocomplete ? html` autocomplete="${o.autocomplete}"` : ''}${hintId ? html` aria-describedby="${hintId}"` : ''}>
${o.hint ? html`<small id="${hintId}">${o.hint}</small>` : ''}</div>`;
}

/** A labelled select; `options` are [value, label]. */
export function select(label: string, name: string, options: readonly (readonly [string, string])[], value: string | undefined, id?: string): Html {
  const fid = id ?? `f-${name}-${++seq % 1000}`;
  return html`<div class="field"><label for="${fid}">${label}</label>
<select id="${fid}" name="${name}">${options.map(([v, l]) => html`<option value="${v}"${v === (value ?? '') ? html` selected` : ''}>${l}</option>`)}</select></div>`;
}

export function textarea(label: string, name: string, value: string | undefined, o: { required?: boolean; id?: string } = {}): Html {
  const id = o.id ?? `f-${name}-${++seq % 1000}`;
  return html`<div class="field"><label for="${id}">${label}</label>
<textarea id="${id}" name="${name}" rows="3"${o.required ? html` required` : ''}>${value ?? ''}</textarea></div>`;
}

/** The body of an error answer (the admin API's message, or ours). */
export function problem(status: number, message: string, back: string): Html {
  return html`<div class="flash error" role="alert"><p><strong>${status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : 'Refused'}</strong> (HTTP ${status}): ${message}</p></div>
<p><a href="${back}">Back</a></p>`;
}

/** A status badge ("active", "suspended", "overdue"). */
export function badge(text: string, tone: 'ok' | 'warn' | 'bad' | 'plain' = 'plain'): Html {
  return html`<span class="badge ${tone}">${text}</span>`;
}
