// ANSI 51 inverse-time overcurrent in the trip stage: the accumulator reaches the curve's operating time
// (IEC 60255-151 and IEEE C37.112 curves), resets below pickup, and a trip-level current is judged for
// plausibility — by the voltage sag without a judge, by the faultMatch stage's decision with one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inverseTimeS } from '../../src/config/protection.ts';
import type { Curve } from '../../src/config/schema.ts';
import type { CycleEvent } from '../../src/detect/cycles.ts';
import type { StreamPhasors } from '../../src/detect/phasor.ts';
import type { Flag, FrameContext } from '../../src/detect/stage.ts';
import { IMPLAUSIBLE, NO_EVENT, PENDING, PLAUSIBLE, type TripJudge } from '../../src/detect/stages/fault-match.ts';
import { TripStage, type TripOptions } from '../../src/detect/stages/trip.ts';
import { StreamRegistry } from '../../src/detect/streams.ts';
import type { FrameVerdict } from '../../src/detect/types.ts';

const V = 38105;
function rig(opts: TripOptions) {
  const registry = new StreamRegistry([{
    name: 'MU1', svID: 'MU1', appId: 0x4001, acceptedSourceMacs: [], samplesPerSecond: 4000, nofASDU: 1, framesPerSecond: 4000, nominalHz: 50,
    channels: ['A', 'B', 'C'].flatMap((p) => [{ name: `I${p}`, kind: 'current' as const, phase: p as 'A', scale: 0.001 }, { name: `V${p}`, kind: 'voltage' as const, phase: p as 'A', scale: 0.01 }]),
    protection: { overcurrentA: 5000, overvoltageV: 1.2 * V },
  }]);
  const trip = new TripStage(registry, opts);
  const re = new Float64Array(6); const im = new Float64Array(6);
  const ev = { stream: registry.streams[0]!, phasors: { re, im, cycles: 10 } as unknown as StreamPhasors, cycle: 0, firstFrame: 1 } as CycleEvent;
  const verdicts: FrameVerdict[] = [];
  let frame = 0;
  const flag: Flag = (indicator, reason, o) => {
    verdicts.push({ frame: o?.at?.frame ?? frame, tsNs: 0n, indicator, reason, stream: 'MU1', discard: false });
  };
  /** One cycle with phase-A current iA (others 400 A) and phase-A voltage vA (fraction of nominal). */
  const cycle = (iA: number, vA = 1): void => {
    frame += 80;
    re[0] = iA; im[0] = 0; re[2] = -200; im[2] = -346; re[4] = -200; im[4] = 346;
    re[1] = V * vA; im[1] = 0; re[3] = -V / 2; im[3] = -V * 0.866; re[5] = -V / 2; im[5] = V * 0.866;
    trip.onCycle(ev, { frameNo: frame, tsNs: BigInt(frame) * 250_000n, t: frame * 250_000 } as FrameContext, flag);
  };
  return { trip, cycle, verdicts };
}

/** Cycles (50 Hz) until the first 51 verdict at a constant current of `multiple` × pickup. */
function cyclesToOperate(curve: Curve, tms: number, multiple: number): number {
  const { cycle, verdicts } = rig({ inverseTimeOf: () => ({ pickupA: 1000, curve, tms }) });
  for (let k = 0; k < 20; k++) cycle(400);
  for (let k = 1; k <= 5000; k++) { cycle(1000 * multiple, 0.6); if (verdicts.length > 0) return k; }
  return Infinity;
}

describe('trip: ANSI 51 inverse time', () => {
  it('operates after the curve time (IEC SI/VI/EI, IEEE MI/VI/EI), within one cycle', () => {
    for (const [curve, tms, m] of [['IEC-SI', 0.1, 2], ['IEC-SI', 0.1, 4], ['IEC-VI', 0.2, 3], ['IEC-EI', 0.5, 2.5], ['IEEE-MI', 1, 3], ['IEEE-VI', 0.5, 2], ['IEEE-EI', 2, 4], ['DT', 0.3, 1.5]] as const) {
      const want = inverseTimeS(curve, tms, m) * 50;
      const got = cyclesToOperate(curve, tms, m);
      assert.ok(got >= want && got <= want + 1, `${curve} TMS ${tms} M ${m}: ${got} cycles, curve ${want.toFixed(2)}`);
    }
    assert.equal(inverseTimeS('IEC-SI', 0.1, 10).toFixed(3), '0.297');
  });

  it('below pickup never operates', () => {
    const { cycle, verdicts } = rig({ inverseTimeOf: () => ({ pickupA: 1000, curve: 'IEC-SI', tms: 0.1 }) });
    for (let k = 0; k < 3000; k++) cycle(990, 0.6);
    assert.deepEqual(verdicts, []);
  });

  it('IEC curves reset below pickup (instantaneous by default, after resetS when set); IEEE curves reset like a disc', () => {
    const run = (curve: Curve, resetS?: number): number => {
      const { cycle, verdicts, trip } = rig({ inverseTimeOf: () => ({ pickupA: 1000, curve, tms: 0.1, ...(resetS !== undefined ? { resetS } : {}) }) });
      const n = Math.floor(inverseTimeS(curve, 0.1, 2) * 50 * 0.8);
      for (let k = 0; k < n; k++) cycle(2000, 0.6);
      for (let k = 0; k < 5; k++) cycle(400);
      const acc = trip.accumulators(0)![0]!;
      for (let k = 0; k < n; k++) cycle(2000, 0.6);
      assert.equal(verdicts.length, resetS === undefined && !curve.startsWith('IEEE') ? 0 : verdicts.length);
      return acc;
    };
    assert.equal(run('IEC-SI'), 0, 'instantaneous reset');
    assert.ok(run('IEC-SI', 1) > 0.75, 'held through 100 ms below pickup with resetS 1 s');
    const disc = run('IEEE-VI');
    assert.ok(disc > 0 && disc < 0.8, `IEEE disc partly reset: ${disc}`);
  });

  it('plausibility without a judge: sag → overcurrent-51, healthy voltage → trip-without-fault', () => {
    const a = rig({ inverseTimeOf: () => ({ pickupA: 1000, curve: 'IEC-VI', tms: 0.05 }) });
    for (let k = 0; k < 20; k++) a.cycle(400);
    for (let k = 0; k < 30; k++) a.cycle(3000, 0.5);
    assert.ok(a.verdicts.length > 0 && a.verdicts.every((v) => v.reason === 'overcurrent-51'));
    const b = rig({ inverseTimeOf: () => ({ pickupA: 1000, curve: 'IEC-VI', tms: 0.05 }) });
    for (let k = 0; k < 20; k++) b.cycle(400);
    for (let k = 0; k < 30; k++) b.cycle(3000, 1);
    assert.ok(b.verdicts.length > 0 && b.verdicts.every((v) => v.reason === 'trip-without-fault'));
  });

  it('with a judge: verdicts held while the event is pending, then given as the judge decided', () => {
    let state = NO_EVENT;
    const judge: TripJudge = { plausibility: () => state };
    const r = rig({ judge });
    for (let k = 0; k < 20; k++) r.cycle(400);
    state = PENDING;
    r.cycle(6000, 0.2); r.cycle(6000, 0.2);
    assert.equal(r.verdicts.length, 0, 'held');
    state = IMPLAUSIBLE;
    r.cycle(6000, 0.2);
    assert.deepEqual(r.verdicts.map((v) => v.reason), ['trip-without-fault', 'trip-without-fault', 'trip-without-fault']);
    assert.deepEqual(r.verdicts.map((v) => v.frame), [1680, 1760, 1840], 'on the frames of the held cycles');
    state = PLAUSIBLE;
    r.cycle(6000, 1);
    assert.equal(r.verdicts.at(-1)!.reason, 'overcurrent', 'a plausible fault even without sag');
  });
});
