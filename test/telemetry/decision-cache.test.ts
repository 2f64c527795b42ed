import { describe, expect, it } from 'vitest';
import { DecisionCache } from '../../src/telemetry/decision-cache.js';

describe('DecisionCache', () => {
  it('makes a value once per tuple and tells tuples apart by every field', () => {
    let made = 0;
    const t = new DecisionCache((a, d, r, rule, s, c) => `${++made}:${a}/${d}/${r}/${rule}/${s}/${c}`);
    const one = t.get('acme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial');
    expect(t.get('acme', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial')).toBe(one);
    expect(made).toBe(1);
    const variants: [string, string, string, string, number, string | null][] = [
      ['beta', 'forward', 'consent_granted', 'policy/consent', 0, 'commercial'],
      ['acme', 'reject', 'consent_granted', 'policy/consent', 0, 'commercial'],
      ['acme', 'forward', 'no_consent', 'policy/consent', 0, 'commercial'],
      ['acme', 'forward', 'consent_granted', 'cn-quiet-hours', 0, 'commercial'],
      ['acme', 'forward', 'consent_granted', 'policy/consent', 69, 'commercial'],
      ['acme', 'forward', 'consent_granted', 'policy/consent', 0, null],
    ];
    for (const v of variants) expect(t.get(...v)).toBe(`${made}:${v.join('/')}`.replace(/\/$/, '/null'));
    expect(made).toBe(1 + variants.length);
  });

  it('gives the right value past 10,000 tuples, where it starts again', () => {
    let made = 0;
    const t = new DecisionCache((a, _d, _r, rule) => (made++, `${a}:${rule}`));
    for (let i = 0; i < 25_000; i++) expect(t.get('acme', 'forward', 'r', `rule-${i}`, 0, null)).toBe(`acme:rule-${i}`);
    expect(t.get('acme', 'forward', 'r', 'rule-24999', 0, null)).toBe('acme:rule-24999');
    expect(made).toBe(25_000);
  });
});
