/**
 * Phone numbers written in a message (callback numbers: "详询 138-1234-5678", "call 0906 170 1461",
 * "+86 138 1234 5678", digits split by symbols or emoji), for reputation checks. One pass over the
 * folded text (normalise.ts foldChars: full-width digits and keycap emoji are ASCII digits by then).
 *
 * A number is a run of digit groups joined by at most 3 separator characters (space, - . ( ) / and
 * any symbol or emoji run, never a letter or a CJK character), 7 to 15 digits in all, a leading
 * "+" or "00" dropped; a single group of 7–15 digits counts on its own too.
 */
const MIN = 7;
const MAX = 15;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Characters allowed between the digit groups of one number. */
function isJoiner(c: number): boolean {
  if (c === 0x20 || c === 0x2d || c === 0x2e || c === 0x28 || c === 0x29 || c === 0x2f || c === 0xb7 || c === 0x2b) return true;
  // Symbols and punctuation outside ASCII (★ ※ — ·), not letters or CJK.
  return c >= 0x2000 && c <= 0x2bff;
}

export function extractNumbers(folded: string): string[] {
  const out: string[] = [];
  const n = folded.length;
  let i = 0;
  while (i < n) {
    if (!isDigit(folded.charCodeAt(i))) {
      i++;
      continue;
    }
    // A letter or digit right before: part of a code or a word, not a number on its own.
    const before = i > 0 ? folded.charCodeAt(i - 1) : 0;
    const glued = (before >= 0x61 && before <= 0x7a) || before === 0x5f;
    let digits = '';
    let j = i;
    let last = i;
    while (j < n) {
      const c = folded.charCodeAt(j);
      if (isDigit(c)) {
        digits += folded[j];
        j++;
        last = j;
        continue;
      }
      let k = j;
      while (k < n && k - j < 3 && isJoiner(folded.charCodeAt(k))) k++;
      if (k > j && k < n && isDigit(folded.charCodeAt(k)) && digits.length < MAX) {
        j = k;
        continue;
      }
      break;
    }
    if (!glued) {
      let d = digits;
      if (d.startsWith('00')) d = d.slice(2);
      if (d.length >= MIN && d.length <= MAX) out.push(d);
    }
    i = Math.max(last, i + 1);
  }
  return out;
}

/** Every suffix of `number` with at least 7 digits: an entry kept without its country code matches "+86…" too. */
export function numberSuffixes(number: string): string[] {
  const out: string[] = [];
  for (let k = 0; k + MIN <= number.length; k++) out.push(number.slice(k));
  return out;
}
