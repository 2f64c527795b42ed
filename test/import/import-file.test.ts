/**
 * importFile (src/import/import-file.ts), the policy-data importer, against a real Redis of its own (a private redis-server: replace mode and
 * these checks SCAN the keyspace, so a shared Redis holding millions of other keys would make the
 * test's time depend on them), each test under a key prefix of its own:
 * formats, gzip, headers, bad lines, counts, idempotence, replace mode (including lookups racing a
 * replace), consent and senders as the gateway's PolicyAdmin and PolicyCheck then see them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { normaliseMsisdn } from '../../src/policy/address.js';
import { senderId } from '../../src/domain/sender.js';
import { importFile, type ImportOptions } from '../../src/import/import-file.js';
import { ImportError } from '../../src/import/kinds.js';
import { bucketOf, Keys } from '../../src/store/keys.js';
import { PolicyAdmin } from '../../src/store/policy-admin.js';
import { PolicyCheck } from '../../src/store/policy-check.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { clearKeys, keysMatching } from '../helpers/redis-keys.js';

const NUMBERING = { country_code: '86', national_prefix: '0', international_prefix: '00' };

let redis: Redis;
let dir: string;
let prefix: string;
let keys: Keys;
let store: PolicyAdmin;
let check: PolicyCheck;
let n = 0;

function file(name: string, content: string | Buffer): string {
  const p = join(dir, `${n++}-${name}`);
  writeFileSync(p, content);
  return p;
}

interface Bad {
  line: number;
  reason: string;
}

function opts(over: Partial<ImportOptions> = {}): ImportOptions & { bad: Bad[] } {
  const bad: Bad[] = [];
  return { redis, prefix, numbering: NUMBERING, graceMs: 0, onBadLine: (line, reason) => bad.push({ line, reason }), bad, ...over };
}

async function wipe(p: string): Promise<void> {
  await clearKeys(redis, `${p}*`);
}

async function dndKeys(): Promise<string[]> {
  const out = await keysMatching(redis, `${prefix}dnd:{r:*`);
  return out.sort();
}

const isDnd = async (msisdn: string) => (await store.dndOf(msisdn)).includes(0);

let server: PrivateRedis;

beforeAll(async () => {
  server = await PrivateRedis.start();
  redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  dir = mkdtempSync(join(os.tmpdir(), 'sg-import-'));
});

beforeEach(async () => {
  prefix = `test:imp:${randomBytes(4).toString('hex')}:`;
  keys = new Keys(prefix);
  store = new PolicyAdmin(redis, prefix, 86_400_000);
  check = new PolicyCheck(redis, prefix, store.generation);
});

afterAll(async () => {
  await wipe('test:imp:');
  redis.disconnect();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('DND import', () => {
  it('reads CSV with a header, categories and every number form, reporting bad lines by number', async () => {
    const f = file(
      'dnd.csv',
      [
        'msisdn,category', //             1 header
        '8613800138000', //               2 international digits (fast path)
        '13800138001,3', //               3 national without trunk prefix (fast path), category 3
        '+8613800138002', //              4
        '013800138003', //                5 trunk prefix (general path)
        '0086 138 0013 8004', //          6 spaces (general path)
        '', //                            7 blank: ignored
        '# a comment', //                 8 ignored
        'not-a-number', //                9 bad
        '8613800138005,9', //            10 bad category
        '86138001380061234567', //       11 too long
        '"8613800138007",0', //          12 quoted
        '8613800138008,1,extra', //      13 too many fields? header present: extra column ignored
      ].join('\n'),
    );
    const o = opts();
    const s = await importFile('dnd', f, o);
    expect(o.bad.map((b) => b.line)).toEqual([9, 10, 11]);
    expect(o.bad[0]!.reason).toMatch(/not a phone number/);
    expect(o.bad[1]!.reason).toMatch(/category/);
    expect(o.bad[2]!.reason).toMatch(/longer than 15/);
    expect(s).toMatchObject({ kind: 'dnd', format: 'csv', gzip: false, read: 10, valid: 7, imported: 7, skipped: 3, duplicates: 0, generation: 1 });
    for (const m of ['8613800138000', '8613800138002', '8613800138003', '8613800138004', '8613800138007']) expect(await isDnd(m), m).toBe(true);
    expect(await store.dndOf('8613800138001')).toEqual([3]);
    expect(await store.dndOf('8613800138008')).toEqual([1]);
    expect(await isDnd('8613800138005')).toBe(false);
  });

  it('parses the fast path exactly as normaliseMsisdn does', async () => {
    const forms = ['8613912345670', '13912345671', '+8613912345672', '+4915112345673', '4915112345674', '0013912345675', '0139123456', '1', '99999999999'];
    const s = await importFile('dnd', file('forms.txt', `${forms.join('\r\n')}\r\n`), opts());
    expect(s.valid).toBe(forms.length);
    for (const raw of forms) {
      const want = normaliseMsisdn(raw, NUMBERING)!;
      expect(await isDnd(want), `${raw} → ${want}`).toBe(true);
    }
    // …and nothing else was written: one member per form.
    let total = 0;
    for (const k of await dndKeys()) total += await redis.scard(k);
    expect(total).toBe(forms.length);
  });

  it('detects a header in another column order, a BOM, CRLF, and applies --category', async () => {
    const f = file('dnd2.csv', '\uFEFFCategory,Phone\r\n2,8613700137000\r\n,8613700137001\r\n');
    const s = await importFile('dnd', f, opts({ category: 5 }));
    expect(s).toMatchObject({ read: 2, imported: 2, skipped: 0 });
    expect(await store.dndOf('8613700137000')).toEqual([2]);
    expect(await store.dndOf('8613700137001')).toEqual([5]);
  });

  it('ignores columns the header does not name, on the fast and the general path alike', async () => {
    const s = await importFile('dnd', file('onlymsisdn.csv', 'msisdn,added_on\n8613600136100,2\n8613600136101, 2026-01-01\n'), opts());
    expect(s).toMatchObject({ read: 2, imported: 2, skipped: 0 });
    expect(await store.dndOf('8613600136100')).toEqual([0]);
    expect(await store.dndOf('8613600136101')).toEqual([0]);
  });

  it('reads quoted fields, over several lines too, with the fast path around them; bad rows by the line they start on', async () => {
    const f = file(
      'quoted.csv',
      [
        'msisdn,category', //   1 header
        '8613800138100', //     2 fast path
        '"8613800138101",2', // 3 quoted: csv-parse
        '8613800138102', //     4
        '"not', //              5 one field over two lines: not a number
        'a number",1', //       6
        '8613800138104,3', //   7
        '"stray,1', //          8 a quote never closed: one bad row; the line after it is read as it is
        '8613800138105', //     9
      ].join('\n'),
    );
    const o = opts();
    const s = await importFile('dnd', f, o);
    expect(o.bad).toEqual([
      { line: 5, reason: 'not a phone number: "not\\na number"' },
      { line: 8, reason: 'unbalanced quotes' },
    ]);
    expect(s).toMatchObject({ read: 7, imported: 5, skipped: 2 });
    expect(await store.dndOf('8613800138101')).toEqual([2]);
    expect(await store.dndOf('8613800138104')).toEqual([3]);
    for (const m of ['8613800138100', '8613800138102', '8613800138105']) expect(await isDnd(m), m).toBe(true);
  });

  it('treats a first line of digits as data, not a header', async () => {
    const s = await importFile('dnd', file('nohdr.csv', '8613600136000\n8613600136001\n'), opts());
    expect(s).toMatchObject({ read: 2, imported: 2 });
    expect(await isDnd('8613600136000')).toBe(true);
  });

  it('reads JSON lines, gzip (by magic bytes, whatever the name) and streams', async () => {
    const jsonl = '{"msisdn":"8613500135000"}\n{"msisdn":8613500135001,"category":4}\n{"msisdn":"x"}\nnot json\n[1]\n';
    const o = opts();
    const s1 = await importFile('dnd', file('d.jsonl', jsonl), o);
    expect(s1).toMatchObject({ format: 'jsonl', read: 5, imported: 2, skipped: 3 });
    expect(o.bad.map((b) => b.line)).toEqual([3, 4, 5]);
    expect(await store.dndOf('8613500135001')).toEqual([4]);

    const s2 = await importFile('dnd', file('d.jsonl.gz', gzipSync(jsonl)), opts());
    expect(s2).toMatchObject({ format: 'jsonl', gzip: true, imported: 2, duplicates: 2 });

    const s3 = await importFile('dnd', file('plain-name.dat', gzipSync('8613500135002\n8613500135003\n')), opts());
    expect(s3).toMatchObject({ format: 'csv', gzip: true, imported: 2 });

    const s4 = await importFile('dnd', Readable.from([Buffer.from('86135001350'), Buffer.from('04\n{"msisdn"'), Buffer.from(':"8613500135005"}\n')]), opts({ format: 'jsonl' }));
    expect(s4.skipped).toBe(1); // the first line is not JSON
    const s5 = await importFile('dnd', Readable.from([Buffer.from('86135001350'), Buffer.from('06\n86135'), Buffer.from('00135007')]), opts());
    expect(s5).toMatchObject({ read: 2, imported: 2, skipped: 0 });
    expect(await isDnd('8613500135006')).toBe(true);
    expect(await isDnd('8613500135007')).toBe(true);
  });

  it('reports a gzip file that is cut short as fatal', async () => {
    const gz = gzipSync(Buffer.alloc(200_000, '8613400134000\n'));
    await expect(importFile('dnd', file('cut.csv.gz', gz.subarray(0, gz.length - 20)), opts())).rejects.toThrow(ImportError);
  });

  it('is idempotent: a re-run adds nothing and reports every row as already present', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => String(8613300000000 + i * 7919));
    const f = file('idem.csv', `${lines.join('\n')}\n${lines[0]}\n`); // one repeat inside the file
    const s1 = await importFile('dnd', f, opts({ batchRows: 1000 }));
    expect(s1).toMatchObject({ read: 5001, imported: 5001, duplicates: 1 });
    const before = await Promise.all((await dndKeys()).map((k) => redis.scard(k)));
    const s2 = await importFile('dnd', f, opts({ batchRows: 1000 }));
    expect(s2).toMatchObject({ read: 5001, imported: 5001, duplicates: 5001 });
    const after = await Promise.all((await dndKeys()).map((k) => redis.scard(k)));
    expect(after).toEqual(before);
    expect(before.reduce((a, b) => a + b, 0)).toBe(5000);
  });

  it('writes to the loading generation too while a replace is running', async () => {
    await redis.set(keys.dndLoading, '2', 'PX', 5000);
    await importFile('dnd', file('both.csv', '8613200132000\n'), opts());
    const { bucket, member } = bucketOf('8613200132000');
    expect(await redis.sismember(keys.dnd(bucket, 1), member)).toBe(1);
    expect(await redis.sismember(keys.dnd(bucket, 2), member)).toBe(1);
  });

  it('journals one entry per DND import, and a dry run writes nothing', async () => {
    const f = file('dry.csv', '8613100131000\nbad\n');
    const s = await importFile('dnd', f, opts({ dryRun: true, redis: undefined }));
    expect(s).toMatchObject({ dryRun: true, read: 2, valid: 1, imported: 0, skipped: 1, duplicates: null });
    expect(await dndKeys()).toEqual([]);
    await importFile('dnd', f, opts({ who: 'ops' }));
    const j = await store.journalEntries();
    expect(j[0]).toMatchObject({ op: 'dnd.import', who: 'ops', rows: '1', generation: '1' });
  });

  it('warns when buckets outgrow set-max-intset-entries (hash tables: ~50 bytes an entry)', async () => {
    const limit = Number(((await redis.config('GET', 'set-max-intset-entries')) as string[])[1]);
    const base = 8613000000000 - (8613000000000 % 32768);
    const sparse = await importFile('dnd', file('sparse.csv', `${base + 1}\n${base + 2}\n`), opts());
    expect(sparse.warnings).toEqual([]);
    if (limit >= 32768) return; // every bucket fits an intset on this Redis
    const dense = Array.from({ length: limit + 1 }, (_, i) => String(base + i)).join('\n');
    const s = await importFile('dnd', file('dense.csv', dense), opts());
    expect(s.warnings.join()).toMatch(/hash tables, not intsets .* set-max-intset-entries 32768/);
  });

  it('fails on a missing file before touching Redis', async () => {
    await expect(importFile('dnd', join(dir, 'missing.csv'), opts())).rejects.toThrow(/no such file/);
  });
});

describe('DND replace mode', () => {
  it('loads a new generation, switches, publishes, and removes the old one and numbers absent from the file', async () => {
    await importFile('dnd', file('old.csv', '8613900139000\n8613900139001\n8613900139002,3\n'), opts());
    expect(await isDnd('8613900139001')).toBe(true);
    const sub = redis.duplicate();
    const events: string[] = [];
    sub.on('message', (_c: string, m: string) => events.push(m));
    await sub.subscribe(keys.events);
    const s = await importFile('dnd', file('new.csv', '8613900139000\n8613900139003\n'), opts({ replace: true }));
    expect(s).toMatchObject({ replace: true, previousGeneration: 1, generation: 2, imported: 2, duplicates: 0 });
    expect(s.removedKeys).toBeGreaterThanOrEqual(2);
    expect(await redis.get(keys.dndGen)).toBe('2');
    expect(await redis.exists(keys.dndLoading)).toBe(0);
    expect(await isDnd('8613900139000')).toBe(true);
    expect(await isDnd('8613900139003')).toBe(true);
    expect(await isDnd('8613900139001')).toBe(false);
    expect(await store.dndOf('8613900139002')).toEqual([]);
    expect((await dndKeys()).every((k) => /:g2(:c\d)?$/.test(k))).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toContain('dnd-gen 2');
    sub.disconnect();
  });

  it('refuses to replace with a file without valid rows, and leaves everything as it was', async () => {
    await importFile('dnd', file('keep.csv', '8613900139100\n'), opts());
    const before = await dndKeys();
    await expect(importFile('dnd', file('empty.csv', 'msisdn\nnope\n'), opts({ replace: true }))).rejects.toThrow(/no valid rows/);
    expect(await redis.get(keys.dndGen)).toBeNull();
    expect(await redis.exists(keys.dndLoading)).toBe(0);
    expect(await dndKeys()).toEqual(before);
  });

  it('refuses while another replace holds dnd:loading', async () => {
    await redis.set(keys.dndLoading, '7', 'PX', 5000);
    await expect(importFile('dnd', file('x.csv', '8613900139200\n'), opts({ replace: true }))).rejects.toThrow(/another replace import is loading DND generation 7/);
  });

  it('an aborted replace leaves the current generation and removes what it loaded; crash leftovers never mix in', async () => {
    await importFile('dnd', file('cur.csv', '8613900139300\n'), opts());
    // A crashed load left generation 2 keys behind (and its lock expired).
    const { bucket, member } = bucketOf('8613900139399');
    await redis.sadd(keys.dnd(bucket, 2), member);
    const ac = new AbortController();
    // Aborted (as by Ctrl-C) once 10,000 rows went in: the bad line there triggers it.
    const big = Array.from({ length: 50_000 }, (_, i) => (i === 10_000 ? 'oops' : String(8613000000000 + i * 4999))).join('\n');
    const p = importFile('dnd', file('big.csv', big), opts({ replace: true, signal: ac.signal, batchRows: 1000, onBadLine: () => ac.abort() }));
    await expect(p).rejects.toThrow(/aborted/);
    expect(await redis.get(keys.dndGen)).toBeNull();
    expect(await redis.exists(keys.dndLoading)).toBe(0);
    // Only generation 1 and the crash leftover: the aborted load (generation 3) was removed.
    expect((await dndKeys()).every((k) => /:g[12]$/.test(k))).toBe(true);
    expect(await isDnd('8613900139300')).toBe(true);
    // The next replace loads above every existing generation, switches, and removes the leftover.
    const s = await importFile('dnd', file('next.csv', '8613900139301\n'), opts({ replace: true }));
    expect(s).toMatchObject({ previousGeneration: 1, generation: 3 });
    expect(await isDnd('8613900139399')).toBe(false);
    expect(await isDnd('8613900139300')).toBe(false);
    expect(await isDnd('8613900139301')).toBe(true);
    expect(await redis.exists(keys.dnd(bucket, 2))).toBe(0);
  });

  it('lookups during a replace answer wholly from the old or the new list, never a half-loaded one', async () => {
    const BOTH = '8613999000001'; // in old and new
    const OLD = '8613999000002'; // only in old
    const NEW = '8613999000003'; // only in new: the last line of the new file
    const LIVE = '8613999000004'; // added through the API during the load
    await importFile('dnd', file('gen1.csv', `${BOTH}\n${OLD}\n`), opts());
    const filler = Array.from({ length: 300_000 }, (_, i) => String(8613000000000 + i * 3001));
    const f = file('gen2.csv', `${BOTH}\n${filler.join('\n')}\n${NEW}\n`);

    const scopes = ['account:acme'];
    const look = async () => {
      await store.generation.refresh();
      const gen = store.generation.current;
      const [a, b, c] = await Promise.all([BOTH, OLD, NEW].map((msisdn) => check.check({ msisdn, scopes, category: null })));
      return { gen, both: a!.dnd, old: b!.dnd, neu: c!.dnd };
    };
    const seen: Awaited<ReturnType<typeof look>>[] = [];
    let done = false;
    let liveAdded = false;
    const watcher = (async () => {
      while (!done) {
        seen.push(await look());
        if (!liveAdded && store.generation.loading !== null) {
          liveAdded = true;
          await store.addDnd(LIVE, null, { who: 'api' });
        }
      }
    })();
    const s = await importFile('dnd', f, opts({ replace: true, batchRows: 20_000, pipelineCommands: 200, inFlight: 1, graceMs: 200 }));
    done = true;
    await watcher;
    seen.push(await look());
    expect(s.generation).toBe(2);

    const oldView = { both: true, old: true, neu: false };
    const newView = { both: true, old: false, neu: true };
    let switched = false;
    for (const v of seen) {
      const view = { both: v.both, old: v.old, neu: v.neu };
      if (v.gen === 1) {
        expect(switched, 'old list after the switch').toBe(false);
        expect(view).toEqual(oldView);
      } else {
        switched = true;
        expect(view).toEqual(newView);
      }
    }
    // The race really happened: lookups ran on the old list while the new one was loading.
    expect(seen.filter((v) => v.gen === 1).length).toBeGreaterThan(3);
    expect(seen.at(-1)!.gen).toBe(2);
    expect(liveAdded).toBe(true);
    expect(await isDnd(LIVE)).toBe(true);
  });
});

describe('consent import', () => {
  it('imports CSV records the gateway then finds, journaling each with who', async () => {
    const f = file(
      'consent.csv',
      [
        'msisdn,scope,state,channel,evidence,expires_at',
        '8613800138000,brand:ACME,granted,web,form-17,2099-01-01T00:00:00Z',
        '13800138001,account:acme,revoked,sms,"reply ""TD"", 2026-01-01",',
        '8613800138002,sender:number:8610690001,granted,ivr,call-5,4102444800000',
        '8613800138003,nonsense,granted,web,x',
        '8613800138004,brand:ACME,maybe,web,x',
        '8613800138005,brand:ACME,granted,web,x,tomorrow',
      ].join('\n'),
    );
    const o = opts({ who: 'ops-team' });
    const s = await importFile('consent', f, o);
    expect(s).toMatchObject({ read: 6, imported: 3, skipped: 3, duplicates: 0 });
    expect(o.bad.map((b) => b.line)).toEqual([5, 6, 7]);
    const facts = await check.check({ msisdn: '8613800138000', scopes: ['sender:number:1', 'brand:ACME'], category: null });
    expect(facts.consent[0]).toBeNull();
    expect(facts.consent[1]).toMatch(/^g:\d+:4070908800000$/);
    const r = await check.check({ msisdn: '8613800138001', scopes: ['account:acme'], category: null });
    expect(r.consent[0]).toMatch(/^r:\d+$/);
    expect((await store.consentsOf('8613800138002'))[0]).toMatchObject({ scope: 'sender:number:8610690001', state: 'granted', expires: 4102444800000 });
    const j = await store.journalEntries({ msisdn: '8613800138001' });
    expect(j[0]).toMatchObject({ op: 'consent.revoke', who: 'ops-team', channel: 'sms', evidence: 'reply "TD", 2026-01-01', scope: 'account:acme' });
    expect((await store.journalEntries()).filter((e) => e.op?.startsWith('consent.'))).toHaveLength(3);
    const again = await importFile('consent', f, opts());
    expect(again.duplicates).toBe(3);
  });

  it('writes and journals rows in file order when plain lines (read from the bytes) and quoted or dated ones (csv-parse) alternate', async () => {
    const n = '8613800138100';
    const f = file(
      'order.csv',
      [
        '# comment',
        `${n},brand:ACME,granted,web,e1`,
        `${n},brand:ACME,granted,web,"e2, quoted"`,
        `${n},brand:ACME,revoked,web,e3`,
        '',
        `${n},brand:ACME,granted,web,e4,2099-01-01T00:00:00Z`,
        `${n},brand:ACME,revoked,sms,e5\r`,
        '8613800138101,brand:ACME,granted,web,"multi',
        'line evidence"',
        `${n},brand:ACME,g,web,e6`,
        `${n},brand:this-brand-is-far-too-long,g,web,x`,
        `${n},brand:ACME,revoked,web,e7`,
      ].join('\n'),
    );
    const o = opts();
    const s = await importFile('consent', f, o);
    expect(s).toMatchObject({ read: 9, imported: 8, skipped: 1 });
    expect(o.bad.map((b) => b.line)).toEqual([11]);
    const j = (await store.journalEntries({ msisdn: n })).reverse();
    expect(j.map((e) => e.evidence)).toEqual(['e1', 'e2, quoted', 'e3', 'e4', 'e5', 'e6', 'e7']);
    expect(j.map((e) => e.op)).toEqual(['consent.grant', 'consent.grant', 'consent.revoke', 'consent.grant', 'consent.revoke', 'consent.grant', 'consent.revoke']);
    expect((await store.consentsOf(n))[0]).toMatchObject({ scope: 'brand:ACME', state: 'revoked' });
    expect((await store.journalEntries({ msisdn: '8613800138101' }))[0]).toMatchObject({ evidence: 'multi\nline evidence' });
  });

  it('checks and canonicalises as the admin API does', async () => {
    const rows = [
      { msisdn: '8613600136000', scope: 'sender:number:+8610690001', state: 'granted', evidence: 'e' }, // 1 → sender:number:8610690001
      { msisdn: '8613600136000', scope: 'sender:alpha:AcmeBank', state: 'revoked' }, //                2 → sender:alpha:ACMEBANK
      { msisdn: '8613600136000', scope: 'account:acme', state: 'granted', evidence: 'e' }, //         3
      { msisdn: '8613600136000', scope: 'account:nobody', state: 'granted', evidence: 'e' }, //       4 unknown account
      { msisdn: '8613600136000', scope: 'brand:ACME', state: 'granted' }, //                          5 no evidence
      { msisdn: '8613600136000', scope: 'brand:ACME', state: 'revoked', expires_at: '2099-01-01T00:00:00Z' }, // 6
      { msisdn: '8613600136000', scope: 'brand:ACME', state: 'granted', evidence: 'e', expires_at: '2001-01-01T00:00:00Z' }, // 7 past
      { msisdn: '8613600136000', scope: 'sender:bogus:1', state: 'granted', evidence: 'e' }, //        8
    ];
    const o = opts({ accounts: ['acme'] });
    const s = await importFile('consent', file('canon.jsonl', rows.map((r) => JSON.stringify(r)).join('\n')), o);
    expect(s).toMatchObject({ imported: 3, skipped: 5 });
    expect(o.bad.map((b) => b.line)).toEqual([4, 5, 6, 7, 8]);
    expect(o.bad.map((b) => b.reason)).toEqual([
      expect.stringMatching(/no account "nobody"/),
      expect.stringMatching(/evidence is required/),
      expect.stringMatching(/only a granted consent can expire/),
      expect.stringMatching(/in the past/),
      expect.stringMatching(/sender:<kind>:<value>/),
    ]);
    expect((await store.consentsOf('8613600136000')).map((c) => c.scope).sort()).toEqual(['account:acme', 'sender:alpha:ACMEBANK', 'sender:number:8610690001']);
  });

  it('imports JSON lines (gzipped)', async () => {
    const rows = [
      { msisdn: '+8613700137000', scope: 'brand:ACME', state: 'granted', channel: 'app', evidence: 'tap' },
      { msisdn: '8613700137001', scope: 'brand:ACME', state: 'revoked' },
      { msisdn: '8613700137002', state: 'granted' },
    ];
    const o = opts();
    const s = await importFile('consent', file('c.jsonl.gz', gzipSync(rows.map((r) => JSON.stringify(r)).join('\n'))), o);
    expect(s).toMatchObject({ format: 'jsonl', gzip: true, imported: 2, skipped: 1 });
    expect(o.bad[0]).toMatchObject({ line: 3 });
    expect((await store.consentsOf('8613700137000'))[0]).toMatchObject({ scope: 'brand:ACME', state: 'granted' });
  });
});

describe('senders import', () => {
  it('imports JSONL and CSV senders into the registry, with events, journal and bad records skipped', async () => {
    const sub = redis.duplicate();
    const events: string[] = [];
    sub.on('message', (_c: string, m: string) => events.push(m));
    await sub.subscribe(keys.events);
    const jsonl = [
      { kind: 'number', value: '8610690001', account: 'acme', class: 'commercial', signatures: ['ACME'] },
      { kind: 'alpha', value: 'AcmeBank', account: 'acme', class: 'otp' },
      { kind: 'range', value: '200-100', account: 'acme' },
      { kind: 'number', value: '1', account: 'acme', colour: 'red' },
    ];
    const o = opts({ who: 'ops' });
    const s1 = await importFile('senders', file('s.jsonl', jsonl.map((r) => JSON.stringify(r)).join('\n')), o);
    expect(s1).toMatchObject({ imported: 2, skipped: 2 });
    expect(o.bad.map((b) => b.line)).toEqual([3, 4]);
    expect(o.bad[0]!.reason).toMatch(/from <= to/);
    expect(o.bad[1]!.reason).toMatch(/colour/);

    const csv = 'kind,value,account,class,status,valid_from,valid_until,signatures\nprefix,86106902,beta,service,suspended,,2030-01-01T00:00:00Z,Beta|BetaPay\nnumber,12a,beta,,,,,\n';
    const s2 = await importFile('senders', file('s.csv', csv), opts());
    expect(s2).toMatchObject({ imported: 1, skipped: 1 });

    const all = await store.allSenders();
    expect(all.map((r) => r.id).sort()).toEqual([senderId('alpha', 'AcmeBank'), senderId('number', '8610690001'), senderId('prefix', '86106902')].sort());
    const beta = await store.getSender(senderId('prefix', '86106902'));
    expect(beta).toMatchObject({ account: 'beta', class: 'service', status: 'suspended', valid_until: '2030-01-01T00:00:00Z', signatures: ['Beta', 'BetaPay'] });
    expect((await store.getSender('number:8610690001'))!.updated_by).toBe('ops');
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toContain('sender number:8610690001');
    expect(events).toContain('sender prefix:86106902');
    expect((await store.journalEntries()).filter((e) => e.op === 'sender.put')).toHaveLength(3);
    sub.disconnect();

    const again = await importFile('senders', file('s2.csv', csv), opts());
    expect(again.duplicates).toBe(1);
  });

  it('normalises sender numbers and checks accounts as the admin API does', async () => {
    const o = opts({ accounts: ['acme'] });
    const csv = 'kind,value,account\nnumber,+8610690077,acme\nnumber,010690078,acme\nnumber,8610690079,ghost\nalpha,ABCDEFGHIJKLMNOPQRSTU,acme\n';
    const s = await importFile('senders', file('canon.csv', csv), o);
    expect(s).toMatchObject({ imported: 2, skipped: 2 });
    expect(o.bad.map((b) => b.line)).toEqual([4, 5]);
    expect((await store.allSenders()).map((r) => r.id).sort()).toEqual(['number:8610690077', 'number:8610690078']);
  });

  it('rejects --replace for anything but DND', async () => {
    await expect(importFile('senders', file('r.jsonl', '{}\n'), opts({ replace: true }))).rejects.toThrow(/dnd and ported imports only/);
  });
});
