import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelPhasor, StreamPhasors } from '../../src/detect/phasor.ts';
import { runSimulation, DEFAULT_OPTIONS } from '../../tools/sim/engine.ts';
import { findScenario } from '../../tools/sim/scenarios.ts';
import { LE_4I4U } from '../../src/model/channels.ts';
import { MemorySink, parseSv } from '../sim/frames.ts';

const wrapAngle = (a: number) => Math.atan2(Math.sin(a), Math.cos(a));

function feed(p: ChannelPhasor, f: (k: number) => number, samples: number, k0 = 0): void {
  for (let k = k0; k < k0 + samples; k++) p.push(f(k), k);
}

test('exact sinusoids: RMS magnitude and angle to 1e-9 for N = 80, 96, 256, 288', () => {
  for (const n of [80, 96, 256, 288]) {
    for (const [A, phi] of [
      [1000, 0.3],
      [57.7, -2.5],
      [1e5, Math.PI / 2],
    ] as const) {
      const p = new ChannelPhasor({ samplesPerCycle: n });
      feed(p, (k) => Math.SQRT2 * A * Math.cos((2 * Math.PI * k) / n + phi), 5 * n + 17); // also mid-cycle
      assert.ok(p.valid);
      assert.ok(Math.abs(p.magnitude - A) < 1e-9 * A, `N=${n} |X|=${p.magnitude}`);
      // read 17 samples past a cycle end: the reference is k mod N, so a nominal-frequency phasor is constant
      assert.ok(Math.abs(wrapAngle(p.angle - phi)) < 1e-9, `N=${n} angle ${p.angle}`);
      assert.ok(Math.abs(p.rms - A) < 1e-9 * A, 'true RMS of a pure sinusoid');
    }
  }
});

test('harmonics 2…N/2−1 are rejected; true RMS includes them', () => {
  const n = 80;
  const A = 400;
  const phi = 0.7;
  const h = [
    [2, 0.1],
    [3, 0.03],
    [5, 0.04],
    [7, 0.02],
    [13, 0.05],
    [39, 0.01],
  ] as const;
  const p = new ChannelPhasor({ samplesPerCycle: n });
  feed(
    p,
    (k) => {
      let x = Math.SQRT2 * A * Math.cos((2 * Math.PI * k) / n + phi);
      for (const [o, r] of h) x += Math.SQRT2 * A * r * Math.cos((2 * Math.PI * o * k) / n + 0.3 * o);
      return x;
    },
    3 * n,
  );
  assert.ok(Math.abs(p.magnitude - A) < 1e-9 * A);
  assert.ok(Math.abs(wrapAngle(p.angle - phi)) < 1e-9);
  const rmsWant = A * Math.sqrt(1 + h.reduce((s, [, r]) => s + r * r, 0));
  assert.ok(Math.abs(p.rms - rmsWant) < 1e-9 * A);
});

test('constant DC is rejected by the phasor and adds in quadrature to the true RMS', () => {
  const n = 80;
  const A = 100;
  const D = 30;
  const p = new ChannelPhasor({ samplesPerCycle: n });
  feed(p, (k) => D + Math.SQRT2 * A * Math.cos((2 * Math.PI * k) / n), 2 * n);
  assert.ok(Math.abs(p.magnitude - A) < 1e-9 * A);
  assert.ok(Math.abs(p.rms - Math.hypot(A, D)) < 1e-9 * A);
});

test('decaying DC offset: the phasor error equals the closed-form DFT of the exponential (measured)', () => {
  // fully offset fault current, X/R = 15 at 50 Hz: τ = 15/(2π·50) = 47.7 ms; i = √2·I·(cos(ωt) − e^{−t/τ})
  const n = 80;
  const I = 10_000;
  const tau = 15 / (2 * Math.PI * 50);
  const Ts = 1 / 4000;
  const r = Math.exp(-Ts / tau);
  const p = new ChannelPhasor({ samplesPerCycle: n });
  const x = (k: number) => Math.SQRT2 * I * (Math.cos((2 * Math.PI * k) / n) - Math.exp((-k * Ts) / tau));
  const errs: number[] = [];
  for (let k = 0; k < 6 * n; k++) {
    if (!p.push(x(k), k)) continue;
    // window k−n+1 … k: DC part √2·I·r^{k0}·Σ_{j} r^j e^{−j2π(k0+j)/N}, k0 = k − n + 1 (k0 ≡ 0 mod N here)
    const k0 = k - n + 1;
    let re = 0;
    let im = 0;
    // closed form: Σ_{j=0}^{N−1} (r e^{−j2π/N})^j = (1 − r^N) / (1 − r e^{−j2π/N})
    const dr = 1 - r * Math.cos((2 * Math.PI) / n);
    const di = r * Math.sin((2 * Math.PI) / n);
    const num = 1 - r ** n;
    const den = dr * dr + di * di;
    re = (num * dr) / den;
    im = (-num * di) / den;
    const scale = -Math.SQRT2 * I * r ** k0 * (Math.SQRT2 / n);
    const wantRe = I + scale * re;
    const wantIm = scale * im;
    assert.ok(Math.abs(p.re - wantRe) < 1e-6 && Math.abs(p.im - wantIm) < 1e-6, `cycle ${p.cycles}`);
    errs.push(p.magnitude / I - 1);
  }
  // documented size: the magnitude error of the first cycles is a few per cent and decays with τ
  // measured: −0.56 % after one cycle, −0.13 % after six (the angle error is larger: 0.109 rad, then 0.013 rad)
  assert.ok(errs[0]! < -0.004 && errs[0]! > -0.007, `first-cycle error ${errs[0]}`);
  for (let i = 1; i < errs.length; i++) assert.ok(Math.abs(errs[i]!) < Math.abs(errs[i - 1]!), 'the error decays');
});

// Stated tolerances: |f − f0| ≤ 0.5 Hz → frequency within 0.01 Hz (measured 0.005), magnitude within 0.6 %;
// 47 / 52 Hz → within 0.2 Hz (measured 0.19 / 0.08) and 4 % (single channel: the 2f image is not cancelled).
test('off-nominal frequency 49.5 / 50.5 Hz (and 47 / 52 Hz): frequency and magnitude within the stated tolerance', () => {
  for (const n of [80, 256])
    for (const [f, tolF, tolM] of [
      [49.5, 0.01, 0.006],
      [50.5, 0.01, 0.006],
      [47, 0.2, 0.04],
      [52, 0.2, 0.04],
    ] as const) {
      const fs = 50 * n;
      const p = new ChannelPhasor({ samplesPerCycle: n, nominalHz: 50, wrap: fs });
      let worst = 0;
      let worstMag = 0;
      let seen = 0;
      for (let k = 0; k < 20 * n; k++) {
        if (!p.push(Math.SQRT2 * 230 * Math.cos((2 * Math.PI * f * k) / fs + 1), k % fs)) continue;
        if (Number.isNaN(p.frequency)) continue;
        seen++;
        worst = Math.max(worst, Math.abs(p.frequency - f));
        worstMag = Math.max(worstMag, Math.abs(p.magnitude / 230 - 1));
      }
      assert.ok(seen >= 15);
      assert.ok(worst < tolF, `N=${n} f=${f}: worst error ${worst} Hz`);
      assert.ok(worstMag < tolM, `N=${n} f=${f}: magnitude error ${worstMag}`);
    }
});

test('a gap in the sample index restarts the window', () => {
  const n = 80;
  const p = new ChannelPhasor({ samplesPerCycle: n, wrap: 4000 });
  feed(p, (k) => Math.cos((2 * Math.PI * k) / n), 2 * n);
  assert.ok(p.valid);
  p.push(1, 2 * n + 5); // jump
  assert.equal(p.valid, false);
  // smpCnt wrap 3999 → 0 is continuous
  const q = new ChannelPhasor({ samplesPerCycle: n, wrap: 4000 });
  feed(q, (k) => Math.SQRT2 * Math.cos((2 * Math.PI * k) / n), n, 3920);
  q.push(Math.SQRT2, 0);
  assert.ok(q.valid);
  assert.ok(Math.abs(q.magnitude - 1) < 1e-3);
});

test('simulator output: per-channel RMS equals the configured load and voltage (normal scenario, MU1/MU2; 80, 96, 256 samples/cycle)', async () => {
  for (const rate of [4000, 4800, 12800]) {
    const spc = rate / 50;
    const sink = new MemorySink();
    const opts = { ...DEFAULT_OPTIONS, durationS: 1, mus: 2, seed: 3, samplesPerSecond: rate };
    const res = await runSimulation(opts, findScenario('normal')!, sink);
    // recover the configured load of BAY1: truth says nominalCurrentA = the largest bay load (1 bay here)
    const loadA = res.truth.config.protection.nominalCurrentA;
    const vLN = 66_000 / Math.sqrt(3);
    const banks = new Map<string, StreamPhasors>();
    const got = new Map<string, Float64Array[]>();
    for (const fr of sink.frames) {
      const p = parseSv(fr.bytes);
      for (const a of p.asdus) {
        let b = banks.get(a.svID);
        if (!b) {
          b = new StreamPhasors(LE_4I4U.channels, { samplesPerCycle: spc, wrap: rate });
          banks.set(a.svID, b);
          got.set(a.svID, []);
        }
        if (b.pushRaw(a.values, 0, a.smpCnt)) got.get(a.svID)!.push(Float64Array.from(b.re.map((re, i) => Math.hypot(re, b.im[i]!))));
      }
    }
    assert.equal(banks.size, 2);
    for (const [sv, cycles] of got) {
      // 10 %…14 % of the run is before the first load step at 15 %: magnitudes there are the configured ones
      const c = cycles[6]!;
      for (const i of [0, 1, 2]) assert.ok(Math.abs(c[i]! / loadA - 1) < 0.03, `${sv} I${i} = ${c[i]} vs ${loadA} (±2 % unbalance)`);
      assert.ok(Math.abs(c[0]! - loadA) < 0.5, `${sv} IA exactly the load (phase A has no unbalance)`);
      for (const i of [4, 5, 6]) assert.ok(Math.abs(c[i]! / vLN - 1) < 1e-3, `${sv} V${i} = ${c[i]}`);
      assert.ok(c[3]! < 0.05 * loadA && c[7]! < 0.01 * vLN, 'IN, VN small');
      // after the +30 % load step at 15 %
      const after = cycles[20]!;
      assert.ok(Math.abs(after[0]! / (1.3 * loadA) - 1) < 0.01, `${sv} IA after the load step ${after[0]}`);
    }
  }
});
