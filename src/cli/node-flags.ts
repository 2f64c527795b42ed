/**
 * The V8 flags the gateway needs (docs/operations.md, "Node flags").
 *
 * `--max-semi-space-size=64`: a 64 MB young generation per semi-space (V8's default grows to
 * 16 MB). At saturation the gateway holds a window's worth of messages for tens of milliseconds;
 * with the default young generation a scavenge came every ~40 ms and copied the ~8 MB of them still
 * in flight, 22 % of the gateway's main thread. Measured both ways on the 2-core AMD EPYC bench
 * box, alternating in one sitting (bench/RESULTS.md, issue 23, session 15): at saturation −27 %
 * gateway CPU a message for (c) and −33 % for (d), ~30 % more msg/s; at a fixed 20,000 msg/s the
 * same p99 and CPU within the box's noise; 32 and 128 MB did worse than 64. The cost is up to
 * 3 × 64 MB more memory a process. (On a 2-core Intel Xeon box, session 13, it saved only ~5 % at
 * saturation.)
 *
 * `--initial-old-space-size=256`: no full collection before the old generation holds 256 MB. The
 * gateway keeps ~45 MB live there, and V8 sized its limit so close to that that, once the archive
 * writer's bursts ran, it went into runs of mark-compacts every 200–500 ms, each holding the event
 * loop 3–13 ms, for seconds at a time (bench (c) at a fixed 20,000 msg/s, 30 s runs: 28 against 3
 * in a run; p99 33 / 25 / 34 ms against 9 / 13 / 16 ms in three alternating pairs; session 17). The
 * cost is up to ~200 MB more memory a process before the old generation is collected.
 *
 * V8 sizes the heap when the process starts (v8.setFlagsFromString afterwards does not resize it),
 * so a flag listed here goes on the node command line: `npm start`, the Docker image's entrypoint
 * and the systemd unit carry it (test/cli/node-flags.test.ts checks), the workers' primary passes
 * what is listed to every worker it forks, and `smppguard start` warns when one is missing.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64', '--initial-old-space-size=256'];

/** The flag names in `flags` (without values) this process was not started with (command line or NODE_OPTIONS). */
export function missingNodeFlags(flags: readonly string[] = GATEWAY_NODE_FLAGS, execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map(flagName);
  return flags.filter((f) => !given.includes(flagName(f)));
}

/** "--max-semi-space-size=64" → "--max-semi-space-size" (V8 takes _ and - alike). */
function flagName(f: string): string {
  return f.split('=', 1)[0]!.replace(/_/g, '-');
}
