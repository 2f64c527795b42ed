/** The order of a benchmark round's runs (run.ts). */
/**
 * A round's order: a scenario and its twin (the --baseline build's run, or the --compare variant)
 * swap places every other round, so that neither always runs first: a drift within a round (in
 * session 15 the first of a pair was the cheaper in five of six rounds, whichever build it was;
 * weak evidence on a box whose runs vary ±20 %, bench/RESULTS.md issue 23) then falls on both.
 */
export function roundOrder<T extends { id: string }>(scenarios: T[], round: number): T[] {
  if (round % 2 === 1) return scenarios;
  const out = [...scenarios];
  for (let i = 0; i + 1 < out.length; i++) {
    const [a, b] = [out[i]!, out[i + 1]!];
    if ((a.id.endsWith('@base') && b.id === a.id.replace(/@base$/, '')) || b.id === `${a.id}~`) {
      out[i] = b;
      out[i + 1] = a;
      i++;
    }
  }
  return out;
}
