// Offline decode throughput through to JS typed arrays: reads the whole file in batches and touches
// every ASDU's smpCnt. Median of 5 runs (after one warm-up). Prints JSON.
//   node scripts/bench-decode.ts FILE [--batch-frames 1024] [--runs 5]
import { statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { monotonicNs, readCaptureFile } from '../src/native/index.ts';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'batch-frames': { type: 'string', default: '1024' }, runs: { type: 'string', default: '5' } },
});
const file = positionals[0];
if (file === undefined) {
  process.stderr.write('usage: node scripts/bench-decode.ts FILE [--batch-frames N] [--runs N]\n');
  process.exit(2);
}
const batchFrames = Number(opts['batch-frames']);
const runs = Number(opts.runs);

function once(): { ns: number; frames: number; asdus: number; check: number } {
  const t0 = monotonicNs();
  let frames = 0;
  let asdus = 0;
  let check = 0;
  for (const b of readCaptureFile(file!, { batchFrames })) {
    const smp = b.cols.smpCnt;
    for (let j = 0; j < b.asduTotal; j++) check = (check + smp[j]!) | 0;
    frames += b.count;
    asdus += b.asduTotal;
  }
  return { ns: Number(monotonicNs() - t0), frames, asdus, check };
}

once();
const results = Array.from({ length: runs }, once);
const sorted = [...results].sort((a, b) => a.ns - b.ns);
const med = sorted[Math.floor(sorted.length / 2)]!;
process.stdout.write(
  `${JSON.stringify({
    bench: 'decode',
    file: path.basename(file),
    bytes: statSync(file).size,
    batchFrames,
    runs,
    frames: med.frames,
    asdus: med.asdus,
    medianMs: Math.round(med.ns / 1e4) / 100,
    framesPerS: Math.round(med.frames / (med.ns / 1e9)),
    asdusPerS: Math.round(med.asdus / (med.ns / 1e9)),
    allRunsMs: results.map((r) => Math.round(r.ns / 1e4) / 100),
  })}\n`,
);
