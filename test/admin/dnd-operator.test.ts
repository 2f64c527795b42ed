/**
 * The operator's DND list beside the national one: numbers added through the API go to the
 * operator list and survive the national list's `import dnd --replace`; lookups say which list has
 * a number; live traffic (both hot paths: the batched script and plain pipelined commands) and
 * explain (the single-message script) refuse a number on either list.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFile } from '../../src/import/import-file.js';
import { Status } from '../../src/protocol/status.js';
import { startAdminStack, type AdminStack } from '../helpers/admin.js';
import { sm } from '../helpers/stack.js';

const NATIONAL_1 = '8613800138101';
const NATIONAL_2 = '8613800138102';
const OPERATOR = '8613800138201';
const BOTH = '8613800138301';
const dir = mkdtempSync(join(tmpdir(), 'sg-dnd-op-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['script', 'commands'] as const)('operator DND list (hot path: %s)', (hotPath) => {
  let s: AdminStack;
  let redis: Redis;
  beforeAll(async () => {
    s = await startAdminStack({ cfg: (c) => void (c.redis.hot_path = hotPath) });
    redis = new Redis('redis://127.0.0.1:6379');
    expect((await s.api('POST', '/api/v1/senders', { body: { kind: 'number', value: '8610690001', account: 'esme', class: 'commercial', signatures: ['ACME'] } })).status).toBe(201);
  });
  afterAll(async () => {
    redis?.disconnect();
    await s?.stop();
  });

  const national = async (numbers: string[]) => {
    const f = join(dir, `${hotPath}-${numbers.join('-')}.csv`);
    writeFileSync(f, `${numbers.join('\n')}\n`);
    await importFile('dnd', f, {
      redis,
      prefix: s.cfg.redis.key_prefix,
      numbering: s.cfg.policy.numbering,
      replace: true,
      graceMs: 0,
      onBadLine: () => undefined,
    });
  };
  const lists = async (n: string) => (await s.api('GET', `/api/v1/dnd/${n}`)).body as { lists: string[]; all: boolean; national: { all: boolean }; operator: { all: boolean } };
  const submit = async (to: string) => {
    const esme = await s.esme('transmitter');
    const r = await esme.submit(sm({ source_addr: '8610690001', destination_addr: to, short_message: '【ACME】 sale' }));
    await esme.close();
    return r.status;
  };

  it('API additions go to the operator list; the national import to the national one; lookups name the list', async () => {
    await national([NATIONAL_1, BOTH]);
    for (const n of [OPERATOR, BOTH]) expect((await s.api('POST', '/api/v1/dnd', { body: { msisdn: n } })).status).toBe(200);
    expect(await lists(NATIONAL_1)).toMatchObject({ lists: ['national'], all: true, national: { all: true }, operator: { all: false } });
    expect(await lists(OPERATOR)).toMatchObject({ lists: ['operator'], all: true, national: { all: false }, operator: { all: true } });
    expect(await lists(BOTH)).toMatchObject({ lists: ['national', 'operator'] });
  });

  it('a national --replace drops numbers absent from the new file but keeps the operator list', async () => {
    await national([NATIONAL_2]);
    expect((await lists(NATIONAL_1)).lists).toEqual([]);
    expect((await lists(NATIONAL_2)).lists).toEqual(['national']);
    expect((await lists(OPERATOR)).lists).toEqual(['operator']);
    expect((await lists(BOTH)).lists).toEqual(['operator']);
  });

  it('live traffic and explain refuse a number on either list as dnd; one on neither is refused for want of consent only', async () => {
    const dndDecisions = async () => Number(/smppguard_decisions_total\{account="esme",action="reject",reason="dnd"\} (\d+)/.exec(await s.gw.metrics.text())?.[1] ?? 0);
    for (const n of [OPERATOR, NATIONAL_2]) {
      // The gateway learns the new national generation from its event (or its 5 s poll).
      const before = await dndDecisions();
      for (const deadline = Date.now() + 8000; Date.now() < deadline && (await dndDecisions()) === before; await new Promise((r) => setTimeout(r, 200))) {
        expect(await submit(n)).toBe(Status.ESME_RSUBMITFAIL);
      }
      expect(await dndDecisions(), `${n} refused as dnd`).toBeGreaterThan(before);
      const e = await s.api('POST', '/api/v1/explain', { body: { account: 'esme', source_addr: '8610690001', destination_addr: n, text: '【ACME】 sale' } });
      expect(e.body, n).toMatchObject({ action: 'reject', reason: 'dnd' });
    }
    // Not on either list: refused for want of consent, not for DND.
    const e = await s.api('POST', '/api/v1/explain', { body: { account: 'esme', source_addr: '8610690001', destination_addr: NATIONAL_1, text: '【ACME】 sale' } });
    expect(e.body).toMatchObject({ reason: 'no_consent' });
  });

  it('DELETE removes a number from both lists', async () => {
    expect((await s.api('DELETE', `/api/v1/dnd/${OPERATOR}`)).status).toBe(200);
    expect((await lists(OPERATOR)).lists).toEqual([]);
    expect((await s.api('DELETE', `/api/v1/dnd/${OPERATOR}`)).status).toBe(404);
  });
});
