/** Source-IP allow-lists: IPv4 and IPv6 CIDRs, IPv4-mapped peers, and what is not an address. */
import { describe, expect, it } from 'vitest';
import { ipAllowed, parseCidr } from '../../src/upstream/cidr.js';

const list = (...cidrs: string[]) => cidrs.map(parseCidr);

describe('parseCidr', () => {
  it('reads IPv4 and IPv6 prefixes, a bare address as a single host, and masks the host bits', () => {
    expect(parseCidr('192.0.2.77/24')).toEqual({ v6: false, addr: 0xc0000200n, mask: 0xffffff00n, text: '192.0.2.77/24' });
    expect(parseCidr('192.0.2.77')).toMatchObject({ addr: 0xc000024dn, mask: 0xffffffffn });
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ addr: 0n, mask: 0n });
    const v6 = parseCidr('2001:db8::ff/120');
    expect(v6.v6).toBe(true);
    expect(v6.addr).toBe(0x20010db8000000000000000000000000n);
    expect(parseCidr('::1')).toMatchObject({ v6: true, addr: 1n });
  });

  it('refuses what is not an address or has a bad prefix length', () => {
    expect(() => parseCidr('host.example')).toThrow('not an IP address or CIDR: host.example');
    expect(() => parseCidr('300.1.1.1/8')).toThrow(/not an IP address/);
    expect(() => parseCidr('10.0.0.0/33')).toThrow('bad prefix length in 10.0.0.0/33');
    expect(() => parseCidr('10.0.0.0/-1')).toThrow(/bad prefix length/);
    expect(() => parseCidr('10.0.0.0/8.5')).toThrow(/bad prefix length/);
    expect(() => parseCidr('::/129')).toThrow(/bad prefix length/);
  });
});

describe('ipAllowed', () => {
  it('matches IPv4 addresses inside the prefix only', () => {
    const l = list('10.20.0.0/16', '192.0.2.5');
    expect(ipAllowed('10.20.255.255', l)).toBe(true);
    expect(ipAllowed('10.21.0.0', l)).toBe(false);
    expect(ipAllowed('192.0.2.5', l)).toBe(true);
    expect(ipAllowed('192.0.2.6', l)).toBe(false);
  });

  it('matches an IPv4-mapped IPv6 peer ("::ffff:a.b.c.d") against IPv4 entries', () => {
    expect(ipAllowed('::ffff:10.20.1.1', list('10.20.0.0/16'))).toBe(true);
    expect(ipAllowed('::ffff:10.99.1.1', list('10.20.0.0/16'))).toBe(false);
  });

  it('keeps the families apart: ::/0 lets no IPv4 address in, 0.0.0.0/0 no IPv6 one', () => {
    expect(ipAllowed('192.0.2.1', list('::/0'))).toBe(false);
    expect(ipAllowed('2001:db8::1', list('0.0.0.0/0'))).toBe(false);
    expect(ipAllowed('2001:db8::1', list('::/0'))).toBe(true);
  });

  it('matches IPv6 prefixes, compressed or written in full, with an embedded IPv4 tail', () => {
    const l = list('2001:db8:abcd::/48');
    expect(ipAllowed('2001:db8:abcd:1::2', l)).toBe(true);
    expect(ipAllowed('2001:0db8:abcd:0000:0000:0000:0000:0001', l)).toBe(true);
    expect(ipAllowed('2001:db8:abce::1', l)).toBe(false);
    expect(ipAllowed('64:ff9b::192.0.2.33', list('64:ff9b::c000:200/120'))).toBe(true);
    expect(ipAllowed('64:ff9b::198.51.100.1', list('64:ff9b::c000:200/120'))).toBe(false);
  });

  it('lets nothing in with an empty list or an unreadable peer address', () => {
    expect(ipAllowed('10.0.0.1', [])).toBe(false);
    expect(ipAllowed('', list('0.0.0.0/0', '::/0'))).toBe(false);
    expect(ipAllowed('not-an-ip', list('0.0.0.0/0', '::/0'))).toBe(false);
  });
});
