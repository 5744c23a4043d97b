// Live capture benchmark over a veth pair (tools/sim/testbed.ts): N merging units × R frames/s sent
// by the native Sender from the root namespace; a receiver runs in a child process inside the
// namespace: our LiveCapture, then, as a baseline, the npm `pcap` package (node_pcap) with
// buffer_timeout 0. Prints one JSON object: frames lost, kernel drops, arrival-to-JS latency
// (arrival = pcap timestamp, JS time = realtimeNs() when the handler runs) p50/p99/max.
//
//   node scripts/bench-capture.ts [--duration 30] [--mus 8] [--rate 4800] [--receivers ours,node_pcap]
//                                 [--flush 200] [--spin 50000] [--file ../shared/captures/other/guseynov1_9-2LE_80frames.pcap]
// Needs root. Frames are replayed unchanged from the capture (identical bytes for every MU).
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultCaptureFilter, LiveCapture, readCaptureFile, realtimeNs, Sender } from '../src/native/index.ts';
import { createTestbed } from '../tools/sim/testbed.ts';

const here = fileURLToPath(import.meta.url);
const repoRoot = path.resolve(path.dirname(here), '..');

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '30' },
    mus: { type: 'string', default: '8' },
    rate: { type: 'string', default: '4800' },
    receivers: { type: 'string', default: 'ours,node_pcap' },
    file: { type: 'string', default: path.resolve(repoRoot, '../shared/captures/other/guseynov1_9-2LE_80frames.pcap') },
    receiver: { type: 'string' },
    iface: { type: 'string' },
    expect: { type: 'string', default: '1000000' },
    flush: { type: 'string', default: '200' },
    spin: { type: 'string', default: '50000' },
  },
});

interface ReceiverResult {
  receiver: string;
  frames: number;
  kernelDrops: number;
  ifDrops: number;
  queueDrops?: number;
  batches?: number;
  latencyUs: { p50: number; p99: number; max: number; mean: number };
}

class Latencies {
  #v: Float64Array;
  #n = 0;
  constructor(expect: number) {
    this.#v = new Float64Array(Math.max(1024, expect));
  }
  add(ns: number): void {
    if (this.#n === this.#v.length) {
      const bigger = new Float64Array(this.#v.length * 2);
      bigger.set(this.#v);
      this.#v = bigger;
    }
    this.#v[this.#n++] = ns;
  }
  summary(): ReceiverResult['latencyUs'] {
    const v = this.#v.subarray(0, this.#n).sort();
    const q = (p: number) => (v.length === 0 ? NaN : v[Math.min(v.length - 1, Math.ceil(p * v.length) - 1)]! / 1000);
    let sum = 0;
    for (const x of v) sum += x;
    const r = (x: number) => Math.round(x * 10) / 10;
    return { p50: r(q(0.5)), p99: r(q(0.99)), max: r(q(1)), mean: r(sum / Math.max(1, v.length) / 1000) };
  }
}

async function untilStdinLine(): Promise<void> {
  const rl = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => rl.once('line', () => resolve()));
  rl.close();
}

// ---- child: one receiver inside the namespace --------------------------------------------------
async function runReceiver(kind: string, iface: string, expect: number): Promise<void> {
  const lat = new Latencies(expect);
  let result: ReceiverResult;
  if (kind === 'ours') {
    const cap = new LiveCapture({ iface, flushMicros: Number(args.flush) });
    let frames = 0;
    cap.start((b) => {
      const now = Number(realtimeNs());
      const ts = b.cols.tsNs;
      for (let i = 0; i < b.count; i++) lat.add(now - Number(ts[i]!));
      frames += b.count;
    });
    process.stdout.write('ready\n');
    await untilStdinLine();
    await cap.close();
    const s = cap.stats();
    result = {
      receiver: `ours (LiveCapture, flushMicros ${args.flush})`,
      frames,
      batches: s.batches,
      kernelDrops: s.kernelDrops,
      ifDrops: s.ifDrops,
      queueDrops: s.queueDrops,
      latencyUs: lat.summary(),
    };
  } else {
    const require = createRequire(import.meta.url);
    const pcap = require('pcap') as {
      createSession(
        dev: string,
        o: object,
      ): {
        on(ev: 'packet', cb: (p: { header: Buffer }) => void): void;
        stats(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
        close(): void;
      };
    };
    const session = pcap.createSession(iface, { filter: defaultCaptureFilter, buffer_timeout: 0 });
    let frames = 0;
    session.on('packet', (p) => {
      const now = Number(realtimeNs());
      const ts = p.header.readUInt32LE(0) * 1e9 + p.header.readUInt32LE(4) * 1e3; // microseconds
      lat.add(now - ts);
      frames++;
    });
    process.stdout.write('ready\n');
    await untilStdinLine();
    const s = session.stats();
    session.close();
    result = {
      receiver: 'npm pcap (node_pcap 3.1.0, buffer_timeout 0)',
      frames,
      kernelDrops: s.ps_drop,
      ifDrops: s.ps_ifdrop,
      latencyUs: lat.summary(),
    };
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

// ---- parent --------------------------------------------------------------------------------------
function startChild(
  ns: string,
  kind: string,
  iface: string,
  expect: number,
): Promise<{ child: ChildProcessByStdio<Writable, Readable, null>; result: Promise<ReceiverResult> }> {
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, process.execPath, here, '--receiver', kind, '--iface', iface, '--expect', String(expect), '--flush', args.flush],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const rl = createInterface({ input: child.stdout });
  return new Promise((resolveReady, rejectReady) => {
    let resolveResult: (r: ReceiverResult) => void;
    let rejectResult: (e: Error) => void;
    const result = new Promise<ReceiverResult>((res, rej) => {
      resolveResult = res;
      rejectResult = rej;
    });
    rl.on('line', (line) => {
      if (line === 'ready') resolveReady({ child, result });
      else if (line.startsWith('{')) resolveResult(JSON.parse(line) as ReceiverResult);
    });
    child.on('exit', (code) => {
      const e = new Error(`receiver ${kind} exited with ${code}`);
      rejectReady(e);
      rejectResult(e);
    });
  });
}

async function runOnce(kind: string, frame: Uint8Array[], durationS: number, mus: number, rate: number) {
  const tb = createTestbed();
  try {
    const total = Math.round(durationS * rate) * mus;
    const { child, result } = await startChild(tb.ns, kind, tb.nsIf, total);
    const sender = new Sender({ iface: tb.hostIf, spinNs: Number(args.spin) });
    const periodNs = 1e9 / rate;
    const chunkFrames = Math.round(rate * 0.25) * mus; // a quarter second per send() call
    let k = 0; // global frame index: sample k/mus of MU k%mus
    const t0 = Date.now();
    while (k < total) {
      const n = Math.min(chunkFrames, total - k);
      const bytes = frame.reduce((a, f) => a + f.length, 0);
      const buf = new Uint8Array(bytes * Math.ceil(n / frame.length + 1));
      const off = new Uint32Array(n);
      const len = new Uint32Array(n);
      const dep = new BigInt64Array(n);
      let o = 0;
      for (let i = 0; i < n; i++, k++) {
        const f = frame[Math.floor(k / mus) % frame.length]!;
        buf.set(f, o);
        off[i] = o;
        len[i] = f.length;
        o += f.length;
        // MUs synchronised to the same sampling instants, 2 µs apart on the wire.
        dep[i] = BigInt(Math.round(Math.floor(k / mus) * periodNs)) + BigInt((k % mus) * 2000);
      }
      await sender.send(buf, off, len, dep);
    }
    const sent = await sender.drain();
    sender.close();
    await new Promise((r) => setTimeout(r, 300));
    child.stdin.write('stop\n');
    const r = await result;
    return {
      ...r,
      sent: sent.sent,
      lost: sent.sent - r.frames,
      senderLateP99Us: sent.lateP99Ns / 1000,
      senderLateMaxUs: sent.lateMaxNs / 1000,
      wallS: (Date.now() - t0) / 1000,
    };
  } finally {
    tb.cleanup();
  }
}

if (args.receiver !== undefined) {
  await runReceiver(args.receiver, args.iface ?? '', Number(args.expect));
} else {
  const durationS = Number(args.duration);
  const mus = Number(args.mus);
  const rate = Number(args.rate);
  const frames: Uint8Array[] = [];
  for (const b of readCaptureFile(args.file)) for (let i = 0; i < b.count; i++) if (b.ok(i)) frames.push(b.raw(i).slice());
  if (frames.length === 0) throw new Error(`no SV frames in ${args.file}`);
  const results = [];
  for (const kind of args.receivers.split(',')) results.push(await runOnce(kind, frames, durationS, mus, rate));
  process.stdout.write(
    `${JSON.stringify({ bench: 'capture', senderSpinNs: Number(args.spin), flushMicros: Number(args.flush), durationS, mus, ratePerMu: rate, aggregatePerS: mus * rate, frameBytes: frames[0]!.length, file: path.basename(args.file), results }, null, 2)}\n`,
  );
}
