// The real-time core capturing live on a veth pair in a network namespace, while this (the main) thread is
// stalled for 100 ms three times a second: every frame sent reaches a verdict, none is lost, and the
// arrival→verdict histogram counts each of them. (Latency figures are benchmarks, not asserted here.)
import assert from 'node:assert/strict';
import { LatencyHistogram } from '../../src/capture/histogram.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RealtimeCore } from '../../src/realtime/host.ts';
import { seedEntries } from '../../src/detect/history/seed.ts';
import { readCaptureFile, Sender } from '../../src/native/index.ts';
import { canCreateTestbed, createTestbed } from '../../tools/sim/testbed.ts';
import { expectedStreams, simulate } from '../detect/helpers.ts';

const stall = (ms: number): void => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* the main thread is busy */
  }
};

describe('real-time core, live', { skip: !canCreateTestbed() && 'needs network namespaces (root)' }, () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-rt-live-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a stalled main thread loses no frame and every frame gets its verdict', async () => {
    const { file, truth } = await simulate(dir, 'normal', ['--mus', '4', '--duration', '2s']);
    const frames: Uint8Array[] = [];
    const ts: bigint[] = [];
    for (const b of readCaptureFile(file))
      for (let i = 0; i < b.count; i++) {
        frames.push(b.raw(i).slice());
        ts.push(b.tsNs(i));
      }
    const bed = createTestbed('rtlive');
    try {
      const fatal: string[] = [];
      const alarms: string[] = [];
      const core = new RealtimeCore(
        {
          // Arrival timing is off: the sender shares 2 CPUs with a busy-looping main thread and a SCHED_FIFO
          // real-time thread, so its jitter is real (issue 13 learns each stream's envelope).
          streams: expectedStreams(truth),
          signed: [],
          logic: { timing: false },
          source: { kind: 'live', iface: bed.nsIf, netns: bed.ns },
          keys: [],
          library: seedEntries().map((e, k) => ({ ...e, id: k + 1 })),
          knobs: { cpus: [0], fifoPriority: 10, mlockall: true },
          expireByWallClock: true,
        },
        {
          onAlarms: (items) => alarms.push(...items.filter((i) => i.k === 'raise').map((i) => `${i.a.indicator}/${i.a.reason}`)),
          onEvidence: () => undefined,
          onFatal: (m) => fatal.push(m),
        },
      );
      const ready = await core.ready;
      const byName = new Map(ready.knobs.map((k) => [k.name, k]));
      assert.equal(byName.get('cpuAffinity')?.applied, true, 'root may pin the thread');
      assert.deepEqual(ready.cpus, [0]);
      assert.equal(byName.get('mlockall')?.applied, false, 'mlockall is refused with its reason');
      assert.match(byName.get('mlockall')!.detail!, /madvise/);
      const before = await core.report();
      const sender = new Sender({ iface: bed.hostIf });
      const off = new Uint32Array(frames.length);
      const len = new Uint32Array(frames.length);
      const dep = new BigInt64Array(frames.length);
      const buf = new Uint8Array(frames.reduce((s, f) => s + f.length, 0));
      let o = 0;
      frames.forEach((f, i) => {
        buf.set(f, o);
        off[i] = o;
        len[i] = f.length;
        o += f.length;
        dep[i] = ts[i]! - ts[0]!;
      });
      const sending = sender.send(buf, off, len, dep);
      // The frames flow for 2 s; this thread stalls 100 ms three times a second meanwhile.
      for (let k = 0; k < 6; k++) {
        stall(100);
        await new Promise((r) => setTimeout(r, 230));
      }
      await sending;
      const sent = await sender.drain();
      sender.close();
      await new Promise((r) => setTimeout(r, 400));
      const r = await core.report();
      await core.close();
      assert.deepEqual(fatal, []);
      assert.equal(sent.sent, frames.length);
      assert.equal(r.frames - before.frames, frames.length, 'every frame sent was handled');
      assert.equal((r.capture?.kernelDrops ?? 0) + (r.capture?.queueDrops ?? 0), 0, 'no capture loss');
      assert.equal(
        r.verdictLatency.counts.reduce((s, c) => s + c, 0) - before.verdictLatency.counts.reduce((s, c) => s + c, 0),
        frames.length,
        'a verdict latency per frame',
      );
      // The kernel's share is counted per frame in the capture thread, and never exceeds the whole.
      const sum = (c: Float64Array | undefined): number => (c ?? new Float64Array(0)).reduce((x, y) => x + y, 0);
      assert.equal(sum(r.capture?.kernelLag) - sum(before.capture?.kernelLag), frames.length, 'a kernel lag per frame');
      const kernel = new LatencyHistogram(r.capture!.kernelLag);
      const verdict = LatencyHistogram.from(r.verdictLatency);
      assert.ok(kernel.quantile(0.5)! <= verdict.quantile(0.5)!, 'kernel → capture is part of kernel → verdict');
      assert.ok(r.deliveryLatency.max <= r.verdictLatency.max, 'delivery is part of the verdict latency');
      // The thread's own collections: counted with their pauses, consistently.
      assert.ok(r.gc.pauseMaxUs <= r.gc.pauseTotalUs);
      assert.equal(r.gc.minor + r.gc.major === 0, r.gc.pauseTotalUs === 0, 'a pause per collection');
      // Counters and sources are clean: only the rate rule may see the sender's catch-up bursts (a paced
      // sender starved of CPU by this test's own stalls sends late, then at once).
      assert.deepEqual(
        alarms.filter((a) => !a.startsWith('rate/')),
        [],
        'nothing but rate bursts',
      );
    } finally {
      bed.cleanup();
    }
  });
});
