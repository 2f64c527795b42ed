/**
 * Integer hashing shared by the pure layers: murmur3's 32-bit finaliser, which the content model's
 * feature buckets (model/features.ts; model files name it "fnv1a32-fmix32") and the campaign
 * fingerprints (rules/fingerprint.ts) both use. Changing it changes every model and fingerprint.
 */

/** murmur3's 32-bit finaliser: a fast, well-mixed hash of a 32-bit value (unsigned result). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
