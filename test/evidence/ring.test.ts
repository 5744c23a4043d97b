// The pre-trigger ring's buffer reuse: a segment handed to a sink that keeps the buffer (the store binds it at
// commit) is never reused; with a sink that copies at once (the real-time lanes) every buffer is.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PreTriggerRing } from '../../src/evidence/ring.ts';

const SEG = 1024;
const frame = Buffer.alloc(200, 7);
const ts = new Uint8Array(8);

/** Fills segments of stream S until the first one is evicted; returns the first segment's buffer and the ring. */
function evictFirst(reuseWritten: boolean): { first: Buffer; ring: PreTriggerRing } {
  const ring = new PreTriggerRing({
    capBytes: 2 * SEG,
    segmentBytes: SEG,
    segmentSpanNs: 1e18,
    reuseWritten,
    onSeal: (seg) => {
      seg.chunk = { id: seg.seq + 1, frames: seg.frames, fromNs: 0n, toNs: 0n };
    },
  });
  ring.push('S', frame, 0, frame.length, ts, 0);
  ring.sealStream('S');
  const first = ring.sealedSince('S', 0)[0]!.buf;
  for (let k = 0; k < 12; k++) ring.push('S', frame, 0, frame.length, ts, 0); // fills the second segment, evicts the first
  return { first, ring };
}

describe('pre-trigger ring buffer reuse', () => {
  it('reuses the buffer of an evicted segment that was handed to a copying sink', () => {
    const { first, ring } = evictFirst(true);
    assert.ok(ring.stats().evictedSegments >= 1, 'the first segment was evicted');
    const held = ring.sealedSince('S', 0).map((s) => s.buf);
    assert.ok(held.includes(first), 'the evicted buffer serves a new segment');
  });

  it('never reuses a buffer handed to a sink that keeps it', () => {
    const { first, ring } = evictFirst(false);
    assert.ok(ring.stats().evictedSegments >= 1, 'the first segment was evicted');
    const all = ring.sealedSince('S', 0).map((s) => s.buf);
    assert.ok(!all.includes(first), 'the store may still be writing it');
  });
});
