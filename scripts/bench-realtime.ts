// The real-time core alone, live: N simulated merging units (a clean bay from the simulator) sent at their
// true rate over a veth pair into a network namespace, where the real-time thread captures, decodes and runs
// every grade 1–3 stage. Reports per step the arrival→verdict latency over EVERY frame (kernel timestamp to
// verdict, from the thread's histogram), frames lost, and CPU per frame of the real-time thread and of the
// capture thread. `--stall-ms` busy-blocks this (the main) thread for that long once a second during the
// step, to show that a stalled main thread delays no verdict and loses no frame.
//
//   node scripts/bench-realtime.ts [--steps 1,8,32,100] [--rate 4800] [--seconds 5] [--stall-ms 0] [--spin-ns 0] [--knobs JSON]
// Each step also runs cyclictest (rt-tests, if installed) for the same seconds: the wake-up latency of an
// ordinary thread on this machine under this load, the floor that any latency here is compared with.
// Needs root (network namespace). Prints one JSON object.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readCaptureFile, Sender } from '../src/native/index.ts';
import { RealtimeCore } from '../src/realtime/host.ts';
import type { RealtimeKnobs } from '../src/realtime/protocol.ts';
import { LatencyHistogram } from '../src/capture/histogram.ts';
import { seedEntries } from '../src/detect/history/seed.ts';
import { createTestbed } from '../tools/sim/testbed.ts';
import { expectedStreamsOfTruth } from '../tools/sim/expected.ts';
import type { GroundTruth } from '../tools/sim/truth.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: a } = parseArgs({
  options: {
    steps: { type: 'string', default: '1,8,32,100' },
    rate: { type: 'string', default: '4800' },
    seconds: { type: 'string', default: '5' },
    'stall-ms': { type: 'string', default: '0' },
    // The sender sleeps to each departure and spins only the last spin-ns: on a small machine a spinning
    // sender takes a whole core away from the receiver it measures.
    'spin-ns': { type: 'string', default: '0' },
    // Board-profile knobs of the real-time thread, as JSON (e.g. '{"cpus":[1],"fifoPriority":50}').
    knobs: { type: 'string', default: '{}' },
  },
});
const rate = Number(a.rate);
const seconds = Number(a.seconds);
const stallMs = Number(a['stall-ms']);
const spinNs = Number(a['spin-ns']);
const knobs = JSON.parse(a.knobs) as RealtimeKnobs;
// The first second is sent before measuring: a fresh thread compiles its code and builds its per-stream
// state on the first frames (reported apart as warmup). Every frame after it counts.
const WARMUP_S = 1;
const TICK_S = 100; // clock ticks per second of /proc/<pid>/task/<tid>/stat (USER_HZ on Linux)

function simulate(dir: string, mus: number): { file: string; truth: GroundTruth } {
  const file = path.join(dir, `bay-${mus}.pcap`);
  const r = spawnSync(
    process.execPath,
    [
      path.join(repoRoot, 'tools/svde-sim.ts'),
      '--out',
      file,
      '--mus',
      String(mus),
      '--rate',
      String(rate),
      '--duration',
      `${seconds + WARMUP_S + 1}s`,
      '--scenario',
      'normal',
      '--seed',
      '7',
      '--no-scl',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`simulate exited with ${r.status}`);
  return { file, truth: JSON.parse(readFileSync(`${file}.truth.json`, 'utf8')) as GroundTruth };
}

/** CPU seconds of this process's threads with this name (from /proc, clock-tick resolution). */
function threadCpuS(name: string): number {
  let ticks = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== name) continue;
      const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ticks / TICK_S;
}

/**
 * The platform's own floor, run in the same step: cyclictest (rt-tests) wakes an ordinary (SCHED_OTHER) thread
 * every 200 µs and records how late it woke — what any thread of ours can expect from this machine's scheduler
 * under this very load. Undefined (reported as null) where cyclictest is not installed.
 */
function startBaseline(durationS: number): Promise<{ p50: number; p99: number; max: number; samples: number } | null> {
  return new Promise((resolve) => {
    const child = spawn('cyclictest', ['-q', '-t1', '-p', '0', '-i', '200', '-D', String(Math.ceil(durationS)), '-m', '-h', '20000'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', () => resolve(null));
    child.on('close', (code) => {
      if (code !== 0) {
        resolve(null);
        return;
      }
      const hist: number[] = [];
      let max = 0;
      for (const line of out.split('\n')) {
        const m = /^(\d+)\s+(\d+)/.exec(line);
        if (m !== null) hist[Number(m[1])] = Number(m[2]);
        const mx = /^# Max Latencies:\s+(\d+)/.exec(line);
        if (mx !== null) max = Number(mx[1]);
      }
      const total = hist.reduce((x, y) => x + (y ?? 0), 0);
      const q = (f: number): number => {
        let c = 0;
        for (let i = 0; i < hist.length; i++) {
          c += hist[i] ?? 0;
          if (c >= f * total) return i;
        }
        return hist.length;
      };
      resolve(total > 0 ? { p50: q(0.5), p99: q(0.99), max, samples: total } : null);
    });
  });
}

function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* a stalled main thread */
  }
}

async function step(dir: string, mus: number): Promise<Record<string, unknown>> {
  const { file, truth } = simulate(dir, mus);
  const frames: Uint8Array[] = [];
  const ts: bigint[] = [];
  for (const b of readCaptureFile(file))
    for (let i = 0; i < b.count; i++) {
      frames.push(b.raw(i).slice());
      ts.push(b.tsNs(i));
    }
  rmSync(file, { force: true });
  const bed = createTestbed('bench');
  try {
    const core = new RealtimeCore(
      {
        streams: expectedStreamsOfTruth(truth),
        signed: [],
        source: { kind: 'live', iface: bed.nsIf, netns: bed.ns },
        keys: [],
        library: seedEntries().map((e, k) => ({ ...e, id: k + 1 })),
        knobs,
        expireByWallClock: true,
      },
      {
        onAlarms: () => undefined,
        onEvidence: () => undefined,
        onFatal: (m) => {
          throw new Error(m);
        },
      },
    );
    await core.ready;
    const perSend = Math.max(1, Math.round(rate * mus * 0.1));
    // One sender per range: its departure times count from its own first send.
    const sendRange = async (sender: Sender, from: number, to: number): Promise<void> => {
      const t0 = ts[from]!;
      for (let k = from; k < to; k += perSend) {
        const n = Math.min(perSend, to - k);
        let bytes = 0;
        for (let i = 0; i < n; i++) bytes += frames[k + i]!.length;
        const buf = new Uint8Array(bytes);
        const off = new Uint32Array(n);
        const len = new Uint32Array(n);
        const dep = new BigInt64Array(n);
        let o = 0;
        for (let i = 0; i < n; i++) {
          const f = frames[k + i]!;
          buf.set(f, o);
          off[i] = o;
          len[i] = f.length;
          o += f.length;
          dep[i] = ts[k + i]! - t0;
        }
        await sender.send(buf, off, len, dep);
      }
    };
    const warm = Math.min(frames.length, rate * mus * WARMUP_S);
    const warmSender = new Sender({ iface: bed.hostIf, spinNs });
    await sendRange(warmSender, 0, warm);
    await warmSender.drain();
    warmSender.close();
    await new Promise((r) => setTimeout(r, 200));
    const rw = await core.report();
    const warmup = LatencyHistogram.from(rw.verdictLatency).summary();
    core.resetLatency();
    const r0 = await core.report();
    const cap0 = threadCpuS('svde-capture');
    const baseline = startBaseline(seconds);
    const stall = stallMs > 0 ? setInterval(() => busy(stallMs), 1000) : undefined;
    const sender = new Sender({ iface: bed.hostIf, spinNs });
    await sendRange(sender, warm, frames.length);
    const sent = await sender.drain();
    sender.close();
    if (stall !== undefined) clearInterval(stall);
    await new Promise((r) => setTimeout(r, 500));
    const r1 = await core.report();
    const capCpu = threadCpuS('svde-capture') - cap0;
    await core.close();
    const platform = await baseline;
    const lat = LatencyHistogram.from(r1.verdictLatency);
    const handled = r1.frames - r0.frames;
    const c = r1.capture!;
    const summary = lat.summary();
    const del = LatencyHistogram.from(r1.deliveryLatency).summary();
    const kernelCounts = (r: typeof r1): Float64Array | undefined => r.capture?.kernelLag;
    const k1 = kernelCounts(r1);
    const k0 = kernelCounts(r0);
    const kern = k1 !== undefined && k0 !== undefined ? new LatencyHistogram(k1.map((c, b) => c - k0[b]!)).summary() : null;
    return {
      mus,
      framesPerS: mus * rate,
      sent: sent.sent,
      received: handled,
      lost: sent.sent - handled,
      kernelDrops: c.kernelDrops,
      queueDrops: c.queueDrops,
      warmupVerdictLatencyUs: { p99: warmup.p99, max: warmup.max, frames: warmup.count },
      verdictLatencyUs: { p50: summary.p50, p99: summary.p99, p999: summary.p999, max: summary.max, frames: summary.count },
      // The parts of it: kernel → our capture thread (the test bed's kernel path and scheduling), and
      // kernel → this thread's JS (adds our flush interval and hand-over).
      kernelToCaptureUs: kern !== null ? { p50: kern.p50, p99: kern.p99, max: kern.max } : null,
      deliveryLatencyUs: { p50: del.p50, p99: del.p99, max: del.max },
      tickCostMaxUs: r1.tickCostMaxUs,
      // The real-time thread's garbage collections during the measured seconds.
      realtimeGc: r1.gc,
      cpuNsPerFrame: {
        realtimeThread: Math.round(((r1.cpuUs - r0.cpuUs) * 1000) / Math.max(1, handled)),
        captureThread: Math.round((capCpu * 1e9) / Math.max(1, handled)),
      },
      platformWakeupUs: platform,
      verdictP99OverPlatformP99: platform !== null && platform.p99 > 0 ? Math.round(((summary.p99 ?? 0) / platform.p99) * 10) / 10 : null,
      senderLateP99Us: Math.round(sent.lateP99Ns / 1000),
      senderLateMaxUs: Math.round(sent.lateMaxNs / 1000),
    };
  } finally {
    bed.cleanup();
  }
}

const dir = mkdtempSync(path.join(tmpdir(), 'svde-bench-rt-'));
try {
  const results = [];
  for (const mus of a.steps.split(',').map(Number)) results.push(await step(dir, mus));
  process.stdout.write(`${JSON.stringify({ bench: 'realtime', ratePerMu: rate, seconds, stallMs, results }, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
