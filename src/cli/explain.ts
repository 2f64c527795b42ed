/**
 * `smppguard explain`: asks a running gateway's admin API (POST /api/v1/explain) what it would do
 * with a message, and why — optionally as at another time (`--at`, RFC 3339: "what if it were
 * 10:00?") — and prints the decision and the trace of every check. Nothing is sent.
 */
import type { Command as Program } from 'commander';

interface ExplainFlags {
  url: string;
  tokenEnv: string;
  account: string;
  from: string;
  to: string;
  text?: string;
  serviceType?: string;
  sourceTon?: string;
  destTon?: string;
  at?: string;
  json?: boolean;
}

export function registerExplain(program: Program): void {
  program
    .command('explain')
    .description('what the running gateway would do with a message, and why (admin API; nothing is sent)')
    .option('--url <url>', "the gateway's HTTP address (http.host/port); default $GW or http://127.0.0.1:9090", process.env.GW ?? 'http://127.0.0.1:9090')
    .option('--token-env <name>', 'environment variable holding an admin API token (any role)', 'ADMIN_TOKEN')
    .requiredOption('-a, --account <system_id>', 'the account the message would be submitted on')
    .requiredOption('-f, --from <addr>', 'source_addr')
    .requiredOption('-t, --to <addr>', 'destination_addr')
    .option('--text <text>', 'message text')
    .option('--service-type <type>', 'service_type')
    .option('--source-ton <n>', 'source_addr_ton (default 1; 5 = alphanumeric)')
    .option('--dest-ton <n>', 'dest_addr_ton (default 1)')
    .option('--at <time>', 'decide as at this RFC 3339 time, e.g. 2026-12-05T10:00:00+08:00 (default: now)')
    .option('--json', 'print the API answer as JSON')
    .addHelpText(
      'after',
      `
Example (an admin API token in $ADMIN_TOKEN; the gateway at $GW or http://127.0.0.1:9090):
  $ smppguard explain -a demo -f 1069001 --source-ton 0 -t 8613800138001 --text "【DemoShop】Sale, reply TD to stop" --at 2026-12-05T10:00:00+08:00
`,
    )
    .action(async (o: ExplainFlags) => {
      const token = process.env[o.tokenEnv];
      if (!token) {
        process.stderr.write(`put an admin API token in $${o.tokenEnv} (or name another variable with --token-env)\n`);
        process.exit(2);
      }
      const body: Record<string, unknown> = { account: o.account, source_addr: o.from, destination_addr: o.to };
      if (o.text !== undefined) body.text = o.text;
      if (o.serviceType !== undefined) body.service_type = o.serviceType;
      if (o.sourceTon !== undefined) body.source_addr_ton = Number(o.sourceTon);
      if (o.destTon !== undefined) body.dest_addr_ton = Number(o.destTon);
      if (o.at !== undefined) body.at = o.at;
      let res: Response;
      try {
        res = await fetch(new URL('/api/v1/explain', o.url), {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
      } catch (err) {
        process.stderr.write(`smppguard explain: cannot reach ${o.url}: ${(err as Error).message}\n`);
        process.exit(2);
      }
      const answer = (await res.json()) as Record<string, unknown>;
      if (res.status !== 200) {
        process.stderr.write(`smppguard explain: ${res.status} ${String(answer.error ?? '')}: ${String(answer.message ?? '')}\n`);
        process.exit(2);
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
        return;
      }
      const a = answer as { action: string; reason: string; status: number; status_name: string; rule: string; explanation: string; release_at?: string; trace: string[] };
      const lines = [
        `decision   ${a.action}${a.release_at ? ` (release at ${a.release_at})` : ''}`,
        `reason     ${a.reason}: ${a.explanation}`,
        `status     ${a.status_name} (0x${a.status.toString(16).padStart(2, '0')})`,
        `rule       ${a.rule}`,
        'trace',
        ...a.trace.map((t) => `  ${t}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
