/**
 * The compliance console in a real browser (Chromium via playwright-core) against a live gateway,
 * the SMSC simulator and real Redis. Each flow asserts on what the gateway did — what reached the
 * SMSC, what a submit was answered, what Redis and the journal hold — not only on the page; axe-core
 * checks every page for serious or critical accessibility violations.
 * Skipped (with a message) only where /usr/bin/chromium is absent; .ci/run installs it.
 */
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Status } from '../../src/protocol/status.js';
import { DlrMap } from '../../src/store/dlr-map.js';
import type { EsmeClient } from '../helpers/esme-client.js';
import { sm, type Stack } from '../helpers/stack.js';
import { accessible, addSender, consoleStack, haveChromium, heading1, launch, nav, screenshot, signIn, TOKENS } from './helpers.js';
import { clearKeys, keysMatching } from '../helpers/redis-keys.js';

if (!haveChromium) console.warn('test/console: /usr/bin/chromium is missing — browser tests skipped (apt-get install -y chromium; .ci/run does)');

const REVIEW_SENDER = '8610690002';
const CONSENT_SENDER = '8610690003';
const COMPLAINED_SENDER = '8610690004';
const RECIPIENT = '8613800000004';

// Generous per-test limits: axe and a browser on a loaded CI machine can take tens of seconds; nothing here is about time.
describe.skipIf(!haveChromium)('compliance console in Chromium', { timeout: 120_000 }, () => {
  let s: Stack & { base: string };
  let browser: Browser;
  let ops: BrowserContext;
  let page: Page;
  let esme: EsmeClient;

  const reached = (text: string) => s.sim.received.some((b) => b.includes(Buffer.from(text)));
  const api = async (method: string, path: string, body?: unknown, token: string = TOKENS.ops) => {
    const res = await fetch(s.base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: await res.json() };
  };
  const sessionKeys = async () => {
    const keys = await keysMatching(s.gw.redis, `${s.prefix}console:*`);
    return keys;
  };

  beforeAll(async () => {
    [s, browser] = await Promise.all([consoleStack(), launch()]);
    esme = await s.esme('transceiver');
    ops = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (s) {
      await clearKeys(s.gw.redis, `${s.prefix}*`);
      await s.stop();
    }
  });

  it('signs in with an admin token: strict CSP, no-store, cookie flags, session in Redis without the token', async () => {
    // Without a session every page sends the browser to sign in; a write is refused outright.
    const anon = await fetch(`${s.base}/console/review`, { redirect: 'manual' });
    expect([anon.status, anon.headers.get('location')]).toEqual([303, '/console/login?next=%2Fconsole%2Freview']);
    expect((await fetch(`${s.base}/console/numbers/consent`, { method: 'POST', redirect: 'manual' })).status).toBe(401);

    const login = await fetch(`${s.base}/console/login`);
    const csp = login.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(login.headers.get('x-content-type-options')).toBe('nosniff');
    expect(login.headers.get('cache-control')).toBe('no-store');
    expect(login.headers.get('referrer-policy')).toBe('no-referrer');
    // Assets are the gateway's own (no CDN), under the same policy.
    const htmx = await fetch(`${s.base}/console/assets/htmx.min.js`);
    expect([htmx.status, (await htmx.text()).includes('htmx')]).toEqual([200, true]);
    expect((await fetch(`${s.base}/console/assets/console.css`)).status).toBe(200);

    page = await ops.newPage();
    await page.goto(`${s.base}/console/`);
    await heading1(page, 'Sign in to the smppguard console');
    await accessible(page, 'sign-in');
    await screenshot(page, 'sign-in');
    await page.getByLabel('Admin token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That token was not accepted.').waitFor();
    expect(await ops.cookies()).not.toContainEqual(expect.objectContaining({ name: 'sg_console' }));
    await page.close();

    page = await signIn(ops, s.base, TOKENS.ops);
    const cookie = (await ops.cookies()).find((c) => c.name === 'sg_console')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console', secure: false });
    expect(cookie.expires * 1000).toBeGreaterThan(Date.now() + 7 * 3600_000);
    // The browser keeps no token: not in storage, not in the page.
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie)).not.toContain(TOKENS.ops);
    expect(await page.content()).not.toContain(TOKENS.ops);
    // Redis holds the session (hashed id, who, CSRF token, zone) with a TTL, never the token.
    const keys = await sessionKeys();
    expect(keys).toHaveLength(1);
    const h = await s.gw.redis.hgetall(keys[0]!);
    expect(h).toMatchObject({ who: 'ops', tz: 'Asia/Shanghai' });
    expect(JSON.stringify(h)).not.toContain(TOKENS.ops);
    expect(keys[0]).not.toContain(cookie.value);
    const ttl = await s.gw.redis.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1800_000);
    await page.getByText('Signed in as ops (role admin) · times in Asia/Shanghai').waitFor();
    await accessible(page, 'overview');
  });

  it('review queue: approving a held message releases it to the SMSC; rejecting one drops it', async () => {
    await addSender(s, REVIEW_SENDER, 'otp');
    const a = await esme.submit(sm({ source_addr: REVIEW_SENDER, destination_addr: '8613800000001', short_message: 'see http://a.example' }));
    const b = await esme.submit(sm({ source_addr: REVIEW_SENDER, destination_addr: '8613800000002', short_message: 'see http://b.example' }));
    // Message text is data, never markup.
    const c = await esme.submit(sm({ source_addr: REVIEW_SENDER, destination_addr: '8613800000002', short_message: '<img src=x onerror=alert(1)> http://c.example' }));
    expect([a.status, b.status, c.status]).toEqual([0, 0, 0]);
    expect(reached('http://a.example')).toBe(false);

    await nav(page, 'Review queue', 'Review queue');
    await page.locator('code', { hasText: a.messageId }).first().waitFor();
    expect(await page.locator('mark.rule').allTextContents()).toEqual(['hold-links', 'hold-links', 'hold-links']);
    await page.getByText('see http://a.example').waitFor();
    await page.getByText('<img src=x onerror=alert(1)> http://c.example').waitFor();
    expect(await page.locator('main img').count()).toBe(0);
    await accessible(page, 'review queue');
    await screenshot(page, 'review');

    await page.getByRole('button', { name: `Approve ${a.messageId}` }).click();
    await page.getByText(`Approved ${a.messageId}.`).waitFor();
    await expect.poll(() => reached('http://a.example'), { timeout: 5000 }).toBe(true);
    expect(await s.gw.queue!.store.inspect(a.messageId)).toBeNull();

    // "What happened afterwards" follows the session's decisions.
    await page.reload();
    await page.getByText('left the queue: released to the SMSC').waitFor();

    await page.getByLabel(`Select ${b.messageId}`).check();
    await page.getByRole('button', { name: 'Reject selected' }).click();
    await page.getByText(`Rejected ${b.messageId}.`).waitFor();
    expect(await s.gw.queue!.store.inspect(b.messageId)).toBeNull();
    await new Promise((r) => setTimeout(r, 200));
    expect(reached('http://b.example')).toBe(false);
    await page.getByText('No decisions in this session yet.').count().then((n) => expect(n).toBe(0));
  });

  it('complaints desk: overdue first; suspending the sender from the case makes the next submit refused', async () => {
    await addSender(s, COMPLAINED_SENDER, 'service');
    const sent = await esme.submit(sm({ source_addr: COMPLAINED_SENDER, destination_addr: '8613800000003', registered_delivery: 1, short_message: 'your parcel' }));
    expect(sent.status).toBe(0);
    // The complaint names the message by its id: account, sender and recipient come from the gateway's id map.
    const ids = new DlrMap(s.gw.redis, s.prefix, s.cfg.receipts.map_ttl_s);
    await expect.poll(() => ids.lookupMessage(sent.messageId), { timeout: 5000 }).not.toBeNull();
    const old = new Date(Date.now() - 30 * 86_400_000).toISOString();
    const late = await api('POST', '/api/v1/complaints', { recipient: '8613800000003', source: '12321', message_id: sent.messageId, text: 'your parcel', received_at: old, time: old, reference: 'R-1' });
    expect(late.status).toBe(201);
    const fresh = await api('POST', '/api/v1/complaints', { recipient: '8613800000005', source: 'customer_care', sender: COMPLAINED_SENDER, text: 'again' });
    expect(fresh.status).toBe(201);
    const caseId = late.body.case.id as string;

    await nav(page, 'Complaints', 'Complaints');
    const first = page.locator('tbody tr').first();
    await expect.poll(() => first.textContent()).toContain(caseId);
    expect(await first.textContent()).toContain('overdue');
    await accessible(page, 'complaints');
    await screenshot(page, 'complaints');

    await page.getByRole('link', { name: caseId }).click();
    await heading1(page, `Complaint case ${caseId}`);
    await page.getByText('your parcel').first().waitFor();
    await page.getByText(`message id ${sent.messageId}: account, sender and recipient as the gateway saw them`).waitFor();
    await accessible(page, 'complaint case');
    await screenshot(page, 'complaint-case');

    await page.getByRole('button', { name: 'Suspend sender' }).click();
    await page.getByText(`Sender number:${COMPLAINED_SENDER} is now suspended.`).waitFor();
    expect(s.gw.sync.registry.get(`number:${COMPLAINED_SENDER}`)?.status).toBe('suspended');
    const refused = await esme.submit(sm({ source_addr: COMPLAINED_SENDER, destination_addr: '8613800000003', short_message: 'after suspension' }));
    expect(refused.status).not.toBe(Status.ESME_ROK);
    expect(reached('after suspension')).toBe(false);
    // Journaled as the API journals it: the token's name, the console as channel.
    const journal = await api('GET', `/api/v1/journal?sender=${encodeURIComponent(`number:${COMPLAINED_SENDER}`)}`);
    expect(JSON.stringify(journal.body)).toMatch(/"who":"ops"/);
    expect(JSON.stringify(journal.body)).toMatch(/"channel":"console"/);

    // Move the case on: forwarded, through the complaints API.
    await page.getByLabel('Action').selectOption('forward');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText(`Case ${caseId}: forward done.`).waitFor();
    expect((await api('GET', `/api/v1/complaints/${caseId}`)).body.state).toBe('forwarded');
  });

  it('consent granted in the console lets the next message through; evidence shows it and downloads as JSON and CSV', async () => {
    await addSender(s, CONSENT_SENDER, 'commercial');
    expect((await esme.submit(sm({ source_addr: CONSENT_SENDER, destination_addr: RECIPIENT, short_message: 'offer one' }))).status).toBe(Status.ESME_RSUBMITFAIL);

    await nav(page, 'Consent & DND', 'Consent & DND');
    await page.getByLabel('Number', { exact: true }).fill(RECIPIENT);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByRole('heading', { name: `Consent of ${RECIPIENT}` }).waitFor();
    await page.getByLabel('Scope').fill(`sender:number:${CONSENT_SENDER}`);
    await page.getByLabel('Evidence').first().fill('form-77');
    await page.getByRole('button', { name: 'Record' }).click();
    await page.getByText(`Consent granted for sender:number:${CONSENT_SENDER}.`).waitFor();
    await accessible(page, 'consent & DND');
    await screenshot(page, 'consent');

    const ok = await esme.submit(sm({ source_addr: CONSENT_SENDER, destination_addr: RECIPIENT, short_message: 'offer two' }));
    expect(ok.status).toBe(Status.ESME_ROK);
    await expect.poll(() => reached('offer two'), { timeout: 5000 }).toBe(true);
    const journal = await api('GET', `/api/v1/journal?msisdn=${RECIPIENT}`);
    expect(journal.body.entries ?? journal.body).toEqual(expect.arrayContaining([expect.objectContaining({ who: 'ops', channel: 'console', evidence: 'form-77' })]));

    await s.gw.auditStream!.flush();
    await nav(page, 'Evidence', 'Evidence');
    await page.getByLabel('Recipient number').fill(RECIPIENT);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByText('no_consent').waitFor();
    await page.getByRole('cell', { name: 'form-77' }).waitFor();
    await accessible(page, 'evidence');
    await screenshot(page, 'evidence');

    const [json] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'JSON' }).click()]);
    expect(json.suggestedFilename()).toMatch(/^evidence-8613800000004-.*\.json$/);
    const e = JSON.parse(readFileSync((await json.path())!, 'utf8'));
    expect(e.msisdn).toBe(RECIPIENT);
    expect(e.decisions.map((d: { decision: string; reason: string }) => `${d.decision}/${d.reason}`)).toEqual(['reject/no_consent', 'forward/consent_granted']);
    expect(e.consent.journal).toEqual(expect.arrayContaining([expect.objectContaining({ who: 'ops', evidence: 'form-77' })]));
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'CSV' }).click()]);
    const lines = readFileSync((await csv.path())!, 'utf8').trim().split('\r\n');
    expect(lines[0]).toBe('section,time,account,sender,decision_or_change,reason,status,rule,scope_or_category,who,channel,evidence');
    expect(lines.filter((l) => l.startsWith('decision,')).length).toBe(2);
    expect(lines.some((l) => l.startsWith('journal,') && l.endsWith(',ops,console,form-77'))).toBe(true);
  });

  it('senders and explain pages', async () => {
    await nav(page, 'Senders', 'Senders');
    await page.getByLabel('Number, name or brand').fill(COMPLAINED_SENDER);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: `number:${COMPLAINED_SENDER}` }).click();
    await heading1(page, `Sender number:${COMPLAINED_SENDER}`);
    await page.getByRole('button', { name: 'Reinstate' }).waitFor();
    await accessible(page, 'sender');
    await screenshot(page, 'sender');
    await page.getByRole('button', { name: 'Reinstate' }).click();
    await page.getByText(`Sender number:${COMPLAINED_SENDER} reinstated.`).waitFor();
    expect(s.gw.sync.registry.get(`number:${COMPLAINED_SENDER}`)?.status).toBe('active');
    await nav(page, 'Senders', 'Senders');
    await accessible(page, 'senders');
    await screenshot(page, 'senders');

    await nav(page, 'Explain', /^Explain/);
    await page.getByLabel('Sender (source_addr)').fill(CONSENT_SENDER);
    await page.getByLabel('Recipient (destination_addr)').fill('8613800000009');
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.getByText('no_consent').waitFor();
    await accessible(page, 'explain');
    await screenshot(page, 'explain');

    await nav(page, 'Overview', 'Overview');
    await page.getByRole('cell', { name: 'no_consent' }).first().waitFor();
    await accessible(page, 'overview with figures');
    await screenshot(page, 'overview');
  });

  it('the other writes — DND, sender registration and edits, bulk review, refusals — reach the store through the API', async () => {
    const csrf = (await page.locator('meta[name="csrf-token"]').getAttribute('content'))!;
    const post = async (path: string, form: Record<string, string>) => {
      const r = await page.request.post(`${s.base}/console${path}`, { form: { _csrf: csrf, ...form }, maxRedirects: 0 });
      return { status: r.status(), location: r.headers().location, text: r.status() === 303 ? '' : await r.text() };
    };
    const DND = '8613800000010';
    expect((await post('/numbers/dnd', { msisdn: DND, category: '', op: 'add', channel: 'console', evidence: 'call-1' })).status).toBe(303);
    expect(await s.gw.store.dndOf(DND)).toEqual([0]);
    expect((await post('/numbers/dnd', { msisdn: DND, category: '3', op: 'add' })).status).toBe(303);
    expect((await post('/numbers/dnd', { msisdn: DND, category: '', op: 'remove' })).status).toBe(303);
    expect(await s.gw.store.dndOf(DND)).toEqual([3]);
    const notThere = await post('/numbers/dnd', { msisdn: DND, category: '5', op: 'remove' });
    expect([notThere.status, notThere.text.includes('is not on the do-not-disturb register for category 5')]).toEqual([404, true]);

    const id = 'number:8610690099';
    const created = await post('/senders/create', { kind: 'number', value: '+86 10690099', account: 'esme', class: 'otp', signatures: 'ACME, BETA' });
    expect([created.status, created.location]).toEqual([303, `/console/senders/view?id=${encodeURIComponent(id)}`]);
    expect(s.gw.sync.registry.get(id)).toMatchObject({ account: 'esme', class: 'otp', signatures: ['ACME', 'BETA'] });
    const again = await post('/senders/create', { kind: 'number', value: '8610690099', account: 'esme' });
    expect([again.status, again.text.includes('already exists')]).toEqual([409, true]);
    expect((await post('/senders/update', { id, account: 'other', class: '', signatures: 'ACME', valid_from: '2026-01-01T08:00', valid_until: '' })).status).toBe(303);
    // valid_from was typed in the operator's zone (Asia/Shanghai, UTC+8).
    expect(await s.gw.store.getSender(id)).toMatchObject({ account: 'other', signatures: ['ACME'], valid_from: '2026-01-01T00:00:00.000Z', updated_by: 'ops' });
    expect((await s.gw.store.getSender(id))!.class).toBeUndefined();
    await page.goto(`${s.base}/console/senders/view?id=${encodeURIComponent(id)}`);
    expect(await page.getByLabel('Valid from (Asia/Shanghai)').inputValue()).toBe('2026-01-01T08:00');
    expect((await post('/senders/status', { id, status: 'revoked', reason: 'contract ended' })).status).toBe(303);
    expect(s.gw.sync.registry.get(id)?.status).toBe('revoked');
    expect((await post('/senders/status', { id, status: 'active' })).status).toBe(303);
    expect(s.gw.sync.registry.get(id)?.status).toBe('active');

    // Every held message of a rule at once: the one still held since the review test reaches the SMSC.
    const bulk = await post('/review/bulk', { rule: 'hold-links', decision: 'approve' });
    expect(bulk.status).toBe(303);
    await expect.poll(() => reached('http://c.example'), { timeout: 5000 }).toBe(true);
    expect((await post('/review/decide', { decision: 'approve' })).location).toBe('/console/review');
    const gone = await post('/review/decide', { one: 'approve Qnope' });
    expect([gone.status, gone.text.includes('no message Qnope waits for review')]).toEqual([404, true]);

    const explain = await post('/explain', { account: 'nobody', source_addr: '1', destination_addr: '2' });
    expect([explain.status, explain.text.includes('no account')]).toEqual([400, true]);
    expect((await page.request.get(`${s.base}/console/no-such-page`)).status()).toBe(404);
    expect((await page.request.get(`${s.base}/console/complaints/C-none`)).status()).toBe(404);
  });

  it('CSRF: a write without the session token, or from another origin, is refused and changes nothing', async () => {
    const csrf = await page.locator('meta[name="csrf-token"]').getAttribute('content');
    expect(csrf).toMatch(/^[\w-]{43}$/);
    const form = { msisdn: '8613800000007', scope: `sender:number:${CONSENT_SENDER}`, state: 'granted', channel: 'console', evidence: 'csrf-test' };
    const without = await page.request.post(`${s.base}/console/numbers/consent`, { form, maxRedirects: 0 });
    expect(without.status()).toBe(403);
    expect(await without.text()).toContain('CSRF check failed');
    const wrong = await page.request.post(`${s.base}/console/numbers/consent`, { form: { ...form, _csrf: 'x'.repeat(43) }, maxRedirects: 0 });
    expect(wrong.status()).toBe(403);
    const elsewhere = await page.request.post(`${s.base}/console/numbers/consent`, { form: { ...form, _csrf: csrf! }, headers: { origin: 'https://evil.example' }, maxRedirects: 0 });
    expect(elsewhere.status()).toBe(403);
    expect(await s.gw.store.consentsOf('8613800000007')).toEqual([]);
    // The same request with the token goes through: the refusals above were the token's doing.
    const right = await page.request.post(`${s.base}/console/numbers/consent`, { form: { ...form, _csrf: csrf! }, maxRedirects: 0 });
    expect(right.status()).toBe(303);
    expect((await s.gw.store.consentsOf('8613800000007')).map((c) => c.scope)).toEqual([`sender:number:${CONSENT_SENDER}`]);
  });

  it('a read token finds no write control, sees numbers masked, and a forged write is refused by the API', async () => {
    const viewer = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      // Keyboard only: Tab to each field, Enter to sign in; the skip link leads into the page.
      const p = await viewer.newPage();
      await p.goto(`${s.base}/console/login`);
      await p.keyboard.press('Tab');
      expect(await p.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('token');
      await p.keyboard.type(TOKENS.viewer);
      await p.keyboard.press('Tab');
      expect(await p.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('tz');
      await p.keyboard.press('Tab');
      await p.keyboard.press('Enter');
      await heading1(p, 'Overview');
      await p.keyboard.press('Tab');
      expect(await p.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
      await p.keyboard.press('Enter');
      expect(await p.evaluate(() => document.activeElement?.id)).toBe('main');
      const caseId = (await api('GET', '/api/v1/complaints?count=1')).body.cases[0].id as string;
      const pages = [
        '/console/',
        '/console/review',
        '/console/complaints',
        `/console/complaints/${caseId}`,
        `/console/evidence?msisdn=${RECIPIENT}`,
        '/console/senders',
        `/console/senders/view?id=number:${COMPLAINED_SENDER}`,
        `/console/numbers?msisdn=${RECIPIENT}`,
        '/console/explain',
      ];
      for (const path of pages) {
        await p.goto(s.base + path);
        await p.locator('main h1').waitFor();
        const writes = await p.locator('form[method="post"]').evaluateAll((fs) =>
          fs.map((f) => f.getAttribute('action')).filter((a) => a !== '/console/logout' && a !== '/console/explain'),
        );
        expect(writes, path).toEqual([]);
        expect(await p.locator('input[type="checkbox"]').count(), path).toBe(0);
        // The admin's pages were all checked above; these differ by what they leave out.
        if (/review|complaints\/|numbers/.test(path)) await accessible(p, `read: ${path}`);
      }
      await p.goto(`${s.base}/console/complaints/${caseId}`);
      expect(await p.locator('dl.facts').textContent()).toMatch(/86138\*+\d{3}/);

      // A forged write with the viewer's own valid session and CSRF token: the admin API refuses it (403).
      const csrf = await p.locator('meta[name="csrf-token"]').getAttribute('content');
      const forged = await p.request.post(`${s.base}/console/numbers/consent`, {
        form: { _csrf: csrf!, msisdn: '8613800000008', scope: `sender:number:${CONSENT_SENDER}`, state: 'granted', channel: 'console', evidence: 'forged' },
        maxRedirects: 0,
      });
      expect(forged.status()).toBe(403);
      expect(await forged.text()).toContain('has role read');
      expect(await s.gw.store.consentsOf('8613800000008')).toEqual([]);
      const suspend = await p.request.post(`${s.base}/console/senders/status`, { form: { _csrf: csrf!, id: `number:${CONSENT_SENDER}`, status: 'suspended' }, maxRedirects: 0 });
      expect(suspend.status()).toBe(403);
      expect(s.gw.sync.registry.get(`number:${CONSENT_SENDER}`)?.status).toBe('active');
    } finally {
      await viewer.close();
    }
  }, 90_000);

  it('signing out ends the session in Redis; the old cookie no longer opens a page', async () => {
    const before = await sessionKeys();
    const cookie = (await ops.cookies()).find((c) => c.name === 'sg_console')!.value;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await heading1(page, 'Sign in to the smppguard console');
    expect((await sessionKeys()).length).toBeLessThan(before.length);
    const replay = await fetch(`${s.base}/console/`, { headers: { cookie: `sg_console=${cookie}` }, redirect: 'manual' });
    expect(replay.status).toBe(303);
  });
});
