// The evidence store under an alarm storm. Prints one JSON object:
//  - storm: alarms/s committed (each alarm with an event and a 1-frame evidence chunk, plus a 64 KiB
//    evidence chunk per 10 alarms): the writer thread with WAL synchronous=FULL (the store's setting), and for
//    comparison the inline writer with FULL and NORMAL;
//  - paced: main-thread time per flush (thread: handing the batch over; inline: transaction + WAL fsync),
//    median / p99 / max, and the event-loop delay while a paced storm (1000 alarms/s + 8 streams' evidence)
//    is written — what a frame waiting in the capture queue would see added;
//  - recovery: open + PRAGMA integrity_check after SIGKILL of a writer in the middle of a storm;
//  - recorder: cost of the pre-trigger ring on the capture path (ns per frame, 8 simulated MUs).
//
//   node scripts/bench-store.ts [--alarms 20000] [--paced-s 5] [--kills 3]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { EvidenceStore } from '../src/store/store.ts';
import { EvidenceRecorder, registryStreamOf } from '../src/evidence/recorder.ts';
import { StreamRegistry } from '../src/detect/streams.ts';
import { readCaptureFile } from '../src/native/index.ts';
import { expectedStreamsOfTruth } from '../tools/sim/expected.ts';
import type { GroundTruth } from '../tools/sim/truth.ts';
import { readFileSync } from 'node:fs';
import type { Alarm } from '../src/model/indicators.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const writer = path.join(repoRoot, 'test/store/fixtures/storm-writer.ts');
const { values: o } = parseArgs({
  options: {
    alarms: { type: 'string', default: '20000' },
    'paced-s': { type: 'string', default: '5' },
    kills: { type: 'string', default: '3' },
  },
});

const T0 = 1_780_000_000_000_000_000n;
const alarm = (n: number): Alarm => ({
  id: n,
  indicator: 'logic',
  grade: 2,
  stream: `MU${n % 8}`,
  reason: `storm-${n % 7}`,
  firstFrame: n,
  lastFrame: n,
  frames: 1,
  firstTsNs: T0 + BigInt(n) * 1000n,
  lastTsNs: T0 + BigInt(n) * 1000n,
});
const q = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const r2 = (x: number): number => Math.round(x * 100) / 100;
const dir = mkdtempSync(path.join(tmpdir(), 'svde-bench-store-'));
const chunk = Buffer.alloc(64 * 1024, 0x5a);
const small = new Uint8Array(120).fill(1);

async function storm(sync: 'FULL' | 'NORMAL', writer: 'thread' | 'inline'): Promise<Record<string, number>> {
  const store = new EvidenceStore({ path: path.join(dir, `storm-${sync}-${writer}.db`), retentionEveryMs: 0, synchronous: sync, writer });
  const n = Number(o.alarms);
  const t0 = performance.now();
  let enqueueMs = 0;
  for (let k = 0; k < n; k++) {
    const e0 = performance.now();
    const id = store.alarmRaised(alarm(k));
    store.addEvidence(id, [{ tsNs: T0 + BigInt(k), bytes: small }], false, `MU${k % 8}`);
    if (k % 10 === 0) store.linkEvidence(id, [store.addChunk(`MU${k % 8}`, chunk, 400, T0, T0 + 1n)], true);
    store.event('capture-loss', `event ${k}`);
    enqueueMs += performance.now() - e0;
    // Let the batch timer run now and then, as the capture loop would.
    if (k % 200 === 199) await new Promise((r) => setImmediate(r));
  }
  // Committed (WAL fsynced) alarms per second: the clock stops when the last batch is durable.
  if (!store.sync(120_000)) throw new Error(`store did not commit: ${store.health().lastError}`);
  const s = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 200)); // let the writer's per-batch reports arrive
  const f = store.flushMs;
  const c = writer === 'thread' ? store.commitMs : f;
  const out = {
    alarmsPerSecond: Math.round(n / s),
    batches: f.length,
    mainThreadMsPerFlushMedian: r2(q(f, 0.5)),
    mainThreadMsPerFlushP99: r2(q(f, 0.99)),
    mainThreadMsPerFlushMax: r2(Math.max(...f)),
    commitMsMedian: r2(q(c, 0.5)),
    commitMsP99: r2(q(c, 0.99)),
    enqueueUsPerAlarm: r2((enqueueMs * 1000) / n),
    sizeMiB: r2(store.sizeBytes() / 2 ** 20),
  };
  store.close();
  return out;
}

async function paced(writer: 'thread' | 'inline'): Promise<Record<string, number>> {
  const store = new EvidenceStore({ path: path.join(dir, `paced-${writer}.db`), retentionEveryMs: 0, writer });
  const h = monitorEventLoopDelay({ resolution: 1 });
  const seconds = Number(o['paced-s']);
  let k = 0;
  h.enable();
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      // Every 10 ms: 10 alarms, and one 64 KiB ring segment per stream every 100 ms (8 streams).
      for (let j = 0; j < 10; j++, k++) {
        const id = store.alarmRaised(alarm(k));
        store.event('capture-loss', `e${k}`);
        if (k % 100 === 0) store.linkEvidence(id, [], false);
      }
      if (k % 100 === 0) for (let m = 0; m < 8; m++) store.addChunk(`MU${m}`, chunk, 400, T0, T0 + 1n);
      if (performance.now() - t0 >= seconds * 1000) {
        clearInterval(tick);
        resolve();
      }
    }, 10);
  });
  h.disable();
  store.sync();
  const f = store.flushMs;
  const out = {
    alarms: k,
    alarmsPerSecond: Math.round(k / seconds),
    batches: f.length,
    mainThreadMsPerFlushMedian: r2(q(f, 0.5)),
    mainThreadMsPerFlushP99: r2(q(f, 0.99)),
    mainThreadMsPerFlushMax: r2(Math.max(...f)),
    loopDelayMsP50: r2(h.percentile(50) / 1e6),
    loopDelayMsP99: r2(h.percentile(99) / 1e6),
    loopDelayMsMax: r2(h.max / 1e6),
  };
  store.close();
  return out;
}

function killOnce(db: string, after: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, db, '100000000', '200'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let seen = 0;
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      seen += d
        .toString()
        .split('\n')
        .filter((l) => l.startsWith('C ')).length;
      if (!killed && seen >= after) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', () => resolve(seen));
  });
}

async function recovery(): Promise<Record<string, number>> {
  const times: number[] = [];
  let lost = 0;
  let committed = 0;
  for (let i = 0; i < Number(o.kills); i++) {
    const db = path.join(dir, `kill-${i}.db`);
    committed = await killOnce(db, 20_000);
    const t0 = performance.now();
    const s = new EvidenceStore({ path: db, retentionEveryMs: 0 });
    const ok = s.integrityCheck() === 'ok';
    times.push(performance.now() - t0);
    const found = s.listAlarms({ limit: 1 }).total;
    if (!ok || found < committed) lost++;
    s.close();
  }
  return {
    kills: times.length,
    committedBeforeKill: committed,
    recoveryMsMedian: r2(q(times, 0.5)),
    recoveryMsMax: r2(Math.max(...times)),
    runsWithLoss: lost,
  };
}

/** The recorder's cost on the capture path: ns per frame for onBatch (ring copy) over 8 simulated MUs. */
function recorderCost(): Record<string, number> {
  const cap = path.join(dir, 'rec.pcap');
  execFileSync(
    process.execPath,
    [path.join(repoRoot, 'tools/svde-sim.ts'), '--out', cap, '--scenario', 'normal', '--mus', '8', '--duration', '3s', '--seed', '1'],
    { stdio: 'ignore' },
  );
  const truth = JSON.parse(readFileSync(`${cap}.truth.json`, 'utf8')) as GroundTruth;
  const store = new EvidenceStore({ path: path.join(dir, 'rec.db'), retentionEveryMs: 0 });
  const recorder = new EvidenceRecorder({ store });
  const streamOf = registryStreamOf(new StreamRegistry(expectedStreamsOfTruth(truth)));
  let frames = 0;
  let ns = 0n;
  const times: number[] = [];
  for (const b of readCaptureFile(cap, { batchFrames: 256 })) {
    const t0 = process.hrtime.bigint();
    recorder.onBatch(b, streamOf);
    const dt = process.hrtime.bigint() - t0;
    ns += dt;
    frames += b.count;
    times.push(Number(dt) / b.count);
  }
  const st = recorder.stats();
  recorder.close();
  store.close();
  return {
    frames,
    nsPerFrameMean: Math.round(Number(ns) / frames),
    nsPerFrameMedianBatch: Math.round(q(times, 0.5)),
    nsPerFrameP99Batch: Math.round(q(times, 0.99)),
    ringMiB: r2(st.bytes / 2 ** 20),
    evictedFrames: st.evictedFrames,
  };
}

try {
  const result = {
    recorder: recorderCost(),
    storm: {
      threadFull: await storm('FULL', 'thread'),
      inlineFull: await storm('FULL', 'inline'),
      inlineNormal: await storm('NORMAL', 'inline'),
    },
    paced: { thread: await paced('thread'), inline: await paced('inline') },
    recovery: await recovery(),
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
