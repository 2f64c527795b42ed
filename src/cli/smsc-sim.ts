/**
 * `smppguard smsc-sim`: runs the SMSC simulator (src/sim) from the command line, prints one line
 * with its ports, and stops cleanly on SIGINT/SIGTERM.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { startSimulator, type SimulatorOptions } from '../sim/index.js';

interface SmscSimFlags {
  host: string;
  port: number;
  httpPort: number;
  http: boolean;
  systemId?: string;
  password?: string;
  idFormat: 'hex' | 'dec';
  receiptIdFormat: 'same' | 'dec' | 'upper-padded';
  receiptDelayMs: number;
  receiptSuccess: number;
  responseDelayMs: number;
  errorStatus: number;
  errorRatio: number;
  verbose?: boolean;
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port 0..65535');
  return n;
}

function parseMs(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected milliseconds >= 0');
  return n;
}

function parseRatio(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a ratio between 0 and 1');
  return n;
}

/** A command_status in decimal or hex (0x58). */
export function parseStatusArg(v: string): number {
  const t = v.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t.slice(2), 16) : /^[0-9]+$/.test(t) ? Number(t) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError('expected a status such as 0x58 or 88');
  return n;
}

function toOptions(f: SmscSimFlags): SimulatorOptions {
  return {
    host: f.host,
    port: f.port,
    httpPort: f.http ? f.httpPort : null,
    systemId: f.systemId,
    password: f.password,
    idFormat: f.idFormat,
    receiptIdFormat: f.receiptIdFormat,
    receiptDelayMs: f.receiptDelayMs,
    receiptSuccessRatio: f.receiptSuccess,
    responseDelayMs: f.responseDelayMs,
    errorStatus: f.errorStatus,
    errorRatio: f.errorRatio,
    log: f.verbose ? (msg, fields) => console.error(`smsc-sim: ${msg}`, fields ? JSON.stringify(fields) : '') : undefined,
  };
}

async function run(flags: SmscSimFlags): Promise<void> {
  const sim = await startSimulator(toOptions(flags));
  const http = sim.httpPort === null ? 'control API off' : `control API http://${flags.host}:${sim.httpPort}`;
  console.log(`smsc-sim: SMPP on ${flags.host}:${sim.port}, ${http}`);
  const stop = (signal: string) => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    console.log(`smsc-sim: ${signal}, stopping`);
    sim.close().then(
      () => void (process.exitCode = 0),
      (err: unknown) => {
        console.error('smsc-sim: error while stopping', err);
        process.exitCode = 1;
      },
    );
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
}

export function registerSmscSim(program: Command): void {
  program
    .command('smsc-sim')
    .description('run the SMSC simulator (SMPP server with receipts, MO injection and a control HTTP API)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'SMPP port', parsePort, 2776)
    .option('--http-port <n>', 'control HTTP API port', parsePort, 2777)
    .option('--no-http', 'disable the control HTTP API')
    .option('--system-id <id>', 'accept only binds with this system_id (default: any)')
    .option('--password <pw>', 'accept only binds with this password (default: any)')
    .addOption(new Option('--id-format <format>', 'message_id format in submit_sm_resp').choices(['hex', 'dec']).default('hex'))
    .addOption(
      new Option('--receipt-id-format <format>', 'how receipts quote the message id')
        .choices(['same', 'dec', 'upper-padded'])
        .default('same'),
    )
    .option('--receipt-delay-ms <ms>', 'delay before a delivery receipt', parseMs, 1000)
    .option('--receipt-success <ratio>', 'share of receipts with stat:DELIVRD', parseRatio, 1)
    .option('--response-delay-ms <ms>', 'delay before answering submit_sm', parseMs, 0)
    .option('--error-status <status>', 'status for the erroring share of submits (e.g. 0x58)', parseStatusArg, 0)
    .option('--error-ratio <ratio>', 'share of submits answered with --error-status (needs a non-zero --error-status)', parseRatio, 0)
    .option('--verbose', 'log connections and binds to stderr')
    .addHelpText('after', '\nExamples:\n  $ smppguard smsc-sim --port 2776 --http-port 2777\n  $ smppguard smsc-sim --receipt-delay-ms 200 --receipt-success 0.9 --error-status 0x58 --error-ratio 0.01\n')
    .action((flags: SmscSimFlags) => run(flags));
}
