/**
 * Redis Cluster slots (CRC16/XMODEM of the key's hash tag, mod 16384) and the start-up check that
 * the key layout keeps every multi-key call in one slot: a gateway whose configuration would make
 * a script or transaction cross slots refuses to start rather than fail on every message.
 */
import { bucketOf, Keys } from './keys.js';

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

function crc16(s: string): number {
  let crc = 0;
  for (const b of Buffer.from(s, 'utf8')) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ b) & 0xff]!;
  return crc;
}

/** The part of a key Redis Cluster hashes: the first non-empty {…}, else the whole key. */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

export function keySlot(key: string): number {
  return crc16(hashTag(key)) % 16384;
}

/**
 * What is wrong with the key layout for Redis Cluster, one line per problem (empty when fine):
 * each group below is used together by one script or transaction and must share a slot.
 */
export function layoutProblems(keyPrefix: string, queuePrefix: string): string[] {
  const problems: string[] = [];
  if (keyPrefix.includes('{') || keyPrefix.includes('}')) {
    problems.push(`redis.key_prefix "${keyPrefix}" contains a brace: its {…} would become every key's hash tag and put all data in one Cluster slot`);
  }
  const keys = new Keys(keyPrefix);
  const msisdn = '8613800138000';
  const { bucket } = bucketOf(msisdn);
  const groups: [string, string[]][] = [
    ['policy check (consent and DND of one recipient)', [keys.consent(msisdn), keys.dnd(bucket, 1), keys.dnd(bucket, 1, 3), keys.dnd(bucket, 2)]],
    ['receipt id map (hour buckets)', [`${keyPrefix}{dlr}:1`, `${keyPrefix}{dlr}:2`]],
    [
      'queue (BullMQ jobs and per-account books)',
      [`${queuePrefix}:window:wait`, `${queuePrefix}:saf:Q1`, `${queuePrefix}:review:meta`, `${queuePrefix}:acct:saf:esme`],
    ],
  ];
  for (const [what, ks] of groups) {
    const slots = new Set(ks.map(keySlot));
    if (slots.size > 1) problems.push(`${what}: keys ${ks.join(', ')} fall in ${slots.size} slots; one script needs them in one`);
  }
  return problems;
}
