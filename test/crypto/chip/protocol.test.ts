// Framing, CRC and codecs of the chip protocol; property tests of the resynchronising parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  Cmd,
  crc16,
  decodeInfo,
  decodeLoadKey,
  decodeSignature,
  decodeVerify,
  decodeVerifyBatch,
  decodeVerifyBatchResult,
  decodeVerifyResult,
  encodeFrame,
  encodeInfo,
  encodeLoadKey,
  encodeSignature,
  encodeVerify,
  encodeVerifyBatch,
  encodeVerifyBatchResult,
  encodeVerifyResult,
  FrameParser,
  headerCheck,
  MAX_PAYLOAD,
  ProtocolError,
  SOF,
  type Frame,
} from '../../../src/crypto/chip/protocol.ts';

const ascii = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('CRC-16/CCITT-FALSE check value (CRC catalogue: "123456789" → 0x29B1) and empty input', () => {
  assert.equal(crc16(ascii('123456789')), 0x29b1);
  assert.equal(crc16(new Uint8Array(0)), 0xffff);
});

test('frame layout: SOF, length, header check, seq, cmd, payload, CRC over everything after SOF', () => {
  const f = encodeFrame({ seq: 7, cmd: Cmd.RANDOM, payload: Uint8Array.of(0x20) });
  assert.equal(f.length, 9);
  assert.deepEqual([...f.subarray(0, 7)], [0xa5, 0x00, 0x01, 0x00 ^ 0x01 ^ 0x5a, 7, 0x07, 0x20]);
  const c = crc16(f.subarray(1, 7));
  assert.deepEqual([...f.subarray(7)], [c >> 8, c & 0xff]);
  assert.throws(() => encodeFrame({ seq: 256, cmd: 1, payload: new Uint8Array(0) }), RangeError);
  assert.throws(() => encodeFrame({ seq: 1, cmd: 1, payload: new Uint8Array(MAX_PAYLOAD + 1) }), RangeError);
});

const frameArb = fc.record({
  seq: fc.integer({ min: 0, max: 255 }),
  cmd: fc.integer({ min: 0, max: 255 }),
  payload: fc.uint8Array({ maxLength: 300 }),
});
const same = (a: Frame, b: Frame) => a.seq === b.seq && a.cmd === b.cmd && hex(a.payload) === hex(b.payload);

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const pts = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of pts) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}
const concat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

function feed(p: FrameParser, chunks: Uint8Array[], drain = true): Frame[] {
  const out = chunks.flatMap((c) => p.push(c));
  // The driver gives up a partial frame after line silence; do the same at the end of input.
  while (drain && p.pending > 0) out.push(...p.dropPartial());
  return out;
}

/** a is a subsequence of b (by frame equality). */
function isSubsequence(a: Frame[], b: Frame[]): boolean {
  let j = 0;
  for (const f of b) if (j < a.length && same(a[j]!, f)) j++;
  return j === a.length;
}

test('parser: any frames, any chunking → exactly the frames', () => {
  fc.assert(
    fc.property(fc.array(frameArb, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
      const bytes = concat(frames.map(encodeFrame));
      const got = feed(new FrameParser(), splitAt(bytes, cuts), false);
      assert.equal(got.length, frames.length);
      got.forEach((g, k) => assert.ok(same(g, frames[k]!)));
    }),
    { numRuns: 300 },
  );
});

test('parser: garbage without start bytes between frames is skipped and counted', () => {
  const noSof = fc.uint8Array({ maxLength: 50 }).map((g) => g.map((b) => (b === SOF ? 0 : b)));
  fc.assert(
    fc.property(fc.array(fc.tuple(noSof, frameArb), { maxLength: 6 }), noSof, fc.array(fc.nat(), { maxLength: 6 }), (pairs, tail, cuts) => {
      const bytes = concat([...pairs.flatMap(([g, f]) => [g, encodeFrame(f)]), tail]);
      const p = new FrameParser();
      const got = feed(p, splitAt(bytes, cuts), false);
      assert.equal(got.length, pairs.length);
      got.forEach((g, k) => assert.ok(same(g, pairs[k]![1])));
      assert.equal(p.stats.garbageBytes, pairs.reduce((n, [g]) => n + g.length, 0) + tail.length);
    }),
    { numRuns: 300 },
  );
});

test('parser: arbitrary garbage (start bytes, false headers) never hides the real frames after it', () => {
  // A false start can make the parser wait; once the line goes quiet (dropPartial) it rescans what it held.
  const falseHeader = fc
    .integer({ min: 0, max: MAX_PAYLOAD })
    .map((n) => Uint8Array.of(SOF, n >> 8, n & 0xff, headerCheck(n >> 8, n & 0xff)));
  const garbage = fc
    .array(fc.oneof(fc.uint8Array({ maxLength: 30 }), falseHeader, fc.constant(Uint8Array.of(SOF))), { maxLength: 4 })
    .map(concat);
  fc.assert(
    fc.property(fc.array(fc.tuple(garbage, frameArb), { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 6 }), (pairs, cuts) => {
      const real = pairs.map(([, f]) => f);
      const bytes = concat(pairs.flatMap(([g, f]) => [g, encodeFrame(f)]));
      const p = new FrameParser();
      const got = feed(p, splitAt(bytes, cuts));
      assert.ok(isSubsequence(real, got), 'a real frame was lost');
      assert.equal(p.pending, 0);
    }),
    { numRuns: 400 },
  );
});

test('parser: a frame with any single flipped bit is never delivered; the frames around it are', () => {
  fc.assert(
    fc.property(frameArb, frameArb, frameArb, fc.nat(), fc.integer({ min: 0, max: 7 }), (a, victim, b, at, bit) => {
      const bad = encodeFrame(victim);
      bad[at % bad.length]! ^= 1 << bit;
      const got = feed(new FrameParser(), [encodeFrame(a), bad, encodeFrame(b)]);
      // Whatever the parser makes of the damaged bytes must not be a frame that was never sent.
      for (const g of got) assert.ok(same(g, a) || same(g, b), `delivered a frame that was never sent: ${JSON.stringify(g)}`);
      assert.ok(isSubsequence([a, b], got));
    }),
    { numRuns: 500 },
  );
});

test('parser: never throws on random bytes and holds at most one maximal frame', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 8 }), (chunks) => {
      const p = new FrameParser();
      for (const c of chunks) {
        p.push(c);
        assert.ok(p.pending <= 6 + MAX_PAYLOAD + 2);
      }
    }),
    { numRuns: 200 },
  );
});

test('codecs round-trip and refuse wrong lengths', () => {
  const big = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });
  const e32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const item = fc.record({ slot: fc.integer({ min: 0, max: 255 }), e: e32, r: big, s: big });
  fc.assert(
    fc.property(item, fc.array(item, { minLength: 1, maxLength: 32 }), (it, items) => {
      // fast-check records have a null prototype; compare plain copies.
      assert.deepEqual(decodeVerify(encodeVerify(it)), { ...it });
      assert.deepEqual(
        decodeVerifyBatch(encodeVerifyBatch(items)),
        items.map((x) => ({ ...x })),
      );
    }),
    { numRuns: 50 },
  );
  fc.assert(
    fc.property(big, big, fc.integer({ min: 0, max: 1 }), (x, y, v) => {
      assert.deepEqual(decodeLoadKey(encodeLoadKey(3, { x, y })), { slot: 3, key: { x, y } });
      assert.deepEqual(decodeSignature(encodeSignature(x, y)), { r: x, s: y });
      assert.deepEqual(decodeVerifyResult(encodeVerifyResult({ verdict: v, x1: x })), { verdict: v, x1: x });
      const rs = [
        { status: 0, verdict: v, x1: x },
        { status: 4, verdict: 0, x1: y },
      ];
      assert.deepEqual(decodeVerifyBatchResult(encodeVerifyBatchResult(rs)), rs);
    }),
    { numRuns: 50 },
  );
  const info = {
    protocolVersion: 1,
    firmwareVersion: 0x0102,
    bootCount: 0xdeadbeef,
    bootId: 7,
    slots: 16,
    maxBatch: 32,
    maxPayload: 4096,
    serial: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
    deviceKey: { x: 5n, y: 6n },
    flags: 3,
  };
  assert.deepEqual(decodeInfo(encodeInfo(info)), info);
  assert.throws(() => decodeVerify(new Uint8Array(96)), ProtocolError);
  assert.throws(() => decodeVerifyBatch(Uint8Array.of(0)), ProtocolError);
  assert.throws(() => decodeVerifyBatch(Uint8Array.of(2, ...new Uint8Array(97))), ProtocolError);
  assert.throws(() => encodeVerifyBatch([]), RangeError);
});
