/**
 * cli/: the `smppguard` command. Each subcommand is a thin adapter over a module:
 *   start        run the gateway (gateway.ts); with workers: N, a primary and N gateway workers (workers.ts);
 *                the archive writer as the gateway's child process (archive-child.ts)
 *   smsc-sim     run the SMSC simulator (sim/)
 *   demo         gateway + simulator + private Redis + a demo ESME, showing traffic flow (cli/demo.ts)
 *   hash-password  print the scrypt hash an account's password_hash needs
 *   import       bulk policy data and complaint files (cli/import.ts)
 *   rules        check and test rule packs (cli/rules.ts)
 *   evidence     a recipient's consent journal and decisions (cli/evidence.ts)
 *   complaints   complaint cases as a table or JSON (cli/complaints.ts)
 *   archive      the decision archive writer on its own (cli/archive.ts)
 *   model        split, train and test the learned content score; export the gateway's labels (cli/model.ts)
 *   config       check a config file offline (cli/config.ts)
 *   healthcheck  probe a running gateway's /healthz (cli/healthcheck.ts)
 *   send         bind as an account and submit test messages (cli/send.ts)
 *   sim          drive a running simulator: inject an MO, read its counters (cli/sim.ts)
 *   explain      what the running gateway would do with a message, and why (cli/explain.ts)
 * Every command's --help ends with a working example (test/cli/help.test.ts checks there is one).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Command as Program } from 'commander';
import { workerCount, workerProblems } from '../config/workers.js';
import { runPrimary, workerPlace, WorkerLink } from './workers.js';
import { ArchiveChild } from './archive-child.js';
import { writerPlace } from '../archive/service.js';
import { missingNodeFlags } from './node-flags.js';
import { loadConfig, ConfigError } from '../config/load.js';
import { ConfigWatch } from '../config/watch.js';
import { registerConfig } from './config.js';
import { ENV_PREFIX, configFile, hasEnvConfig } from '../config/env.js';
import { Gateway } from '../gateway.js';
import { hashPassword } from '../upstream/password.js';
import { ShiftedClock } from '../session/clock.js';
import { createLogger, stdoutDrained } from '../telemetry/log.js';
import { registerSmscSim } from './smsc-sim.js';
import { registerDemo } from './demo.js';
import { registerImport } from './import.js';
import { registerRules } from './rules.js';
import { registerEvidence } from './evidence.js';
import { registerArchive } from './archive.js';
import { registerModel } from './model.js';
import { registerHealthcheck } from './healthcheck.js';
import { registerSend } from './send.js';
import { registerSim } from './sim.js';
import { registerExplain } from './explain.js';
import { registerComplaints } from './complaints.js';

/** How long after the drain timeout a stopping gateway exits anyway (docs/security.md). */
const SHUTDOWN_GRACE_MS = 5000;


/** The version in package.json (next to dist/ in a checkout, an npm install and the image). */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The whole `smppguard` command tree (main.ts parses argv with it; test/cli/help.test.ts walks it). */
export function buildProgram(): Program {
  const program = new Program('smppguard')
    .description('Carrier-side inline SMS filtering gateway (SMPP proxy)')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .addHelpText('after', '\nExamples:\n  $ smppguard demo                                   # the quick-start story on this machine\n  $ smppguard start --config config/gateway.yaml\n  $ smppguard send --help                            # every command has --help with an example\n');

  program
    .command('start')
    .description('run the gateway')
    .option('-c, --config <file>', 'configuration file (YAML; default $SMPPGUARD_CONFIG); SMPPGUARD_* environment variables override it, or replace it when there is none (docs/operations.md)')
    .option(
      '--clock-offset-ms <ms>',
      'shift the gateway clock by this many ms (benchmarks, rehearsals: time windows, rate windows and validity as at another time; never in production)',
    )
    .addHelpText('after', '\nExamples:\n  $ smppguard start --config config/gateway.yaml\n  $ SMPPGUARD_REDIS__URL=redis://10.0.0.5:6379 smppguard start -c config/gateway.yaml   # the environment overrides the file\n')
    .action(async (o: { config?: string; clockOffsetMs?: string }) => {
      let cfg;
      let file: string | null | undefined;
      try {
        if (o.config === undefined && !hasEnvConfig(process.env)) {
          process.stderr.write(`give --config <file>, or the configuration as ${ENV_PREFIX}* environment variables (docs/operations.md, Configuration from the environment)\n`);
          process.exit(2);
        }
        file = configFile(o.config, process.env);
        cfg = loadConfig(file);
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`${err.message}\n`);
          process.exit(2);
        }
        throw err;
      }
      const offset = o.clockOffsetMs === undefined ? 0 : Number(o.clockOffsetMs);
      if (!Number.isSafeInteger(offset)) {
        process.stderr.write(`--clock-offset-ms needs a whole number of ms, got ${o.clockOffsetMs}\n`);
        process.exit(2);
      }
      // workers: N — this process is the primary (forks the workers, runs no gateway) or one of them.
      const place = workerPlace();
      const count = place ? place.count : workerCount(cfg.workers, availableParallelism());
      if (!place && count > 1) {
        const problems = workerProblems(cfg, count);
        if (problems.length > 0) {
          process.stderr.write(`${problems.join('\n')}\n`);
          process.exit(2);
        }
        runPrimary(count, createLogger(cfg.log.level).child({ role: 'primary' }), cfg.shutdown.drain_timeout_ms + SHUTDOWN_GRACE_MS + 2000);
        return;
      }
      // SIGTERM/SIGINT are ours from here: one that comes while the gateway starts (it may already
      // listen) stops it as soon as it has started, gracefully, instead of killing it mid-start.
      let onStop: ((signal: string) => void) | null = null;
      let stopSignal: string | null = null;
      const signalled = (signal: string) => {
        if (onStop) return onStop(signal);
        if (stopSignal !== null) return;
        stopSignal = signal;
        // A start that hangs (a peer, Redis) still ends within the shutdown's bound.
        setTimeout(() => process.exit(1), cfg.shutdown.drain_timeout_ms + SHUTDOWN_GRACE_MS).unref();
      };
      process.on('SIGTERM', () => signalled('SIGTERM'));
      process.on('SIGINT', () => signalled('SIGINT'));
      // After the handlers: a signal sent on seeing this line (a test, a supervisor) is ours.
      const missing = missingNodeFlags();
      if (missing.length > 0) {
        createLogger(cfg.log.level).warn(
          { missing },
          'node started without the gateway\'s V8 flags: expect more CPU per message and longer GC pauses (docs/operations.md, Node flags)',
        );
      }
      // The archive writer in a process of its own (archive.child_process); under workers: N, worker
      // 0's. Started before the gateway: forking a process with the gateway's heap held its event
      // loop for 15–30 ms, and the writer's start is most of a second of CPU (niced or not, forked
      // after the gateway listened it stretched its first seconds of traffic into stalls of
      // 100–300 ms; bench/RESULTS.md, session 18).
      const archiveChild =
        writerPlace(cfg) === 'child' && (place === null || place.index === 0)
          ? new ArchiveChild(file ?? null, cfg.archive.nice, createLogger(cfg.log.level).child({ role: 'archive', ...(place ? { worker: place.index } : {}) }))
          : null;
      archiveChild?.start();
      const link = place ? new WorkerLink() : null;
      const gw = await Gateway.start(cfg, {
        ...(offset === 0 ? {} : { clock: new ShiftedClock(offset) }),
        ...(place && link
          ? {
              worker: place,
              log: createLogger(cfg.log.level).child({ worker: place.index }),
              metricsText: () => link.metrics(),
              readiness: (own) => link.readiness(own),
            }
          : {}),
      });
      archiveChild?.attach(gw.metrics);
      if (link) {
        link.serve(gw.metrics.registry);
        link.answerWith(() => gw.readiness());
        link.up();
      }
      if (offset !== 0) gw.log.warn({ clock_offset_ms: offset }, 'gateway clock shifted (--clock-offset-ms)');
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        gw.log.info({ signal }, 'signal received: graceful shutdown');
        // Whatever hangs (a peer, Redis), the process ends within the drain timeout plus a few seconds.
        setTimeout(() => process.exit(1), cfg.shutdown.drain_timeout_ms + SHUTDOWN_GRACE_MS).unref();
        // The archive child finishes its batch meanwhile; one still at it when the gateway's bound is near is killed.
        Promise.all([gw.stop(), archiveChild?.stop(cfg.shutdown.drain_timeout_ms + SHUTDOWN_GRACE_MS - 1000)]).then(
          // The last log lines, if stdout takes them soon (a pipe nobody reads does not hold the exit).
          () => stdoutDrained(2000).then(() => process.exit(0)),
          () => process.exit(1),
        );
      };
      // Live reconfiguration: the config file on SIGHUP and whenever it changes (docs/routing.md "Reload");
      // a gateway configured from the environment alone has no file to re-read.
      const cfgFile = file ?? null;
      const watch =
        cfgFile === null
          ? null
          : new ConfigWatch(cfgFile, () => {
              gw.log.info({ file: cfgFile }, 'config file changed: reloading');
              gw.reloadConfig(cfgFile);
            }, (err) => gw.log.error({ file: cfgFile, err: err.message }, 'config: cannot watch the file; reload with SIGHUP'));
      watch?.start();
      process.on('SIGHUP', () => {
        gw.log.info('SIGHUP: reloading the config, rules and TLS certificates');
        watch?.seen();
        if (cfgFile !== null) gw.reloadConfig(cfgFile);
        gw.reloadRules();
        gw.reloadCertificates();
      });
      process.on('SIGUSR2', () => {
        gw.log.info('SIGUSR2: reopening the audit log');
        gw.reopenLogs();
      });
      onStop = stop;
      if (stopSignal !== null) stop(stopSignal);
    });

  program
    .command('hash-password')
    .description('print a password_hash for an account (reads the password from the argument or stdin)')
    .argument('[password]')
    .addHelpText('after', "\nExamples:\n  $ smppguard hash-password 's3cret'\n  $ printf '%s' \"$PW\" | smppguard hash-password     # keeps it out of the shell history\n")
    .action(async (pw?: string) => {
      let password = pw;
      if (password === undefined) {
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
      }
      if (password.length > 8) process.stderr.write('warning: SMPP 3.4 passwords are at most 8 characters\n');
      process.stdout.write(`${await hashPassword(password)}\n`);
    });

  registerSmscSim(program);
  registerDemo(program);
  registerImport(program);
  registerRules(program);
  registerEvidence(program);
  registerArchive(program);
  registerModel(program);
  registerConfig(program);
  registerHealthcheck(program);
  registerSend(program);
  registerSim(program);
  registerExplain(program);
  registerComplaints(program);
  return program;
}
