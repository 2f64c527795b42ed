/**
 * `smppguard healthcheck`: asks a gateway on this host for /healthz on the port its configuration
 * names (the file and SMPPGUARD_* variables, as `start` reads them), over HTTPS when http.tls is
 * set. Exit 0 when it answers 200, 1 otherwise: the container's HEALTHCHECK, so a changed
 * http.port needs no second edit.
 */
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { Command as Program } from 'commander';
import { configFile } from '../config/env.js';
import { readConfig } from './one-shot.js';

export function registerHealthcheck(program: Program): void {
  program
    .command('healthcheck')
    .description("exit 0 if the gateway on this host answers /healthz on its configured http.port (the container's HEALTHCHECK)")
    .option('-c, --config <file>', 'configuration file (default $SMPPGUARD_CONFIG; SMPPGUARD_* variables apply as for start)')
    .option('--timeout-ms <ms>', 'give up after this long', '2000')
    .addHelpText('after', '\nExample:\n  $ SMPPGUARD_CONFIG=config/gateway.yaml smppguard healthcheck && echo healthy\n')
    .action(async (o: { config?: string; timeoutMs: string }) => {
      const r = readConfig(configFile(o.config, process.env));
      if ('error' in r) {
        process.stderr.write(`${r.error}\n`);
        process.exit(2);
      }
      const { http } = r.cfg;
      const host = http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host;
      const ok = await probe(http.tls ? 'https' : 'http', host, http.port, Number(o.timeoutMs));
      if (!ok) process.stderr.write(`no healthy answer from ${http.tls ? 'https' : 'http'}://${host}:${http.port}/healthz\n`);
      process.exit(ok ? 0 : 1);
    });
}

function probe(scheme: 'http' | 'https', host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    // A self-signed or private-CA certificate is expected here: only liveness is asked.
    const req = (scheme === 'https' ? httpsRequest : httpRequest)({ host, port, path: '/healthz', timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
