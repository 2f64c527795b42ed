/**
 * Allow-list entries: strict parsing (nothing malformed widens a list) and BlockList matching,
 * IPv4-mapped IPv6 included; a bad entry refuses the config by its path.
 */
import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/config/cidr.js';
import { parseConfig } from '../../src/config/load.js';
import { allowList, ipAllowed } from '../../src/upstream/cidr.js';

describe('parseCidr', () => {
  it('takes addresses and prefixes of both families', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('192.0.2.7')).toEqual({ address: '192.0.2.7', prefix: 32, family: 'ipv4' });
    expect(parseCidr('2001:db8::/32')).toEqual({ address: '2001:db8::', prefix: 32, family: 'ipv6' });
    expect(parseCidr('::ffff:10.0.0.0/104')).toEqual({ address: '::ffff:10.0.0.0', prefix: 104, family: 'ipv6' });
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ prefix: 0 });
  });

  it.each(['1.2.3.4/', '1.2.3.4/-0', '1.2.3.4/08', '1.2.3.4/33', '::/129', '1.2.3/8', 'example.com/8', '', ' 1.2.3.4', '1.2.3.4/8/8', '1.2.3.4/+8'])(
    'refuses %j',
    (text) => {
      expect(typeof parseCidr(text)).toBe('string');
    },
  );
});

describe('allow-list matching', () => {
  const list = allowList(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);

  it('matches inside, not outside', () => {
    expect(ipAllowed('10.200.3.4', list)).toBe(true);
    expect(ipAllowed('11.0.0.1', list)).toBe(false);
    expect(ipAllowed('192.0.2.7', list)).toBe(true);
    expect(ipAllowed('192.0.2.8', list)).toBe(false);
    expect(ipAllowed('2001:db8:1::5', list)).toBe(true);
    expect(ipAllowed('2001:db9::5', list)).toBe(false);
  });

  it('an IPv4 entry matches the IPv4-mapped IPv6 form a dual-stack socket reports', () => {
    expect(ipAllowed('::ffff:10.1.2.3', list)).toBe(true);
    expect(ipAllowed('::ffff:11.1.2.3', list)).toBe(false);
  });

  it('an IPv4-mapped entry matches the plain IPv4 form', () => {
    const mapped = allowList(['::ffff:10.0.0.0/104']);
    expect(ipAllowed('10.9.9.9', mapped)).toBe(true);
    expect(ipAllowed('11.9.9.9', mapped)).toBe(false);
  });

  it('keeps the families apart: ::/0 lets no IPv4 address in, 0.0.0.0/0 no IPv6 one', () => {
    expect(ipAllowed('192.0.2.1', allowList(['::/0']))).toBe(false);
    expect(ipAllowed('::ffff:192.0.2.1', allowList(['::/0']))).toBe(false);
    expect(ipAllowed('2001:db8::1', allowList(['0.0.0.0/0']))).toBe(false);
    expect(ipAllowed('2001:db8::1', allowList(['::/0']))).toBe(true);
  });

  it('matches IPv6 prefixes, compressed or written in full, with an embedded IPv4 tail', () => {
    const l = allowList(['2001:db8:abcd::/48']);
    expect(ipAllowed('2001:db8:abcd:1::2', l)).toBe(true);
    expect(ipAllowed('2001:0db8:abcd:0000:0000:0000:0000:0001', l)).toBe(true);
    expect(ipAllowed('2001:db8:abce::1', l)).toBe(false);
    expect(ipAllowed('64:ff9b::192.0.2.33', allowList(['64:ff9b::c000:200/120']))).toBe(true);
    expect(ipAllowed('64:ff9b::198.51.100.1', allowList(['64:ff9b::c000:200/120']))).toBe(false);
  });

  it('no entry, no access; garbage addresses never match', () => {
    expect(ipAllowed('10.0.0.1', allowList([]))).toBe(false);
    expect(ipAllowed('not-an-ip', allowList(['0.0.0.0/0', '::/0']))).toBe(false);
    expect(ipAllowed('', allowList(['0.0.0.0/0', '::/0']))).toBe(false);
  });

  it('throws on an entry the config check refuses', () => {
    expect(() => allowList(['1.2.3.4/'])).toThrow(/allowed_ips/);
  });
});

describe('config', () => {
  const yaml = (ips: string) => `
accounts:
  - system_id: esme
    password_hash: "scrypt$16384$8$1$LwCswWSQbnplG9hxdFzQnA==$guuSM41YX48hy8KCPAjy2eIJv2xhRbNzbMxFQ3DZPVk="
    allowed_ips: [${ips}]
downstream:
  smscs: [{ name: s1, host: 127.0.0.1, port: 2775, system_id: gw, password: pw }]
`;

  it('refuses a bad allow-list entry naming its path, so nothing falls open', () => {
    expect(() => parseConfig(yaml('"10.0.0.0/8", "1.2.3.4/"'), 'test.yaml')).toThrow(/accounts\.0\.allowed_ips\.1: "1\.2\.3\.4\/" is not an IP address or CIDR/);
    expect(() => parseConfig(yaml('"1.2.3.4/-0"'), 'test.yaml')).toThrow(/accounts\.0\.allowed_ips\.0: /);
  });

  it('takes good entries', () => {
    expect(parseConfig(yaml('"10.0.0.0/8", "::1"'), 'test.yaml').accounts[0]!.allowed_ips).toEqual(['10.0.0.0/8', '::1']);
  });
});
