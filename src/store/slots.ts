/**
 * Redis Cluster slots and the start-up check that the key layout keeps every multi-key call in one
 * slot: a gateway whose configuration would make a script or transaction cross slots refuses to
 * start rather than fail on every message. The slot itself comes from cluster-key-slot (the CRC16
 * ioredis routes by), so this check and the client can never disagree.
 */
import calculateSlot from 'cluster-key-slot';
import { bucketOf, Keys } from './keys.js';

/** The part of a key Redis Cluster hashes: the first non-empty {…}, else the whole key. */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

/** The Cluster slot of a key (hash tag included), as CLUSTER KEYSLOT answers it. */
export function keySlot(key: string): number {
  return calculateSlot(key);
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
      'queue (messages, due set, streams, review jobs and per-account books)',
      [`${queuePrefix}:m`, `${queuePrefix}:due`, `${queuePrefix}:s:saf`, `${queuePrefix}:review:meta`, `${queuePrefix}:acct:saf:esme`],
    ],
  ];
  for (const [what, ks] of groups) {
    const slots = new Set(ks.map(keySlot));
    if (slots.size > 1) problems.push(`${what}: keys ${ks.join(', ')} fall in ${slots.size} slots; one script needs them in one`);
  }
  return problems;
}
