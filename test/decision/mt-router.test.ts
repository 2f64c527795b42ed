/**
 * The MT routing table on its own: order, longest prefix within an order, every condition, and
 * explain's words; the config cross-checks of groups and routes.
 */
import { describe, expect, it } from 'vitest';
import { MtRouteSchema } from '../../src/config/routing-schema.js';
import { parseConfig } from '../../src/config/load.js';
import { MtRouter, type RouteFacts } from '../../src/decision/mt-router.js';

const router = (routes: unknown[]) => new MtRouter(routes.map((r) => MtRouteSchema.parse(r)));
const facts = (over: Partial<RouteFacts> = {}): RouteFacts => ({
  account: 'esme',
  dst: '8613800138000',
  src: { kind: 'number', value: '10690001' },
  cls: 'commercial',
  dataCoding: 0,
  ported: null,
  ...over,
});

describe('MtRouter', () => {
  it('longest destination prefix wins within an order; a lower order wins over a longer prefix; then file order', () => {
    const r = router([
      { name: 'cn', destination_prefix: '86', group: 'g1' },
      { name: 'cn-138', destination_prefix: ['86138', '8615'], group: 'g2' },
      { name: 'catch-all', group: 'g3' },
      { name: 'first-catch-all', order: 5, group: 'g9' },
    ]);
    expect(r.route(facts())?.name).toBe('cn-138');
    expect(r.route(facts({ dst: '8615012345678' }))?.name).toBe('cn-138');
    expect(r.route(facts({ dst: '8613912345678' }))?.name).toBe('cn');
    expect(r.route(facts({ dst: '4477' }))?.name).toBe('catch-all');
    const o = router([
      { name: 'vip', order: -1, account: 'vip', group: 'a' },
      { name: 'cn-138', destination_prefix: '86138', group: 'b' },
      { name: 'same-a', group: 'x' },
      { name: 'same-b', group: 'y' },
    ]);
    expect(o.route(facts({ account: 'vip' }))?.name).toBe('vip');
    expect(o.route(facts({ dst: '49' }))?.name).toBe('same-a');
  });

  it('matches account, sender (numeric prefix or alphanumeric id), class, data_coding and ported tag; none matching: null', () => {
    const r = router([
      { name: 'otp', class: 'otp', group: 'fast' },
      { name: 'bank', source: ['BANK', '+10690'], class: 'service', group: 'b' },
      { name: 'ucs2', data_coding: [8], account: ['x', 'y'], group: 'u' },
      { name: 'ported-cm', ported_to: 'cmcc', group: 'cm' },
    ]);
    expect(r.route(facts({ cls: 'otp' }))?.name).toBe('otp');
    expect(r.route(facts({ cls: 'service', src: { kind: 'alpha', value: 'BANK' } }))?.name).toBe('bank');
    expect(r.route(facts({ cls: 'service' }))?.name).toBe('bank');
    expect(r.route(facts({ cls: 'service', src: { kind: 'alpha', value: 'SHOP' } }))).toBeNull();
    expect(r.route(facts({ cls: null }))).toBeNull();
    expect(r.route(facts({ account: 'y', dataCoding: 8 }))?.name).toBe('ucs2');
    expect(r.route(facts({ account: 'z', dataCoding: 8 }))).toBeNull();
    expect(r.route(facts({ ported: 'cmcc' }))?.name).toBe('ported-cm');
    expect(r.needsPorted).toBe(true);
    expect(router([{ name: 'x', group: 'g' }]).needsPorted).toBe(false);
  });

  it("a ported_to route beats its order's prefix routes; lower orders still win; unported numbers keep the original range", () => {
    const r = router([
      { name: 'otp', order: -1, class: 'otp', group: 'fast' },
      { name: 'north', destination_prefix: ['86138', '86139'], group: 'n' },
      { name: 'to-cu', ported_to: 'cu', group: 'cu' },
      { name: 'to-ct-86', destination_prefix: '86', ported_to: 'ct', group: 'ct' },
    ]);
    expect(r.route(facts())?.name).toBe('north');
    expect(r.route(facts({ ported: 'cu' }))?.name).toBe('to-cu');
    expect(r.route(facts({ ported: 'ct' }))?.name).toBe('to-ct-86');
    expect(r.route(facts({ ported: 'xx' }))?.name).toBe('north');
    expect(r.route(facts({ ported: 'cu', cls: 'otp' }))?.name).toBe('otp');
    const e = r.explain(facts({ ported: 'cu' }));
    expect(e.route).toMatchObject({ name: 'to-cu', portedTo: true });
    expect(e.trace[0]).toMatch(/^route to-cu \(order 0, ported_to cu: the number moved to network cu, so this route beats the original range's\) → group cu; also matched at this order: north$/);
    expect(r.explain(facts({ ported: 'xx' })).trace[0]).toMatch(/route north .*ported to xx, but no route of this order matches ported_to xx: routed as its original range → group n/);
  });

  it('explains the winner, the others that matched, and no_route', () => {
    const r = router([
      { name: 'cn', destination_prefix: '86', group: 'g1' },
      { name: 'cn-138', destination_prefix: '86138', group: 'g2' },
    ]);
    expect(r.explain(facts()).trace).toEqual(['route cn-138 (order 0, destination prefix of 5 digits) → group g2; also matched at this order: cn']);
    const none = r.explain(facts({ dst: '4477' }));
    expect(none.route).toBeNull();
    expect(none.trace[0]).toMatch(/no MT route matches .*destination 4477.*: no_route/);
  });
});

describe('MtRouter prefix trie', () => {
  it('chooses exactly what trying every route by order, rank and file order chooses (explain), over random tables', () => {
    // route() walks a compiled prefix trie; explain() still compares every route: they must agree.
    let seed = 20;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
    const digits = (n: number) => Array.from({ length: n }, () => pick(['8', '6', '1', '3', '5'])).join('');
    for (let t = 0; t < 300; t++) {
      const routes = Array.from({ length: 1 + rnd(12) }, (_, i) => {
        const r: Record<string, unknown> = { name: `r${i}`, group: 'g' };
        if (rnd(4) > 0) r.destination_prefix = Array.from({ length: 1 + rnd(3) }, () => digits(1 + rnd(5)));
        if (rnd(3) === 0) r.order = rnd(3) - 1;
        if (rnd(5) === 0) r.account = pick(['a', 'b']);
        if (rnd(5) === 0) r.class = pick(['otp', 'commercial']);
        if (rnd(6) === 0) r.data_coding = pick([0, 8]);
        if (rnd(5) === 0) r.ported_to = pick(['cu', 'ct']);
        if (rnd(6) === 0) r.source = pick(['1069', 'BANK']);
        return r;
      });
      const r = router(routes);
      for (let m = 0; m < 40; m++) {
        const f = facts({
          account: pick(['a', 'b']),
          dst: rnd(10) === 0 ? pick(['', 'ABC', '86x1']) : digits(rnd(9)),
          cls: pick(['otp', 'commercial', null]),
          dataCoding: pick([0, 8]),
          ported: pick(['cu', 'ct', null]),
          src: pick([{ kind: 'number', value: '10690001' }, { kind: 'alpha', value: 'BANK' }] as const),
        });
        const got = r.route(f)?.name ?? null;
        const want = r.explain(f).route?.name ?? null;
        if (got !== want) expect(got, JSON.stringify({ routes, f })).toBe(want);
      }
    }
  });

  it('says which facts a table reads', () => {
    expect(router([{ name: 'a', destination_prefix: '86', group: 'g' }])).toMatchObject({ needsSource: false, needsClass: false, needsPorted: false });
    expect(router([{ name: 'a', source: 'BANK', class: 'otp', ported_to: 'cu', group: 'g' }])).toMatchObject({ needsSource: true, needsClass: true, needsPorted: true });
  });
});

describe('routing config cross-checks', () => {
  const base = `
accounts: []
downstream:
  smscs:
    - { name: a, port: 1, system_id: x, password: p }
    - { name: b, port: 2, system_id: x, password: p }
`;
  it('accepts a group of SMSCs and routes to a group or an SMSC', () => {
    const c = parseConfig(`${base}  groups: [{ name: g, members: [{ smsc: a, weight: 3 }, { smsc: b, priority: 2 }], retry_on: [0x58] }]
routes:
  mt: [{ name: r1, destination_prefix: "86", group: g }, { name: r2, group: b }]
`);
    expect(c.downstream.groups[0]).toMatchObject({ name: 'g', failover_after: 5, hold_down_s: 30, retry_on: [0x58], retry_on_timeout: false });
    expect(c.routes.mt.map((r) => r.destination_prefix ?? null)).toEqual([['86'], null]);
    expect(c.routes.no_route_status).toBe(0x0b);
  });

  it('names unknown SMSCs, groups and accounts, and duplicates', () => {
    expect(() =>
      parseConfig(`${base}  groups: [{ name: g, members: [{ smsc: a }, { smsc: zz }, { smsc: a }] }]
routes:
  mt: [{ name: r1, group: nope }, { name: r1, account: ghost, group: g }]
`, 'gw.yaml'),
    ).toThrow(/member zz is not an SMSC[\s\S]*member a appears twice[\s\S]*group nope is neither[\s\S]*name r1 appears twice[\s\S]*unknown account ghost/);
  });

  it('accepts ported_to routes (the portability table exists) with routes.portability, and refuses a tag that is not one', () => {
    const c = parseConfig(`${base}routes:
  mt: [{ name: p, ported_to: [cmcc, cu], group: a }]
  portability: { on_redis_error: reject }
`);
    expect(c.routes.mt[0]!.ported_to).toEqual(['cmcc', 'cu']);
    expect(c.routes.portability.on_redis_error).toBe('reject');
    expect(parseConfig(base).routes.portability.on_redis_error).toBe('original');
    expect(() => parseConfig(`${base}routes:\n  mt: [{ name: p, ported_to: "c m", group: a }]\n`)).toThrow(/ported_to/);
    expect(() => parseConfig(`${base}routes:\n  portability: { on_redis_error: maybe }\n`)).toThrow(/on_redis_error/);
  });
});

describe("docs/routing.md's worked example", () => {
  it('routes as the page says', async () => {
    const { readFileSync } = await import('node:fs');
    const md = readFileSync(new URL('../../docs/routing.md', import.meta.url), 'utf8');
    const example = [...md.matchAll(/```yaml\n([\s\S]*?)```/g)][2]![1]!;
    const cfg = parseConfig(`accounts: [{ system_id: bank, password_hash: '${(await import('../helpers/fake-link.js')).quickHash('pw')}', allowed_ips: [10.0.0.0/8] }]\n${example}`);
    const r = new MtRouter(cfg.routes.mt);
    const to = (dst: string, over: Partial<RouteFacts> = {}) => r.route(facts({ account: 'shop', dst, ...over }))?.name;
    expect(to('8613812345678')).toBe('north');
    expect(to('8615012345678')).toBe('south');
    expect(to('8617012345678')).toBe('domestic-other');
    expect(to('447700900123')).toBe('international');
    expect(to('447700900123', { account: 'bank', cls: 'otp' })).toBe('otp');
    expect(to('8615012345678', { account: 'bank', cls: 'commercial' })).toBe('south');
    expect(cfg.downstream.groups.map((g) => g.name)).toEqual(['north', 'south', 'otp']);
  });
});
