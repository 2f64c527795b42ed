/**
 * The V8 flags the gateway runs with (docs/operations.md, "Node flags"). A young generation of
 * 64 MB a semi-space (V8's default tops out at 16 MB): scavenges a quarter as often, while what
 * they copy — the messages in flight — stays the same, so garbage collection costs less per
 * message and fewer of the gateway's answers wait behind a collection. Measured on the 2-core
 * bench box: about a fifth less gateway CPU per message in scenarios (b) and (c)
 * (bench/RESULTS.md, issue 23).
 *
 * V8 sizes the heap when the process starts (v8.setFlagsFromString afterwards does not resize it),
 * so these go on the node command line: `npm start`, the Docker image's NODE_OPTIONS, the systemd
 * unit; the workers' primary passes them to every worker it forks.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/** The flag names in `flags` (without values) this process was not started with (command line or NODE_OPTIONS). */
export function missingNodeFlags(flags: readonly string[] = GATEWAY_NODE_FLAGS, execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map(flagName);
  return flags.filter((f) => !given.includes(flagName(f)));
}

/** "--max-semi-space-size=64" → "--max-semi-space-size" (V8 takes _ and - alike). */
function flagName(f: string): string {
  return f.split('=', 1)[0]!.replace(/_/g, '-');
}
