// The reference cases of ../shared/reference/state-estimation.md. Expected values are the [READ] published
// numbers (pandapower tests) or the [COMPUTED] numpy/scipy values given there, plus closed-form properties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinearWls, badDataAnalysis, normalizedResidual, GaussNewtonWls } from '../../../src/detect/estimation/wls.ts';
import { AcNetworkModel } from '../../../src/detect/estimation/ac-model.ts';
import type { AcMeasurement } from '../../../src/detect/estimation/ac-model.ts';

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${what}[${i}] = ${a[i]} ≠ ${b[i]} (tol ${tol})`);
}

function linear(H: number[][], z: number[], sigma: number[]): LinearWls {
  const w = new LinearWls(H.length, H[0]!.length, 1);
  H.forEach((row, i) =>
    row.forEach((h, j) => {
      w.H[i * row.length + j] = h;
    }),
  );
  w.setSigma(sigma);
  w.zRe.set(z);
  assert.ok(w.prepare());
  return w;
}
const rN = (w: LinearWls) => Array.from({ length: w.m }, (_, i) => normalizedResidual(w, i));

// ---- Case A ----
const HA = [
  [5, -5],
  [2.5, 0],
  [0, -4],
];
const sA = [0.01, 0.01, 0.01];

test('Case A: x̂, r, J, diag Ω, r_N (3 buses, 3 meters)', () => {
  const w = linear(HA, [0.62, 0.06, 0.37], sA);
  assert.ok(w.solve());
  close(w.xRe, [0.0285714286, -0.0942857143], 1e-10, 'x̂');
  close(w.rRe, [0.0057142857, -0.0114285714, -0.0071428571], 1e-10, 'r');
  assert.ok(Math.abs(w.J - 2.142857142857142) < 1e-9);
  close(w.omega, [1.5238095238e-5, 6.0952380952e-5, 2.380952381e-5], 1e-15, 'Ω');
  // m − n = 1: every normalized residual equals √J
  for (const v of rN(w)) assert.ok(Math.abs(v - Math.sqrt(w.J)) < 1e-9 && Math.abs(v - 1.4638501094) < 1e-9);
  const rep = badDataAnalysis(w);
  assert.equal(rep.outcome, 'pass');
  assert.ok(Math.abs(rep.chi2 - 3.841458820694124) < 1e-9);
  // the slides' sub-estimates: M13 & M32 only → M12 = 58.25 MW
  const w2 = linear(HA, [0.62, 0.05, 0.4], sA);
  w2.deactivate(0);
  assert.ok(w2.solve());
  assert.ok(Math.abs(5 * (w2.xRe[0]! - w2.xRe[1]!) - 0.6) < 1e-12); // exact with the noise-free M13, M32
});

test('Case A: a gross error with m − n = 1 is detected but not identifiable', () => {
  const w = linear(HA, [0.62 + 0.2, 0.06, 0.37], sA);
  const rep = badDataAnalysis(w);
  assert.equal(rep.detected, true);
  assert.equal(rep.outcome, 'not-identifiable');
  assert.deepEqual([...rep.suspects].sort(), [0, 1, 2]);
  assert.equal(rep.removed.length, 0);
});

// ---- Case B ----
const HB = [
  [-10, 0],
  [0, -5],
  [8, -8],
  [18, -8],
  [-8, 13],
];
const xTrue = [-0.04, -0.06];
const zB = HB.map((r) => r[0]! * xTrue[0]! + r[1]! * xTrue[1]!);
const sB = [0.01, 0.01, 0.01, 0.01, 0.01];

test('Case B: noise-free estimate, S_ii, chi-square threshold with 3 dof', () => {
  close(zB, [0.4, 0.3, 0.16, -0.24, -0.46], 1e-15, 'Hx');
  const w = linear(HB, zB, sB);
  assert.ok(w.solve());
  close(w.xRe, xTrue, 1e-14, 'x̂');
  assert.ok(w.J < 1e-20);
  close(
    Array.from(w.omega, (o) => o / 1e-4),
    [0.5995024876, 0.828358209, 0.8009950249, 0.3805970149, 0.3905472637],
    1e-9,
    'S_ii',
  );
  const rep = badDataAnalysis(w);
  assert.equal(rep.outcome, 'pass');
  assert.ok(Math.abs(rep.chi2 - 7.814727903251179) < 1e-9);
});

test('Case B: naive attack a = [0.1,0,0,0,0] alarms and LNR picks P12', () => {
  const w = linear(
    HB,
    zB.map((v, i) => v + (i === 0 ? 0.1 : 0)),
    sB,
  );
  assert.ok(w.solve());
  close(w.xRe, [-0.0440049751, -0.063880597], 1e-10, 'x̂');
  close(w.rRe, [0.0599502488, -0.0194029851, 0.0009950249, 0.0410447761, 0.0184079602], 1e-10, 'r');
  assert.ok(Math.abs(w.J - 59.95024875621887) < 1e-8);
  close(rN(w), [7.7427545974, 2.1318638209, 0.111178044, 6.6531176336, 2.9455667376], 1e-8, 'r_N');
  const rep = badDataAnalysis(w);
  assert.equal(rep.outcome, 'identified');
  assert.deepEqual(rep.removed, [0]);
});

test('Case B: stealthy a = Hc moves x̂ by exactly c and leaves J (and r) unchanged', () => {
  const c = [0.005, -0.004];
  const a = HB.map((r) => r[0]! * c[0]! + r[1]! * c[1]!);
  close(a, [-0.05, 0.02, 0.072, 0.122, -0.092], 1e-15, 'a');
  // with a noise vector, J is unchanged by the attack
  const e = [0.004, -0.007, 0.011, 0.002, -0.009];
  const w0 = linear(
    HB,
    zB.map((v, i) => v + e[i]!),
    sB,
  );
  assert.ok(w0.solve());
  const w1 = linear(
    HB,
    zB.map((v, i) => v + e[i]! + a[i]!),
    sB,
  );
  assert.ok(w1.solve());
  close([w1.xRe[0]! - w0.xRe[0]!, w1.xRe[1]! - w0.xRe[1]!], c, 1e-14, 'x̂_a − x̂');
  close(w1.rRe, w0.rRe, 1e-14, 'r_a vs r');
  assert.ok(Math.abs(w1.J - w0.J) < 1e-9);
  const wa = linear(
    HB,
    zB.map((v, i) => v + a[i]!),
    sB,
  );
  assert.ok(wa.solve());
  close(wa.xRe, [-0.035, -0.064], 1e-14, 'x̂');
  assert.ok(wa.J < 1e-20);
  assert.equal(badDataAnalysis(wa).outcome, 'pass');
});

test('Case B: bad-data loop removes P23 (+0.10) and P2 (−0.20), then passes with the true state', () => {
  for (const [idx, err, x0, J0, rn0, want] of [
    [2, 0.1, [-0.0399004975, -0.0623880597], 80.099502, [0.1285, 1.3119, 8.9498, 3.387, 5.095], 'P23'],
    [3, -0.2, [-0.0482089552, -0.0629850746], 152.238806, [10.6021, 1.6399, 4.6695, 12.3385, 4.2989], 'P2'],
  ] as const) {
    const w = linear(
      HB,
      zB.map((v, i) => v + (i === idx ? err : 0)),
      sB,
    );
    assert.ok(w.solve());
    close(w.xRe, x0, 1e-10, `${want} x̂0`);
    assert.ok(Math.abs(w.J - J0) < 1e-5, `${want} J0`);
    close(rN(w), rn0, 1e-4, `${want} r_N`);
    const rep = badDataAnalysis(w);
    assert.equal(rep.outcome, 'identified');
    assert.deepEqual(rep.removed, [idx]);
    assert.ok(Math.abs(rep.J0 - J0) < 1e-5);
    assert.equal(rep.dof0, 3);
    assert.equal(rep.dof, 2);
    assert.ok(Math.abs(rep.chi2 - 5.991464547107979) < 1e-9);
    close(w.xRe, xTrue, 1e-12, `${want} x̂ after removal`);
    assert.ok(w.J < 1e-18);
  }
});

test('critical measurement: Ω_ii ≈ 0 is excluded from LNR; an error on it passes unseen', () => {
  // x = [a, b]; m1 = a, m2 = a (redundant), m3 = b (critical: the only measurement of b), m4 = a
  const w = linear(
    [
      [1, 0],
      [1, 0],
      [0, 1],
      [1, 0],
    ],
    [1, 1, 5, 1],
    [1, 1, 1, 1],
  );
  assert.ok(w.solve());
  assert.ok(w.omega[2]! < 1e-12);
  assert.ok(Number.isNaN(normalizedResidual(w, 2)));
  // a gross error on the critical m3 is invisible
  w.zRe[2] = 500;
  assert.equal(badDataAnalysis(w).outcome, 'pass');
  // a gross error on m1 is identified among the redundant ones
  w.zRe[2] = 5;
  w.zRe[0] = 20;
  const rep = badDataAnalysis(w);
  assert.equal(rep.outcome, 'identified');
  assert.deepEqual(rep.removed, [0]);
});

test('unobservable model is reported', () => {
  const w = new LinearWls(2, 2);
  w.H.set([1, 1, 2, 2]);
  w.setSigma([1, 1]);
  assert.equal(w.prepare(), false);
  assert.equal(badDataAnalysis(w).outcome, 'unobservable');
});

// ---- Case C: Abur & Expósito 3-bus (pandapower test_3bus_with_out_of_service_bus) ----
test('Case C: AC Gauss–Newton reproduces V and δ (tol 1e-4) and J', () => {
  const br = [
    { from: 0, to: 1, r: 0.01, x: 0.03 },
    { from: 0, to: 2, r: 0.02, x: 0.05 },
    { from: 1, to: 2, r: 0.03, x: 0.08 },
  ];
  const meas: [AcMeasurement, number, number][] = [
    [{ kind: 'v', bus: 0 }, 1.006, 0.004],
    [{ kind: 'v', bus: 1 }, 0.968, 0.004],
    [{ kind: 'p', bus: 1 }, -0.501, 0.01],
    [{ kind: 'q', bus: 1 }, -0.286, 0.01], // load sign → injection
    [{ kind: 'pf', branch: 0 }, 0.888, 0.008],
    [{ kind: 'pf', branch: 1 }, 1.173, 0.008],
    [{ kind: 'qf', branch: 0 }, 0.568, 0.008],
    [{ kind: 'qf', branch: 1 }, 0.663, 0.008],
  ];
  const model = new AcNetworkModel(
    3,
    0,
    br,
    meas.map((m) => m[0]),
  );
  const gn = new GaussNewtonWls(
    model,
    meas.map((m) => m[1]),
    meas.map((m) => m[2]),
  );
  assert.ok(gn.solve());
  const th = new Float64Array(3);
  const v = new Float64Array(3);
  model.unpack(gn.x, th, v);
  close(v, [0.9996, 0.9741, 0.9438], 1e-4, 'vm_pu');
  close(
    Array.from(th, (t) => (t * 180) / Math.PI),
    [0, -1.2475, -2.7457],
    1e-4,
    'va_degree',
  );
  close(
    Array.from(th, (t) => (t * 180) / Math.PI),
    [0, -1.2475469989322963, -2.7457167371166862],
    1e-6,
    'va (2-slack test)',
  );
  close(v, [0.99962926, 0.97415607, 0.94389038], 1e-7, 'V (computed)');
  assert.ok(Math.abs(gn.J - 8.638192952296544) < 1e-6);
  // J exceeds χ²_0.95(3) = 7.8147: the chi-square test flags this published case
  assert.equal(badDataAnalysis(gn).detected, true);
});

// ---- Case D: pandapower test_3bus / test_3bus_with_bad_data ----
function caseD(withBad: boolean) {
  const br = [
    { from: 0, to: 1, r: 0.7, x: 0.2 },
    { from: 0, to: 2, r: 0.8, x: 0.8 },
    { from: 1, to: 2, r: 1, x: 0.6 },
  ];
  const meas: [AcMeasurement, number, number][] = [
    [{ kind: 'pf', branch: 0 }, -0.0011, 0.01],
    [{ kind: 'qf', branch: 0 }, 0.024, 0.01],
    [{ kind: 'p', bus: 2 }, 0.018, 0.01],
    [{ kind: 'q', bus: 2 }, -0.1, 0.01], // pandapower bus p/q: load sign
    [{ kind: 'v', bus: 0 }, 1.08, 0.05],
    [{ kind: 'v', bus: 2 }, 1.015, 0.05],
  ];
  if (withBad) meas.push([{ kind: 'v', bus: 1 }, 1.3, 0.01]);
  const model = new AcNetworkModel(
    3,
    0,
    br,
    meas.map((m) => m[0]),
  );
  return {
    model,
    gn: new GaussNewtonWls(
      model,
      meas.map((m) => m[1]),
      meas.map((m) => m[2]),
    ),
  };
}
const D_V = [1.0627, 1.0589, 1.0317];
const D_A = [0, 0.8677, 3.1381];

test('Case D: clean estimate matches pandapower and passes chi-square', () => {
  const { model, gn } = caseD(false);
  const rep = badDataAnalysis(gn);
  assert.equal(rep.outcome, 'pass');
  assert.equal(rep.dof, 1);
  assert.ok(Math.abs(gn.J - 0.2337) < 1e-4, `J ${gn.J}`);
  const th = new Float64Array(3);
  const v = new Float64Array(3);
  model.unpack(gn.x, th, v);
  close(v, D_V, 1e-4, 'vm_pu');
  close(
    Array.from(th, (t) => (t * 180) / Math.PI),
    D_A,
    1e-4,
    'va_degree',
  );
});

test('Case D: false V2 = 1.3 → chi-square alarm, LNR removes V2, estimate returns to the clean one', () => {
  const { model, gn } = caseD(true);
  assert.ok(gn.solve());
  assert.ok(Math.abs(gn.J - 43.352) < 1e-3, `J ${gn.J}`);
  const rn = Array.from({ length: gn.m }, (_, i) => normalizedResidual(gn, i));
  // order: p12 q12 p3 q3 v1 v3 v2
  close(rn, [6.085, 5.367, 4.944, 4.944, 4.12, 4.944, 6.565], 1e-3, 'r_N');
  const rep = badDataAnalysis(gn);
  assert.equal(rep.detected, true);
  assert.ok(Math.abs(rep.chi20 - 5.991464547107979) < 1e-9);
  assert.equal(rep.outcome, 'identified');
  assert.deepEqual(rep.removed, [6]);
  const th = new Float64Array(3);
  const v = new Float64Array(3);
  model.unpack(gn.x, th, v);
  close(v, D_V, 1e-4, 'vm_pu');
  close(
    Array.from(th, (t) => (t * 180) / Math.PI),
    D_A,
    1e-4,
    'va_degree',
  );
});

test('AC Jacobian agrees with central finite differences', () => {
  const { model } = caseD(true);
  const x = Float64Array.from([0.02, 0.05, 1.05, 0.98, 1.02]);
  const H = new Float64Array(model.m * model.n);
  model.jacobian(x, H);
  const hp = new Float64Array(model.m);
  const hm = new Float64Array(model.m);
  const eps = 1e-6;
  for (let c = 0; c < model.n; c++) {
    const xp = Float64Array.from(x);
    xp[c] = xp[c]! + eps;
    model.h(xp, hp);
    const xm = Float64Array.from(x);
    xm[c] = xm[c]! - eps;
    model.h(xm, hm);
    for (let i = 0; i < model.m; i++) assert.ok(Math.abs((hp[i]! - hm[i]!) / (2 * eps) - H[i * model.n + c]!) < 1e-7, `H[${i},${c}]`);
  }
});
