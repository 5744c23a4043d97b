// The real-time thread's composition root: capture → decode (native) → monitor → pre-trigger ring →
// detection engine (grade 1–3, and grade 4 on request) → verdict, on its own isolate and heap. Out go
// alarms (reserved lane), evidence (credit-bounded lane) and a report once a second; the main thread's
// root (src/app/appliance.ts) stores, serves and shows them. Signatures are verified on the main thread
// (see protocol.ts): the signature stage asks, never waits, and counts what is not answered as unverified.
import { parentPort, workerData } from 'node:worker_threads';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { BatchView, LiveCapture, realtimeNs, setThreadAffinity, setThreadFifo, threadInfo, type FrameBatch } from '../native/index.ts';
import { DetectionEngine } from '../detect/engine.ts';
import { StreamMonitor } from '../capture/stream-monitor.ts';
import { WaveformTap } from '../capture/waveforms.ts';
import { EvidenceRecorder, streamInfoOf } from '../evidence/recorder.ts';
import type { KeyTableEntry } from '../crypto/verification.ts';
import type { SignatureVerifier } from '../model/signature.ts';
import type { GcView } from '../model/device.ts';
import type { Alarm } from '../model/indicators.ts';
import { LatencyHistogram } from '../capture/histogram.ts';
import { Lanes } from './lanes.ts';
import { ForwardingLibrary } from './library.ts';
import type { KnobReport, MainMessage, RealtimeInit, Request, TickReport, WorkerMessage } from './protocol.ts';

if (parentPort === null) throw new Error('src/realtime/worker.ts runs as a worker thread');
const port = parentPort;
const init = workerData as RealtimeInit;
const post = (m: WorkerMessage, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);
const MAX_ASKED = 4096;

function applyKnobs(): KnobReport[] {
  const k = init.knobs;
  const out: KnobReport[] = [];
  if (k.cpus !== undefined && k.cpus.length > 0) {
    const err = setThreadAffinity(k.cpus);
    out.push({ name: 'cpuAffinity', requested: k.cpus.join(','), applied: err === '', detail: err === '' ? null : err });
  }
  if (k.fifoPriority !== undefined) {
    const err = setThreadFifo(k.fifoPriority);
    out.push({
      name: 'schedFifo',
      requested: String(k.fifoPriority),
      applied: err === '',
      detail: err === '' ? null : `${err} (needs CAP_SYS_NICE)`,
    });
  }
  if (k.mlockall === true) {
    out.push({
      name: 'mlockall',
      requested: 'true',
      applied: false,
      detail:
        'not applied: V8 releases heap pages with madvise(MADV_DONTNEED), which fails on locked pages and aborts the process; the capture ring is kernel memory and never swapped',
    });
  }
  if (init.source.kind === 'live') {
    out.push({ name: 'ringBytes', requested: String(k.ringBytes ?? 32 << 20), applied: true, detail: null });
    out.push({
      name: 'flushMicros',
      requested: String(k.flushMicros ?? 200),
      applied: true,
      detail: 'immediate mode: the batch flush interval is the block timeout',
    });
  }
  if (k.heap !== undefined)
    out.push({ name: 'v8Heap', requested: JSON.stringify(k.heap), applied: true, detail: 'resourceLimits of the worker isolate' });
  return out;
}

async function main(): Promise<void> {
  const knobs = applyKnobs();
  const lanes = new Lanes(post, init.evidenceCreditBytes);
  // Evidence beyond one flush's budget drains in turns of the event loop, between batches, not ahead of them.
  let draining = false;
  const drain = (): void => {
    draining = false;
    flushLanes();
  };
  const flushLanes = (): void => {
    lanes.flush();
    if (lanes.evidencePending > 0 && !draining) {
      draining = true;
      setImmediate(drain);
    }
  };
  // Signature lag: from the stage's request (at the signed frame or block end) to the verifier's answer.
  const signatureLag = new LatencyHistogram();
  let keys = new Map<number, KeyTableEntry>();
  const setKeys = (table: KeyTableEntry[]): void => {
    keys = new Map(table.map((k) => [k.keyId, k]));
  };
  setKeys(init.keys);
  const asked = new Map<number, { resolve: (ok: boolean) => void; reject: (e: Error) => void; t0: bigint }>();
  let askId = 0;
  const verifier: SignatureVerifier = {
    knows: (keyId, stream) => {
      const k = keys.get(keyId);
      if (k === undefined || (k.notAfterMs !== null && Date.now() > k.notAfterMs)) return false;
      return k.streams.length === 0 || k.streams.includes(stream);
    },
    verify: (keyId, message, signature, stream) => {
      // Bounded: past this many unanswered, a frame is unverified at once (never good).
      if (asked.size >= MAX_ASKED) return Promise.reject(new Error('verification backlog full'));
      const id = ++askId;
      return new Promise<boolean>((resolve, reject) => {
        asked.set(id, { resolve, reject, t0: realtimeNs() });
        post({ t: 'verify', id, keyId, message: message.slice(), signature: signature.slice(), stream });
      });
    },
  };
  const answered = (id: number, ok: boolean | null): void => {
    const a = asked.get(id);
    if (a === undefined) return;
    asked.delete(id);
    signatureLag.record(Number(realtimeNs() - a.t0) / 1000);
    if (ok === null) a.reject(new Error('not verified'));
    else a.resolve(ok);
  };

  const open = new Map<number, Alarm>();
  const recorder = new EvidenceRecorder({ store: lanes, streamInfo: streamInfoOf(init.streams) });
  const engine = new DetectionEngine(init.streams, {
    verifier,
    signed: init.signed,
    library: new ForwardingLibrary(init.library, (entry) => lanes.other({ k: 'library', entry })),
    ...(init.logic !== undefined ? { logic: init.logic } : {}),
    ...(init.rate !== undefined ? { rate: init.rate } : {}),
    onAlarm(a) {
      open.set(a.id, a);
      lanes.alarm('raise', a, realtimeNs());
      // The recorder names the alarm by detection's id; the main thread's journal maps it to the store's.
      recorder.onAlarm(a.id, a);
    },
    onAlarmEnd(a) {
      open.delete(a.id);
      lanes.alarm('end', a, realtimeNs());
    },
  });
  const monitor = new StreamMonitor();
  const waveforms = new WaveformTap(init.streams);
  const verdictLatency = new LatencyHistogram();
  // This thread's collections (perf_hooks sees the isolate it runs in): a major one holds every frame behind it.
  const gc: GcView = { minor: 0, major: 0, pauseMaxUs: 0, pauseTotalUs: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minor++;
      else gc.major++;
      const us = Math.round(e.duration * 1000);
      gc.pauseTotalUs += us;
      if (us > gc.pauseMaxUs) gc.pauseMaxUs = us;
    }
  }).observe({ entryTypes: ['gc'] });
  const deliveryLatency = new LatencyHistogram();
  let tickCostMaxUs = 0;
  let frames = 0;

  const onBatch = (b: FrameBatch, live: boolean): void => {
    const arrival = live ? realtimeNs() : undefined;
    if (arrival !== undefined) {
      const ts = b.cols.tsNs;
      for (let i = 0; i < b.count; i++) deliveryLatency.record(Number(arrival - ts[i]!) / 1000);
    }
    monitor.onBatch(b, arrival);
    // Evidence first: the alarm's own frame is then already in the pre-trigger ring.
    recorder.onBatch(b, engine.streamOf);
    engine.onBatch(b);
    waveforms.onBatch(b);
    if (live) {
      // Verdict of every frame of the batch: kernel timestamp → now.
      const done = realtimeNs();
      const ts = b.cols.tsNs;
      for (let i = 0; i < b.count; i++) verdictLatency.record(Number(done - ts[i]!) / 1000);
    }
    frames += b.count;
    flushLanes();
  };

  let capture: LiveCapture | undefined;
  if (init.source.kind === 'live') {
    const src = init.source;
    capture = new LiveCapture({
      iface: src.iface,
      ...(src.netns !== undefined ? { netns: src.netns } : {}),
      ...(init.knobs.ringBytes !== undefined ? { bufferBytes: init.knobs.ringBytes } : {}),
      ...(init.knobs.flushMicros !== undefined ? { flushMicros: init.knobs.flushMicros } : {}),
    });
    const cap = capture;
    monitor.attachCapture(() => cap.stats());
    cap.start(
      (b) => onBatch(b, true),
      (err) => post({ t: 'capture-error', message: err.message }),
    );
  }

  // This thread's own CPU (not the process's: the main thread and the API are elsewhere).
  const cpu0 = process.threadCpuUsage();
  let lastDrops = 0;
  const makeReport = (): TickReport => {
    const t0 = performance.now();
    const report = monitor.report();
    const c = report.capture;
    const drops = (c?.kernelDrops ?? 0) + (c?.ifDrops ?? 0) + (c?.queueDrops ?? 0);
    if (drops > lastDrops) engine.setCaptureDrops(drops);
    lastDrops = drops;
    if (init.expireByWallClock) engine.pipeline.alarms.expire(realtimeNs());
    const now = realtimeNs();
    for (const a of open.values()) lanes.alarm('update', a, now);
    flushLanes();
    const coverage: Record<string, number | null> = {};
    for (const s of init.signed) coverage[s.stream] = engine.signatureCoverage(s.stream);
    const estimates = engine.localEstimates(lastEstimateNs);
    if (estimates.length > 0) lastEstimateNs = BigInt(estimates[estimates.length - 1]!.windowEndNs);
    const wf = [];
    for (const name of waveforms.names()) {
      const v = waveforms.view(name);
      if (v !== undefined) wf.push(v);
    }
    const used = process.threadCpuUsage(cpu0);
    tickCostMaxUs = Math.max(tickCostMaxUs, Math.round((performance.now() - t0) * 1000));
    return {
      monitor: report,
      capture: capture?.stats() ?? null,
      coverage,
      estimates,
      waveforms: wf,
      verdictLatency: verdictLatency.copy(),
      deliveryLatency: deliveryLatency.copy(),
      tickCostMaxUs,
      signatureLag: signatureLag.copy(),
      cpuUs: used.user + used.system,
      frames,
      verifyPending: asked.size,
      lanes: { ...lanes.counters },
      restarts: engine.report().restarts,
      heapUsedBytes: process.memoryUsage().heapUsed,
      gc: { ...gc },
    };
  };
  const tick = (): void => post({ t: 'tick', r: makeReport() });
  let lastEstimateNs: bigint | undefined;
  const timer = setInterval(tick, 1000);

  const answer = async (req: Request): Promise<unknown> => {
    switch (req.op) {
      case 'master': {
        const r = engine.submitMasterEstimate(req.input);
        flushLanes();
        return r;
      }
      case 'report':
        return makeReport();
      case 'close': {
        clearInterval(timer);
        await capture?.close();
        // Every open episode ends and is sent; recordings write what they hold.
        engine.pipeline.alarms.flush();
        recorder.close();
        lanes.flush(true);
        // Signatures the main thread will no longer answer: unverified, never good.
        for (const id of [...asked.keys()]) answered(id, null);
        return null;
      }
    }
  };
  port.on('message', (m: MainMessage) => {
    if (m.t === 'credit') lanes.credit(m.bytes);
    else if (m.t === 'feed') onBatch(new BatchView(m.buffer), m.live);
    else if (m.t === 'verified') answered(m.id, m.ok);
    else if (m.t === 'keys') setKeys(m.keys);
    else if (m.t === 'reset-latency') {
      verdictLatency.reset();
      deliveryLatency.reset();
      signatureLag.reset();
      tickCostMaxUs = 0;
      gc.minor = 0;
      gc.major = 0;
      gc.pauseMaxUs = 0;
      gc.pauseTotalUs = 0;
    } else if (m.t === 'req') {
      answer(m.req).then(
        (value) => post({ t: 'reply', id: m.id, ok: true, value }),
        (err: unknown) => post({ t: 'reply', id: m.id, ok: false, error: { name: (err as Error).name, message: (err as Error).message } }),
      );
    }
  });
  const { tid, cpus } = threadInfo();
  post({ t: 'ready', knobs, tid, cpus });
}

main().catch((err: unknown) => {
  post({ t: 'fatal', message: (err as Error).stack ?? String(err) });
  // Nothing here runs on without its parts: end the thread (not the process) once the message is out.
  setImmediate(() => process.exit(1));
});
