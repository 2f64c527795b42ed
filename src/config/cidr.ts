/**
 * The spelling of a source-IP allow-list entry: an IPv4 or IPv6 address, optionally with a prefix
 * length ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7"). Strict: the prefix is plain decimal without
 * leading zeros and within the family's width, so nothing malformed can widen a list; config/
 * refuses a bad entry by its path. Matching is node:net's BlockList (upstream/accounts.ts).
 */
import { isIP } from 'node:net';

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** The entry, or a sentence saying what is wrong with it. */
export function parseCidr(text: string): Cidr | string {
  const m = /^([^/\s]+)(?:\/(0|[1-9]\d{0,2}))?$/.exec(text);
  if (!m) return `${JSON.stringify(text)} is not an IP address or CIDR (address/prefix-length)`;
  const version = isIP(m[1]!);
  if (version === 0) return `${JSON.stringify(m[1])} is not an IP address`;
  const width = version === 4 ? 32 : 128;
  const prefix = m[2] === undefined ? width : Number(m[2]);
  if (prefix > width) return `prefix length /${prefix} is beyond ${width} bits in ${JSON.stringify(text)}`;
  return { address: m[1]!, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}
