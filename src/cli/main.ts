#!/usr/bin/env node
// svde — the command line of the appliance. The only dispatcher: each subcommand lives in its own module
// and is loaded lazily so `svde decode` does not pay for the web server, SQLite or the chip driver.
import { SvdeError } from '../model/errors.ts';
import process from 'node:process';

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  run: {
    summary: 'run the appliance (without --config: the embedded demo)',
    load: async () => (await import('./run.ts')).runCommand,
  },
  decode: {
    summary: 'decode a pcap/pcapng file: one JSON line per ASDU',
    load: async () => (await import('./decode.ts')).decodeCommand,
  },
  analyze: {
    summary: 'offline detection over a capture: one JSON line per alarm, then a summary',
    load: async () => (await import('./analyze.ts')).analyzeCommand,
  },
  learn: {
    summary: 'commissioning: propose accepted source MACs per stream from clean traffic (pcap or live), as JSON',
    load: async () => (await import('./learn.ts')).learnCommand,
  },
  scl: {
    summary: 'stream table and accept list from an SCL file, as JSON',
    load: async () => (await import('./scl.ts')).sclCommand,
  },
  keys: {
    summary: 'the MU key store: list, import (SPKI key or X.509 certificate checked against a CA), revoke',
    load: async () => (await import('./keys.ts')).keysCommand,
  },
  export: {
    summary: 'export alarm evidence from the evidence store as pcap or COMTRADE',
    load: async () => (await import('./export.ts')).exportCommand,
  },
  tokens: {
    summary: 'API bearer tokens with roles: add (shown once), list, revoke',
    load: async () => (await import('./tokens.ts')).tokensCommand,
  },
  bench: {
    summary: 'performance figures as JSON',
    load: async () => (await import('./bench.ts')).benchCommand,
  },
};

// Planned subcommands of SPEC §4 that later work delivers; named here so `svde help` is honest about them.
const planned: Record<string, string> = {};

function usage(): string {
  const lines = ['usage: svde <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  for (const [name, s] of Object.entries(planned)) lines.push(`  ${name.padEnd(10)} ${s} — not available in this build`);
  lines.push('', 'svde <command> --help shows the options of a command.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const cmd = commands[name];
  if (cmd === undefined) {
    if (name in planned) {
      process.stderr.write(`svde: '${name}' is not available in this build yet (${planned[name]})\n`);
    } else {
      process.stderr.write(`svde: unknown command '${name}'\n\n${usage()}\n`);
    }
    return 2;
  }
  return (await cmd.load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // A coded refusal names its code (what to act on).
    const text = err instanceof SvdeError ? `error [${err.code}]: ${err.message}` : err instanceof Error ? err.message : String(err);
    process.stderr.write(`svde: ${text}\n`);
    process.exitCode = 1;
  },
);
