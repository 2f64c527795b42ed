#!/usr/bin/env node
/**
 * The `smppguard` executable: parses argv with the command tree of cli/program.ts (where each
 * subcommand is listed).
 */
import { buildProgram } from './program.js';

buildProgram()
  .parseAsync()
  .catch((err) => {
    process.stderr.write(`smppguard: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
