import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSvModel, SvEstimator, streamsFromTruth } from '../../../src/detect/estimation/sv-model.ts';
import type { SvStreamSpec } from '../../../src/detect/estimation/sv-model.ts';
import { TemporalConsistency } from '../../../src/detect/estimation/temporal.ts';
import { LE_4I4U, CT_4I } from '../../../src/model/channels.ts';
import type { ChannelDescription } from '../../../src/model/channels.ts';
import { simulateCycles } from './sim-cycles.ts';
import type { CycleData } from './sim-cycles.ts';

const chans = (c: readonly { name: string; kind: string; phase: string; scale: number; derived?: boolean }[]) =>
  c as readonly ChannelDescription[];

test('model structure: two MUs on one bay, 9-2LE channels', () => {
  const streams: SvStreamSpec[] = [
    { name: 'MU1', bay: 'B1', bus: 'B1', channels: LE_4I4U.channels },
    { name: 'MU2', bay: 'B1', bus: 'B1', channels: LE_4I4U.channels },
  ];
  const m = buildSvModel(streams);
  assert.equal(m.states.length, 6); // I_A..C of B1, V_A..C of B1
  assert.equal(m.measurements.length, 16);
  const n = m.states.length;
  const row = (label: string) => m.measurements.findIndex((x) => x.label === label);
  const cols = (r: number) => Array.from(m.H.subarray(r * n, r * n + n));
  assert.deepEqual(cols(row('MU1.IN')), cols(row('MU2.IN')));
  assert.equal(cols(row('MU1.IN')).filter((h) => h === 1).length, 3); // IA+IB+IC
  assert.deepEqual(cols(row('MU1.VA')), cols(row('MU2.VA'))); // the same bus voltage
  // a derived IN is left out
  const d = buildSvModel([{ name: 'CT', bay: 'B1', bus: 'B1', channels: CT_4I.channels }]);
  assert.equal(d.measurements.length, 3);
  assert.equal(d.rowOf[0]![3], -1);
});

function runStatic(est: SvEstimator, c: CycleData, streams: number[] = c.re.map((_, i) => i)) {
  streams.forEach((s, k) => est.setStream(k, c.re[s]!, c.im[s]!));
  return est.estimate();
}

test('normal scenario (2 bays, 4 MUs, load steps): every cycle passes chi-square; no temporal alarm', async () => {
  const { result, cycles } = await simulateCycles('normal', { mus: 4, seed: 11 });
  const model = buildSvModel(streamsFromTruth(result.truth.config));
  assert.equal(model.states.length, 12);
  const est = new SvEstimator(model);
  const tc = new TemporalConsistency(model);
  assert.equal(tc.checkedStates, 12);
  let maxRatio = 0;
  for (const c of cycles) {
    assert.equal(runStatic(est, c), 'pass', `cycle ${c.cycle}`);
    maxRatio = Math.max(maxRatio, est.report.J0 / est.report.chi20);
    c.re.forEach((re, s) => tc.setStream(s, re, c.im[s]!));
    assert.equal(tc.update(), 0, `temporal alarm at cycle ${c.cycle}: g = ${Array.from(tc.g)}`);
  }
  assert.ok(cycles.length >= 48);
  assert.ok(maxRatio < 1);
});

test('fdi-kcl (IA × 1.4 on MU1, 40–60 %): detected, MU1 and its IA identified', async () => {
  const { result, cycles } = await simulateCycles('fdi-kcl', { mus: 2, seed: 5 });
  const model = buildSvModel(streamsFromTruth(result.truth.config));
  const est = new SvEstimator(model);
  const ia = model.rowOf[0]![0]!;
  assert.equal(model.measurements[ia]!.label, 'MU1.IA');
  let inside = 0;
  for (const c of cycles) {
    const out = runStatic(est, c);
    const startS = c.endS - 0.02;
    if (startS >= 0.4 + 1e-9 && c.endS <= 0.6 + 1e-9) {
      inside++;
      assert.equal(est.report.detected, true, `cycle ${c.cycle}`);
      assert.equal(out, 'identified');
      assert.deepEqual(est.suspectStreams, [0]);
      assert.deepEqual(est.badRows, [ia]);
      assert.deepEqual(est.report.removed, [ia]); // LNR alone finds IA too
    } else if (c.endS <= 0.4 || startS >= 0.6) assert.equal(out, 'pass', `cycle ${c.cycle}`);
  }
  assert.ok(inside >= 9);
});

test('fdi-stealthy (all MU1 currents × 1.5): invisible to a single-stream model, detected-not-identifiable across MU1/MU2; temporal detector names MU1', async () => {
  const { result, cycles } = await simulateCycles('fdi-stealthy', { mus: 2, seed: 7 });
  const specs = streamsFromTruth(result.truth.config);
  const both = new SvEstimator(buildSvModel(specs));
  const alone = new SvEstimator(buildSvModel([specs[0]!])); // MU1 only: a = Hc for its own model
  const tc = new TemporalConsistency(both.model);
  let inside = 0;
  let firstAlarm = -1;
  let mu2Alarm = false;
  for (const c of cycles) {
    const startS = c.endS - 0.02;
    const inWin = startS >= 0.4 + 1e-9 && c.endS <= 0.6 + 1e-9;
    assert.equal(runStatic(alone, c, [0]), 'pass', `single-stream model, cycle ${c.cycle}`);
    const out = runStatic(both, c);
    if (inWin) {
      inside++;
      assert.equal(both.report.detected, true);
      assert.equal(out, 'not-identifiable');
      assert.deepEqual([...both.suspectStreams].sort(), [0, 1]);
    } else if (c.endS <= 0.4 || startS >= 0.6) assert.equal(out, 'pass');
    c.re.forEach((re, s) => tc.setStream(s, re, c.im[s]!));
    tc.update();
    if (tc.alarm[0] && firstAlarm < 0) firstAlarm = c.cycle;
    if (tc.alarm[1]) mu2Alarm = true;
  }
  assert.ok(inside >= 9);
  assert.equal(mu2Alarm, false);
  // the attack starts at 0.4 s = the end of cycle 19; the first cycle that contains attacked samples is 20
  assert.ok(firstAlarm >= 20 && firstAlarm <= 21, `first temporal alarm at cycle ${firstAlarm}`);
});

test('real-fault (AG, BC, ABC with DC offset) and load steps: no static bad data, no temporal alarm', async () => {
  const { result, cycles } = await simulateCycles('real-fault', { mus: 2, seed: 9 });
  const model = buildSvModel(streamsFromTruth(result.truth.config));
  const est = new SvEstimator(model);
  const tc = new TemporalConsistency(model);
  let maxE = 0;
  let sawFault = false;
  for (const c of cycles) {
    assert.equal(runStatic(est, c), 'pass', `cycle ${c.cycle}`);
    if (Math.hypot(c.re[0]![0]!, c.im[0]![0]!) > 3 * result.truth.config.protection.nominalCurrentA) sawFault = true;
    c.re.forEach((re, s) => tc.setStream(s, re, c.im[s]!));
    assert.equal(tc.update(), 0, `cycle ${c.cycle}`);
    maxE = Math.max(maxE, ...tc.e);
  }
  assert.ok(sawFault, 'the faults are in the data');
  assert.ok(maxE < 5, `largest per-cycle statistic ${maxE}`);
});

test('trip-without-fault (MU1 currents × 8): temporal alarm on MU1 only', async () => {
  const { result, cycles } = await simulateCycles('trip-without-fault', { mus: 2, seed: 4 });
  const tc = new TemporalConsistency(buildSvModel(streamsFromTruth(result.truth.config)));
  let alarm0 = false;
  for (const c of cycles) {
    c.re.forEach((re, s) => tc.setStream(s, re, c.im[s]!));
    tc.update();
    if (tc.alarm[0]) {
      alarm0 = true;
      assert.ok(c.endS > 0.5);
    }
    assert.equal(tc.alarm[1], 0);
  }
  assert.ok(alarm0);
});

test('KCL over the bays of a bus catches a consistent change of one bay that per-bay checks cannot see', () => {
  const cur = chans([
    { name: 'IA', kind: 'current', phase: 'A', scale: 1 },
    { name: 'IB', kind: 'current', phase: 'B', scale: 1 },
    { name: 'IC', kind: 'current', phase: 'C', scale: 1 },
    { name: 'IN', kind: 'current', phase: 'N', scale: 1 },
  ]);
  const specs: SvStreamSpec[] = ['F1', 'F2', 'F3'].map((b) => ({ name: `MU_${b}`, bay: b, bus: 'BUS1', channels: cur }));
  // three-phase balanced currents per bay; F3 is the incomer carrying −(F1 + F2)
  const rot = [0, (-2 * Math.PI) / 3, (2 * Math.PI) / 3];
  const bay = (mag: number, ang: number) => {
    const re = rot.map((r) => mag * Math.cos(ang + r));
    const im = rot.map((r) => mag * Math.sin(ang + r));
    re.push(re[0]! + re[1]! + re[2]!);
    im.push(im[0]! + im[1]! + im[2]!);
    return { re, im };
  };
  const f1 = bay(300, -0.3);
  const f2 = bay(200, -0.5);
  const f3 = { re: f1.re.map((v, i) => -(v + f2.re[i]!)), im: f1.im.map((v, i) => -(v + f2.im[i]!)) };
  const run = (kcl: boolean, scale3: number) => {
    const est = new SvEstimator(buildSvModel(specs, { buses: [{ name: 'BUS1', kcl }] }));
    est.setStream(0, f1.re, f1.im);
    est.setStream(1, f2.re, f2.im);
    est.setStream(
      2,
      f3.re.map((v) => v * scale3),
      f3.im.map((v) => v * scale3),
    );
    return est;
  };
  assert.equal(run(true, 1).estimate(), 'pass');
  assert.equal(run(false, 1.5).estimate(), 'pass'); // × 1.5 incl. IN: a = Hc for the per-bay model
  const e = run(true, 1.5);
  assert.equal(e.estimate(), 'not-identifiable');
  assert.equal(e.report.detected, true);
  // one KCL equation per phase cannot say which bay lies: every stream's removal explains the data
  assert.deepEqual([...e.suspectStreams].sort(), [0, 1, 2]);
});

test('temporal detector: a restarted stream contributes no innovation for one cycle', () => {
  const specs: SvStreamSpec[] = [1, 2, 3].map((i) => ({ name: `MU${i}`, bay: 'B1', bus: 'B1', channels: LE_4I4U.channels }));
  const tc = new TemporalConsistency(buildSvModel(specs));
  const re = Float64Array.from([400, -200, -200, 0, 38000, -19000, -19000, 0]);
  const im = new Float64Array(8);
  const feed = (jump: number) => {
    specs.forEach((_, s) => tc.setStream(s, s === 0 ? re.map((v, i) => (i < 4 ? v * jump : v)) : re, im));
    return tc.update();
  };
  feed(1);
  feed(1);
  tc.restart(0);
  assert.equal(feed(1.5), 0); // MU1 came back with other values after a gap: not judged on that cycle
  assert.equal(feed(1.5), 0);
  assert.equal(feed(1), 1); // a jump back while MU2 and MU3 stay put
  assert.equal(tc.alarm[0], 1);
});

test('an absent stream leaves the estimate; the others are still checked', () => {
  const specs: SvStreamSpec[] = [1, 2, 3].map((i) => ({ name: `MU${i}`, bay: 'B1', bus: 'B1', channels: LE_4I4U.channels }));
  const est = new SvEstimator(buildSvModel(specs));
  const re = Float64Array.from([400, -200, -200, 0, 38000, -19000, -19000, 0]);
  const im = Float64Array.from([0, -346, 346, 0, 0, -32909, 32909, 0]);
  const bad = re.map((v, i) => (i === 0 ? v * 1.4 : v));
  est.setStream(0, re, im);
  est.setStream(1, re, im);
  est.setStream(2, bad, im); // MU3 IA × 1.4
  assert.equal(est.estimate(), 'identified');
  assert.deepEqual(est.suspectStreams, [2]);
  est.setStreamPresent(2, false); // MU3 absent: its garbage must not matter
  assert.equal(est.estimate(), 'pass');
  assert.equal(est.report.dof0, 2 * (16 - 6));
  est.setStream(1, bad, im); // now MU2 lies while MU3 is absent: MU1 vs MU2 with IN → MU2.IA
  assert.equal(est.estimate(), 'identified');
  assert.deepEqual(est.suspectStreams, [1]);
  assert.deepEqual(est.badRows, [est.model.rowOf[1]![0]!]);
  est.setStreamPresent(2, true);
  est.setStream(1, re, im);
  est.setStream(2, re, im);
  assert.equal(est.estimate(), 'pass');
  assert.equal(est.report.dof0, 2 * (24 - 6));
});

test('options: neutralKirchhoff false drops IN/VN rows; bayRedundancy false separates the MUs of a bay', () => {
  const specs: SvStreamSpec[] = [1, 2].map((i) => ({ name: `MU${i}`, bay: 'B1', bus: 'B1', channels: LE_4I4U.channels }));
  const a = buildSvModel(specs, { neutralKirchhoff: false });
  assert.equal(a.measurements.length, 12);
  assert.equal(a.rowOf[0]![3], -1);
  const b = buildSvModel(specs, { bayRedundancy: false });
  assert.equal(b.states.length, 9); // 3 + 3 currents, 3 shared voltages
  const c = buildSvModel(specs, { ratedCurrentA: 400, currentAccuracy: 0.01, currentAbsoluteA: 1 });
  assert.equal(c.measurements[0]!.sigma, 5);
});
