/**
 * The V8 flags the gateway needs (docs/operations.md, "Node flags"): none today. A larger young
 * generation (`--max-semi-space-size=64`) was measured both ways on the 2-core bench box,
 * alternating in one sitting: the same added p99 at a fixed 20,000 msg/s for scenarios (b) and (c),
 * ~5 % less gateway CPU per message for (c) at saturation (bench/RESULTS.md, issue 23), for up to
 * 3 × 64 MB more memory. The default stays.
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
