// svde export --db FILE --alarm ID --format pcap|comtrade|comtrade-binary --out PATH — alarm evidence as
// pcap (raw frames) or COMTRADE 2013 (samples); --list prints the alarms as JSON lines.
import { writeFileSync } from 'node:fs';
import process from 'node:process';
import { commandArgs } from './args.ts';
import { ExportError, exportComtrade, exportPcap } from '../export/index.ts';
import { EvidenceStore, StoreError } from '../store/store.ts';

const HELP = `usage: svde export --db FILE --alarm ID --format pcap|comtrade|comtrade-binary|comtrade-binary32 --out PATH
       svde export --db FILE --list

Exports the forensic evidence of one alarm from the appliance's evidence store.
  --format pcap              the raw frames (nanosecond pcap), for Wireshark
  --format comtrade          IEEE C37.111-2013, ASCII: writes PATH.cfg and PATH.dat (PATH without extension)
  --format comtrade-binary   the same with a BINARY (16-bit) .dat
  --format comtrade-binary32 the same with a BINARY32 .dat (every raw value exact)
  --cff                      COMTRADE as one 2013 single file (PATH.cff) instead of .cfg + .dat
  --channels IA,IB,…         COMTRADE: only these channels
  --list                     the alarms in the store, one JSON object per line (newest first)
Exit codes: 0 done, 1 the alarm has no evidence or the store cannot be read, 2 bad arguments or no such alarm.
`;

const fail = (msg: string, code = 2): number => {
  process.stderr.write(`svde export: ${msg}\n`);
  return code;
};

export async function exportCommand(argv: string[]): Promise<number> {
  const parsed = commandArgs('export', HELP, argv, {
    db: { type: 'string' },
    alarm: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    channels: { type: 'string' },
    cff: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
  });
  if ('exit' in parsed) return parsed.exit;
  const o = parsed.values;
  if (o.db === undefined) return fail(`--db FILE is required\n${HELP}`);
  if (!o.list) {
    if (o.alarm === undefined) return fail('--alarm ID is required (or --list)');
    if (!/^[1-9]\d{0,14}$/.test(o.alarm)) return fail(`--alarm must be a positive integer, got '${o.alarm}'`);
    if (o.format === undefined) return fail('--format pcap|comtrade|comtrade-binary|comtrade-binary32 is required');
    if (!['pcap', 'comtrade', 'comtrade-binary', 'comtrade-binary32'].includes(o.format))
      return fail(`unknown --format '${o.format}' (pcap, comtrade, comtrade-binary, comtrade-binary32)`);
    if (o.out === undefined) return fail('--out PATH is required');
  }
  const { existsSync } = await import('node:fs');
  if (!existsSync(o.db)) return fail(`${o.db}: no such file`, 1);
  let store: EvidenceStore;
  try {
    store = new EvidenceStore({ path: o.db, retentionEveryMs: 0, writer: 'inline' });
  } catch (err) {
    return fail(err instanceof StoreError ? err.message : `${o.db}: ${(err as Error).message}`, 1);
  }
  try {
    if (o.list) {
      let cursor: string | null = null;
      do {
        const page = store.listAlarms({ limit: 500, ...(cursor !== null ? { cursor } : {}) });
        for (const a of page.items) process.stdout.write(JSON.stringify(a) + '\n');
        cursor = page.next;
      } while (cursor !== null);
      return 0;
    }
    const id = Number(o.alarm);
    const out = o.out!;
    if (o.format === 'pcap') {
      const bytes = exportPcap(store, id);
      if (bytes === undefined) return fail(`no alarm ${id} in ${o.db}`);
      writeFileSync(out, bytes);
      store.markExported(id);
      process.stderr.write(`svde export: alarm ${id}: ${out}\n`);
      return 0;
    }
    const channels = o.channels
      ?.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const rec = exportComtrade(store, id, {
      format: o.format === 'comtrade' ? 'ascii' : o.format === 'comtrade-binary' ? 'binary' : 'binary32',
      ...(channels !== undefined ? { channels } : {}),
    });
    if (rec === undefined) return fail(`no alarm ${id} in ${o.db}`);
    const base = out.replace(/\.(cfg|dat|cff)$/i, '');
    if (o.cff) {
      writeFileSync(`${base}.cff`, rec.cff);
      process.stderr.write(`svde export: alarm ${id}: ${base}.cff (${rec.samples} samples)\n`);
    } else {
      writeFileSync(`${base}.cfg`, rec.cfg);
      writeFileSync(`${base}.dat`, rec.dat);
      process.stderr.write(
        `svde export: alarm ${id}: ${base}.cfg, ${base}.dat (${rec.samples} samples${rec.skippedFrames > 0 ? `, ${rec.skippedFrames} frames without samples skipped` : ''})\n`,
      );
    }
    store.markExported(id);
    return 0;
  } catch (err) {
    if (err instanceof ExportError && /unknown channel|no channel/.test(err.message)) return fail(err.message, 2);
    if (err instanceof ExportError || err instanceof StoreError) return fail(err.message, 1);
    return fail((err as Error).message, 1);
  } finally {
    store.close();
  }
}
