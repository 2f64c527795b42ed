/**
 * Links written to slip past domain lists, read back as the domains they name: "bit点ly",
 * "fraud dot com", "fraud[.]com", "fraud(.)com", "fraud。com", "fraud．com" (full width), "fraud . com",
 * "fra ud.com" (spaces inside the host), "fraud.com" without a scheme (lists.ts: common TLDs or a path).
 *
 * Three readings of a light-normalised text (normalise.ts lightOf: folded, 。 → .), each one pass:
 *   strict  — the obfuscated dots ("点", "dot", "[.]", "(.)", "{.}", "<.>", "【.】", "[dot]", "(点)", …)
 *             between letters or digits become ".", with the spaces around them: what `urls` sees as
 *             the text's domains (present, domains_in, domains_not_in);
 *   spaced  — strict, and spaces around a real "." dropped ("fraud . com");
 *   joined  — spaced, and spaces between letters and digits dropped ("f r a u d.com"); every place a
 *             space was dropped may also start a host ("visit fra ud.com" → visitfraud.com and
 *             fraud.com).
 * Blocked-domain checks (`urls: {domains_in}`, `content: {domains_in}`) look at all three (more
 * readings can only find more blocked domains); `domains_not_in` and `present` at the strict one only,
 * so ordinary sentences ("ok. me too") never turn into domains there.
 */
import { extractDomains } from './lists.js';

function isAlnum(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
}

function isLetter(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x3000 || c === 0xa0;
}

const OPENERS = '[({<【';
const CLOSERS = '])}>】';
const DOT = 0x2e;
const DIAN = 0x70b9; // 点 (點 folds to it)

/** The end of a dot word at `i` ("." or "点" or a free-standing "dot"), or -1. */
function dotWordAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === DOT || c === DIAN) return i + 1;
  if (c === 0x64 && s.startsWith('dot', i) && !isLetter(s.charCodeAt(i + 3)) && !isLetter(s.charCodeAt(i - 1))) return i + 3;
  return -1;
}

/** A dot at `i`: a bracketed dot word, "点", "dot" or a bare "." (`plain`); null if none. */
function tokenAt(s: string, i: number): { end: number; plain: boolean } | null {
  const o = OPENERS.indexOf(s[i]!);
  if (o >= 0) {
    let j = i + 1;
    while (j < s.length && j - i < 4 && isSpace(s.charCodeAt(j))) j++;
    const w = dotWordAt(s, j);
    if (w < 0) return null;
    let k = w;
    while (k < s.length && k - w < 3 && isSpace(s.charCodeAt(k))) k++;
    return s.charCodeAt(k) === CLOSERS.charCodeAt(o) ? { end: k + 1, plain: false } : null;
  }
  const w = dotWordAt(s, i);
  if (w < 0) return null;
  return { end: w, plain: s.charCodeAt(i) === DOT };
}

/** Where the run of letters and digits ending at `end` (exclusive) in `s` starts. */
function runStart(s: string, end: number): number {
  let p = end;
  while (p > 0 && isAlnum(s.charCodeAt(p - 1))) p--;
  return p;
}

/** Reading 0: strict, 1: spaced, 2: joined (with `cuts`: positions in the output where spaces were dropped). */
function read(s: string, mode: 0 | 1 | 2, cuts: number[] | null): string {
  // Unchanged stretches are copied in slices: `out` holds what is written, s[from, i) is pending.
  let out = '';
  let from = 0;
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    const space = isSpace(c);
    // A plain dot never changes in the strict reading (spaces before one are looked at from the space).
    if ((!space && !mayStartToken(c)) || (mode === 0 && c === DOT)) {
      i++;
      continue;
    }
    const prev = i > from ? s.charCodeAt(i - 1) : out.length > 0 ? out.charCodeAt(out.length - 1) : 0;
    if (!isAlnum(prev)) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && isSpace(s.charCodeAt(j))) j++;
    // A dot token (after optional spaces) between letters or digits.
    if (j < n) {
      const t = tokenAt(s, j);
      if (t !== null && !(t.plain && mode === 0)) {
        let k = t.end;
        while (k < n && isSpace(s.charCodeAt(k))) k++;
        if (isAlnum(s.charCodeAt(k))) {
          if (t.plain && j === i && k === t.end) {
            i = k; // a plain dot with no spaces: nothing to change
            continue;
          }
          out += `${s.slice(from, i)}.`;
          from = i = k;
          continue;
        }
      }
    }
    if (j > i) {
      // A run of spaces between letters or digits, in the joined reading: dropped when a spaced-out
      // single character is on either side, or the word after it holds a dot (the host goes on).
      if (mode === 2 && j < n && isAlnum(s.charCodeAt(j))) {
        let r = j;
        let dotted = false;
        while (r < n && r - j < 64 && !isSpace(s.charCodeAt(r))) {
          const d = s.charCodeAt(r++);
          if (d === DOT || d === DIAN) dotted = true;
        }
        const before = i - runStart(s, i);
        if (before === 1 || r - j === 1 || dotted) {
          out += s.slice(from, i);
          if (cuts !== null && before > 1 && cuts.length < 8) cuts.push(out.length);
          from = i = j;
          continue;
        }
      }
      i = j;
      continue;
    }
    i++;
  }
  return from === 0 ? s : out + s.slice(from);
}

/** Characters a dot token can start with: . 点 d and the brackets. */
function mayStartToken(c: number): boolean {
  return c === DOT || c === DIAN || c === 0x64 || c === 0x5b || c === 0x28 || c === 0x7b || c === 0x3c || c === 0x3010;
}

/** The strict reading (see above): what `urls` extracts the text's domains from. */
export function deobfuscateLinks(light: string): string {
  return mayHide(light) ? read(light, 0, null) : light;
}

/** Cheap test: nothing to de-obfuscate without a dot, 点, "dot" or a space. */
function mayHide(light: string): boolean {
  return light.indexOf('.') >= 0 || light.indexOf('点') >= 0 || light.indexOf('dot') >= 0;
}

/**
 * Every domain a blocked-domain check should consider: the strict reading's (`strict`, already
 * extracted), the spaced and joined readings', and those starting where the joined reading dropped a
 * space. Deduplicated, strict ones first.
 */
export function domainCandidates(light: string, strict: readonly string[]): string[] {
  if (!mayHide(light)) return strict as string[];
  const out = new Set<string>(strict);
  for (const d of extractDomains(read(light, 1, null))) out.add(d);
  const cuts: number[] = [];
  const joined = read(light, 2, cuts);
  for (const d of extractDomains(joined)) out.add(d);
  for (const at of cuts) {
    const rest = joined.slice(at, at + 128);
    for (const d of extractDomains(rest)) if (rest.startsWith(d) || rest.startsWith(`www.${d}`)) out.add(d);
  }
  return [...out];
}
