// The three public QUT captures (a software zone substation with libiec61850 publishers) analysed with
// their authors' labels: streams learnt from the first, fault-free seconds of each capture (commissioning
// learn mode), then MAC + logic over the whole capture. Injection (9311a) and deletion (971a) must be
// found; the in-place modification (921a) keeps the counters clean and is not a logic finding.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readCaptureFile } from '../../src/native/index.ts';
import { StreamLearner } from '../../src/detect/learn.ts';
import { Pipeline } from '../../src/detect/pipeline.ts';
import { LogicStage } from '../../src/detect/stages/logic.ts';
import { MacStage } from '../../src/detect/stages/mac.ts';
import { RateStage } from '../../src/detect/stages/rate.ts';
import { StreamRegistry } from '../../src/detect/streams.ts';
import type { FrameVerdict } from '../../src/model/indicators.ts';
import { capturesDir } from '../helpers/repo.ts';

const qut = path.join(capturesDir, 'qut-zss-2023-sv');

/** Arrival epochs (µs precision as in the CSV) of the 0x4001 frames with a given label. */
function labelled(id: string, label: (l: number) => boolean): Set<string> {
  const rows = readFileSync(path.join(qut, 'labels', `${id}.labels.csv`), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  const out = new Set<string>();
  for (const r of rows) {
    const f = r.split(',');
    if (label(Number(f[0])) && f[2] === '0x4001') out.add(Number(f[1]).toFixed(6));
  }
  return out;
}

function analyse(id: string): { verdicts: FrameVerdict[]; tsOf: Map<number, string>; learnt: ReturnType<StreamLearner['propose']> } {
  const file = path.join(qut, `${id}_QUTZS.pcapng`);
  let first: bigint | undefined;
  const learner = new StreamLearner();
  for (const b of readCaptureFile(file)) {
    first ??= b.tsNs(0);
    learner.add(b, first + 10_000_000_000n); // the first 10 s are fault-free in all three captures
  }
  const learnt = learner.propose();
  const registry = new StreamRegistry(learnt);
  const verdicts: FrameVerdict[] = [];
  const p = new Pipeline({
    registry,
    stages: [new RateStage(registry), new MacStage(), new LogicStage(registry)],
    onVerdict: (v) => verdicts.push(v),
  });
  const tsOf = new Map<number, string>();
  for (const b of readCaptureFile(file)) {
    for (let i = 0; i < b.count; i++) tsOf.set(b.frameNo(i), (Number(b.tsNs(i) / 1000n) / 1e6).toFixed(6));
    p.processBatch(b);
  }
  p.finish();
  return { verdicts, tsOf, learnt };
}

describe('QUT-ZSS-2023-SV captures with their labels', () => {
  it('learns the two merging units as the dataset describes them', () => {
    const { learnt } = analyse('971a');
    assert.deepEqual(
      learnt.map((s) => [s.appId, s.svID, s.acceptedSourceMacs, s.nofASDU, s.smpCntStep, s.smpCntWrap, s.confRev]),
      [
        [0x4001, '66kV1', ['20:17:01:16:f2:54'], 13, 1, 65536, 1],
        [0x4002, '22kV1', ['20:17:01:16:f2:54'], 13, 1, 65536, 1],
      ],
    );
    for (const s of learnt) assert.ok(Math.abs(s.framesPerSecond - 20) < 0.5, `50 ms heartbeat: ${s.framesPerSecond} frames/s`);
  });

  it('9311a: every injected frame is found as an interleaved second counter; no genuine frame is flagged', () => {
    const { verdicts, tsOf } = analyse('9311a');
    const injected = labelled('9311a', (l) => l >= 900);
    assert.ok(injected.size > 250, `${injected.size} injected frames labelled`);
    const flagged = new Map(verdicts.filter((v) => v.indicator === 'logic').map((v) => [tsOf.get(v.frame)!, v]));
    const missed = [...injected].filter((t) => !flagged.has(t));
    assert.deepEqual(missed.slice(0, 5), [], `${missed.length} injected frames missed`);
    const wrong = [...flagged.entries()].filter(([t]) => !injected.has(t));
    assert.deepEqual(
      wrong.slice(0, 5).map(([t, v]) => `${t} ${v.reason}`),
      [],
      'verdicts on genuine frames',
    );
    assert.ok([...flagged.values()].every((v) => v.reason === 'interleaved-counter'));
    assert.ok(!verdicts.some((v) => v.indicator === 'mac'), 'no MAC finding: the attacker spoofs the genuine source');
    // The injected frames also push the shared source above N_th = 1.1 × (20 + 20) frames/s: a rate
    // finding, but only while (or within one window after) an injection burst runs.
    const injectedTimes = [...injected].map(Number).sort((a, b) => a - b);
    const inBurst = (t: number): boolean => injectedTimes.some((x) => t >= x - 0.06 && t <= x + 1.05);
    const rateOutside = verdicts.filter((v) => v.indicator === 'rate' && !inBurst(Number(tsOf.get(v.frame))));
    assert.deepEqual(
      rateOutside.map((v) => tsOf.get(v.frame)),
      [],
      'rate findings outside the injection bursts',
    );
  });

  it('971a: both deletions of 100 MU1 frames are found as gaps on the first frame after them, nothing else', () => {
    const { verdicts, tsOf } = analyse('971a');
    assert.deepEqual(
      verdicts.map((v) => [v.stream, v.reason, v.detail?.['missing'], v.detail?.['smpCnt']]),
      [
        ['66kV1', 'gap', 100, 487],
        ['66kV1', 'gap', 100, 2700],
      ],
    );
    // The labels' MU1 smpCnt sequence has its two holes exactly there (386 → 487, 2599 → 2700).
    const rows = readFileSync(path.join(qut, 'labels', '971a.labels.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((r) => r.split(','));
    const holes: Array<[number, string]> = [];
    for (let k = 1; k < rows.length; k++)
      if (Number(rows[k]![3]) - Number(rows[k - 1]![3]) > 1) holes.push([Number(rows[k]![3]), Number(rows[k]![1]).toFixed(6)]);
    assert.deepEqual(
      holes.map((h) => h[0]),
      [487, 2700],
    );
    assert.deepEqual(
      verdicts.map((v) => tsOf.get(v.frame)),
      holes.map((h) => h[1]),
    );
  });

  it('921a: in-place modification keeps smpCnt clean — no logic, MAC or rate finding (value checks are needed)', () => {
    const { verdicts } = analyse('921a');
    assert.deepEqual(verdicts, []);
  });
});
