/**
 * Metric names a PromQL expression reads — enough of PromQL for dashboards and alert rules:
 * strings, label matchers, ranges, grouping clauses, numbers, functions and keywords are removed,
 * and what is left are metric names. Grafana variables ($__rate_interval, ${x}) are tolerated.
 */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan', 'atan2']);

export function metricNames(expr: string): string[] {
  let s = expr;
  // Grafana's label_values(metric, label): the label is not a metric.
  s = s.replace(/label_values\(\s*([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?\s*,\s*\w+\s*\)/g, ' $1 ');
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ');
  s = s.replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\boffset\s+-?\w+/g, ' ');
  s = s.replace(/(^|[^\w:])\d+(\.\d+)?(e[+-]?\d+)?(?![\w:])/gi, '$1 ');
  const names = new Set<string>();
  const re = /[a-zA-Z_:][\w:]*/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const rest = s.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest)) continue; // a function or an aggregation
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** Metric families a Prometheus exposition declares (# TYPE lines): name → type. */
export function exportedFamilies(exposition: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Whether a name a query uses is exported: the family itself, or a histogram/summary's series. */
export function isExported(name: string, families: Map<string, string>): boolean {
  if (families.has(name)) return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  return m !== null && ['histogram', 'summary'].includes(families.get(m[1]!) ?? '') && (m[2] !== 'bucket' || families.get(m[1]!) === 'histogram');
}
