// Case E of state-estimation.md: DC state estimation on JuliaGrid's modified IEEE 14-bus case (case14test.m,
// bus 1 made PV, bus 3 slack at −0.17 rad; buses 6 and 8 carry the labels 16 and 15; branches 2–3 and 10–11 out
// of service), with JuliaGrid's test variances: wattmeters 1e-2, PMU angles 1e-5. Noise-free wattmeters at every
// injection and at both ends of every branch, a PMU angle at every bus. JuliaGrid's published results: with
// "Wattmeter 2" = 100, r_N ≈ 829.9; adding "PMU 10" = 10π, first PMU 10 at ≈ 5186.3, then Wattmeter 2 at ≈ 829.9;
// after removal the estimate equals the DC power flow.
//
// Reproduced: the clean set passes, Wattmeter 2 alone (r_N 829.94), the removal order PMU 10 → Wattmeter 2 and
// the return to the power flow. NOT reproduced: PMU 10's r_N — ours is 5080.4 where JuliaGrid's test says 5186.3
// (2.1 % higher). Ours is confirmed here by a dense computation independent of src/ (Ω = R − H G⁻¹ Hᵀ); for a
// single gross error r_N = |e|·√Ω_ii/σ², so the gap is Ω_ii (JuliaGrid's sparse inverse of the LU-factored gain)
// or θ₁₀ of their power flow, not the identification logic. Julia is not available here to settle it.
//
// The case data below is the published case (a data table, not code). The DC model follows JuliaGrid's: branch
// admittance 1/(τ·x) (τ = 1 where the file says 0), phase shifts on the branch flow, shunt conductance in the
// injection, the slack column removed from H. Out-of-service branches measure 0 with a zero row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinearWls, badDataAnalysis } from '../../../src/detect/estimation/wls.ts';

// bus label, Pd (MW), Gs (MW at 1 pu); in the file's order
const BUS: [number, number, number][] = [
  [1, 15.0, 6.0],
  [2, 21.7, 0],
  [3, 94.2, 55.0],
  [4, 47.8, 0],
  [5, 7.6, -20.0],
  [16, 11.2, 0],
  [7, 0, 0],
  [15, 0, 0],
  [9, 29.5, 0],
  [10, 9.0, 0],
  [11, 3.5, 0],
  [12, 6.1, -14.0],
  [13, 13.5, 0],
  [14, 14.9, 0],
];
// in-service generators: bus label, Pg (MW)
const GEN: [number, number][] = [
  [1, 50.0],
  [1, 14.0],
  [2, 40.0],
  [3, 0],
  [16, 0],
  [2, 52.0],
  [15, 0],
];
// from, to, x, ratio (0 = none), shift (deg), status
const BRANCH: [number, number, number, number, number, number][] = [
  [1, 2, 0.05917, 0, 0, 1],
  [1, 5, 0.22304, 0, 0, 1],
  [2, 3, 0.19797, 0, 0, 0],
  [2, 4, 0.17632, 0, 0, 1],
  [2, 5, 0.17388, 0, 0, 1],
  [3, 4, 0.17103, 0, 0, 1],
  [4, 5, 0.04211, 0, 0, 1],
  [4, 7, 0.20912, 0.978, 0, 1],
  [4, 9, 0.55618, 0.969, 0, 1],
  [5, 16, 0.25202, 0.932, 0, 1],
  [16, 11, 0.1989, 0, 0, 1],
  [16, 12, 0.25581, 0, 0, 1],
  [16, 13, 0.13027, 0, 0, 1],
  [7, 15, 0.17615, 0.7, -2.0, 1],
  [7, 9, 0.11001, 0.6, -0.23, 1],
  [9, 10, 0.0845, 0, 0, 1],
  [9, 14, 0.27038, 0, 0, 1],
  [10, 11, 0.19207, 0.8, 5.0, 0],
  [12, 13, 0.19988, 0, 0, 1],
  [13, 14, 0.34802, 0, 0, 1],
];
const BASE = 100;
const SLACK = 2; // index of label 3
const SLACK_ANGLE = -0.17;
const NB = BUS.length;
const idx = (label: number): number => BUS.findIndex((b) => b[0] === label);

function solveDense(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((r, i) => [...r, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = 0; r < n; r++)
      if (r !== c) {
        const f = m[r]![c]! / m[c]![c]!;
        for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
      }
  }
  return m.map((r, i) => r[n]! / r[i]!);
}

function model() {
  const y = BRANCH.map(([, , x, ratio, , st]) => (st ? 1 / ((ratio === 0 ? 1 : ratio) * x) : 0));
  const phi = BRANCH.map((b) => (b[4] * Math.PI) / 180);
  const B = Array.from({ length: NB }, () => new Array<number>(NB).fill(0));
  const pShift = new Array<number>(NB).fill(0);
  BRANCH.forEach(([f, t], k) => {
    const i = idx(f);
    const j = idx(t);
    const yk = y[k]!;
    B[i]![i]! += yk;
    B[j]![j]! += yk;
    B[i]![j]! -= yk;
    B[j]![i]! -= yk;
    pShift[i]! -= yk * phi[k]!;
    pShift[j]! += yk * phi[k]!; // P_ij = y(θi − θj − φ)
  });
  const gsh = BUS.map((b) => b[2] / BASE);
  const pInj = BUS.map(([label, pd]) => (GEN.filter((g) => g[0] === label).reduce((s, g) => s + g[1], 0) - pd) / BASE);
  // DC power flow: B θ = P − P_shift − G_sh at the non-slack buses, slack angle fixed
  const others = [...Array(NB).keys()].filter((i) => i !== SLACK);
  const rhs = others.map((i) => pInj[i]! - pShift[i]! - gsh[i]! - B[i]![SLACK]! * SLACK_ANGLE);
  const sol = solveDense(
    others.map((i) => others.map((j) => B[i]![j]!)),
    rhs,
  );
  const theta = new Array<number>(NB).fill(SLACK_ANGLE);
  others.forEach((i, k) => {
    theta[i] = sol[k]!;
  });
  return { y, phi, B, pShift, gsh, theta, others };
}

interface Meas {
  name: string;
  row: number[];
  value: number;
  variance: number;
}

function measurements(): { meas: Meas[]; theta: number[]; others: number[] } {
  const { y, phi, B, pShift, gsh, theta, others } = model();
  const meas: Meas[] = [];
  let w = 0;
  const full = (r: number[]): number => r.reduce((s, h, k) => s + h * theta[k]!, 0);
  for (let i = 0; i < NB; i++) {
    const row = B[i]!.slice();
    meas.push({ name: `Wattmeter ${++w}`, row, value: full(row) + pShift[i]! + gsh[i]!, variance: 1e-2 });
  }
  BRANCH.forEach(([f, t], k) => {
    for (const sign of [1, -1]) {
      const row = new Array<number>(NB).fill(0);
      row[idx(f)] = sign * y[k]!;
      row[idx(t)] = -sign * y[k]!;
      meas.push({ name: `Wattmeter ${++w}`, row, value: full(row) - sign * y[k]! * phi[k]!, variance: 1e-2 });
    }
  });
  for (let i = 0; i < NB; i++) {
    const row = new Array<number>(NB).fill(0);
    row[i] = 1;
    meas.push({ name: `PMU ${i + 1}`, row, value: theta[i]!, variance: 1e-5 });
  }
  return { meas, theta, others };
}

/** The WLS problem over the non-slack angles: constants and the slack's contribution move to z. */
function problem(meas: Meas[], others: number[]): LinearWls {
  const n = others.length;
  const w = new LinearWls(meas.length, n);
  const { pShift, gsh, y, phi } = model();
  let wb = 0;
  meas.forEach((mm, i) => {
    w.H.set(
      others.map((j) => mm.row[j]!),
      i * n,
    );
    // constant part of h: the slack angle term plus the shift / shunt constants of the measurement
    let c = mm.row[SLACK]! * SLACK_ANGLE;
    if (i < NB) c += pShift[i]! + gsh[i]!;
    else if (i < NB + 2 * BRANCH.length) {
      const k = Math.floor((i - NB) / 2);
      const sign = (i - NB) % 2 === 0 ? 1 : -1;
      c -= sign * y[k]! * phi[k]!;
      wb++;
    }
    w.zRe[i] = mm.value - c;
  });
  assert.equal(wb, 2 * BRANCH.length);
  w.setSigma(meas.map((mm) => Math.sqrt(mm.variance)));
  assert.ok(w.prepare(), 'observable');
  return w;
}

test('Case E (JuliaGrid DC 14-bus): Wattmeter 2 = 100 is identified with r_N ≈ 829.9; the estimate returns to the power flow', () => {
  const { meas, theta, others } = measurements();
  const wm2 = meas.findIndex((mm) => mm.name === 'Wattmeter 2');
  meas[wm2]!.value = 100;
  const w = problem(meas, others);
  const rep = badDataAnalysis(w, { threshold: 3.0 });
  assert.equal(rep.detected, true, 'chi-square detects');
  assert.equal(rep.outcome, 'identified');
  assert.deepEqual(
    rep.removed.map((i) => meas[i]!.name),
    ['Wattmeter 2'],
  );
  assert.ok(Math.abs(rep.removedRN[0]! - 829.9) <= 0.1, `r_N ${rep.removedRN[0]}`);
  others.forEach((j, k) => assert.ok(Math.abs(w.xRe[k]! - theta[j]!) < 1e-8, `θ of bus ${BUS[j]![0]}`));
});

test('Case E (JuliaGrid DC 14-bus): with PMU 10 = 10π too, PMU 10 goes first (5080.4 here, 5186.3 in JuliaGrid), then Wattmeter 2 (≈ 829.9)', () => {
  const { meas, theta, others } = measurements();
  meas[meas.findIndex((mm) => mm.name === 'Wattmeter 2')]!.value = 100;
  meas[meas.findIndex((mm) => mm.name === 'PMU 10')]!.value = 10 * Math.PI;
  const w = problem(meas, others);
  const rep = badDataAnalysis(w, { threshold: 3.0 });
  assert.equal(rep.outcome, 'identified');
  assert.deepEqual(
    rep.removed.map((i) => meas[i]!.name),
    ['PMU 10', 'Wattmeter 2'],
  );
  // independent oracle for the first step: dense G = HᵀWH, Ω₁₀ = σ² − h₁₀ G⁻¹ h₁₀ᵀ, r = z − Hx̂
  const n = others.length;
  const H = meas.map((mm) => others.map((j) => mm.row[j]!));
  const zc = meas.map((_, i) => w.zRe[i]!);
  const W = meas.map((mm) => 1 / mm.variance);
  const G = Array.from({ length: n }, (_, a) => Array.from({ length: n }, (_, b) => H.reduce((s, r, i) => s + r[a]! * r[b]! * W[i]!, 0)));
  const xh = solveDense(
    G,
    Array.from({ length: n }, (_, a) => H.reduce((s, r, i) => s + r[a]! * W[i]! * zc[i]!, 0)),
  );
  const p10 = meas.findIndex((mm) => mm.name === 'PMU 10');
  const gInvH = solveDense(G, H[p10]!);
  const omega = meas[p10]!.variance - H[p10]!.reduce((s, h, k) => s + h * gInvH[k]!, 0);
  const r = zc[p10]! - H[p10]!.reduce((s, h, k) => s + h * xh[k]!, 0);
  const rN = Math.abs(r) / Math.sqrt(omega);
  assert.ok(Math.abs(rep.removedRN[0]! - rN) < 1e-6 * rN, `library ${rep.removedRN[0]} vs dense ${rN}`);
  assert.ok(Math.abs(rep.removedRN[0]! - 5080.4) <= 0.1, `r_N ${rep.removedRN[0]} (JuliaGrid: 5186.3, see the file comment)`);
  assert.ok(Math.abs(rep.removedRN[1]! - 829.9) <= 0.1, `r_N ${rep.removedRN[1]}`);
  others.forEach((j, k) => assert.ok(Math.abs(w.xRe[k]! - theta[j]!) < 1e-8, `θ of bus ${BUS[j]![0]}`));
});

test('Case E (JuliaGrid DC 14-bus): the clean measurement set passes the chi-square test', () => {
  const { meas, others } = measurements();
  const rep = badDataAnalysis(problem(meas, others), { threshold: 3.0 });
  assert.equal(rep.outcome, 'pass');
  assert.ok(rep.J0 < 1e-12);
});
