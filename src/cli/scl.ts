// svde scl FILE.scd — the stream table and accept list derived from an SCL file, as JSON (SPEC §4).
// Warnings about the file go into the JSON and, one per line, to stderr; a file that is not readable SCL,
// or a configuration that does not fit it, exits 1 with the precise reason.
import process from 'node:process';
import { parseArgs } from 'node:util';
import { importSclFile } from '../scl/import.ts';
import { SclParseError, DEFAULT_XML_LIMITS } from '../scl/xml.ts';
import type { SclImport } from '../scl/model.ts';
import { ConfigError, loadConfigFile } from '../config/load.ts';
import type { BoundStream } from '../config/load.ts';

const HELP = `usage: svde scl FILE.scd|.cid|.icd [--config FILE] [--strict] [--compact] [--max-bytes N]

Imports an IEC 61850-6 SCL file (editions 2003, 2007A, 2007B, 2007B4) and prints, as one JSON object:
the edition, every SampledValueControl with its address (MAC, APPID, VLAN) and dataset (members in
order, leaf types, scaling, channel set), the accept list, and the warnings about the file.

  --config FILE   also validate a configuration file against this SCL file; its settings per stream
                  (accepted source MACs, signing, role, bay, protection) are added to the output
  --strict        exit 3 when the file has warnings
  --compact       one-line JSON
  --max-bytes N   refuse SCL files larger than N bytes (default ${DEFAULT_XML_LIMITS.maxBytes})
`;

export interface SclIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export interface SclOutput extends SclImport {
  settings?: {
    key: string;
    configIndex: number | null;
    acceptedSourceMacs: string[];
    signed: BoundStream['signed'];
    role: string;
    bay: string | null;
    protection: BoundStream['protection'];
  }[];
}

/** The command with its output streams injectable (tests capture them). Returns the exit code. */
export function runScl(argv: string[], io: SclIo): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        config: { type: 'string' },
        strict: { type: 'boolean' },
        compact: { type: 'boolean' },
        'max-bytes': { type: 'string' },
      },
    });
  } catch (err) {
    io.err(`svde scl: ${(err as Error).message}\n${HELP}`);
    return 2;
  }
  if (parsed.values.help === true) {
    io.out(HELP);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    io.err(`svde scl: expected exactly one SCL file\n${HELP}`);
    return 2;
  }
  const file = parsed.positionals[0]!;
  let maxBytes = DEFAULT_XML_LIMITS.maxBytes;
  if (parsed.values['max-bytes'] !== undefined) {
    maxBytes = Number(parsed.values['max-bytes']);
    if (!Number.isInteger(maxBytes) || maxBytes <= 0) {
      io.err(`svde scl: --max-bytes must be a positive integer (got ${parsed.values['max-bytes']})\n`);
      return 2;
    }
  }
  let result: SclOutput;
  try {
    result = importSclFile(file, { limits: { maxBytes } });
    if (parsed.values.config !== undefined) {
      const loaded = loadConfigFile(parsed.values.config, { scl: result });
      result.settings = loaded.streams.map((b) => ({
        key: b.scl.key,
        configIndex: b.configIndex,
        acceptedSourceMacs: b.acceptedSourceMacs,
        signed: b.signed,
        role: b.role,
        bay: b.bay,
        protection: b.protection,
      }));
    }
  } catch (e) {
    if (e instanceof SclParseError || e instanceof ConfigError) {
      io.err(`svde scl: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  io.out(JSON.stringify(result, null, parsed.values.compact === true ? undefined : 2) + '\n');
  for (const w of result.warnings) io.err(`${file}:${w.line ?? '?'}: warning [${w.code}] ${w.message}\n`);
  if (result.warnings.length > 0) io.err(`svde scl: ${result.streams.length} streams, ${result.warnings.length} warnings\n`);
  return parsed.values.strict === true && result.warnings.length > 0 ? 3 : 0;
}

export async function sclCommand(argv: string[]): Promise<number> {
  return runScl(argv, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
}
