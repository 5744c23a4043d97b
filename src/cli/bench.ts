// svde bench — performance figures as JSON (never asserted in tests). Decode throughput of a capture of
// ≥ 1 million frames, in C++ alone and through to JS typed arrays (ratio in the same run), the simulator's
// generation rate, and with --live the veth capture benchmark (loss, kernel drops, arrival-to-JS latency).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeBench, monotonicNs, readCaptureFile } from '../native/index.ts';
import { SoftwareVerifier } from '../crypto/software-verifier.ts';
import { deriveKeyPair, signatureToRaw, sm2Sign, SM2_DEFAULT_ID } from '../crypto/sm2.ts';

const HELP = `usage: svde bench [--file CAPTURE] [--seconds 32] [--rounds 5] [--live] [--live-seconds 30]

Without --file, generates 8 merging units × 4000 frames/s for --seconds (default 32 s = 1,024,000 frames)
with the simulator into a temporary file. Prints one JSON object.
`;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function jsDecodeOnce(file: string): { ns: number; frames: number; asdus: number } {
  const t0 = monotonicNs();
  let frames = 0;
  let asdus = 0;
  let check = 0;
  for (const b of readCaptureFile(file)) {
    const smp = b.cols.smpCnt;
    for (let j = 0; j < b.asduTotal; j++) check = (check + smp[j]!) | 0;
    frames += b.count;
    asdus += b.asduTotal;
  }
  if (check === 0.5) process.stdout.write(''); // keeps the loop from being optimised away
  return { ns: Number(monotonicNs() - t0), frames, asdus };
}

export async function benchCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        file: { type: 'string' },
        seconds: { type: 'string', default: '32' },
        rounds: { type: 'string', default: '5' },
        live: { type: 'boolean', default: false },
        'live-seconds': { type: 'string', default: '30' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`svde bench: ${(err as Error).message}\n${HELP}`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) {
    process.stderr.write('svde bench: --rounds must be an integer 1..100\n');
    return 2;
  }
  const result: Record<string, unknown> = { node: process.version, cpus: (await import('node:os')).cpus().length };
  let dir: string | undefined;
  let file = values.file;
  try {
    if (file === undefined) {
      dir = mkdtempSync(path.join(tmpdir(), 'svde-bench-'));
      file = path.join(dir, 'bay.pcap');
      const { simulateCommand } = await import('../../tools/sim/cli.ts');
      const write = process.stdout.write;
      process.stdout.write = () => true; // the simulator's summary line is not part of the bench JSON
      const t0 = monotonicNs();
      let code: number;
      try {
        code = await simulateCommand(['--out', file, '--mus', '8', '--duration', `${values.seconds}s`, '--vlan', '123:4', '--seed', '1']);
      } finally {
        process.stdout.write = write;
      }
      if (code !== 0) throw new Error('the simulator failed to generate the benchmark capture');
      const genNs = Number(monotonicNs() - t0);
      result['simulate'] = { seconds: Number(values.seconds), ms: Math.round(genNs / 1e6) };
    }
    const bytes = statSync(file).size;
    const cpp = decodeBench(file, rounds);
    const js: number[] = [];
    let frames = 0;
    let asdus = 0;
    jsDecodeOnce(file); // warm-up
    for (let r = 0; r < rounds; r++) {
      const once = jsDecodeOnce(file);
      js.push(once.ns);
      frames = once.frames;
      asdus = once.asdus;
    }
    const jsMedian = median(js);
    if (result['simulate'] !== undefined) {
      const sim = result['simulate'] as { ms: number };
      (result['simulate'] as Record<string, number>)['framesPerS'] = Math.round(frames / (sim.ms / 1000));
    }
    result['decode'] = {
      file: values.file === undefined ? 'generated: 8 MUs, 9-2LE 4I+4U, 1 ASDU, 1 VLAN tag' : path.basename(file),
      bytes,
      frames: cpp.frames,
      asdus: cpp.asdus,
      rounds,
      cppOnly: { medianMs: round2(cpp.medianNs / 1e6), framesPerS: Math.round(cpp.frames / (cpp.medianNs / 1e9)), nsPerFrame: round2(cpp.medianNs / cpp.frames) },
      toJsTypedArrays: { medianMs: round2(jsMedian / 1e6), framesPerS: Math.round(frames / (jsMedian / 1e9)), nsPerFrame: round2(jsMedian / frames), asdus },
      jsOverCpp: round2(jsMedian / cpp.medianNs),
    };
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  result['sm2'] = sm2Bench();
  if (values.live === true) {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts/bench-capture.ts'), '--duration', values['live-seconds']], { encoding: 'utf8' });
    result['live'] = r.status === 0 ? JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null') : { error: r.stderr.trim() || `exit ${r.status}` };
  }
  process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
  return 0;
}

/** SM2 verifies per second on one core: the addon (Node's OpenSSL) and @noble/curves, 1 s each. */
function sm2Bench(): Record<string, number> {
  const key = deriveKeyPair('bench');
  const msg = new Uint8Array(200).fill(7);
  const rs = signatureToRaw(sm2Sign(key, msg));
  const out: Record<string, number> = {};
  for (const path of ['native', 'noble'] as const) {
    const v = new SoftwareVerifier([{ keyId: 1, pub: key.pub, signerId: SM2_DEFAULT_ID, streams: [] }], path);
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 1000) {
      void v.verify(1, msg, rs);
      n++;
    }
    out[`${path}VerifiesPerS`] = Math.round(n / ((performance.now() - t0) / 1000));
  }
  return out;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
