// Logic rules on crafted frames (encoder → capture → native decoder → pipeline), each both ways:
// smpsynch-lost, noasdu-mismatch, and a gap told from capture loss by the capture's drop counter.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { readCaptureFile } from '../../src/native/index.ts';
import { Pipeline } from '../../src/detect/pipeline.ts';
import { LogicStage } from '../../src/detect/stages/logic.ts';
import { StreamRegistry } from '../../src/detect/streams.ts';
import type { FrameVerdict } from '../../src/model/indicators.ts';
import { encodeFrame } from '../../src/sv/encode.ts';
import { CaptureWriter } from '../../src/sv/pcap-writer.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'svde-logic-rules-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const RATE = 4000;
const PERIOD_NS = 1e9 / RATE;
let n = 0;

/** Frame k of the stream: smpCnt k, sent at k periods; `asdus` ASDUs with consecutive counters. */
interface Frame {
  k: number;
  smpSynch?: number;
  asdus?: number;
  mu?: 1 | 2;
}

function capture(frames: Frame[]): string {
  const file = path.join(dir, `f${n++}.pcap`);
  const w = new CaptureWriter(file, { format: 'pcap' });
  for (const f of frames) {
    const asdus = Array.from({ length: f.asdus ?? 1 }, (_, j) => {
      const seq = new Uint8Array(64);
      new DataView(seq.buffer).setInt32(0, f.k * 10 + j);
      return { svID: `MU${f.mu ?? 1}`, smpCnt: (f.k + j) % RATE, confRev: 1, smpSynch: f.smpSynch ?? 2, seqData: seq };
    });
    const { bytes } = encodeFrame({
      dst: '01:0c:cd:04:00:01',
      src: `02:00:00:00:00:0${f.mu ?? 1}`,
      appId: 0x4000 + (f.mu ?? 1) - 1,
      asdus,
    });
    const tNs = Math.round(f.k * PERIOD_NS) + ((f.mu ?? 1) - 1) * 1000;
    w.write(bytes, 0, bytes.length, 1_700_000_000 + Math.floor(tNs / 1e9), tNs % 1e9);
  }
  void w.close();
  return file;
}

const range = (from: number, to: number, f: Omit<Frame, 'k'> = {}): Frame[] =>
  Array.from({ length: to - from }, (_, j) => ({ k: from + j, ...f }));

/** The logic stage over captures in turn; `between[i]` runs after capture i (e.g. the drop counter grows). */
function run(files: string[], between: Array<(l: LogicStage) => void> = []): { verdicts: FrameVerdict[]; logic: LogicStage } {
  const registry = new StreamRegistry(
    [1, 2].map((mu) => ({
      name: `MU${mu}`,
      svID: `MU${mu}`,
      appId: 0x3fff + mu,
      acceptedSourceMacs: [],
      confRev: 1,
      samplesPerSecond: RATE,
      nofASDU: 1,
      framesPerSecond: RATE,
    })),
  );
  const logic = new LogicStage(registry);
  const verdicts: FrameVerdict[] = [];
  const p = new Pipeline({ registry, stages: [logic], onVerdict: (v) => verdicts.push(v) });
  files.forEach((f, i) => {
    for (const b of readCaptureFile(f)) p.processBatch(b);
    between[i]?.(logic);
  });
  p.finish();
  return { verdicts, logic };
}

const summary = (v: FrameVerdict[]) => v.map((x) => [x.frame, x.reason]);

describe('logic rules on crafted frames', () => {
  it('smpsynch-lost: synchronised (2) then 0 is one verdict on the first unsynchronised frame', () => {
    const { verdicts } = run([capture([...range(0, 100), ...range(100, 200, { smpSynch: 0 })])]);
    assert.deepEqual(summary(verdicts), [[101, 'smpsynch-lost']]);
    assert.deepEqual(verdicts[0]!.detail, { smpSynch: 0, before: 2 });
  });

  it('smpsynch-lost: never synchronised (0 throughout), or a change of sync source (2 → 1), raises nothing', () => {
    assert.deepEqual(run([capture(range(0, 200, { smpSynch: 0 }))]).verdicts, []);
    assert.deepEqual(run([capture([...range(0, 100), ...range(100, 200, { smpSynch: 1 })])]).verdicts, []);
  });

  it('noasdu-mismatch: frames with 2 ASDUs on a 1-ASDU stream are flagged and discarded, the others not', () => {
    const { verdicts } = run([capture([...range(0, 50), ...range(50, 55, { asdus: 2 }), ...range(55, 100)])]);
    assert.deepEqual(
      summary(verdicts),
      [51, 52, 53, 54, 55].map((f) => [f, 'noasdu-mismatch']),
    );
    assert.ok(verdicts.every((v) => v.discard && v.detail?.['noASDU'] === 2 && v.detail['expected'] === 1));
  });

  it('noasdu-mismatch: the configured ASDU count raises nothing', () => {
    assert.deepEqual(run([capture(range(0, 100))]).verdicts, []);
  });

  // Frames 100 … 109 never reach the capture: a second file goes on from 110 at the stream's times.
  const head = capture(range(0, 100));
  const tail = capture(range(110, 300));

  it('a gap while the capture reports drops is capture loss: no verdict, counted as a normal event', () => {
    const { verdicts, logic } = run([head, tail], [(l) => l.setCaptureDrops(10)]);
    assert.deepEqual(verdicts, []);
    assert.equal(logic.captureLossGaps, 1);
  });

  it('the same gap without capture drops (or with drops that stopped growing before it) is a deletion: gap', () => {
    const plain = run([head, tail]);
    assert.deepEqual(
      plain.verdicts.map((v) => [v.reason, v.detail?.['missing']]),
      [['gap', 10]],
    );
    assert.equal(plain.logic.captureLossGaps, 0);
    // Drops counted before frame 50 only: the gap at 110 comes while the counter stands still.
    const early = capture(range(0, 50));
    const middle = capture(range(50, 100));
    const r = run([early, middle, tail], [(l) => l.setCaptureDrops(3)]);
    assert.deepEqual(
      r.verdicts.map((v) => [v.reason, v.detail?.['missing']]),
      [['gap', 10]],
    );
    assert.equal(r.logic.captureLossGaps, 0);
  });

  it("capture loss hits every stream: each stream's first gap after the drops is capture loss, not only the first frame's", () => {
    // Two interleaved streams; frames 100 … 109 of both are lost by the capture.
    const both = (from: number, to: number): Frame[] => range(from, to).flatMap((f) => [f, { ...f, mu: 2 as const }]);
    const r = run([capture(both(0, 100)), capture(both(110, 300))], [(l) => l.setCaptureDrops(20)]);
    assert.deepEqual(r.verdicts, []);
    assert.equal(r.logic.captureLossGaps, 2);
    // Without drops both gaps are deletions.
    const d = run([capture(both(0, 100)), capture(both(110, 300))]);
    assert.deepEqual(
      d.verdicts.map((v) => [v.stream, v.reason]),
      [
        ['MU1', 'gap'],
        ['MU2', 'gap'],
      ],
    );
  });
});
