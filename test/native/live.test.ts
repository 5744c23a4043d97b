// Live capture over a real veth pair: the Sender transmits from the root namespace, LiveCapture
// listens on the peer inside a network namespace the test creates (and removes in `after`).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LiveCapture, readCaptureFile, realtimeNs, Sender } from '../../src/native/index.ts';
import type { FrameBatch } from '../../src/native/index.ts';
import { canCreateTestbed, createTestbed, netnsExists, udpNoise } from '../../tools/sim/testbed.ts';
import type { Testbed } from '../../tools/sim/testbed.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const capturesDir = path.resolve(repoRoot, '../shared/captures');
const skip = canCreateTestbed() ? false : 'needs root and iproute2 (network namespaces, veth)';

let tb: Testbed | undefined;
before(() => {
  if (!skip) tb = createTestbed();
});
after(() => {
  if (tb !== undefined) {
    tb.cleanup();
    assert.equal(netnsExists(tb.ns), false, 'namespace removed');
  }
});

function framesOf(file: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const b of readCaptureFile(path.join(capturesDir, file))) for (let i = 0; i < b.count; i++) out.push(b.raw(i).slice());
  return out;
}

/** Test helper: inserts VLAN tags (4 bytes each: TPID, TCI; outer first) after the source MAC. */
function withTags(frame: Uint8Array, tags: Array<{ tpid: number; pcp: number; vid: number }>): Uint8Array {
  const out = new Uint8Array(frame.length + 4 * tags.length);
  out.set(frame.subarray(0, 12));
  const dv = new DataView(out.buffer);
  tags.forEach((t, k) => {
    dv.setUint16(12 + 4 * k, t.tpid);
    dv.setUint16(14 + 4 * k, (t.pcp << 13) | t.vid);
  });
  out.set(frame.subarray(12), 12 + 4 * tags.length);
  return out;
}

/** A minimal ARP request (not SV), to be sent among the SV frames. */
function arpFrame(): Uint8Array {
  const f = new Uint8Array(60);
  f.fill(0xff, 0, 6);
  f.set([0x02, 0, 0, 0, 0, 0x99], 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1], 12);
  return f;
}

async function sendAll(sender: Sender, frames: Uint8Array[], ratePerSec: number, startNs = 0n): Promise<void> {
  const total = frames.reduce((a, f) => a + f.length, 0);
  const buf = new Uint8Array(total);
  const off = new Uint32Array(frames.length);
  const len = new Uint32Array(frames.length);
  const dep = new BigInt64Array(frames.length);
  const step = BigInt(Math.round(1e9 / ratePerSec));
  let o = 0;
  frames.forEach((f, k) => {
    buf.set(f, o);
    off[k] = o;
    len[k] = f.length;
    dep[k] = startNs + BigInt(k) * step;
    o += f.length;
  });
  await sender.send(buf, off, len, dep);
}

interface Received {
  raw: Uint8Array[];
  batches: FrameBatch[];
}
function collector(): { rx: Received; onBatch: (b: FrameBatch) => void } {
  const rx: Received = { raw: [], batches: [] };
  return {
    rx,
    onBatch: (b) => {
      rx.batches.push(b);
      for (let i = 0; i < b.count; i++) rx.raw.push(b.raw(i));
    },
  };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('SV frames with 0, 1 and 2 VLAN tags arrive complete, in order, byte for byte; other traffic is filtered out', { skip }, async () => {
  const base = framesOf('other/guseynov1_9-2LE_80frames.pcap');
  const goose = framesOf('other/arstack61850_all_optional_fields.pcap')[0]!; // EtherType 0x88B8: not SV
  const sv: Uint8Array[] = [
    ...base,
    ...base.map((f) => withTags(f, [{ tpid: 0x8100, pcp: 4, vid: 100 }])),
    ...base.map((f) =>
      withTags(f, [
        { tpid: 0x88a8, pcp: 0, vid: 10 },
        { tpid: 0x8100, pcp: 3, vid: 20 },
      ]),
    ),
  ];
  // Non-SV frames interleaved by the same sender: ARP, GOOSE, GOOSE with a VLAN tag.
  const wire: Uint8Array[] = [];
  sv.forEach((f, k) => {
    wire.push(f);
    if (k % 20 === 0) wire.push(arpFrame(), goose, withTags(goose, [{ tpid: 0x8100, pcp: 4, vid: 200 }]));
  });
  const cap = new LiveCapture({ iface: tb!.nsIf, netns: tb!.ns });
  const { rx, onBatch } = collector();
  const t0 = realtimeNs();
  cap.start(onBatch);
  const sender = new Sender({ iface: tb!.hostIf });
  try {
    const noise = udpNoise(tb!.nsIp, 5); // kernel IPv4/ARP traffic on the same link
    await sendAll(sender, wire, 4000);
    const res = await sender.drain();
    await noise;
    assert.equal(res.sent, wire.length);
    assert.equal(res.errors, 0);
    await settle(50);
  } finally {
    sender.close();
    await cap.close();
  }
  const t1 = realtimeNs();
  const stats = cap.stats();
  assert.equal(rx.raw.length, sv.length, 'every SV frame and nothing else');
  for (let k = 0; k < sv.length; k++) assert.deepEqual(rx.raw[k], sv[k], `frame ${k}`);
  assert.equal(stats.kernelDrops, 0);
  assert.equal(stats.queueDrops, 0);
  assert.equal(stats.delivered, sv.length);
  assert.equal(stats.decodeErrors, 0);
  // Decoded view of what arrived: VLAN tags as sent, running frame numbers, realtime timestamps.
  let n = 0;
  for (const b of rx.batches) {
    for (let i = 0; i < b.count; i++, n++) {
      assert.equal(b.frameNo(i), n + 1);
      assert.ok(b.ok(i), b.error(i));
      assert.ok(b.tsNs(i) >= t0 && b.tsNs(i) <= t1);
      const group = Math.floor(n / base.length);
      assert.equal(b.vlanCount(i), group);
      if (group === 1) assert.deepEqual([b.vlanId(i, 0), b.vlanPriority(i, 0)], [100, 4]);
      if (group === 2) assert.deepEqual([b.vlanId(i, 0), b.vlanId(i, 1), b.vlanPriority(i, 1)], [10, 20, 3]);
      assert.equal(b.appId(i), 0x4000);
    }
  }
});

test('a faster stream is batched and still complete', { skip }, async () => {
  const base = framesOf('other/guseynov1_9-2LE_80frames.pcap');
  const sv: Uint8Array[] = [];
  for (let r = 0; r < 100; r++) sv.push(...base); // 8000 frames at 40 k/s
  const cap = new LiveCapture({ iface: tb!.nsIf, netns: tb!.ns, batchFrames: 64 });
  const { rx, onBatch } = collector();
  cap.start(onBatch);
  const sender = new Sender({ iface: tb!.hostIf });
  try {
    await sendAll(sender, sv, 40_000);
    await sender.drain();
    await settle(50);
  } finally {
    sender.close();
    await cap.close();
  }
  const stats = cap.stats();
  assert.equal(rx.raw.length, sv.length);
  for (let k = 0; k < sv.length; k += 97) assert.deepEqual(rx.raw[k], sv[k], `frame ${k}`);
  assert.ok(rx.batches.every((b) => b.count >= 1 && b.count <= 64));
  assert.equal(stats.batches, rx.batches.length);
  assert.equal(stats.kernelDrops, 0);
});

test('when JS does not keep up, whole batches are dropped and counted', { skip }, async () => {
  const base = framesOf('other/guseynov1_9-2LE_80frames.pcap');
  const sv: Uint8Array[] = [];
  for (let r = 0; r < 25; r++) sv.push(...base); // 2000 frames over 100 ms
  const cap = new LiveCapture({ iface: tb!.nsIf, netns: tb!.ns, maxQueuedBatches: 2, batchFrames: 16 });
  const { rx, onBatch } = collector();
  cap.start(onBatch);
  const sender = new Sender({ iface: tb!.hostIf });
  try {
    await sendAll(sender, sv, 20_000, 5_000_000n);
    const until = Date.now() + 300;
    while (Date.now() < until) {
      // Block the event loop while the frames arrive.
    }
    await sender.drain();
    await settle(50);
  } finally {
    sender.close();
    await cap.close();
  }
  const stats = cap.stats();
  assert.ok(stats.queueDrops > 0, 'some batches dropped');
  assert.equal(stats.captured, sv.length);
  assert.equal(stats.delivered + stats.queueDrops, stats.captured);
  assert.equal(rx.raw.length, stats.delivered);
  assert.equal(stats.kernelDrops, 0);
});

test('native errors name the interface and carry the libpcap/system message', { skip }, () => {
  assert.throws(
    () => new LiveCapture({ iface: 'svde-nope0' }),
    (e: Error) => e.message.includes("'svde-nope0'") && /no such device/i.test(e.message),
  );
  assert.throws(
    () => new Sender({ iface: 'svde-nope0' }),
    (e: Error) => e.message.includes("'svde-nope0'") && /no such device/i.test(e.message),
  );
  assert.throws(() => new LiveCapture({ iface: tb!.nsIf, netns: tb!.ns, filter: 'ether proto nonsense(' }), /bad filter/);
  assert.throws(() => new LiveCapture({ iface: tb!.nsIf, netns: 'svde-no-such-netns' }), /network namespace/);
  assert.throws(() => new LiveCapture({ iface: tb!.nsIf, bufferBytes: -1 }), /bufferBytes/);
});

test('Sender rejects malformed send() arguments without sending', { skip }, async () => {
  const sender = new Sender({ iface: tb!.hostIf });
  try {
    const f = new Uint8Array(60);
    await assert.rejects(async () => sender.send(f, new Uint32Array([10]), new Uint32Array([60]), new BigInt64Array([0n])), /outside/);
    await assert.rejects(
      async () => sender.send(f, new Uint32Array([0, 0]), new Uint32Array([60, 60]), new BigInt64Array([5n, 1n])),
      /non-decreasing/,
    );
    assert.equal((await sender.drain()).sent, 0);
  } finally {
    sender.close();
  }
});

test('repeated open/start/close releases threads, sockets and memory', { skip }, async () => {
  const fds = () => readdirSync('/proc/self/fd').length;
  const cycle = async () => {
    const cap = new LiveCapture({ iface: tb!.nsIf, netns: tb!.ns, bufferBytes: 1 << 20 });
    cap.start(() => {});
    const sender = new Sender({ iface: tb!.hostIf });
    sender.close();
    await cap.close();
    await new LiveCapture({ iface: tb!.nsIf, netns: tb!.ns, bufferBytes: 1 << 20 }).close(); // never started
  };
  for (let k = 0; k < 10; k++) await cycle();
  await settle(20);
  globalThis.gc?.();
  const fd0 = fds();
  const rss0 = process.memoryUsage().rss;
  for (let k = 0; k < 40; k++) await cycle();
  await settle(50);
  globalThis.gc?.();
  await settle(50);
  // Two pcap sockets, one eventfd and one AF_PACKET socket per cycle: a leak would add 160 fds.
  assert.ok(fds() - fd0 < 8, `fds grew from ${fd0} to ${fds()}`);
  assert.ok(process.memoryUsage().rss - rss0 < 64 << 20);
});

test('a worker that is terminated with a running capture and sender shuts down cleanly', { skip }, async () => {
  const w = new Worker(new URL('./live-worker.ts', import.meta.url), {
    workerData: { iface: tb!.nsIf, netns: tb!.ns, hostIf: tb!.hostIf },
  });
  let workerFrames = 0;
  await new Promise<void>((resolve, reject) => {
    w.on('message', (m: { ready?: boolean; frames?: number }) => {
      if (m.frames !== undefined) workerFrames = m.frames;
      if (m.ready) resolve();
    });
    w.on('error', reject);
  });
  const sender = new Sender({ iface: tb!.hostIf });
  try {
    await sendAll(sender, framesOf('other/guseynov1_9-2LE_80frames.pcap'), 8000);
    await sender.drain();
  } finally {
    sender.close();
  }
  await settle(50);
  assert.equal(workerFrames, 80, 'the capture inside the worker received the frames');
  const code = await w.terminate();
  assert.equal(code, 1);
});

test('link down is reported and capture resumes when it comes back; a deleted interface stops with an error', { skip }, async () => {
  const own = createTestbed();
  try {
    const cap = new LiveCapture({ iface: own.nsIf, netns: own.ns });
    const { rx, onBatch } = collector();
    const failed = new Promise<Error>((resolve) => cap.start(onBatch, resolve));
    const base = framesOf('other/guseynov1_9-2LE_80frames.pcap');
    const waitFor = async (cond: () => boolean) => {
      for (let k = 0; k < 50 && !cond(); k++) await settle(20);
      return cond();
    };
    assert.equal(cap.stats().linkUp, true);
    execFileSync('ip', ['-n', own.ns, 'link', 'set', own.nsIf, 'down']);
    assert.ok(await waitFor(() => !cap.stats().linkUp), 'link down seen');
    execFileSync('ip', ['-n', own.ns, 'link', 'set', own.nsIf, 'up']);
    assert.ok(await waitFor(() => cap.stats().linkUp), 'link up seen');
    const sender = new Sender({ iface: own.hostIf });
    try {
      await sendAll(sender, base, 8000);
      await sender.drain();
    } finally {
      sender.close();
    }
    assert.ok(await waitFor(() => rx.raw.length === base.length), 'frames after the link came back');
    own.cleanup(); // deletes both veth ends
    const err = await Promise.race([failed, settle(2000).then(() => undefined)]);
    assert.ok(err instanceof Error, 'onError called');
    assert.match(err.message, new RegExp(`'${own.nsIf}'.*disappeared`));
    assert.match(cap.stats().error ?? '', /disappeared/);
    await cap.close();
  } finally {
    own.cleanup();
  }
});

test('Sender.send waits while the native queue is full (backpressure) and drain waits for the wire', { skip }, async () => {
  const base = framesOf('other/guseynov1_9-2LE_80frames.pcap');
  const cap = new LiveCapture({ iface: tb!.nsIf, netns: tb!.ns });
  const { rx, onBatch } = collector();
  cap.start(onBatch);
  const sender = new Sender({ iface: tb!.hostIf, maxQueuedFrames: 80 });
  try {
    const step = 100_000n; // 10 k frames/s: each 80-frame chunk takes 8 ms on the wire
    const chunk = (n: number) => {
      const frames = base;
      const total = frames.reduce((a, f) => a + f.length, 0);
      const buf = new Uint8Array(total);
      const off = new Uint32Array(frames.length);
      const len = new Uint32Array(frames.length);
      const dep = new BigInt64Array(frames.length);
      let o = 0;
      frames.forEach((f, k) => {
        buf.set(f, o);
        off[k] = o;
        len[k] = f.length;
        dep[k] = BigInt(n * frames.length + k) * step;
        o += f.length;
      });
      return sender.send(buf, off, len, dep);
    };
    await chunk(0); // fits: resolves at once
    const sentWhenSecondQueued: number[] = [];
    const second = chunk(1).then(() => sentWhenSecondQueued.push(sender.stats().sent));
    const third = chunk(2).then(() => sentWhenSecondQueued.push(sender.stats().sent));
    await Promise.all([second, third]);
    // Chunk 2 can only enter once chunk 1 (80 frames) is sent, chunk 3 once chunk 2 is.
    assert.ok(sentWhenSecondQueued[0]! >= 80, `second admitted after ${sentWhenSecondQueued[0]} sent`);
    assert.ok(sentWhenSecondQueued[1]! >= 160, `third admitted after ${sentWhenSecondQueued[1]} sent`);
    const done = await sender.drain();
    assert.equal(done.sent, 240);
    assert.equal(done.errors, 0);
    await settle(50);
  } finally {
    sender.close();
    await cap.close();
  }
  assert.equal(rx.raw.length, 240);
  for (let k = 0; k < 240; k++) assert.deepEqual(rx.raw[k], base[k % 80]);
});
