/**
 * The benchmark's routing scenario (r) is a config the gateway takes: 10 routes over 3 groups, and
 * the load generator's destinations take a prefix route.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PORTED_RANGE, portedGateway, routingGateway } from '../../bench/routing-scenario.js';
import { parseConfig } from '../../src/config/load.js';
import { MtRouter } from '../../src/decision/mt-router.js';

describe('bench scenario (r)', () => {
  it('is a valid config of 10 routes over 3 groups; the load generator destinations take route r4', () => {
    const cfg = parseConfig(
      stringify({
        ...routingGateway,
        downstream: { ...routingGateway.downstream, smscs: [{ name: 'sim', port: 1, system_id: 'smppguard', password: 'simpw', binds: 4 }] },
      }),
    );
    expect(cfg.routes.mt).toHaveLength(10);
    expect(cfg.downstream.groups).toHaveLength(3);
    const r = new MtRouter(cfg.routes.mt).route({ account: 'bench', dst: '8613800000042', src: { kind: 'number', value: '1069' }, cls: 'commercial', dataCoding: 0, ported: null });
    expect(r).toMatchObject({ name: 'r4', group: 'south' });
  });

  it('(rp) adds a ported_to route: the table needs the lookup; a ported cu number takes it, a ct one keeps its range', () => {
    const cfg = parseConfig(
      stringify({
        ...portedGateway,
        downstream: { ...portedGateway.downstream, smscs: [{ name: 'sim', port: 1, system_id: 'smppguard', password: 'simpw', binds: 4 }] },
      }),
    );
    const router = new MtRouter(cfg.routes.mt);
    expect(router.needsPorted).toBe(true);
    const facts = { account: 'bench', dst: String(PORTED_RANGE.base + 7), src: { kind: 'number', value: '1069' }, cls: 'commercial', dataCoding: 0 } as const;
    expect(router.route({ ...facts, ported: 'cu' })).toMatchObject({ name: 'to-cu', group: 'hub' });
    expect(router.route({ ...facts, ported: 'ct' })).toMatchObject({ name: 'r4' });
    expect(router.route({ ...facts, ported: null })).toMatchObject({ name: 'r4' });
  });
});
