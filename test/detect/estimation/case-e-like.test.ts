// The procedure of Case E (state-estimation.md) on a small 5-bus DC network of our own, with an oracle independent
// of src/ (Ω and the power flow by Gauss–Jordan inversion): noise-free wattmeters at every injection and both ends
// of every branch, PMU angles at every non-slack bus; one gross wattmeter error and one gross PMU angle (10π); LNR
// removes them one by one, largest r_N first, and the estimate returns to the DC power-flow angles. JuliaGrid's
// own 14-bus numbers are checked in case-e.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinearWls, badDataAnalysis } from '../../../src/detect/estimation/wls.ts';

const X: [number, number, number][] = [
  [0, 1, 0.06],
  [0, 2, 0.24],
  [1, 2, 0.18],
  [1, 3, 0.18],
  [1, 4, 0.12],
  [2, 3, 0.03],
  [3, 4, 0.24],
];
const NB = 5;

function inverse(a: number[][]): number[][] {
  const n = a.length;
  const m = a.map((r, i) => [...r, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const d = m[c]![c]!;
    for (let k = 0; k < 2 * n; k++) m[c]![k]! /= d;
    for (let r = 0; r < n; r++)
      if (r !== c) {
        const f = m[r]![c]!;
        for (let k = 0; k < 2 * n; k++) m[r]![k]! -= f * m[c]![k]!;
      }
  }
  return m.map((r) => r.slice(n));
}

test('Case E procedure (own 5-bus DC network): PMU 10π and wattmeter 100 are removed in r_N order; angles return to the power flow', () => {
  // full-bus susceptance matrix, slack bus 0 at angle 0; state = θ1…θ4
  const B = Array.from({ length: NB }, () => new Array<number>(NB).fill(0));
  for (const [i, j, x] of X) {
    B[i]![i]! += 1 / x;
    B[j]![j]! += 1 / x;
    B[i]![j]! -= 1 / x;
    B[j]![i]! -= 1 / x;
  }
  const P = [0, 0.4, -0.45, -0.4, -0.6]; // non-slack injections (pu); the slack balances
  const Bred = B.slice(1).map((r) => r.slice(1));
  const inv = inverse(Bred);
  const theta = [0, ...inv.map((r) => r.reduce((s, v, k) => s + v * P[k + 1]!, 0))]; // DC power flow
  const rows: number[][] = [];
  const sig: number[] = [];
  const names: string[] = [];
  const row = () => new Array<number>(NB - 1).fill(0);
  for (let i = 0; i < NB; i++) {
    const r = row();
    for (let j = 1; j < NB; j++) r[j - 1] = B[i]![j]!;
    rows.push(r);
    sig.push(0.01);
    names.push(`Wattmeter P${i + 1}`);
  }
  for (const [i, j, x] of X)
    for (const [a, b] of [
      [i, j],
      [j, i],
    ] as const) {
      const r = row();
      if (a > 0) r[a - 1] = 1 / x;
      if (b > 0) r[b - 1] = -1 / x;
      rows.push(r);
      sig.push(0.01);
      names.push(`Wattmeter P${a + 1}-${b + 1}`);
    }
  for (let i = 1; i < NB; i++) {
    const r = row();
    r[i - 1] = 1;
    rows.push(r);
    sig.push(0.001);
    names.push(`PMU ${i + 1}`);
  }
  const m = rows.length;
  const n = NB - 1;
  const z = rows.map((r) => r.reduce((s, h, k) => s + h * theta[k + 1]!, 0));
  const wm = names.indexOf('Wattmeter P2');
  const pmu = names.indexOf('PMU 4');
  z[wm] = 100;
  z[pmu] = 10 * Math.PI;

  // independent r_N of the first step: x̂ = G⁻¹HᵀWz, Ω = R − H G⁻¹ Hᵀ
  const G = Array.from({ length: n }, (_, a) =>
    Array.from({ length: n }, (_, b) => rows.reduce((s, r, i) => s + (r[a]! * r[b]!) / sig[i]! ** 2, 0)),
  );
  const Gi = inverse(G);
  const rhs = Array.from({ length: n }, (_, a) => rows.reduce((s, r, i) => s + (r[a]! * z[i]!) / sig[i]! ** 2, 0));
  const xh = Gi.map((r) => r.reduce((s, v, k) => s + v * rhs[k]!, 0));
  const rN = rows.map((r, i) => {
    const res = z[i]! - r.reduce((s, h, k) => s + h * xh[k]!, 0);
    const om = sig[i]! ** 2 - r.reduce((s, h, a) => s + h * r.reduce((t, g, b) => t + Gi[a]![b]! * g, 0), 0);
    return Math.abs(res) / Math.sqrt(om);
  });
  const first = rN.indexOf(Math.max(...rN));
  assert.ok(first === wm || first === pmu);

  const w = new LinearWls(m, n);
  rows.forEach((r, i) => w.H.set(r, i * n));
  w.setSigma(sig);
  w.zRe.set(z);
  assert.ok(w.prepare());
  const rep = badDataAnalysis(w, { threshold: 3.0 });
  assert.equal(rep.outcome, 'identified');
  assert.deepEqual(rep.removed, [first, first === wm ? pmu : wm]);
  assert.ok(Math.abs(rep.removedRN[0]! - rN[first]!) < 1e-6 * rN[first]!);
  for (let k = 0; k < n; k++) assert.ok(Math.abs(w.xRe[k]! - theta[k + 1]!) < 1e-10, `θ${k + 2}`);
  assert.ok(w.J < 1e-12);
});
