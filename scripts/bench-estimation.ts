// Per-cycle cost of the SV state estimation for 8 streams (4 bays × 2 redundant MUs, 9-2LE 4I4U channels,
// 80 samples/cycle): the clean path (setStream × 8 + chi-square/LNR + temporal detector), a cycle with an
// fdi-kcl error (chi-square fails → LNR removal + stream hypotheses), and the per-sample phasor update
// (8 streams × 8 channels). Synthetic phasors/samples (no simulator, no decoding). Medians of 7 runs. JSON.
//   node scripts/bench-estimation.ts [--cycles 20000] [--runs 7]
import { parseArgs } from 'node:util';
import { buildSvModel, SvEstimator } from '../src/detect/estimation/sv-model.ts';
import type { SvStreamSpec } from '../src/detect/estimation/sv-model.ts';
import { TemporalConsistency } from '../src/detect/estimation/temporal.ts';
import { StreamPhasors } from '../src/detect/phasor.ts';
import { LE_4I4U } from '../src/model/channels.ts';

const { values: o } = parseArgs({ options: { cycles: { type: 'string', default: '20000' }, runs: { type: 'string', default: '7' } } });
const cycles = Number(o.cycles);
const runs = Number(o.runs);

const specs: SvStreamSpec[] = [];
for (let b = 1; b <= 4; b++)
  for (const mu of [1, 2]) specs.push({ name: `MU${2 * b - 2 + mu}`, bay: `BAY${b}`, bus: `BAY${b}`, channels: LE_4I4U.channels });
const model = buildSvModel(specs);
const est = new SvEstimator(model);
const tc = new TemporalConsistency(model);

// consistent phasors per stream (+ a small deterministic jitter so the numbers are not identical)
const rot = [0, (-2 * Math.PI) / 3, (2 * Math.PI) / 3];
const base = specs.map((_, s) => {
  const re = new Float64Array(8);
  const im = new Float64Array(8);
  const load = 300 + 50 * Math.floor(s / 2);
  const v = 66_000 / Math.sqrt(3);
  for (let p = 0; p < 3; p++) {
    re[p] = load * Math.cos(-0.4 + rot[p]!);
    im[p] = load * Math.sin(-0.4 + rot[p]!);
    re[4 + p] = v * Math.cos(rot[p]!);
    im[4 + p] = v * Math.sin(rot[p]!);
  }
  re[3] = re[0]! + re[1]! + re[2]!;
  im[3] = im[0]! + im[1]! + im[2]!;
  re[7] = re[4]! + re[5]! + re[6]!;
  im[7] = im[4]! + im[5]! + im[6]!;
  return { re, im };
});
const cur = base.map((b) => ({ re: Float64Array.from(b.re), im: Float64Array.from(b.im) }));

function cycle(k: number, attack: boolean): number {
  for (let s = 0; s < specs.length; s++) {
    const b = base[s]!;
    const c = cur[s]!;
    for (let i = 0; i < 8; i++) {
      const j = 0.01 * Math.sin(k * 0.7 + s * 3 + i);
      c.re[i] = b.re[i]! + j;
      c.im[i] = b.im[i]! - j;
    }
    if (attack && s === 0) c.re[0] = c.re[0]! * 1.4;
    est.setStream(s, c.re, c.im);
    tc.setStream(s, c.re, c.im);
  }
  const out = est.estimate();
  tc.update();
  return out === 'pass' ? 0 : 1;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeIt(fn: () => number, n: number): number {
  const t0 = process.hrtime.bigint();
  let chk = 0;
  for (let i = 0; i < n; i++) chk += fn();
  const ns = Number(process.hrtime.bigint() - t0);
  if (chk < 0) console.log(chk);
  return ns / n / 1000;
}

let k = 0;
const clean: number[] = [];
const attacked: number[] = [];
const phasor: number[] = [];
const banks = specs.map((s) => new StreamPhasors(s.channels, { samplesPerCycle: 80, wrap: 4000 }));
const raw = new Int32Array(8);
let smp = 0;
for (let r = 0; r <= runs; r++) {
  const c = timeIt(() => cycle(k++, false), cycles);
  const a = timeIt(() => cycle(k++, true), Math.max(200, cycles / 20));
  // per sample: 8 streams × 8 channels through the sliding DFT
  const p = timeIt(() => {
    const ph = (2 * Math.PI * (smp % 80)) / 80;
    for (let i = 0; i < 8; i++) raw[i] = Math.round(400_000 * Math.cos(ph + i));
    let d = 0;
    for (const b of banks) if (b.pushRaw(raw, 0, smp)) d++;
    smp = (smp + 1) % 4000;
    return d;
  }, cycles * 10);
  if (r > 0) {
    clean.push(c);
    attacked.push(a);
    phasor.push(p);
  } // run 0 = warm-up
}
const sampleUs = median(phasor);
console.log(
  JSON.stringify({
    streams: specs.length,
    states: model.states.length,
    measurements: model.measurements.length,
    cleanCycleUs: +median(clean).toFixed(2),
    badDataCycleUs: +median(attacked).toFixed(2),
    phasorPerSampleAllStreamsUs: +sampleUs.toFixed(3),
    phasorPerCycleAllStreamsUs: +(sampleUs * 80).toFixed(1),
    runs,
    cycles,
  }),
);
