/**
 * Lists for rules: keyword lists (one multi-pattern search over the normalised text), domain lists
 * (URL allow/deny), and URL extraction. List files hold one entry a line; blank lines and lines
 * starting with # are skipped.
 */
import { normaliseDomainEntry } from '../domain/intel.js';
import { normaliseKeyword, type NormalText } from './normalise.js';

export interface ListEntry {
  value: string;
  line: number;
}

export function parseListFile(text: string): ListEntry[] {
  const out: ListEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const v = lines[i]!.trim();
    if (v === '' || v.startsWith('#')) continue;
    out.push({ value: v, line: i + 1 });
  }
  return out;
}

/**
 * Aho–Corasick automaton over UTF-16 code units: one pass over the text finds every pattern, however
 * many there are. Built once at load.
 */
export class MultiMatcher {
  private readonly next: Map<number, number>[] = [new Map()];
  private readonly fail: number[] = [0];
  /** Pattern indexes ending at each state (own and through fail links). */
  private readonly out: number[][] = [[]];

  constructor(patterns: readonly string[]) {
    patterns.forEach((p, idx) => {
      let s = 0;
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        let t = this.next[s]!.get(c);
        if (t === undefined) {
          t = this.next.length;
          this.next.push(new Map());
          this.fail.push(0);
          this.out.push([]);
          this.next[s]!.set(c, t);
        }
        s = t;
      }
      this.out[s]!.push(idx);
    });
    const queue: number[] = [];
    for (const t of this.next[0]!.values()) queue.push(t);
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q]!;
      for (const [c, t] of this.next[s]!) {
        let f = this.fail[s]!;
        while (f !== 0 && !this.next[f]!.has(c)) f = this.fail[f]!;
        const ft = this.next[f]!.get(c);
        this.fail[t] = ft !== undefined && ft !== t ? ft : 0;
        if (this.out[this.fail[t]!]!.length) this.out[t] = [...this.out[t]!, ...this.out[this.fail[t]!]!];
        queue.push(t);
      }
    }
  }

  private step(s: number, c: number): number {
    for (;;) {
      const t = this.next[s]!.get(c);
      if (t !== undefined) return t;
      if (s === 0) return 0;
      s = this.fail[s]!;
    }
  }

  /** True as soon as any pattern occurs. */
  any(text: string): boolean {
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      s = this.step(s, text.charCodeAt(i));
      if (this.out[s]!.length) return true;
    }
    return false;
  }

  /** Marks found[idx] = 1 for every pattern that occurs; returns how many new ones were marked. */
  mark(text: string, found: Uint8Array): number {
    let n = 0;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      s = this.step(s, text.charCodeAt(i));
      for (const idx of this.out[s]!) {
        if (found[idx] === 0) {
          found[idx] = 1;
          n++;
        }
      }
    }
    return n;
  }
}

/** Characters the leet form rewrites (normalise.ts). */
const LEET_CHARS = /[013457@$]/;

/**
 * Keywords in both normalised forms; a keyword is in a text when either form is. The leet form
 * rewrites only leet characters (and l → i, on both sides), one for one, so a keyword without leet
 * characters that is in the plain text is also in the leet text: only keywords with digits, @ or $
 * need the second scan over the plain text.
 */
export class KeywordSet {
  private readonly leet: MultiMatcher;
  private readonly plain: MultiMatcher | null;
  /** Keyword index of each plain-scan pattern. */
  private readonly plainIndex: number[];
  readonly size: number;

  constructor(readonly keywords: readonly NormalText[]) {
    this.leet = new MultiMatcher(keywords.map((k) => k.leet));
    this.plainIndex = [];
    keywords.forEach((k, i) => {
      if (LEET_CHARS.test(k.plain)) this.plainIndex.push(i);
    });
    this.plain = this.plainIndex.length ? new MultiMatcher(this.plainIndex.map((i) => keywords[i]!.plain)) : null;
    this.size = keywords.length;
  }

  /** Normalises the keywords; those that normalise to nothing are returned in `empty`. */
  static from(words: readonly string[]): { set: KeywordSet; empty: string[] } {
    const ok: NormalText[] = [];
    const empty: string[] = [];
    for (const w of words) {
      const n = normaliseKeyword(w);
      if (n.plain === '') empty.push(w);
      else ok.push(n);
    }
    return { set: new KeywordSet(ok), empty };
  }

  any(t: NormalText): boolean {
    return this.leet.any(t.leet) || (this.plain !== null && this.plain.any(t.plain));
  }

  all(t: NormalText): boolean {
    if (this.size === 0) return true;
    const found = new Uint8Array(this.size);
    let n = this.leet.mark(t.leet, found);
    if (n === this.size || this.plain === null) return n === this.size;
    const sub = new Uint8Array(this.plainIndex.length);
    this.plain.mark(t.plain, sub);
    sub.forEach((hit, j) => {
      const i = this.plainIndex[j]!;
      if (hit && found[i] === 0) {
        found[i] = 1;
        n++;
      }
    });
    return n === this.size;
  }
}

/** "https://www.Example.com/x" → "example.com"; null when it is not a domain (domain/intel.ts, shared with reputation imports). */
export const normaliseDomain = normaliseDomainEntry;

/** A domain is in the set when it or any parent domain is listed (m.example.com ∈ {example.com}). */
export class DomainSet {
  private readonly domains: Set<string>;

  constructor(domains: Iterable<string>) {
    this.domains = new Set(domains);
  }

  has(domain: string): boolean {
    let d = domain;
    for (;;) {
      if (this.domains.has(d)) return true;
      const dot = d.indexOf('.');
      if (dot < 0) return false;
      d = d.slice(dot + 1);
    }
  }
}

/** Top-level domains accepted for bare domains (no scheme, no www.): "bit.ly/x", "abc.cn". */
const BARE_TLDS = new Set(
  (
    'com net org info biz io co me ly cc tv gl gd to ws su ru cn in us uk de fr jp kr hk tw sg my vn th id ph ' +
    'au nz ca br mx es it nl pl tr ua eu asia top xyz club site online vip shop store app link click live ' +
    'work fun icu buzz wang ink ren cyou rest bar win bid loan men date mobi pro tk ml ga cf gq pw la am fm ' +
    'ai so sh li im is lc vc ps ac'
  ).split(' '),
);

function isHostChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
}

function isAlnum(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const TLD = /^[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

/**
 * Domains named in a text (already light-normalised, see normalise.ts): with a scheme or www. any
 * TLD counts; a bare name counts when its TLD is a common one or a path follows ("bit.ly/x").
 * "www." is stripped; e-mail addresses are not URLs. One linear scan, no regular expression
 * backtracking: hostile text costs its length.
 */
export function extractDomains(light: string): string[] {
  const out: string[] = [];
  const n = light.length;
  let i = light.indexOf('.');
  while (i > 0 && i < n - 1) {
    if (!isAlnum(light.charCodeAt(i - 1)) || !isAlnum(light.charCodeAt(i + 1))) {
      i = light.indexOf('.', i + 1);
      continue;
    }
    let start = i;
    while (start > 0 && isHostChar(light.charCodeAt(start - 1))) start--;
    let end = i + 1;
    while (end < n && isHostChar(light.charCodeAt(end))) end++;
    const next = end;
    while (start < end && !isAlnum(light.charCodeAt(start))) start++;
    while (end > start && !isAlnum(light.charCodeAt(end - 1))) end--;
    const before = start > 0 ? light.charCodeAt(start - 1) : 0;
    if (before !== 0x40 /* @: e-mail */ && before !== 0x5f /* _ */) {
      let host = light.slice(start, end);
      const explicit = (start >= 3 && light.startsWith('://', start - 3) && /https?$/.test(light.slice(Math.max(0, start - 8), start - 3))) || host.startsWith('www.');
      if (host.startsWith('www.')) host = host.slice(4);
      const labels = host.split('.');
      const tld = labels[labels.length - 1]!;
      if (labels.length >= 2 && labels.every((l) => LABEL.test(l)) && TLD.test(tld) && !/\d/.test(tld)) {
        if (explicit || BARE_TLDS.has(tld) || light.charCodeAt(end) === 0x2f) out.push(host);
      }
    }
    i = light.indexOf('.', next);
  }
  return out;
}
