/**
 * The compliance web console (/console): server-rendered pages for the review queue, complaints,
 * evidence, senders, consent/DND and explain, served by the gateway itself (no CDN; htmx and our
 * own script and style from /console/assets).
 *
 * Security, in this one place: sign-in with an admin token (its role decides what a page offers;
 * failures are slowed like the API's), turned into a session (sessions.ts: Redis, idle and hard
 * expiry) whose id is the only thing the browser keeps, in a cookie that is HttpOnly, SameSite
 * Strict, path /console and Secure under TLS. Every POST carries the session's CSRF token (form
 * field or the X-CSRF-Token header htmx sends) and, when the browser says where it came from, an
 * Origin of this very host. Pages go out with a strict Content-Security-Policy (no inline script or
 * style, nothing from elsewhere, no framing) and Cache-Control: no-store.
 *
 * Every read and write goes through the admin API (fastify inject into /api/v1 with a one-shot
 * grant, grants.ts), so role checks, input checks, number masking for `read` and the change journal
 * are the API's own — the console adds no second path to the data.
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { TokenTable } from '../admin/auth.js';
import { roleFor } from '../admin/roles.js';
import { roleAllows, type AdminRole } from '../domain/admin-role.js';
import { isValidZone } from '../domain/time.js';
import { GRANT_HEADER } from './grants.js';
import { html } from './html.js';
import { SessionStore, sameToken } from './sessions.js';
import { barePage, BASE, field, page, problem } from './ui.js';
import { consolePath, one, type ConsoleDeps, type ConsoleEnv, type Form } from './env.js';
import { overviewPages } from './pages/overview.js';
import { reviewPages } from './pages/review.js';
import { complaintPages } from './pages/complaints.js';
import { evidencePages } from './pages/evidence.js';
import { senderPages } from './pages/senders.js';
import { numberPages } from './pages/numbers.js';

export const SESSION_COOKIE = 'sg_console';
const LOGIN_COOKIE = 'sg_console_login';
const API = '/api/v1';

const assetsDir = fileURLToPath(new URL('./assets/', import.meta.url));

export function registerConsole(root: FastifyInstance, deps: ConsoleDeps): void {
  const { cfg } = deps;
  const c = cfg.console;
  const tokens = new TokenTable(cfg.admin.tokens);
  const sessions = new SessionStore(deps.redis, cfg.redis.key_prefix, c.session_idle_s * 1000, c.session_max_s * 1000);
  const roleOf = (who: string): AdminRole | null => {
    const t = cfg.admin.tokens.find((x) => x.name === who);
    return t ? (t.role ?? 'admin') : null;
  };
  const htmx = readFileSync(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'));
  const cookieOpts = { path: BASE, httpOnly: true, sameSite: 'strict' as const, secure: deps.tls };

  const env: ConsoleEnv = {
    deps,
    sessions,
    async api(req, method, path, body) {
      const v = req.consoleViewer!;
      const grant = deps.grants.issue({ who: v.who, role: v.role });
      const res = await root.inject({
        method: method as 'GET',
        url: API + path,
        headers: { [GRANT_HEADER]: grant, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      let parsed: unknown;
      try {
        parsed = res.body ? JSON.parse(res.body) : null;
      } catch {
        parsed = null;
      }
      return { status: res.statusCode, body: parsed, text: res.body };
    },
    viewer: (req) => req.consoleViewer!,
    can: (req, route) => {
      const v = req.consoleViewer;
      if (!v) return false;
      const sp = route.indexOf(' ');
      return roleAllows(v.role, roleFor(route.slice(0, sp), route.slice(sp + 1)));
    },
    render(reply, req, active, title, body, status = 200) {
      return reply.code(status).type('text/html; charset=utf-8').send(page(req.consoleViewer!, active, title, body).value);
    },
    async finish(req, reply, r, ok, back, active) {
      if (r.status >= 200 && r.status < 300) {
        await env.flash(req, { kind: 'ok', text: ok });
        return reply.code(303).header('location', back).send();
      }
      const message = typeof r.body?.message === 'string' ? r.body.message : `the admin API answered ${r.status}`;
      return env.render(reply, req, active, 'Not done', problem(r.status, message, back), r.status);
    },
    async flash(req, f) {
      await sessions.setFlash(req.consoleViewer!.session, f);
    },
  };

  void root.register(
    async (app) => {
      app.decorateRequest('consoleViewer', null);
      await app.register(cookie);
      await app.register(formbody);
      await app.register(helmet, {
        contentSecurityPolicy: {
          useDefaults: false,
          directives: {
            defaultSrc: ["'none'"],
            scriptSrc: ["'self'"],
            styleSrc: ["'self'"],
            imgSrc: ["'self'"],
            connectSrc: ["'self'"],
            formAction: ["'self'"],
            frameAncestors: ["'none'"],
            baseUri: ["'none'"],
            objectSrc: ["'none'"],
          },
        },
        // Strict-Transport-Security only means something over TLS.
        strictTransportSecurity: deps.tls ? { maxAge: 31_536_000 } : false,
        referrerPolicy: { policy: 'no-referrer' },
        crossOriginEmbedderPolicy: true,
      });
      app.addHook('onSend', async (_req, reply, payload) => {
        if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
        return payload;
      });
      await app.register(fastifyStatic, { root: assetsDir, prefix: '/assets/', decorateReply: false, cacheControl: false });
      app.get('/assets/htmx.min.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(htmx));

      app.setNotFoundHandler((req, reply) => {
        if (req.consoleViewer) return env.render(reply, req, '', 'Not found', problem(404, `no page ${req.url.split('?')[0]}`, `${BASE}/`), 404);
        return reply.code(404).type('text/html; charset=utf-8').send(barePage('Not found', html`<p><a href="${BASE}/">Console</a></p>`).value);
      });

      // Who is asking: a live session, else the sign-in page (GET) or a refusal (anything else).
      app.addHook('preHandler', async (req, reply) => {
        const path = req.url.split('?')[0]!;
        if (path === `${BASE}/login` || path.startsWith(`${BASE}/assets/`)) return;
        const s = await sessions.get(req.cookies[SESSION_COOKIE]);
        const role = s ? roleOf(s.who) : null;
        if (!s || !role) {
          if (req.method === 'GET' || req.method === 'HEAD') {
            return reply.code(303).header('location', `${BASE}/login${path === `${BASE}/` ? '' : `?next=${encodeURIComponent(req.url)}`}`).send();
          }
          return reply.code(401).type('text/html; charset=utf-8').send(barePage('Signed out', html`<p role="alert">No session (signed out or expired).</p><p><a href="${BASE}/login">Sign in</a></p>`).value);
        }
        req.consoleViewer = { who: s.who, role, csrf: s.csrf, tz: s.tz, flash: s.flash, session: s };
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          const body = (req.body ?? {}) as Form;
          const presented = req.headers['x-csrf-token'] ?? body._csrf;
          const origin = req.headers.origin;
          const host = req.headers.host;
          const originOk = origin === undefined || (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`));
          if (!originOk || !sameToken(Array.isArray(presented) ? presented[0] : presented, s.csrf)) {
            deps.log?.warn({ who: s.who, path, origin: origin ?? null }, 'console: write refused, CSRF token or origin wrong');
            return env.render(
              reply,
              req,
              '',
              'Refused',
              problem(403, 'this form did not come from your console session (CSRF check failed). Reload the page and try again.', `${BASE}/`),
              403,
            );
          }
        }
      });

      // ---- sign-in and sign-out ----------------------------------------------------------------

      const loginPage = (reply: FastifyReply, next: string, message: string | null, status = 200): FastifyReply => {
        const nonce = randomBytes(24).toString('base64url');
        reply.setCookie(LOGIN_COOKIE, nonce, { ...cookieOpts, maxAge: 900 });
        const body = html`${message ? html`<p class="flash error" role="alert">${message}</p>` : ''}
${tokens.empty ? html`<p class="flash error" role="alert">No admin tokens are configured (admin.tokens): nobody can sign in.</p>` : ''}
<form method="post" action="${BASE}/login" class="card">
<input type="hidden" name="_login" value="${nonce}">
<input type="hidden" name="next" value="${next}">
${field('Admin token', 'token', '', { type: 'password', required: true, autocomplete: 'current-password', hint: 'The token is checked once and not kept: the browser holds only a session cookie.' })}
${field('Time zone for dates', 'tz', c.time_zone, { hint: 'An IANA zone such as Asia/Shanghai or UTC.' })}
<button type="submit">Sign in</button>
</form>`;
        return reply.code(status).type('text/html; charset=utf-8').send(barePage('Sign in to the smppguard console', body).value);
      };

      app.get<{ Querystring: { next?: string } }>('/login', async (req, reply) => loginPage(reply, consolePath(req.query.next), null));

      app.post<{ Body: Form }>('/login', async (req, reply) => {
        const b = req.body ?? {};
        const next = consolePath(one(b.next));
        const nonce = req.cookies[LOGIN_COOKIE];
        if (!nonce || !sameToken(one(b._login), nonce)) return loginPage(reply, next, 'The sign-in form expired or did not come from this page; try again.', 403);
        const token = one(b.token);
        const a = tokens.authenticate(token ? `Bearer ${token}` : undefined);
        if (!a.ok) {
          const wait = deps.failures?.fail(req.ip, token ? 'invalid' : 'missing') ?? 0;
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          return loginPage(reply, next, 'That token was not accepted.', 401);
        }
        const tz = one(b.tz) ?? c.time_zone;
        if (!isValidZone(tz)) return loginPage(reply, next, `"${tz}" is not a time zone (e.g. Asia/Shanghai, UTC).`, 400);
        const s = await sessions.create(a.who, tz);
        deps.log?.info({ who: a.who, role: a.role }, 'console: signed in');
        reply.clearCookie(LOGIN_COOKIE, { path: BASE });
        reply.setCookie(SESSION_COOKIE, s.id, { ...cookieOpts, maxAge: c.session_max_s });
        return reply.code(303).header('location', next).send();
      });

      app.post('/logout', async (req, reply) => {
        const v = req.consoleViewer!;
        await sessions.destroy(v.session);
        deps.log?.info({ who: v.who }, 'console: signed out');
        reply.clearCookie(SESSION_COOKIE, { path: BASE });
        return reply.code(303).header('location', `${BASE}/login`).send();
      });

      overviewPages(app, env);
      reviewPages(app, env);
      complaintPages(app, env);
      evidencePages(app, env);
      senderPages(app, env);
      numberPages(app, env);
    },
    { prefix: BASE },
  );
}
