/**
 * Traditional → simplified Chinese folding, character by character, from OpenCC's own data
 * (opencc-js: its Taiwan and Hong Kong variant tables to OpenCC traditional, then OpenCC's
 * traditional → simplified characters), built once when the module loads — nothing hand-typed.
 *
 * Characters only, not OpenCC's phrase tables: the folding exists so that a keyword and a text
 * meet, and both go through the same table, so a character that OpenCC would convert differently
 * by context (乾 → 干 or 乾) still folds the same way on both sides. One table lookup a character:
 * linear in the text, whatever it holds.
 */
import { Locale } from 'opencc-js';

const { from, to } = Locale;

/** BMP code → folded string (set bit in HAS first: most characters have no entry). */
const HAS = new Uint8Array(0x10000);
const BMP = new Map<number, string>();
/** Astral code point → folded string (rare: extension B ideographs). */
const ASTRAL = new Map<number, string>();

function charPairs(groups: readonly (readonly (string | readonly (readonly [string, string])[])[])[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const group of groups) {
    for (const dict of group) {
      const entries: (readonly [string, string])[] =
        typeof dict === 'string'
          ? dict.split('|').map((e) => {
              const sp = e.indexOf(' ');
              const rest = e.slice(sp + 1);
              const sp2 = rest.indexOf(' ');
              return [e.slice(0, sp), sp2 < 0 ? rest : rest.slice(0, sp2)] as const;
            })
          : (dict as (readonly [string, string])[]);
      for (const [k, v] of entries) {
        // One code point to one code point (phrases left out, see above); the first table that has it wins.
        if (k === v || [...k].length !== 1 || [...v].length !== 1 || out.has(k)) continue;
        out.set(k, v);
      }
    }
  }
  return out;
}

const variants = charPairs([...(from.tw ?? []), ...(from.hk ?? [])]);
const ts = charPairs(to.cn ?? []);
const keys = new Set<string>([...variants.keys(), ...ts.keys()]);
for (const k of keys) {
  const std = variants.get(k) ?? k;
  const simp = ts.get(std) ?? std;
  if (simp === k) continue;
  const cp = k.codePointAt(0)!;
  if (cp < 0x10000) {
    HAS[cp] = 1;
    BMP.set(cp, simp);
  } else ASTRAL.set(cp, simp);
}

/** How many characters the table folds (for docs and tests). */
export const VARIANT_CHARS = BMP.size + ASTRAL.size;

/** The simplified form of BMP character `c`, or undefined when it has none. */
export function simplifiedBmp(c: number): string | undefined {
  return HAS[c] === 1 ? BMP.get(c) : undefined;
}

/** The simplified form of astral code point `cp`, or undefined. */
export function simplifiedAstral(cp: number): string | undefined {
  return ASTRAL.size === 0 ? undefined : ASTRAL.get(cp);
}

/** The whole string folded (tests, tools; foldChars does it inside its own pass). */
export function toSimplified(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    out += (cp < 0x10000 ? simplifiedBmp(cp) : simplifiedAstral(cp)) ?? ch;
  }
  return out;
}
