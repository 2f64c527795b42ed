/**
 * Scenario (r): (b) with an MT routing table — 10 routes over 3 SMSC groups (docs/routing.md) — to
 * measure what routing adds to the forward path. The SMSC side is (b)'s (one simulator, 4 binds):
 * every group's member is that one SMSC connection, so only the route match, the group's choice
 * and the per-route metrics differ from (b). The load generator's destinations (86138 + 8 digits)
 * are matched against every route of order 0 (the longest prefix wins), as in a real table.
 */
const prefixes = ['86134', '86135', '86136', '86137', '86138', '86139', '8615', '8618', '852'];

export const routingGateway = {
  policy: { enabled: false },
  audit: { destination: 'off' },
  downstream: {
    groups: [
      { name: 'north', members: [{ smsc: 'sim', priority: 1, weight: 3 }], retry_on: [0x58, 0x14] },
      { name: 'south', members: [{ smsc: 'sim', priority: 1 }], failover_on: [0x58], failover_after: 50 },
      { name: 'hub', members: [{ smsc: 'sim', priority: 1 }] },
    ],
  },
  routes: {
    mt: [
      ...prefixes.map((p, i) => ({ name: `r${i}`, destination_prefix: p, group: i < 4 ? 'north' : i < 8 ? 'south' : 'hub' })),
      { name: 'default', order: 10, group: 'hub' },
    ],
  },
};
