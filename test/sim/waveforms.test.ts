// Physical properties of the simulated signals, measured with a DFT written here (not the generator's tables).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BaySignal, DEFAULT_BAY } from '../../tools/sim/waveforms.ts';
import type { BayParams } from '../../tools/sim/waveforms.ts';
import { runSimulation, DEFAULT_OPTIONS } from '../../tools/sim/engine.ts';
import { findScenario } from '../../tools/sim/scenarios.ts';
import { MemorySink, parseSv } from './frames.ts';

/** Complex DFT coefficient at frequency f over x (fs), scaled to the RMS phasor. */
function dft(x: ArrayLike<number>, fs: number, f: number, from = 0, n = x.length - from): { rms: number; phase: number } {
  let re = 0;
  let im = 0;
  for (let k = 0; k < n; k++) {
    const th = (2 * Math.PI * f * k) / fs;
    re += x[from + k]! * Math.cos(th);
    im -= x[from + k]! * Math.sin(th);
  }
  return { rms: (Math.SQRT2 / n) * Math.hypot(re, im), phase: Math.atan2(im, re) };
}

function series(params: BayParams, fs: number, n: number, from = 0): Float64Array[] {
  const b = new BaySignal(params, fs);
  const out = new Float64Array(8);
  const s = Array.from({ length: 8 }, () => new Float64Array(n));
  for (let k = 0; k < n; k++) {
    b.sample(from + k, out);
    for (let c = 0; c < 8; c++) s[c]![k] = out[c]!;
  }
  return s;
}

for (const [freq, fs] of [
  [50, 4000],
  [60, 4800],
  [50, 12800],
  [60, 15360],
  [50, 14400],
  [60, 4000],
] as const) {
  test(`${freq} Hz at ${fs} samples/s: RMS, frequency and harmonics as configured`, () => {
    const p: BayParams = { ...DEFAULT_BAY, freq, loadA: 500, loadSteps: [], faults: [] };
    const s = series(p, fs, fs); // one second
    const ia = dft(s[0]!, fs, freq);
    const va = dft(s[4]!, fs, freq);
    assert.ok(Math.abs(ia.rms - 500) / 500 < 0.001, `IA RMS ${ia.rms}`);
    assert.ok(Math.abs(va.rms - p.voltageLN) / p.voltageLN < 0.001, `VA RMS ${va.rms}`);
    // load angle: current lags voltage by loadAngleDeg
    let lag = ((va.phase - ia.phase) * 180) / Math.PI;
    lag = ((lag % 360) + 360) % 360;
    assert.ok(Math.abs(lag - p.loadAngleDeg) < 0.1, `lag ${lag}`);
    // frequency: phase advance between two one-cycle windows 10 cycles apart is ~0 at the nominal frequency
    const N = fs / freq;
    if (Number.isInteger(N)) {
      const a = dft(s[0]!, fs, freq, 0, N);
      const b = dft(s[0]!, fs, freq, 10 * N, N);
      const fEst = freq + (b.phase - a.phase) / (2 * Math.PI * (10 / freq));
      assert.ok(Math.abs(fEst - freq) < 0.01, `estimated ${fEst} Hz`);
    }
    assert.ok(dft(s[0]!, fs, freq + 1).rms < 1, 'nothing at f+1 Hz');
    for (const hm of p.currentHarmonics) {
      const r = dft(s[0]!, fs, hm.order * freq).rms / ia.rms;
      assert.ok(Math.abs(r - hm.ratio) < 0.002, `H${hm.order} ratio ${r}`);
    }
    // phase B is 120° behind A
    const ib = dft(s[1]!, fs, freq);
    let d = ((ia.phase - ib.phase) * 180) / Math.PI;
    d = ((d % 360) + 360) % 360;
    assert.ok(Math.abs(d - 120) < 0.1, `A-B ${d}`);
  });
}

test('fault: DC offset decays with τ = (X/R)/ω and the fault current reaches the configured RMS', () => {
  const fs = 4000;
  const xr = 15;
  const tau = xr / (2 * Math.PI * 50);
  const fault = { type: 'AG' as const, startS: 0.1, durationS: 0.5, currentA: 5000, xr, residualVoltage: 0.2 };
  const p: BayParams = { ...DEFAULT_BAY, loadA: 400, currentHarmonics: [], voltageHarmonics: [], loadSteps: [], faults: [fault] };
  const k0 = 0.1 * fs;
  const N = 80;
  const s = series(p, fs, 0.8 * fs);
  const ia = s[0]!;
  // the mean over a whole cycle removes the AC part and leaves the DC term
  const mean = (c: number) => {
    let m = 0;
    for (let k = 0; k < N; k++) m += ia[k0 + c * N + k]!;
    return m / N;
  };
  const m0 = mean(0);
  const m1 = mean(1);
  const m3 = mean(3);
  assert.ok(Math.abs(m0) > 100, `a DC offset exists (${m0} A)`);
  const expected = Math.exp(-0.02 / tau);
  assert.ok(Math.abs(m1 / m0 - expected) < 0.01, `one-cycle decay ${m1 / m0} vs ${expected}`);
  assert.ok(Math.abs(m3 / m0 - expected ** 3) < 0.01, `three-cycle decay ${m3 / m0}`);
  // well after 5τ the DFT RMS is the symmetrical fault current (+ load)
  const late = dft(ia, fs, 50, k0 + 20 * N, N).rms;
  assert.ok(late > 5000 && late < 5400 + 400, `fault RMS ${late}`);
  // continuity: no jump in current at inception
  assert.ok(Math.abs(ia[k0]! - ia[k0 - 1]!) < 0.2 * 400 * Math.SQRT2, 'current is continuous at fault inception');
  // VA sags to the residual voltage; healthy phases stay
  assert.ok(Math.abs(dft(s[4]!, fs, 50, k0 + 5 * N, N).rms / p.voltageLN - 0.2) < 0.01);
  assert.ok(Math.abs(dft(s[5]!, fs, 50, k0 + 5 * N, N).rms / p.voltageLN - 1) < 0.01);
  // after clearing the load current returns
  assert.ok(Math.abs(dft(ia, fs, 50, 0.7 * fs, N).rms - 400) < 4, 'load current after clearing');
});

test('MU output: IA+IB+IC equals IN within noise, quantised at 1 mA / 10 mV', async () => {
  const sink = new MemorySink();
  await runSimulation({ ...DEFAULT_OPTIONS, durationS: 1, mus: 1 }, findScenario('normal')!, sink);
  let worst = 0;
  let sumSq = 0;
  let n = 0;
  for (const f of sink.frames) {
    const v = parseSv(f.bytes).asdus[0]!.values;
    const r = (v[0]! + v[1]! + v[2]! - v[3]!) / 1000; // A
    worst = Math.max(worst, Math.abs(r));
    sumSq += r * r;
    n++;
  }
  const sigma = Math.sqrt(sumSq / n);
  // four independent 0.2 A noises: σ = 0.4 A
  assert.ok(sigma > 0.3 && sigma < 0.5, `KCL residual σ ${sigma} A`);
  assert.ok(worst < 6 * 0.4, `worst KCL residual ${worst} A`);
});
