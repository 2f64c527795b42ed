/**
 * The V8 flags the gateway needs (docs/operations.md, "Node flags"): none today. A larger young
 * generation (`--max-semi-space-size=64`) was measured both ways on the 2-core bench box: about a
 * fifth less gateway CPU per message at saturation (closed loop), but at a fixed 20,000 msg/s each
 * scavenge copies more and lasts longer, and the added p99 of scenario (b) went from +12–18 ms
 * with V8's default to +34–52 ms (bench/RESULTS.md, issue 23). An inline gateway is judged by
 * its tail at the rate it carries, so the default stays; an operator who runs at saturation may
 * set the flag (NODE_OPTIONS).
 *
 * V8 sizes the heap when the process starts (v8.setFlagsFromString afterwards does not resize it),
 * so a flag listed here goes on the node command line; the workers' primary passes what is listed
 * to every worker it forks, and `smppguard start` warns when one is missing.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = [];

/** The flag names in `flags` (without values) this process was not started with (command line or NODE_OPTIONS). */
export function missingNodeFlags(flags: readonly string[] = GATEWAY_NODE_FLAGS, execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map(flagName);
  return flags.filter((f) => !given.includes(flagName(f)));
}

/** "--max-semi-space-size=64" → "--max-semi-space-size" (V8 takes _ and - alike). */
function flagName(f: string): string {
  return f.split('=', 1)[0]!.replace(/_/g, '-');
}
