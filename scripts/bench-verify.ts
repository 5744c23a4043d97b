#!/usr/bin/env node
// Signature coverage and verdict latency for 8 signed streams at 4800 frames/s each (38,400 frames/s), block mode
// (B = 80) and per-frame mode, through (a) the chip emulator behind a socat pty (production driver and serial
// transport, policy none so that saturation shows as queue drops), (b) the native software verifier on its
// worker thread (what startVerification uses without a chip) and inline on the detection thread, (c) the
// noble software verifier (inline). The capture is replayed at its true rate (frames handed to the signature stage when
// their capture time comes, in batches of 32 = 0.83 ms of traffic), so a verifier that cannot keep up shows as
// queue drops (chip) or as a replay that falls behind (software verifies synchronously on the detection thread).
//   coverage   frames whose signature got a verdict within --deadline-ms of their capture time / frames offered
//   latency    frame capture time → verdict (block mode: includes waiting for the block end, up to 79 frames)
//   drops      frames refused by a full queue or given up at the worker's deadline (policy none: unverified)
//   cpu        this process's user+system CPU seconds per traffic second (and the emulator's, for the chip)
// The emulator and socat run at nice -10 when permitted (the chip is separate hardware). Prints one JSON object. The software paths stop feeding once the replay lags --max-lag-s behind real time; the
// frames not fed count as without a verdict.
//   node scripts/bench-verify.ts [--block-seconds 5] [--frame-seconds 1] [--paths chip:921600,chip:3000000,native,native-inline,noble]
//                                [--modes block,frame] [--deadline-ms 1000] [--max-lag-s 5]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPtyEmulator, type PtyEmulator } from '../tools/chip/pty-emulator.ts';
import { KeyStore } from '../src/crypto/keystore.ts';
import { deriveKeyPair, signatureToRaw, SM2_DEFAULT_ID, sm2Sign } from '../src/crypto/sm2.ts';
import { SoftwareVerifier } from '../src/crypto/software-verifier.ts';
import { startVerification, type Verification } from '../src/crypto/verification.ts';
import { Pipeline } from '../src/detect/pipeline.ts';
import type { FrameContext, Stage } from '../src/detect/stage.ts';
import { SignatureStage } from '../src/detect/stages/signature.ts';
import { type SignatureVerifier } from '../src/model/signature.ts';
import { StreamRegistry } from '../src/detect/streams.ts';
import { readCaptureFile } from '../src/native/index.ts';
import { expectedStreamsOfTruth, signedStreamsOfTruth } from '../tools/sim/expected.ts';
import type { GroundTruth } from '../tools/sim/truth.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    'block-seconds': { type: 'string' },
    'frame-seconds': { type: 'string' },
    paths: { type: 'string' },
    modes: { type: 'string' },
    'deadline-ms': { type: 'string' },
    'max-lag-s': { type: 'string' },
  },
});
const seconds = { block: Number(values['block-seconds'] ?? 5), frame: Number(values['frame-seconds'] ?? 1) };
const paths = (values.paths ?? 'chip:921600,chip:3000000,native,native-inline,noble').split(',');
const modes = (values.modes ?? 'block,frame').split(',') as Array<'block' | 'frame'>;
const deadlineMs = Number(values['deadline-ms'] ?? 1000);
const maxLagMs = Number(values['max-lag-s'] ?? 5) * 1000;
const MUS = 8;
const RATE = 4800;
const B = 80;

const pct = (xs: Float64Array, q: number): number | null => {
  if (xs.length === 0) return null;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const round = (v: number | null, d = 2): number | null => (v === null ? null : Math.round(v * 10 ** d) / 10 ** d);

function procCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

const dir = mkdtempSync(path.join(tmpdir(), 'svde-bench-verify-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function capture(mode: 'block' | 'frame'): { file: string; truth: GroundTruth; keyStore: string } {
  const file = path.join(dir, `${mode}.pcap`);
  execFileSync(
    process.execPath,
    [
      path.join(root, 'tools/svde-sim.ts'),
      '--out',
      file,
      '--mus',
      String(MUS),
      '--freq',
      '60',
      '--rate',
      String(RATE),
      '--duration',
      `${seconds[mode]}s`,
      '--sign',
      mode === 'block' ? `block:${B}` : 'frame',
      '--seed',
      '5',
      '--no-scl',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const keyStore = path.join(dir, `${mode}-store`);
  const store = new KeyStore(keyStore);
  for (const n of readdirSync(`${file}.keys`).filter((x) => /^\d+\.pem$/.test(x))) {
    store.importKey({ keyId: Number.parseInt(n, 10), pem: readFileSync(path.join(`${file}.keys`, n), 'utf8') });
  }
  return { file, truth: JSON.parse(readFileSync(`${file}.truth.json`, 'utf8')) as GroundTruth, keyStore };
}

/** Remembers the capture time of the frame the signature stage is looking at (stages run in order per frame). */
class ClockStage implements Stage {
  readonly name = 'clock';
  t = 0;
  onFrame(ctx: FrameContext): boolean {
    this.t = ctx.t;
    return true;
  }
}

async function runCase(
  mode: 'block' | 'frame',
  which: string,
  cap: { file: string; truth: GroundTruth; keyStore: string },
): Promise<Record<string, unknown>> {
  let emu: PtyEmulator | null = null;
  let verification: Verification | null = null;
  let inner: SignatureVerifier;
  if (which.startsWith('chip:')) {
    const baud = Number(which.slice(5));
    emu = await startPtyEmulator({ baud });
    // The chip is its own hardware: the emulator (real SM2 work in JavaScript, ≈ 1 ms per verify) and socat get
    // priority over whatever else runs on this machine, so that host load does not show as a slow chip.
    for (const pid of [emu.emulator.pid, emu.socat.pid]) {
      try {
        if (pid !== undefined) setPriority(pid, -10);
      } catch {
        /* not permitted */
      }
    }
    verification = await startVerification({
      keyStoreDir: cap.keyStore,
      chip: { path: emu.hostPath, baudRate: baud },
      fallback: 'none',
      driver: { timeoutMs: 500 },
    });
    if (verification.health().state !== 'ok') throw new Error(`chip not ok: ${JSON.stringify(verification.health())}`);
    inner = verification.verifier;
  } else if (which === 'native' || which === 'native-inline') {
    verification = await startVerification({
      keyStoreDir: cap.keyStore,
      fallback: 'none',
      softwareThread: which === 'native' ? 'worker' : 'inline',
    });
    inner = verification.verifier;
  } else if (which === 'noble') {
    inner = new SoftwareVerifier(new KeyStore(cap.keyStore).activeKeys(), 'noble');
  } else throw new Error(`unknown path ${which}`);

  const registry = new StreamRegistry(expectedStreamsOfTruth(cap.truth));
  const signed = signedStreamsOfTruth(cap.truth);
  const clock = new ClockStage();
  const framesPer = mode === 'block' ? B : 1;
  const periodNs = 1e9 / RATE;
  let wallOfCapture = (_t: number): number => 0;
  const latencies: number[] = [];
  let inDeadline = 0;
  let rejectedFrames = 0;
  let invalid = 0;
  const verifier: SignatureVerifier = {
    knows: (k, s) => inner.knows(k, s),
    verify: (keyId, message, signature, stream) => {
      const endT = clock.t;
      const p = inner.verify(keyId, message, signature, stream);
      p.then(
        (ok) => {
          if (!ok) invalid += framesPer;
          const doneWall = performance.now();
          // Frame j of the block was captured (B-1-j) periods before the block end.
          for (let j = 0; j < framesPer; j++) {
            const lat = doneWall - wallOfCapture(endT - (framesPer - 1 - j) * periodNs);
            latencies.push(lat);
            if (lat <= deadlineMs) inDeadline++;
          }
        },
        () => {
          rejectedFrames += framesPer;
        },
      );
      return p;
    },
  };
  const sig = new SignatureStage(registry, signed, verifier);
  const pipeline = new Pipeline({ registry, stages: [clock, sig] });
  const cpu0 = process.cpuUsage();
  const emuCpu0 = procCpuSeconds(emu?.emulator.pid);
  let offered = 0;
  let fed = 0;
  let abandoned = false;
  let firstT: number | null = null;
  let wallStart = 0;
  for (const b of readCaptureFile(cap.file, { batchFrames: 32 })) {
    const lastT = Number(b.tsNs(b.count - 1));
    if (firstT === null) {
      firstT = Number(b.tsNs(0));
      wallStart = performance.now() + 20;
      const ft = firstT;
      wallOfCapture = (t) => wallStart + (t - ft) / 1e6;
    }
    offered += b.count;
    if (abandoned) continue;
    const due = wallOfCapture(lastT);
    const now = performance.now();
    if (due > now + 0.5) await new Promise((r) => setTimeout(r, due - now));
    else if (now - due > maxLagMs) {
      abandoned = true;
      continue;
    } else await new Promise((r) => setImmediate(r)); // let answers from the chip in
    pipeline.processBatch(b);
    fed += b.count;
  }
  const trafficS = offered / (MUS * RATE);
  // Answers later than the deadline do not count; wait for stragglers up to the deadline after the last frame.
  const waitEnd = performance.now() + deadlineMs;
  await Promise.race([sig.drain(), new Promise((r) => setTimeout(r, Math.max(0, waitEnd - performance.now())))]);
  const cpu = process.cpuUsage(cpu0);
  const emuCpu = procCpuSeconds(emu?.emulator.pid) - emuCpu0;
  const lat = Float64Array.from(latencies);
  const st = verification?.stats();
  const result = {
    mode,
    path: which,
    frames: offered,
    fed,
    trafficSeconds: round(trafficS, 2),
    coverage: round(inDeadline / offered, 4),
    verdicts: latencies.length,
    invalid,
    latencyMs: {
      p50: round(pct(lat, 0.5)),
      p99: round(pct(lat, 0.99)),
      max: round(lat.length ? lat.reduce((a, b) => Math.max(a, b), 0) : null),
    },
    queueDropsFrames: rejectedFrames,
    replayAbandoned: abandoned,
    cpuSecondsPerTrafficSecond: round((cpu.user + cpu.system) / 1e6 / trafficS, 3),
    ...(emu !== null ? { emulatorCpuSecondsPerTrafficSecond: round(emuCpu / trafficS, 3) } : {}),
    ...(st !== undefined ? { verifications: { chip: st.chip, software: st.software, refused: st.unverified } } : {}),
    stage: { ...sig.counters },
  };
  await verification?.close();
  await emu?.stop();
  return result;
}

/** Software verifies per second on one core (200-byte messages; median of three 1 s loops). */
function softwareRate(which: 'native' | 'noble'): number {
  const keys = [0, 1].map((i) => {
    const k = deriveKeyPair(`bench-verify-${i}`);
    return { k, entry: { keyId: i + 1, pub: k.pub, signerId: SM2_DEFAULT_ID, streams: [] } };
  });
  const v = new SoftwareVerifier(
    keys.map((x) => x.entry),
    which,
  );
  const msg = new Uint8Array(200).fill(3);
  const sig = signatureToRaw(sm2Sign(keys[0]!.k, msg));
  const rates: number[] = [];
  for (let r = 0; r < 3; r++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 1000) {
      void v.verify(1, msg, sig);
      n++;
    }
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  return Math.round(rates.sort((a, b) => a - b)[1]!);
}

const software = { native: softwareRate('native'), noble: softwareRate('noble') };
process.stderr.write(`software verifies/s: ${JSON.stringify(software)}\n`);
const results: Record<string, unknown>[] = [];
for (const mode of modes) {
  const cap = capture(mode);
  for (const p of paths) {
    const r = await runCase(mode, p, cap);
    process.stderr.write(
      `${mode} ${p}: coverage ${String(r.coverage)} p50 ${JSON.stringify(r.latencyMs)} drops ${String(r.queueDropsFrames)}\n`,
    );
    results.push(r);
  }
}
console.log(
  JSON.stringify(
    {
      bench: 'verify',
      streams: MUS,
      framesPerSecondPerStream: RATE,
      blockLen: B,
      deadlineMs,
      seconds,
      softwareVerifiesPerSecond: software,
      results,
    },
    null,
    1,
  ),
);
