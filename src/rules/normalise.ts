/**
 * Text normalisation for keyword matching. Spam is written to slip past filters: full-width forms
 * (ＦＲＥＥ), zero-width characters inside words (fr\u200bee), Cyrillic/Greek letters that look Latin
 * (frее with Cyrillic е), letters split by separators (f.r.e.e, 免 费) and leetspeak (fr33, v1agra).
 * Message text and every keyword are normalised the same way, so matching is plain substring search.
 *
 * Two forms come out:
 *   plain — compatibility-folded (NFKC-like), accents and zero-width characters removed, look-alikes
 *           folded to Latin, lower-cased, separators collapsed between single letters and around CJK,
 *           every other separator run turned into one space;
 *   leet  — plain, then inside tokens that mix Latin letters with 0 1 3 4 5 7 @ $ those are read as
 *           letters (o i e a s t a s), and every l is read as i (so "ce11" and "cell" meet).
 * A keyword matches when its plain form is in the text's plain form or its leet form is in the text's
 * leet form: real numbers ("10086", "50%") keep matching in the plain form, disguised words are
 * caught in the leet form.
 */

export interface NormalText {
  plain: string;
  leet: string;
}

/** Zero-width and invisible formatting characters (removed). */
const INVISIBLE = new Set([
  0x00ad, 0x034f, 0x061c, 0x115f, 0x1160, 0x17b4, 0x17b5, 0x180b, 0x180c, 0x180d, 0x180e, 0x200b, 0x200c, 0x200d,
  0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0x2066, 0x2067,
  0x2068, 0x2069, 0x206a, 0x206b, 0x206c, 0x206d, 0x206e, 0x206f, 0x3164, 0xfe00, 0xfe01, 0xfe0e, 0xfe0f, 0xfeff,
  0xffa0,
]);

/**
 * Letters from other scripts that render like Latin ones. Upper and lower case separately, because
 * case changes the look (Greek Η looks like H, η like n); applied before lower-casing.
 */
const LOOKALIKES: Record<string, string> = {
  // Cyrillic capitals
  А: 'A', В: 'B', Е: 'E', Ё: 'E', К: 'K', М: 'M', Н: 'H', О: 'O', Р: 'P', С: 'C', Т: 'T', У: 'Y', Х: 'X',
  Ѕ: 'S', І: 'I', Ї: 'I', Ј: 'J', Ԁ: 'D', Ԛ: 'Q', Ԝ: 'W', Ӏ: 'I', Һ: 'H', Ь: 'b',
  // Cyrillic small
  а: 'a', в: 'b', е: 'e', ё: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x',
  ѕ: 's', і: 'i', ї: 'i', ј: 'j', һ: 'h', ԁ: 'd', ԛ: 'q', ԝ: 'w', ӏ: 'l', ь: 'b', п: 'n', г: 'r',
  // Greek capitals
  Α: 'A', Β: 'B', Ε: 'E', Ζ: 'Z', Η: 'H', Ι: 'I', Κ: 'K', Μ: 'M', Ν: 'N', Ο: 'O', Ρ: 'P', Τ: 'T', Υ: 'Y', Χ: 'X',
  // Greek small
  α: 'a', β: 'b', γ: 'y', ε: 'e', η: 'n', ι: 'i', κ: 'k', μ: 'u', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x',
  ω: 'w', ς: 'c',
  // Latin letters that pass for others
  ɑ: 'a', ı: 'i', ɡ: 'g', ʏ: 'y', ᴀ: 'a', ʙ: 'b', ᴄ: 'c', ᴅ: 'd', ᴇ: 'e', ɢ: 'g', ʜ: 'h', ɪ: 'i', ᴊ: 'j', ᴋ: 'k',
  ʟ: 'l', ᴍ: 'm', ɴ: 'n', ᴏ: 'o', ᴘ: 'p', ʀ: 'r', ꜱ: 's', ᴛ: 't', ᴜ: 'u', ᴠ: 'v', ᴡ: 'w', ᴢ: 'z',
};

const LOOKALIKE = new Map(Object.entries(LOOKALIKES));

const ASCII = /^[\x20-\x7e\t\n\r]*$/;

/** Compatibility folding, accents, zero-width characters, look-alikes, lower case; no separator work. */
export function foldChars(s: string): string {
  if (ASCII.test(s)) return s.toLowerCase();
  // NFKD splits full-width and compatibility forms (Ａ → A, ﬁ → fi, ① → 1) and accents from letters;
  // combining accents (U+0300–U+036F) are dropped, the rest recomposes with NFC (kana, Hangul).
  const d = s.normalize('NFKD');
  let out = '';
  let from = 0;
  for (let i = 0; i < d.length; i++) {
    const c = d.charCodeAt(i);
    if (c < 0x80) continue;
    const drop = (c >= 0x300 && c <= 0x36f) || INVISIBLE.has(c);
    const swap = drop ? undefined : LOOKALIKE.get(d[i]!);
    if (!drop && swap === undefined) continue;
    out += d.slice(from, i);
    if (swap !== undefined) out += swap;
    from = i + 1;
  }
  out += d.slice(from);
  return out.normalize('NFC').toLowerCase();
}

/**
 * For URL extraction: folded characters, no separator collapsing or leet (domains have dots and
 * digits). The ideographic full stop becomes a dot ("bit。ly").
 */
export function lightNormalise(s: string): string {
  return lightOf(foldChars(s));
}

/** lightNormalise of an already folded string. */
export function lightOf(folded: string): string {
  return folded.indexOf('。') < 0 && folded.indexOf('｡') < 0 ? folded : folded.replace(/[。｡]/g, '.');
}

/** Characters used to split words apart ("f.r.e.e", "免 费"): ASCII after compatibility folding. */
const SEPARATORS = ' \t\n\r\f\v.-_*·•,/\\|~+\'"`:;。、，…‥—–−=^\u3000\u00a0';
const SEP = new Set<number>([...SEPARATORS].map((c) => c.charCodeAt(0)));
const ASCII_SEP = new Uint8Array(128);
for (const c of SEP) if (c < 128) ASCII_SEP[c] = 1;

function isSep(c: number): boolean {
  return c < 128 ? ASCII_SEP[c] === 1 : SEP.has(c);
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x3000 || c === 0xa0;
}

/** Han, kana, Hangul (and astral Han through its high surrogates): scripts written without spaces. */
function isCjk(c: number): boolean {
  return (
    (c >= 0x4e00 && c <= 0x9fff) ||
    (c >= 0x3400 && c <= 0x4dbf) ||
    (c >= 0x3040 && c <= 0x30ff) ||
    (c >= 0xac00 && c <= 0xd7af) ||
    (c >= 0x1100 && c <= 0x11ff) ||
    (c >= 0x3130 && c <= 0x318f) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0xd840 && c <= 0xd8bf) ||
    (c >= 0xdc00 && c <= 0xdfff)
  );
}

function collapse(f: string): string {
  const n = f.length;
  const starts: number[] = [];
  const ends: number[] = [];
  /** spaced[k]: the separator run before token k has whitespace. */
  const spaced: boolean[] = [];
  let ws = false;
  let i = 0;
  while (i < n) {
    const c = f.charCodeAt(i);
    if (isSep(c)) {
      if (isSpace(c)) ws = true;
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && !isSep(f.charCodeAt(j))) j++;
    starts.push(i);
    ends.push(j);
    spaced.push(ws);
    ws = false;
    i = j;
  }
  const count = starts.length;
  if (count === 0) return '';
  if (count === 1) return f.slice(starts[0], ends[0]);
  const single = (k: number) => {
    const len = ends[k]! - starts[k]!;
    return len === 1 || (len === 2 && f.charCodeAt(starts[k]!) >= 0xd800 && f.charCodeAt(starts[k]!) <= 0xdbff);
  };
  let out = f.slice(starts[0], ends[0]);
  let prevSingle = single(0);
  let prevPrevSingle = false;
  for (let k = 1; k < count; k++) {
    const curSingle = single(k);
    let join = isCjk(f.charCodeAt(ends[k - 1]! - 1)) || isCjk(f.charCodeAt(starts[k]!));
    if (!join && prevSingle && curSingle) {
      // "f.r.e.e m.o.n.e.y": a space between two dotted-apart words still separates them
      const prevDotted = k >= 2 && prevPrevSingle && !spaced[k - 1];
      const nextDotted = k + 1 < count && single(k + 1) && !spaced[k + 1];
      join = !spaced[k] || !(prevDotted || nextDotted);
    }
    out += join ? f.slice(starts[k], ends[k]) : ` ${f.slice(starts[k], ends[k])}`;
    prevPrevSingle = prevSingle;
    prevSingle = curSingle;
  }
  return out;
}

/** Leet value of a character code (0 1 3 4 5 7 @ $), or 0. */
function leetOf(c: number): number {
  switch (c) {
    case 0x30:
      return 0x6f; // 0 → o
    case 0x31:
      return 0x69; // 1 → i
    case 0x33:
      return 0x65; // 3 → e
    case 0x34:
      return 0x61; // 4 → a
    case 0x35:
      return 0x73; // 5 → s
    case 0x37:
      return 0x74; // 7 → t
    case 0x40:
      return 0x61; // @ → a
    case 0x24:
      return 0x73; // $ → s
    default:
      return 0;
  }
}

const MAYBE_LEET = /[013457@$]/;

/** The leet form of a plain-normalised string. */
function leetForm(plain: string): string {
  if (!MAYBE_LEET.test(plain)) return plain.indexOf('l') < 0 ? plain : plain.replace(/l/g, 'i');
  let out = '';
  const n = plain.length;
  let i = 0;
  while (i < n) {
    const c = plain.charCodeAt(i);
    const letter = c >= 0x61 && c <= 0x7a;
    if (!letter && leetOf(c) === 0) {
      out += plain[i];
      i++;
      continue;
    }
    // a run of Latin letters, digits, @ and $: leet applies when it mixes letters with leet characters
    let j = i;
    let letters = false;
    let leet = false;
    for (; j < n; j++) {
      const d = plain.charCodeAt(j);
      if (d >= 0x61 && d <= 0x7a) letters = true;
      else if (leetOf(d) !== 0) leet = true;
      else if (!(d >= 0x30 && d <= 0x39)) break;
    }
    for (let k = i; k < j; k++) {
      const d = plain.charCodeAt(k);
      const m = letters && leet ? leetOf(d) : 0;
      out += d === 0x6c ? 'i' : String.fromCharCode(m || d);
    }
    i = j;
  }
  return out;
}

export function normaliseText(s: string): NormalText {
  return normaliseFolded(foldChars(s));
}

/** normaliseText of an already folded string. */
export function normaliseFolded(folded: string): NormalText {
  const plain = collapse(folded);
  return { plain, leet: leetForm(plain) };
}

/** Keywords and list entries go through the same normalisation as message text. */
export const normaliseKeyword = normaliseText;

/**
 * The version of this normalisation. A learned model (src/model/) is trained on normalised text and
 * records the version it was trained with; a model of another version is refused at load. Bump it
 * whenever normaliseText's output changes for some input.
 */
export const NORMALISER_VERSION = 1;
