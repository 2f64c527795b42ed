/**
 * Source-IP allow-lists: the config's entries (validated by domain/cidr.ts at load) in a node:net
 * BlockList, checked once per connection. An IPv4 entry also matches the IPv4-mapped IPv6 form
 * ("::ffff:10.1.2.3") a dual-stack listener reports, and an IPv6 ::/0 covers every address.
 */
import { BlockList, isIP } from 'node:net';
import { parseCidr } from '../config/cidr.js';

/** The allow-list of an account; throws on an entry the config check would have refused. */
export function allowList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const e of entries) {
    const c = parseCidr(e);
    if (typeof c === 'string') throw new Error(`allowed_ips: ${c}`);
    list.addSubnet(c.address, c.prefix, c.family);
  }
  return list;
}

export function ipAllowed(ip: string, list: BlockList): boolean {
  const version = isIP(ip);
  if (version === 0) return false;
  return list.check(ip, version === 4 ? 'ipv4' : 'ipv6');
}
