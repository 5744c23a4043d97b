// The simulator live on a real veth pair (in a network namespace the test creates and removes) and the
// addon's live capture on the other end: every frame arrives, byte for byte the frames the same simulation
// writes to a file, no kernel drop, at the true rate.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LiveCapture, readCaptureFile, STATUS_NOT_SV, type FrameBatch } from '../../src/native/index.ts';
import { canCreateTestbed, createTestbed, type Testbed } from '../../tools/sim/testbed.ts';
import { svdeSim } from '../helpers/repo.ts';

function svFrames(batches: Iterable<FrameBatch>): { frames: string[]; ts: bigint[] } {
  const frames: string[] = [];
  const ts: bigint[] = [];
  for (const b of batches) {
    for (let i = 0; i < b.count; i++) {
      if (b.status(i) === STATUS_NOT_SV) continue;
      assert.ok(b.ok(i), `frame decodes: ${b.error(i)}`);
      frames.push(Buffer.from(b.raw(i)).toString('hex'));
      ts.push(b.tsNs(i));
    }
  }
  return { frames, ts };
}

describe('simulator live → veth → LiveCapture', { skip: !canCreateTestbed() && 'needs root for network namespaces' }, () => {
  let bed: Testbed | undefined;
  let dir = '';
  before(() => {
    bed = createTestbed();
    dir = mkdtempSync(path.join(tmpdir(), 'svde-live-sim-'));
  });
  after(() => {
    bed?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('4 MUs × 4000 frames/s for 2 s: nothing lost, bytes identical to the file output, true rate', async () => {
    const args = ['--mus', '4', '--duration', '2s', '--seed', '11', '--vlan', '5:4', '--scenario', 'normal'];
    const file = path.join(dir, 'ref.pcap');
    const ref = await svdeSim([...args, '--out', file]);
    assert.equal(ref.code, 0, ref.stderr);

    const batches: FrameBatch[] = [];
    const cap = new LiveCapture({ iface: bed!.hostIf });
    cap.start((b) => batches.push(b));
    const live = await svdeSim([...args, '--iface', bed!.nsIf, '--netns', bed!.ns]);
    assert.equal(live.code, 0, live.stderr);
    const summary = JSON.parse(live.stdout.trim()) as { frames: number; sender: { sent: number; errors: number } };
    await new Promise((r) => setTimeout(r, 200));
    await cap.close();
    const stats = cap.stats();

    const want = svFrames(readCaptureFile(file));
    const got = svFrames(batches);
    assert.equal(summary.sender.sent, want.frames.length, 'the sender put every frame on the wire');
    assert.equal(summary.sender.errors, 0);
    assert.equal(stats.kernelDrops, 0);
    assert.equal(stats.queueDrops, 0);
    assert.equal(got.frames.length, want.frames.length, 'every frame captured');
    // Same multiset of frames (concurrent MUs may interleave differently on the wire).
    assert.deepEqual([...got.frames].sort(), [...want.frames].sort());
    // Paced, not blasted: 2 s of traffic spans at least most of 2 s of capture time (the upper side is
    // not asserted: a shared machine may delay the sender).
    const spanS = Number(got.ts[got.ts.length - 1]! - got.ts[0]!) / 1e9;
    assert.ok(spanS > 1.9, `traffic spans ${spanS.toFixed(3)} s of capture time`);
  });
});
