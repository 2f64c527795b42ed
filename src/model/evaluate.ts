/**
 * How good a score is on labelled data: the confusion matrix at a threshold (a message is called
 * spam when its score is above the threshold, as a rule's `above:` reads it), precision, recall,
 * F1, ham wrongly blocked and spam caught (%), ROC-AUC, and the threshold that keeps ham wrongly
 * blocked at or under a target rate.
 */
import type { HeaderMetrics } from './format.js';

export interface Scored {
  spam: boolean;
  p: number;
}

export interface Confusion {
  /** spam called spam, ham called spam, ham called ham, spam called ham */
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export function confusionAt(scored: readonly Scored[], threshold: number): Confusion {
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (const s of scored) {
    const called = s.p > threshold;
    if (s.spam) {
      if (called) c.tp++;
      else c.fn++;
    } else if (called) c.fp++;
    else c.tn++;
  }
  return c;
}

/** ROC-AUC by the rank statistic (ties count half); NaN without both classes. */
export function rocAuc(scored: readonly Scored[]): number {
  const sorted = [...scored].sort((a, b) => a.p - b.p);
  let pos = 0;
  let neg = 0;
  let rankSum = 0;
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j < sorted.length && sorted[j]!.p === sorted[i]!.p) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      if (sorted[k]!.spam) {
        pos++;
        rankSum += avgRank;
      } else neg++;
    }
    i = j;
  }
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * The lowest threshold at which ham wrongly blocked (score above it) is at most `targetRate`
 * (0.003 = 0.3 %) of the ham: the (allowed+1)-th highest ham score. 1 without ham.
 */
export function thresholdForHamRate(scored: readonly Scored[], targetRate: number): number {
  const ham = scored.filter((s) => !s.spam).map((s) => s.p).sort((a, b) => b - a);
  if (ham.length === 0) return 1;
  const allowed = Math.floor(targetRate * ham.length + 1e-9);
  return allowed >= ham.length ? 0 : ham[allowed]!;
}

export interface Report extends HeaderMetrics {
  confusion: Confusion;
}

const pct = (n: number, d: number) => (d === 0 ? 0 : (100 * n) / d);
const round = (x: number, digits = 4) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

export function reportAt(scored: readonly Scored[], threshold: number): Report {
  const c = confusionAt(scored, threshold);
  const precision = c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  const spam = c.tp + c.fn;
  const ham = c.tn + c.fp;
  return {
    rows: scored.length,
    ham,
    spam,
    threshold,
    precision: round(precision),
    recall: round(recall),
    f1: round(f1),
    ham_blocked_pct: round(pct(c.fp, ham), 3),
    spam_caught_pct: round(pct(c.tp, spam), 2),
    roc_auc: round(rocAuc(scored), 5),
    confusion: c,
  };
}

/** A report as the lines `smppguard model test` prints. */
export function formatReport(r: Report, extra: string[] = []): string {
  const c = r.confusion;
  return [
    `messages: ${r.rows} (${r.spam} spam, ${r.ham} ham); threshold ${r.threshold} (spam when the score is above it)`,
    `spam caught: ${r.spam_caught_pct.toFixed(2)} % (${c.tp} of ${r.spam})    ham wrongly blocked: ${r.ham_blocked_pct.toFixed(3)} % (${c.fp} of ${r.ham})`,
    `precision ${r.precision.toFixed(4)}  recall ${r.recall.toFixed(4)}  F1 ${r.f1.toFixed(4)}  ROC-AUC ${Number.isNaN(r.roc_auc) ? 'n/a' : r.roc_auc.toFixed(5)}`,
    'confusion matrix (rows: actual, columns: called)',
    '            spam     ham',
    `  spam  ${String(c.tp).padStart(7)} ${String(c.fn).padStart(7)}`,
    `  ham   ${String(c.fp).padStart(7)} ${String(c.tn).padStart(7)}`,
    ...extra,
  ].join('\n');
}

export function headerMetrics(r: Report): HeaderMetrics {
  const { confusion: _c, ...m } = r;
  return m;
}
