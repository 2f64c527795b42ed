/**
 * `smppguard sim …`: drives a running SMSC simulator through its control API (src/sim/control-api.ts,
 * documented in docs/operations.md "The simulator's control API"):
 *   sim mo     inject a mobile-originated message (a user's reply) as the SMSC would deliver it
 *   sim stats  the simulator's counters
 */
import type { Command as Program } from 'commander';

interface ApiFlags {
  api: string;
}

async function call(api: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(new URL(path, api), {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
}

function fail(err: unknown): never {
  process.stderr.write(`smppguard sim: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}

export function registerSim(program: Program): void {
  const sim = program
    .command('sim')
    .description("drive a running SMSC simulator (smppguard smsc-sim) through its control API")
    .addHelpText('after', '\nExample:\n  $ smppguard sim mo --from 8613800138001 --to 1069001 --text TD\n');

  sim
    .command('mo')
    .description('inject an MO (a user\'s message to a sender number): the simulator delivers it to the gateway over SMPP')
    .option('--api <url>', 'the simulator control API; default $SMSC_SIM_API or http://127.0.0.1:2777', process.env.SMSC_SIM_API ?? 'http://127.0.0.1:2777')
    .requiredOption('-f, --from <msisdn>', 'the user (source_addr)')
    .requiredOption('-t, --to <addr>', 'the number replied to (destination_addr), e.g. a sender number')
    .requiredOption('--text <text>', 'message text (ASCII as data_coding 0, anything else as UCS-2)')
    .option('--data-coding <n>', 'force a data_coding (0..255)')
    .option('--json', 'print the API answer as JSON')
    .addHelpText('after', '\nExample:\n  $ smppguard sim mo --from 8613800138001 --to 1069001 --text TD     # an opt-out reply\n')
    .action(async (o: ApiFlags & { from: string; to: string; text: string; dataCoding?: string; json?: boolean }) => {
      const body: Record<string, unknown> = { source: o.from, destination: o.to, text: o.text };
      if (o.dataCoding !== undefined) body.dataCoding = Number(o.dataCoding);
      const r = await call(o.api, 'POST', '/mo', body).catch(fail);
      if (r.status !== 200) fail(`${r.status}: ${(r.json as { error?: string } | null)?.error ?? 'error'}`);
      const delivered = (r.json as { delivered: boolean }).delivered;
      process.stdout.write(o.json ? `${JSON.stringify(r.json)}\n` : delivered ? `MO ${o.from} -> ${o.to} delivered to a bound gateway\n` : `MO ${o.from} -> ${o.to} not delivered (no gateway bound to the simulator, or it refused)\n`);
      process.exitCode = delivered ? 0 : 1;
    });

  sim
    .command('stats')
    .description("the simulator's counters (binds, submits, receipts, MOs) as JSON")
    .option('--api <url>', 'the simulator control API; default $SMSC_SIM_API or http://127.0.0.1:2777', process.env.SMSC_SIM_API ?? 'http://127.0.0.1:2777')
    .addHelpText('after', '\nExample:\n  $ smppguard sim stats --api http://127.0.0.1:2777\n')
    .action(async (o: ApiFlags) => {
      const r = await call(o.api, 'GET', '/stats').catch(fail);
      if (r.status !== 200) fail(`${r.status}`);
      process.stdout.write(`${JSON.stringify(r.json, null, 2)}\n`);
    });
}
