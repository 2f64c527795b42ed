/**
 * Reputation feed files (号码库: fraud callback numbers, fraud link domains) for
 * `smppguard import reputation`: one entry a line — plain text or the first column of a CSV line
 * (a header line "value,…" is skipped), or a JSON line {"value": "…"} — gzip and stdin as every
 * import (input.ts, lines.ts). Blank lines and lines starting with # are skipped; an entry that is
 * not a number / domain is a bad line. Numbers: digits only, "+" and "00" dropped (domain/intel.ts).
 */
import { normaliseDomainEntry, normaliseNumber, type ReputationKind } from '../domain/intel.js';
import { openInput } from './input.js';
import { LineSplitter, MAX_LINE } from './lines.js';

export interface ReputationRows {
  entries: string[];
  bad: number;
  lines: number;
}

/** One line's entry, or a reason it is bad; null for a line to skip. */
export function reputationEntry(kind: ReputationKind, raw: string): { value: string } | { bad: string } | null {
  let v = raw.trim();
  if (v === '' || v.startsWith('#')) return null;
  if (v.startsWith('{')) {
    try {
      const o = JSON.parse(v) as { value?: unknown };
      if (typeof o.value !== 'string') return { bad: 'a JSON line needs a "value" string' };
      v = o.value;
    } catch {
      return { bad: 'not valid JSON' };
    }
  } else {
    v = v.split(',')[0]!.replace(/^"|"$/g, '').trim();
    if (v.toLowerCase() === 'value') return null;
  }
  const n = kind === 'number' ? normaliseNumber(v) : normaliseDomainEntry(v);
  return n === null ? { bad: `${JSON.stringify(v)} is not a ${kind === 'number' ? 'phone number (5–15 digits)' : 'domain'}` } : { value: n };
}

export async function readReputationFile(kind: ReputationKind, src: string | NodeJS.ReadableStream, onBad: (line: number, reason: string) => void): Promise<ReputationRows> {
  const input = await openInput(src as string, { name: typeof src === 'string' ? src : '<stdin>' });
  const split = new LineSplitter(MAX_LINE);
  const seen = new Set<string>();
  let bad = 0;
  const take = () => {
    if (split.overlong) {
      bad++;
      onBad(split.line, 'line too long');
      return;
    }
    const r = reputationEntry(kind, split.buf.toString('utf8', split.start, split.end));
    if (r === null) return;
    if ('bad' in r) {
      bad++;
      onBad(split.line, r.bad);
    } else seen.add(r.value);
  };
  for await (const chunk of input.chunks) {
    split.feed(chunk);
    while (split.next()) take();
  }
  if (split.last()) take();
  return { entries: [...seen], bad, lines: split.line };
}
