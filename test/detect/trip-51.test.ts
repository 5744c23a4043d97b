// ANSI 51 inverse-time overcurrent in the trip stage: the accumulator reaches the curve's operating time
// (IEC 60255-151 and IEEE C37.112 curves), resets below pickup, and a trip-level current is judged for
// plausibility — by the voltage sag without a judge, by the faultMatch stage's decision with one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inverseTimeS } from '../../src/config/protection.ts';
import type { Curve } from '../../src/model/protection.ts';
import { IMPLAUSIBLE, NO_EVENT, PENDING, PLAUSIBLE, type TripJudge } from '../../src/detect/stages/fault-match.ts';
import { tripRig as rig } from './trip-rig.ts';

/** Cycles (50 Hz) until the first 51 verdict at a constant current of `multiple` × pickup. */
function cyclesToOperate(curve: Curve, tms: number, multiple: number): number {
  // Pickup 450 A: phases B and C (400 A) stay below it, and 10 × pickup below the 5000 A 50 pickup.
  const { cycle, verdicts } = rig({ inverseTimeOf: () => ({ pickupA: 450, curve, tms }) });
  for (let k = 0; k < 20; k++) cycle(400);
  for (let k = 1; k <= 5000; k++) {
    cycle(450 * multiple, 0.6);
    if (verdicts.length > 0) {
      assert.equal(verdicts[0]!.reason, 'overcurrent-51');
      return k;
    }
  }
  return Infinity;
}

// Reference operating times, by hand from the standards' formulas (not from inverseTimeS()), at
// M = 2, 5, 10 with 2^0.02 = 1.0139595, 5^0.02 = 1.0327124, 10^0.02 = 1.0471285.
// IEC 60255-151, t = TMS·k/(M^α − 1), TMS 0.1:
//   SI  (k 0.14, α 0.02): 0.014/0.0139595 = 1.00290;  0.014/0.0327124 = 0.42797;  0.014/0.0471285 = 0.29706
//   VI  (k 13.5, α 1):    1.35/1 = 1.35;              1.35/4 = 0.3375;            1.35/9 = 0.15
//   EI  (k 80,   α 2):    8/3 = 2.66667;              8/24 = 0.33333;             8/99 = 0.08081
//   LTI (k 120,  α 1):    12/1 = 12;                  12/4 = 3;                   12/9 = 1.33333
// IEEE C37.112, t = TD·(A/(M^p − 1) + B), TD 1:
//   MI (A 0.0515, B 0.114, p 0.02): 3.68925 + 0.114 = 3.80325;  1.57433 + 0.114 = 1.68833;  1.09276 + 0.114 = 1.20676
//   VI (A 19.61, B 0.491, p 2):     6.53667 + 0.491 = 7.02767;  0.81708 + 0.491 = 1.30808;  0.19808 + 0.491 = 0.68908
//   EI (A 28.2, B 0.1217, p 2):     9.4 + 0.1217 = 9.5217;      1.175 + 0.1217 = 1.2967;    0.28485 + 0.1217 = 0.40655
// DT: the TMS is the delay: 0.3 s at any M > 1.
const REFERENCE: ReadonlyArray<readonly [Curve, number, readonly [number, number, number]]> = [
  ['IEC-SI', 0.1, [1.0029, 0.42797, 0.29706]],
  ['IEC-VI', 0.1, [1.35, 0.3375, 0.15]],
  ['IEC-EI', 0.1, [2.66667, 0.33333, 0.08081]],
  ['IEC-LTI', 0.1, [12, 3, 1.33333]],
  ['IEEE-MI', 1, [3.80325, 1.68833, 1.20676]],
  ['IEEE-VI', 1, [7.02767, 1.30808, 0.68908]],
  ['IEEE-EI', 1, [9.5217, 1.2967, 0.40655]],
  ['DT', 0.3, [0.3, 0.3, 0.3]],
];
const MULTIPLES = [2, 5, 10] as const;

describe('trip: ANSI 51 inverse time', () => {
  it('inverseTimeS matches the reference operating times (IEC 60255-151, IEEE C37.112)', () => {
    for (const [curve, tms, times] of REFERENCE) {
      MULTIPLES.forEach((m, k) => {
        const got = inverseTimeS(curve, tms, m);
        assert.ok(Math.abs(got - times[k]!) <= 1e-5, `${curve} TMS ${tms} M ${m}: ${got} s, reference ${times[k]} s`);
      });
    }
  });

  it('the accumulator operates after the reference time, within one cycle', () => {
    for (const [curve, tms, times] of REFERENCE) {
      MULTIPLES.forEach((m, k) => {
        const want = times[k]! * 50;
        const got = cyclesToOperate(curve, tms, m);
        assert.ok(got >= want - 1e-3 && got <= want + 1, `${curve} TMS ${tms} M ${m}: ${got} cycles, reference ${want.toFixed(2)}`);
      });
    }
  });

  it('below pickup never operates', () => {
    const { cycle, verdicts } = rig({ inverseTimeOf: () => ({ pickupA: 1000, curve: 'IEC-SI', tms: 0.1 }) });
    for (let k = 0; k < 3000; k++) cycle(990, 0.6);
    assert.deepEqual(verdicts, []);
  });

  it('IEC curves reset below pickup (instantaneous by default, after resetS when set); IEEE curves reset like a disc', () => {
    const run = (curve: Curve, resetS?: number): number => {
      const { cycle, verdicts, trip } = rig({
        inverseTimeOf: () => ({ pickupA: 1000, curve, tms: 0.1, ...(resetS !== undefined ? { resetS } : {}) }),
      });
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
    r.cycle(6000, 0.2);
    r.cycle(6000, 0.2);
    assert.equal(r.verdicts.length, 0, 'held');
    state = IMPLAUSIBLE;
    r.cycle(6000, 0.2);
    assert.deepEqual(
      r.verdicts.map((v) => v.reason),
      ['trip-without-fault', 'trip-without-fault', 'trip-without-fault'],
    );
    assert.deepEqual(
      r.verdicts.map((v) => v.frame),
      [1680, 1760, 1840],
      'on the frames of the held cycles',
    );
    state = PLAUSIBLE;
    r.cycle(6000, 1);
    assert.equal(r.verdicts.at(-1)!.reason, 'overcurrent', 'a plausible fault even without sag');
  });
});
