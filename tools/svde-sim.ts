#!/usr/bin/env node
// svde-sim — the SV traffic simulator (merging units, attack scenarios with ground truth, the SCD of the
// simulated bay) as a command: `node tools/svde-sim.ts --help`. A development and test tool beside the
// appliance, not a subcommand of it.
import process from 'node:process';
import { simulateCommand } from './sim/cli.ts';

simulateCommand(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`svde-sim: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
