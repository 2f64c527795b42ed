/**
 * Source-IP allow-lists: the config's entries (validated by config/cidr.ts at load) in node:net
 * BlockLists, checked once per connection. The families stay apart — 0.0.0.0/0 lets no IPv6 peer
 * in, ::/0 no IPv4 one — except that IPv4-mapped IPv6 ("::ffff:10.1.2.3", what a dual-stack
 * listener reports for an IPv4 peer) counts as IPv4, both as a peer and as an entry.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { parseCidr } from '../config/cidr.js';

export interface AllowList {
  v4: BlockList;
  v6: BlockList;
}

const MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** The allow-list of an account; throws on an entry the config check would have refused. */
export function allowList(entries: readonly string[]): AllowList {
  const list = { v4: new BlockList(), v6: new BlockList() };
  for (const e of entries) {
    const c = parseCidr(e);
    if (typeof c === 'string') throw new Error(`allowed_ips: ${c}`);
    const mapped = c.family === 'ipv6' && c.prefix >= 96 ? MAPPED.exec(c.address) : null;
    if (mapped) list.v4.addSubnet(mapped[1]!, c.prefix - 96, 'ipv4');
    else if (c.family === 'ipv4') list.v4.addSubnet(c.address, c.prefix, 'ipv4');
    else list.v6.addSubnet(c.address, c.prefix, 'ipv6');
  }
  return list;
}

export function ipAllowed(ip: string, list: AllowList): boolean {
  const mapped = MAPPED.exec(ip);
  if (mapped) return list.v4.check(mapped[1]!, 'ipv4');
  if (isIPv4(ip)) return list.v4.check(ip, 'ipv4');
  if (isIPv6(ip)) return list.v6.check(ip, 'ipv6');
  return false;
}
