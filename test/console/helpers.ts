/**
 * Console browser-test helpers: a gateway stack with the console on (simulator recording what
 * reaches the SMSC, real Redis, audit stream on, a review rule), tokens of each role, Chromium from
 * the system (Debian's package; .ci/run installs it), sign-in, the axe check and screenshots
 * (written to docs/console/ only with CONSOLE_SCREENSHOTS=1, so a test run does not change the tree).
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { senderId, type SenderRecord } from '../../src/domain/sender.js';
import { sha256 } from '../helpers/admin.js';
import { startStack, type Stack, waitFor } from '../helpers/stack.js';

export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

export const TOKENS = { ops: 'ops-console-token-0123456789', desk: 'desk-console-token-0123456789', viewer: 'viewer-console-token-0123456789' } as const;

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export async function consoleStack(): Promise<Stack & { base: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-console-'));
  writeFileSync(
    join(dir, 'review.yaml'),
    `version: 1
rules:
  - id: hold-links
    description: messages with links wait for an operator
    match: { text: { contains_any: ["http"] } }
    action: { queue: review }
`,
  );
  const stack = await startStack({
    sim: { record: true },
    cfg: (c) => {
      c.policy.enabled = true;
      c.queue.enabled = true;
      c.rules = { dir, watch: false };
      c.audit.stream.enabled = true;
      c.audit.stream.flush_ms = 20;
      c.console = { ...c.console, enabled: true, time_zone: 'Asia/Shanghai' };
      c.admin.tokens = [
        { name: 'ops', sha256: sha256(TOKENS.ops), role: 'admin' },
        { name: 'desk', sha256: sha256(TOKENS.desk), role: 'operate' },
        { name: 'viewer', sha256: sha256(TOKENS.viewer), role: 'read' },
      ];
    },
  });
  return { ...stack, base: `http://127.0.0.1:${stack.gw.httpPort}` };
}

export async function addSender(stack: Stack, value: string, cls: SenderRecord['class']): Promise<string> {
  const rec: SenderRecord = { id: senderId('number', value), kind: 'number', value, account: 'esme', class: cls, status: 'active', signatures: [] };
  await stack.gw.store.putSender(rec, { who: 'test' });
  stack.gw.sync.registry.upsert(rec);
  await waitFor(() => stack.gw.sync.registry.get(rec.id) !== undefined, 1000, 'sender cached');
  return rec.id;
}

/** Signs in on a fresh page; returns it on the overview. */
export async function signIn(ctx: BrowserContext, base: string, token: string): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(`${base}/console/`);
  await page.getByLabel('Admin token').fill(token);
  await page.getByLabel('Time zone for dates').fill('Asia/Shanghai');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  return page;
}

/** Follows a main-navigation link and waits for the page's heading. */
export async function nav(page: Page, link: string, heading: string | RegExp): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link }).click();
  await heading1(page, heading);
}

export async function heading1(page: Page, heading: string | RegExp): Promise<void> {
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

/** axe-core on the page as it stands: no serious or critical violation. */
export async function accessible(page: Page, what: string): Promise<void> {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    bad.map((v) => `${what}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`),
    `axe on ${what}`,
  ).toEqual([]);
}

const SHOTS = fileURLToPath(new URL('../../docs/console/', import.meta.url));

/** A PNG of the page for docs/console.md, only when CONSOLE_SCREENSHOTS=1. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.CONSOLE_SCREENSHOTS !== '1') return;
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}
