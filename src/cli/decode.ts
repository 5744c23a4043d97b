// svde decode FILE — one JSON object per line per ASDU (SPEC §4). Malformed frames give
// {"frame":N,"error":"…"} and decoding goes on; the exit code is 0 unless the file cannot be read.
import process from 'node:process';
import { parseArgs } from 'node:util';
import { readCaptureFile, STATUS_NOT_SV, STATUS_TRUNCATED_ETHERNET } from '../native/index.ts';
import { asduRecords, frameError } from '../sv/asdu-record.ts';
import { LineWriter } from './line-writer.ts';

const HELP = `usage: svde decode FILE.pcap|FILE.pcapng

Decodes every IEC 61850-9-2 Sampled Values frame of a capture (classic pcap or pcapng, detected by
magic number) and prints one JSON object per line per ASDU. Non-SV frames are skipped; malformed SV
frames print {"frame":N,"ts":…,"error":"…"}.
`;

export async function decodeCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    process.stderr.write(`svde decode: ${(err as Error).message}\n${HELP}`);
    return 2;
  }
  if (parsed.values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    process.stderr.write(`svde decode: expected exactly one capture file\n${HELP}`);
    return 2;
  }
  const file = parsed.positionals[0]!;
  const out = new LineWriter(process.stdout);
  for (const batch of readCaptureFile(file)) {
    for (let i = 0; i < batch.count; i++) {
      // Frames that are not SV (GOOSE, ARP … in the same file), or too short to tell, are not part of the
      // output, as with tshark's `-Y sv` display filter.
      const st = batch.status(i);
      if (st === STATUS_NOT_SV || st === STATUS_TRUNCATED_ETHERNET) continue;
      const err = frameError(batch, i);
      if (err !== undefined) {
        out.line(JSON.stringify(err));
        continue;
      }
      for (const r of asduRecords(batch, i)) out.line(JSON.stringify(r));
    }
    if (out.closed) return 0; // reader went away (e.g. `| head`)
    await out.flushIfFull();
  }
  await out.end();
  return 0;
}
