/**
 * Source-IP allow-lists: IPv4 and IPv6 CIDRs parsed once at load, matched per connection.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  v6: boolean;
  addr: bigint;
  mask: bigint;
  text: string;
}

function toBig(ip: string): { v6: boolean; n: bigint } | null {
  if (isIPv4(ip)) {
    return { v6: false, n: ip.split('.').reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n) };
  }
  if (isIPv6(ip)) {
    const v4tail = ip.match(/(\d+\.\d+\.\d+\.\d+)$/);
    let s = ip;
    if (v4tail) {
      const n = toBig(v4tail[1]!)!.n;
      s = ip.slice(0, -v4tail[1]!.length) + ((n >> 16n) & 0xffffn).toString(16) + ':' + (n & 0xffffn).toString(16);
    }
    const [head, tail] = s.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    return { v6: true, n: groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g || '0', 16)), 0n) };
  }
  return null;
}

export function parseCidr(text: string): Cidr {
  const [ip, bitsText] = text.split('/') as [string, string | undefined];
  const parsed = toBig(ip);
  if (!parsed) throw new Error(`not an IP address or CIDR: ${text}`);
  const width = parsed.v6 ? 128 : 32;
  const bits = bitsText === undefined ? width : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > width) throw new Error(`bad prefix length in ${text}`);
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
  return { v6: parsed.v6, addr: parsed.n & mask, mask, text };
}

export function ipAllowed(ip: string, list: readonly Cidr[]): boolean {
  const p = toBig(ip.startsWith('::ffff:') ? ip.slice(7) : ip);
  if (!p) return false;
  return list.some((c) => c.v6 === p.v6 && (p.n & c.mask) === c.addr);
}
