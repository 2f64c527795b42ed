/**
 * The SMSC simulator as a bench child process: `node dist/bench/sim-proc.js --json '{...SimulatorOptions}'`.
 * Prints one `{"ready":true,"port":N,"httpPort":N|null}` line on stdout once listening (port 0 = any free port) and
 * closes on SIGTERM/SIGINT, and with --watch-stdin also when its parent goes away (stdin closes).
 */
import { startSimulator, type SimulatorOptions } from '../src/sim/index.js';

const i = process.argv.indexOf('--json');
const opts: SimulatorOptions = { port: 0, httpPort: null, ...(i >= 0 ? (JSON.parse(process.argv[i + 1] ?? '{}') as object) : {}) };

try {
  const sim = await startSimulator(opts);
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    sim.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Started by run.ts with --watch-stdin: an orphaned simulator exits when the harness dies.
  if (process.argv.includes('--watch-stdin')) process.stdin.on('end', stop).on('close', stop).resume();
  process.stdout.write(JSON.stringify({ ready: true, port: sim.port, httpPort: sim.httpPort }) + '\n');
} catch (err) {
  process.stdout.write(JSON.stringify({ ready: false, error: err instanceof Error ? err.message : String(err) }) + '\n');
  process.exit(1);
}
