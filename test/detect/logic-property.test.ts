// Property tests (fast-check) of the smpCnt rules across the counter's wrap: real frames from the encoder,
// written to a capture and read back through the native decoder, for random rates, ASDU counts and start
// counters just before the wrap.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { readCaptureFile } from '../../src/native/index.ts';
import { Pipeline } from '../../src/detect/pipeline.ts';
import { LogicStage } from '../../src/detect/stages/logic.ts';
import { StreamRegistry } from '../../src/detect/streams.ts';
import type { FrameVerdict } from '../../src/model/indicators.ts';
import { encodeFrame } from '../../src/sv/encode.ts';
import { CaptureWriter } from '../../src/sv/pcap-writer.ts';

interface Shape {
  wrap: number;
  asdus: number;
  start: number;
}

/** Writes frames with the given first smpCnts (ASDUs consecutive) at the given times (ns). */
function writeCapture(file: string, shape: Shape, frames: Array<{ smpCnt: number; tNs: number; value: number }>): void {
  const w = new CaptureWriter(file, { format: 'pcap' });
  for (const f of frames) {
    const asdus = Array.from({ length: shape.asdus }, (_, k) => {
      const seq = new Uint8Array(64);
      new DataView(seq.buffer).setInt32(0, f.value + k);
      return { svID: 'PROP_MU', smpCnt: (f.smpCnt + k) % shape.wrap, confRev: 1, smpSynch: 2, seqData: seq };
    });
    const { bytes } = encodeFrame({
      dst: '01:0c:cd:04:00:01',
      src: '02:00:00:00:00:01',
      appId: 0x4000,
      asdus,
      vlans: [{ id: 1, priority: 4 }],
    });
    const sec = 1_700_000_000 + Math.floor(f.tNs / 1e9);
    w.write(bytes, 0, bytes.length, sec, f.tNs % 1e9);
  }
  void w.close();
}

function run(file: string, shape: Shape): FrameVerdict[] {
  const registry = new StreamRegistry([
    {
      name: 'MU',
      svID: 'PROP_MU',
      appId: 0x4000,
      acceptedSourceMacs: [],
      confRev: 1,
      samplesPerSecond: shape.wrap,
      nofASDU: shape.asdus,
      framesPerSecond: shape.wrap / shape.asdus,
    },
  ]);
  const verdicts: FrameVerdict[] = [];
  const p = new Pipeline({ registry, stages: [new LogicStage(registry)], onVerdict: (v) => verdicts.push(v) });
  for (const b of readCaptureFile(file)) p.processBatch(b);
  p.finish();
  return verdicts;
}

const shapeArb = fc.record({ wrap: fc.constantFrom(4000, 4800, 12800, 14400, 15360), asdus: fc.constantFrom(1, 2, 8) }).chain((s) =>
  fc.record({
    wrap: fc.constant(s.wrap),
    asdus: fc.constant(s.asdus),
    start: fc.integer({ min: 0, max: 40 }).map((k) => s.wrap - s.asdus * (k + 1)),
  }),
);

/** n in-sequence frames from `start`, at the stream's rate, with distinct values. */
function sequence(shape: Shape, n: number): Array<{ smpCnt: number; tNs: number; value: number }> {
  const periodNs = (1e9 * shape.asdus) / shape.wrap;
  return Array.from({ length: n }, (_, k) => ({
    smpCnt: (shape.start + k * shape.asdus) % shape.wrap,
    tNs: Math.round(k * periodNs),
    value: k * 100,
  }));
}

describe('logic stage properties across the smpCnt wrap', () => {
  let dir = '';
  let n = 0;
  const file = (): string => path.join(dir, `p${n++}.pcap`);
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-logic-prop-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('an in-sequence stream that wraps raises nothing', () => {
    fc.assert(
      fc.property(shapeArb, fc.integer({ min: 60, max: 200 }), (shape, count) => {
        const f = file();
        writeCapture(f, shape, sequence(shape, count));
        assert.deepEqual(run(f, shape), []);
      }),
      { numRuns: 25 },
    );
  });

  it('a copy of a frame right after it is exactly one smpcnt-duplicate, wherever the wrap is', () => {
    fc.assert(
      fc.property(shapeArb, fc.integer({ min: 1, max: 58 }), (shape, at) => {
        const frames = sequence(shape, 60);
        const copy = { ...frames[at]!, tNs: frames[at]!.tNs + 1000 };
        frames.splice(at + 1, 0, copy);
        const f = file();
        writeCapture(f, shape, frames);
        const v = run(f, shape);
        assert.deepEqual(
          v.map((x) => [x.frame, x.reason]),
          [[at + 2, 'smpcnt-duplicate']],
        );
      }),
      { numRuns: 25 },
    );
  });

  it('frames deleted across the wrap are exactly one gap on the first frame after them', () => {
    fc.assert(
      fc.property(shapeArb, fc.integer({ min: 5, max: 30 }), fc.integer({ min: 1, max: 60 }), (shape, at, missing) => {
        const frames = sequence(shape, at + missing + 30);
        frames.splice(at, missing);
        const f = file();
        writeCapture(f, shape, frames);
        const v = run(f, shape);
        assert.deepEqual(
          v.map((x) => [x.frame, x.reason]),
          [[at + 1, 'gap']],
        );
      }),
      { numRuns: 25 },
    );
  });

  it('two adjacent frames swapped are both smpcnt-reorder, and nothing else', () => {
    fc.assert(
      fc.property(shapeArb, fc.integer({ min: 2, max: 50 }), (shape, at) => {
        const frames = sequence(shape, 60);
        const a = frames[at]!;
        const b = frames[at + 1]!;
        frames[at] = { ...b, tNs: a.tNs };
        frames[at + 1] = { ...a, tNs: b.tNs };
        const f = file();
        writeCapture(f, shape, frames);
        const v = run(f, shape);
        assert.deepEqual(
          v.map((x) => [x.frame, x.reason]).sort((p, q) => (p[0] as number) - (q[0] as number)),
          [
            [at + 1, 'smpcnt-reorder'],
            [at + 2, 'smpcnt-reorder'],
          ],
        );
      }),
      { numRuns: 25 },
    );
  });
});
