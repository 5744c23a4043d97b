// The prologue every svde command shares: parse the options, print the usage for -h/--help (exit 0), and for
// an unknown or malformed option print the reason and the usage on stderr (exit 2).
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>>;

export type CommandArgs<O extends Options> = { values: Parsed<O>['values']; positionals: string[] } | { exit: number };

export function commandArgs<O extends Options>(
  command: string,
  help: string,
  argv: string[],
  options: O,
  allowPositionals = false,
): CommandArgs<O> {
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } } as O,
      allowPositionals: allowPositionals as true,
    });
  } catch (err) {
    process.stderr.write(`svde ${command}: ${(err as Error).message}\n${help}`);
    return { exit: 2 };
  }
  if ((parsed.values as Record<string, unknown>)['help'] === true) {
    process.stdout.write(help);
    return { exit: 0 };
  }
  return { values: parsed.values, positionals: parsed.positionals };
}
