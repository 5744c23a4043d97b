// Grade-3 history indicators on labelled simulator scenarios: faultMatch (γlsft) recognises real short
// circuits by class, attackMatch (γlsit) catches a recorded fault replayed with fresh counters (fingerprints)
// and a fake short circuit (attack model); the trip stage asks faultMatch whether a trip-level event is a
// plausible fault. Normal traffic and stealthy value changes raise none of them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PhasorStage } from '../../src/detect/cycles.ts';
import { eventFeatures, channelMap } from '../../src/detect/history/features.ts';
import { FingerprintStore } from '../../src/detect/history/fingerprints.ts';
import { MemoryFaultLibrary } from '../../src/detect/history/library.ts';
import { seedEntries } from '../../src/detect/history/seed.ts';
import { distance, MATCH_THRESHOLD, nearest } from '../../src/detect/history/similarity.ts';
import { AttackMatchStage } from '../../src/detect/stages/attack-match.ts';
import { FaultMatchStage } from '../../src/detect/stages/fault-match.ts';
import { LogicStage } from '../../src/detect/stages/logic.ts';
import { MacStage } from '../../src/detect/stages/mac.ts';
import { TripStage } from '../../src/detect/stages/trip.ts';
import type { StreamRegistry } from '../../src/detect/streams.ts';
import type { FrameVerdict } from '../../src/model/indicators.ts';
import { evaluate, runPipeline, simulate } from './helpers.ts';

const HISTORY = ['faultMatch', 'attackMatch'];

function stagesWith(opts: { learn?: boolean; library?: MemoryFaultLibrary; keep?: FaultMatchStage[] } = {}) {
  return (r: StreamRegistry) => {
    const am = new AttackMatchStage(r);
    const fm = new FaultMatchStage(r, {
      attack: am,
      ...(opts.library ? { library: opts.library } : {}),
      ...(opts.learn ? { learn: true } : {}),
    });
    opts.keep?.push(fm);
    return [new MacStage(), new LogicStage(r), am, new PhasorStage(r, [fm, new TripStage(r, { judge: fm })])];
  };
}

const of = (vs: FrameVerdict[], ind: string): FrameVerdict[] => vs.filter((v) => v.indicator === ind);

describe('history library and similarity', () => {
  it('in-memory library: ids, kinds, validation, bounded', () => {
    const lib = new MemoryFaultLibrary([], 3);
    const a = lib.add({ kind: 'fault', label: 'x', features: { phases: 'AG', iMult: 2 }, source: 'test', createdNs: '1' });
    const b = lib.add({ kind: 'attack', label: 'y', features: { phases: '*' }, source: 'test', createdNs: '2' });
    assert.deepEqual([a, b], [1, 2]);
    assert.deepEqual(
      lib.entries('fault').map((e) => e.label),
      ['x'],
    );
    assert.deepEqual(
      lib.entries().map((e) => e.id),
      [1, 2],
    );
    assert.throws(() => lib.add({ kind: 'other' as 'fault', label: 'z', features: {}, source: 't', createdNs: '0' }), /kind/);
    assert.throws(() => lib.add({ kind: 'fault', label: 'z', features: { iMult: NaN }, source: 't', createdNs: '0' }), /finite/);
    lib.add({ kind: 'fault', label: 'c', features: {}, source: 't', createdNs: '0' });
    lib.add({ kind: 'fault', label: 'd', features: {}, source: 't', createdNs: '0' });
    assert.deepEqual(
      lib.entries().map((e) => e.label),
      ['y', 'c', 'd'],
      'oldest dropped when full',
    );
  });

  it('seed library covers the five fault classes and the fake short circuit', () => {
    const classes = new Set(seedEntries().map((e) => `${e.kind}:${String(e.features['class'])}`));
    for (const c of [
      'fault:phase-ground',
      'fault:phase-phase',
      'fault:three-phase',
      'fault:overcurrent',
      'fault:overvoltage',
      'attack:fake-short-circuit',
    ])
      assert.ok(classes.has(c), c);
  });

  it('distance: categorical features must agree, numeric ones are scaled', () => {
    assert.equal(distance({ phases: 'AG', faultAngleDeg: 80 }, { phases: 'BG', faultAngleDeg: 80 }), Infinity);
    assert.equal(distance({ phases: 'AG', faultAngleDeg: 80 }, { phases: 'AG', faultAngleDeg: 80 }), 0);
    assert.equal(distance({ phases: 'AG', faultAngleDeg: 95 }, { phases: '*', faultAngleDeg: 80 }), 1);
    assert.equal(distance({ phases: 'AG' }, { phases: 'AG' }), Infinity, 'nothing numeric to compare');
  });

  it('an overvoltage without current change matches the overvoltage class; a load-angle current rise matches no fault', () => {
    const m = channelMap([
      { name: 'IA', kind: 'current', phase: 'A', scale: 1 },
      { name: 'IB', kind: 'current', phase: 'B', scale: 1 },
      { name: 'IC', kind: 'current', phase: 'C', scale: 1 },
      { name: 'VA', kind: 'voltage', phase: 'A', scale: 1 },
      { name: 'VB', kind: 'voltage', phase: 'B', scale: 1 },
      { name: 'VC', kind: 'voltage', phase: 'C', scale: 1 },
    ]);
    const ang = [0, -2.0944, 2.0944];
    const pre = (iMag: number, vMag: number, lag: number) => {
      const re = new Float64Array(6);
      const im = new Float64Array(6);
      for (let p = 0; p < 3; p++) {
        re[p] = iMag * Math.cos(ang[p]! - lag);
        im[p] = iMag * Math.sin(ang[p]! - lag);
        re[3 + p] = vMag * Math.cos(ang[p]!);
        im[3 + p] = vMag * Math.sin(ang[p]!);
      }
      return { re, im, rms: Float64Array.from({ length: 6 }, (_, k) => Math.hypot(re[k]!, im[k]!)) };
    };
    const a = pre(400, 38000, 0.4);
    const ov = pre(400, 38000 * 1.25, 0.4);
    const fOv = eventFeatures(m, a.re, a.im, ov.re, ov.im, ov.rms);
    assert.equal(fOv['phases'], 'V+');
    const nOv = nearest(
      fOv,
      seedEntries()
        .map((e, id) => ({ ...e, id }))
        .filter((e) => e.kind === 'fault'),
    )!;
    assert.equal(nOv.entry.features['class'], 'overvoltage');
    assert.ok(nOv.distance <= MATCH_THRESHOLD);
    const scaled = pre(3200, 38000, 0.4);
    const fSc = eventFeatures(m, a.re, a.im, scaled.re, scaled.im, scaled.rms);
    assert.equal(fSc['phases'], 'ABC');
    const nSc = nearest(
      fSc,
      seedEntries()
        .map((e, id) => ({ ...e, id }))
        .filter((e) => e.kind === 'fault'),
    )!;
    assert.ok(nSc.distance > MATCH_THRESHOLD, `nearest ${nSc.entry.label} at ${nSc.distance}`);
  });

  it('fingerprint store: bounded, the oldest event is evicted, known hashes keep their first owner', () => {
    const fp = new FingerprintStore({ maxEvents: 2, maxFramesPerEvent: 3 });
    const s0 = fp.begin(0, 0, 'e0');
    fp.add(s0, 11, true);
    fp.add(s0, 12, false);
    const s1 = fp.begin(0, 1, 'e1');
    fp.add(s1, 21, true);
    fp.add(s1, 11, true);
    assert.equal(fp.lookup(11) >> 1, s0);
    assert.equal(fp.lookup(12) & 1, 0);
    assert.equal(fp.lookup(21) & 1, 1);
    assert.equal(fp.add(s1, 22, true), true);
    assert.equal(fp.add(s1, 23, true), true);
    assert.equal(fp.add(s1, 24, true), false, 'slot full');
    fp.begin(0, 2, 'e2'); // evicts e0
    assert.equal(fp.lookup(11), -1);
    assert.equal(fp.lookup(12), -1);
    assert.ok(fp.lookup(21) >= 0);
    assert.equal(fp.size, 3);
  });
});

describe('faultMatch / attackMatch on simulator scenarios', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-history-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('normal traffic with load steps: no history verdict, no trip', async () => {
    const { file, truth } = await simulate(dir, 'normal', ['--mus', '2', '--duration', '3s']);
    const { verdicts } = runPipeline(file, truth, stagesWith());
    assert.deepEqual(
      verdicts.filter((v) => v.indicator !== 'logic'),
      [],
    );
  });

  it('real faults: faultMatch names each class once per stream inside its fault; no attackMatch; trips plausible', async () => {
    const { file, truth } = await simulate(dir, 'real-fault', ['--mus', '2', '--duration', '3s']);
    const { verdicts } = runPipeline(file, truth, stagesWith());
    const faults = truth.genuineEvents.filter((e) => e.kind === 'fault');
    const fm = of(verdicts, 'faultMatch');
    assert.deepEqual(fm.map((v) => `${v.stream}:${v.reason}`).sort(), [
      'MU1:phase-ground',
      'MU1:phase-phase',
      'MU1:three-phase',
      'MU2:phase-ground',
      'MU2:phase-phase',
      'MU2:three-phase',
    ]);
    for (const v of fm)
      assert.ok(
        faults.some((f) => v.frame >= f.fromFrame && v.frame <= f.toFrame),
        `frame ${v.frame} inside a fault`,
      );
    // decided one cycle after the trigger: within three cycles (3 × 80 frames × 2 MUs) of the inception
    for (const f of faults)
      assert.ok(
        fm.some((v) => v.frame - f.fromFrame <= 480),
        `${f.detail} matched in time`,
      );
    assert.deepEqual(of(verdicts, 'attackMatch'), []);
    assert.ok(of(verdicts, 'trip').length > 0);
    for (const v of of(verdicts, 'trip')) assert.equal(v.reason, 'overcurrent');
  });

  it('recorded fault replayed with fresh counters: attackMatch/fault-replay on every replayed frame from the first, trips judged without fault', async () => {
    const { file, truth } = await simulate(dir, 'fault-replay', ['--mus', '2', '--duration', '3s']);
    const { verdicts } = runPipeline(file, truth, stagesWith());
    const ev = evaluate(
      truth,
      verdicts.filter((v) => v.frame >= truth.malicious[0]!.frame),
      HISTORY,
    );
    assert.deepEqual(ev.missed, []);
    assert.deepEqual(ev.falseAlarms, []);
    const first = truth.malicious[0]!.frame;
    const replays = of(verdicts, 'attackMatch');
    assert.equal(Math.min(...replays.map((v) => v.frame)), first, 'caught from the first replayed frame');
    assert.ok(replays.every((v) => v.reason === 'fault-replay' && v.stream === 'MU1'));
    assert.equal(
      of(verdicts, 'faultMatch').filter((v) => v.reason === 'fault-replay').length,
      1,
      'one faultMatch/fault-replay per episode',
    );
    // the genuine original raised faultMatch on both MUs (before the replay), the replay raised no fault class
    const genuine = of(verdicts, 'faultMatch').filter((v) => v.reason !== 'fault-replay');
    assert.deepEqual(genuine.map((v) => `${v.stream}:${v.reason}`).sort(), ['MU1:phase-ground', 'MU2:phase-ground']);
    assert.ok(genuine.every((v) => v.frame < first));
    const tripsInReplay = of(verdicts, 'trip').filter((v) => v.frame >= first);
    assert.ok(tripsInReplay.length > 0);
    for (const v of tripsInReplay) assert.equal(v.reason, 'trip-without-fault');
  });

  it('fake short circuit at the load angle: attackMatch/attack-model and trip-without-fault, no faultMatch', async () => {
    const { file, truth } = await simulate(dir, 'fake-fault', ['--mus', '2', '--duration', '3s']);
    const { verdicts } = runPipeline(file, truth, stagesWith());
    const ev = evaluate(truth, verdicts, ['attackMatch', 'trip', 'faultMatch']);
    assert.deepEqual(ev.falseAlarms, []);
    const am = of(verdicts, 'attackMatch');
    assert.equal(am.length, 1);
    assert.equal(am[0]!.reason, 'attack-model');
    assert.match(String(am[0]!.detail?.['library']), /fake-short-circuit/);
    assert.ok(of(verdicts, 'trip').length > 0 && of(verdicts, 'trip').every((v) => v.reason === 'trip-without-fault'));
    assert.deepEqual(of(verdicts, 'faultMatch'), []);
  });

  it('trip-level currents with healthy voltages match no fault: trip-without-fault only; stealthy scaling triggers nothing', async () => {
    const t = await simulate(dir, 'trip-without-fault', ['--mus', '2', '--duration', '2s']);
    const r1 = runPipeline(t.file, t.truth, stagesWith());
    assert.deepEqual([...new Set(r1.verdicts.map((v) => `${v.indicator}/${v.reason}`))], ['trip/trip-without-fault']);
    const s = await simulate(dir, 'fdi-stealthy', ['--mus', '2', '--duration', '2s']);
    const r2 = runPipeline(s.file, s.truth, stagesWith());
    assert.deepEqual(
      r2.verdicts.filter((v) => v.indicator !== 'logic'),
      [],
    );
  });

  it('a real fault whose first 0.1 s were deleted on MU1: MU1 resumes inside the fault — no verdict of its own, trips plausible', async () => {
    const { file, truth } = await simulate(dir, 'deletion', ['--mus', '2', '--duration', '3s']);
    const { verdicts } = runPipeline(file, truth, stagesWith());
    assert.deepEqual(
      verdicts.filter((v) => HISTORY.includes(v.indicator)).map((v) => `${v.stream}:${v.indicator}/${v.reason}`),
      ['MU2:faultMatch/phase-ground'],
    );
    const trips = of(verdicts, 'trip');
    assert.ok(trips.some((v) => v.stream === 'MU1'));
    assert.ok(trips.every((v) => v.reason === 'overcurrent'));
  });

  it('learn mode adds the plausible faults it saw to the library', async () => {
    const { file, truth } = await simulate(dir, 'real-fault', ['--mus', '2', '--duration', '3s']);
    const library = new MemoryFaultLibrary(seedEntries());
    const before = library.entries('fault').length;
    runPipeline(file, truth, stagesWith({ learn: true, library }));
    const learned = library.entries('fault').filter((e) => e.source.startsWith('learned:'));
    assert.equal(library.entries('fault').length, before + 6);
    assert.deepEqual(learned.map((e) => e.features['class']).sort(), [
      'phase-ground',
      'phase-ground',
      'phase-phase',
      'phase-phase',
      'three-phase',
      'three-phase',
    ]);
    assert.ok(learned.every((e) => typeof e.features['durationMs'] === 'number'));
  });
});
