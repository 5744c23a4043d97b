// ReplayCapture: the CaptureBinding that serves a capture file's batches (through the offline reader) by
// their timestamps or back to back, with a stand-in offline reader and with the addon's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReplayCapture, readCaptureFile, type CaptureBinding, type FrameBatch, type NativeBinding } from '../../src/native/index.ts';
import { BatchView } from '../../src/native/batch.ts';
import { CaptureWriter } from '../../src/sv/pcap-writer.ts';
import { buildBatch, svFrame } from '../helpers/batch-builder.ts';

const T0 = 1_700_000_000_000_000_000n;
const MS = 1_000_000n;

/** Batch k holds `perBatch` frames at tsMs[k] (ms after T0). */
function batches(tsMs: number[], perBatch = 2): ArrayBuffer[] {
  let n = 0;
  return tsMs.map((ms) =>
    buildBatch(
      Array.from({ length: perBatch }, () => {
        n++;
        return { frame: svFrame({ smpCnt: n }), frameNo: n, tsNs: T0 + BigInt(ms) * MS, ...(n === 3 ? { status: 'bad-tag' } : {}) };
      }),
    ),
  );
}

/** An offline reader serving `served` (and throwing `failWith` after them, when given). */
function fakeBinding(
  served: ArrayBuffer[],
  failWith?: string,
): Pick<NativeBinding, 'OfflineReader'> & { closed: number; opened: string[] } {
  const state = { closed: 0, opened: [] as string[] };
  class FakeReader {
    #k = 0;
    constructor(p: string) {
      state.opened.push(p);
    }
    next(): ArrayBuffer | null {
      if (this.#k < served.length) return served[this.#k++]!;
      if (failWith !== undefined) throw new Error(failWith);
      return null;
    }
    close(): void {
      state.closed++;
    }
  }
  return Object.assign(state, { OfflineReader: FakeReader as unknown as NativeBinding['OfflineReader'] });
}

function collect(cap: CaptureBinding): { got: FrameBatch[]; errors: Error[] } {
  const r = { got: [] as FrameBatch[], errors: [] as Error[] };
  cap.start(
    (b) => r.got.push(b),
    (e) => r.errors.push(e),
  );
  return r;
}

test("pace 'fast' serves every batch in order, counts like a live capture and closes the reader", async () => {
  const binding = fakeBinding(batches([0, 1000, 2000]));
  const cap = new ReplayCapture('x.pcap', { pace: 'fast', binding });
  const { got, errors } = collect(cap);
  assert.equal(got.length, 0, 'nothing is delivered synchronously from start()');
  await cap.ended;
  assert.deepEqual(binding.opened, ['x.pcap']);
  assert.deepEqual(
    got.map((b) => [b.frameNo(0), b.frameNo(1)]),
    [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(cap.stats(), {
    received: 6,
    kernelDrops: 0,
    ifDrops: 0,
    captured: 6,
    delivered: 6,
    batches: 3,
    queueDrops: 0,
    decodeErrors: 1,
    linkUp: true,
  });
  assert.equal(binding.closed, 1);
  assert.equal(got[0]!.tsNs(0), T0, 'timestamps are the file’s own');
});

test("pace 'capture' never delivers a batch before its last frame is due, and retime moves the timestamps to now", async () => {
  const binding = fakeBinding(batches([0, 40, 80]));
  const cap = new ReplayCapture('x.pcap', { binding, retime: true, speed: 2 });
  const due: number[] = [];
  const got: FrameBatch[] = [];
  const t0 = performance.now();
  const before = BigInt(Date.now()) * MS;
  cap.start((b) => {
    due.push(performance.now() - t0);
    got.push(b);
  });
  await cap.ended;
  assert.equal(got.length, 3);
  // frame times (ms after the first) 0, 40, 80 at speed 2: due at 0, 20, 40 ms
  assert.ok(due[1]! >= 20 && due[2]! >= 40, `delivered at ${due.map((d) => d.toFixed(1)).join(', ')} ms`);
  const first = got[0]!.tsNs(0);
  assert.ok(first >= before - 5n * MS, 'retimed to the start of the replay');
  assert.equal(got[2]!.tsNs(1) - first, 80n * MS, 'spacing kept');
});

test('a read error mid-file stops the replay after the batches before it, through onError and stats().error', async () => {
  const binding = fakeBinding(batches([0]), "cannot read capture file 'x.pcap' after frame 2: truncated");
  const cap = new ReplayCapture('x.pcap', { pace: 'fast', binding });
  const { got, errors } = collect(cap);
  await cap.ended;
  assert.equal(got.length, 1);
  assert.deepEqual(
    errors.map((e) => e.message),
    ["cannot read capture file 'x.pcap' after frame 2: truncated"],
  );
  assert.equal(cap.stats().error, "cannot read capture file 'x.pcap' after frame 2: truncated");
  assert.equal(cap.stats().delivered, 2);
});

test('close() mid-replay stops delivery at once', async () => {
  const binding = fakeBinding(batches([0, 60_000, 120_000]));
  const cap = new ReplayCapture('x.pcap', { binding });
  const got: FrameBatch[] = [];
  await new Promise<void>((resolve) =>
    cap.start((b) => {
      got.push(b);
      resolve();
    }),
  );
  await cap.close();
  await cap.ended;
  assert.equal(got.length, 1);
  assert.equal(cap.stats().batches, 1);
  assert.equal(binding.closed, 1);
  assert.throws(() => cap.start(() => {}), /already started/);
});

test("replaying a file through the addon's offline reader serves the frames readCaptureFile reads", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'svde-replay-'));
  try {
    const file = path.join(dir, 'r.pcap');
    const w = new CaptureWriter(file, { format: 'pcap', resolution: 'ns' });
    const frames = new BatchView(buildBatch(Array.from({ length: 600 }, (_, n) => ({ frame: svFrame({ smpCnt: n % 4000 }) }))));
    for (let i = 0; i < frames.count; i++) {
      const r = frames.raw(i);
      const ts = frames.tsNs(i);
      w.write(r, 0, r.length, Number(ts / 1_000_000_000n), Number(ts % 1_000_000_000n));
    }
    w.close();
    const cap = new ReplayCapture(file, { pace: 'fast' });
    const got: Array<[number, bigint, number]> = [];
    const sizes: number[] = [];
    cap.start((b) => {
      sizes.push(b.count);
      for (let i = 0; i < b.count; i++) got.push([b.frameNo(i), b.tsNs(i), b.smpCnt(b.asduStart(i))]);
    });
    await cap.ended;
    const want: Array<[number, bigint, number]> = [];
    for (const b of readCaptureFile(file)) for (let i = 0; i < b.count; i++) want.push([b.frameNo(i), b.tsNs(i), b.smpCnt(b.asduStart(i))]);
    assert.equal(want.length, 600);
    assert.deepEqual(got, want);
    assert.deepEqual(sizes, [256, 256, 88], 'batches of at most 256 frames, as a live capture');
    assert.throws(() => new ReplayCapture(path.join(dir, 'missing.pcap')), /missing\.pcap/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LiveCapture runs on an injected binding: batches wrapped as FrameBatch, errors as Error', async () => {
  const { LiveCapture } = await import('../../src/native/index.ts');
  const opened: unknown[] = [];
  const buf = buildBatch([{ frame: svFrame({ smpCnt: 42 }) }]);
  class FakeLive {
    constructor(o: unknown) {
      opened.push(o);
    }
    start(onBatch: (ab: ArrayBuffer) => void, onError?: (m: string) => void): void {
      onBatch(buf);
      onError?.('the interface disappeared');
    }
    stats() {
      return {
        received: 1,
        kernelDrops: 0,
        ifDrops: 0,
        captured: 1,
        delivered: 1,
        batches: 1,
        queueDrops: 0,
        decodeErrors: 0,
        linkUp: false,
      };
    }
    close(): Promise<void> {
      return Promise.resolve();
    }
  }
  const cap: CaptureBinding = new LiveCapture({ iface: 'eth9' }, { LiveCapture: FakeLive as unknown as NativeBinding['LiveCapture'] });
  const { got, errors } = collect(cap);
  assert.deepEqual(opened, [{ iface: 'eth9' }]);
  assert.equal(got[0]!.smpCnt(0), 42);
  assert.deepEqual(
    errors.map((e) => e.message),
    ['the interface disappeared'],
  );
  assert.equal(cap.stats().linkUp, false);
});
