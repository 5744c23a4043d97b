// Three-phase primary quantities of one bay, sample by sample: balanced (or slightly unbalanced) load
// at a load angle, load steps, harmonics, and short circuits with a DC offset that decays with the
// X/R time constant. Noise is added per merging unit (two MUs on the same bay see the same primary
// quantities but independent noise), not here.
//
// Speed: the fundamental and harmonic phase angles repeat every L = fs / gcd(fs, f) samples, so cos/sin
// come from tables; phasors are recomputed only at event boundaries (load step, fault start/end).

export type FaultType = 'AG' | 'BG' | 'CG' | 'AB' | 'BC' | 'CA' | 'ABC';

export interface FaultEvent {
  /** Inception, seconds from the start of the simulation. */
  startS: number;
  durationS: number;
  type: FaultType;
  /** Fault current, RMS A (symmetrical). */
  currentA: number;
  /** X/R of the fault loop: τ = (X/R) / (2π f). */
  xr: number;
  /** Remaining voltage on the faulted phases as a fraction of nominal (0 = bolted at the MU). */
  residualVoltage: number;
}

export interface LoadStep {
  atS: number;
  /** New load current, RMS A. */
  currentA: number;
}

export interface Harmonic {
  order: number;
  /** Amplitude relative to the fundamental (0.05 = 5 %). */
  ratio: number;
}

export interface BayParams {
  freq: number;
  /** Phase-to-neutral voltage, RMS V. */
  voltageLN: number;
  /** Initial load current, RMS A. */
  loadA: number;
  /** Angle by which the current lags the voltage, degrees (power-factor angle). */
  loadAngleDeg: number;
  /** Per-phase load unbalance (relative magnitude deviation of B and C), e.g. 0.02. */
  unbalance: number;
  currentHarmonics: Harmonic[];
  voltageHarmonics: Harmonic[];
  loadSteps: LoadStep[];
  faults: FaultEvent[];
}

export const DEFAULT_BAY: BayParams = {
  freq: 50,
  voltageLN: 66_000 / Math.sqrt(3),
  loadA: 400,
  loadAngleDeg: 25,
  unbalance: 0.02,
  currentHarmonics: [
    { order: 3, ratio: 0.03 },
    { order: 5, ratio: 0.04 },
    { order: 7, ratio: 0.02 },
  ],
  voltageHarmonics: [{ order: 5, ratio: 0.01 }],
  loadSteps: [],
  faults: [],
};

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

const PH = [0, (-2 * Math.PI) / 3, (2 * Math.PI) / 3]; // A, B, C
const SQ2 = Math.SQRT2;

/** Output order of BaySignal.sample: IA IB IC IN VA VB VC VN (physical A / V, instantaneous). */
export const BAY_QUANTITIES = ['IA', 'IB', 'IC', 'IN', 'VA', 'VB', 'VC', 'VN'] as const;

interface Segment {
  /** First sample index of the segment. */
  from: number;
  // Peak phasors (re, im) per phase for current and voltage.
  iRe: Float64Array;
  iIm: Float64Array;
  vRe: Float64Array;
  vIm: Float64Array;
  /** DC offset at the segment start per phase and its decay per sample (1 = none). */
  dc0: Float64Array;
  decay: number;
  /** Harmonic peak phasors, [phase * count + j], for current and voltage harmonics. */
  hiRe: Float64Array;
  hiIm: Float64Array;
  hvRe: Float64Array;
  hvIm: Float64Array;
}

export class BaySignal {
  readonly params: BayParams;
  readonly fs: number;
  readonly period: number;
  #cos: Float64Array;
  #sin: Float64Array;
  #segments: Segment[] = [];
  #seg = 0;
  #lastK = -1;
  #last = new Float64Array(8);

  constructor(params: BayParams, fs: number) {
    if (!Number.isInteger(fs) || fs <= 0) throw new Error(`sample rate must be a positive integer, got ${fs}`);
    if (!Number.isInteger(params.freq) || params.freq <= 0) throw new Error('frequency must be a positive integer (Hz)');
    this.params = params;
    this.fs = fs;
    this.period = fs / gcd(fs, params.freq);
    this.#cos = new Float64Array(this.period);
    this.#sin = new Float64Array(this.period);
    for (let k = 0; k < this.period; k++) {
      const th = (2 * Math.PI * params.freq * k) / fs;
      this.#cos[k] = Math.cos(th);
      this.#sin[k] = Math.sin(th);
    }
    this.#buildSegments();
  }

  #buildSegments(): void {
    const p = this.params;
    const fs = this.fs;
    type Ev = { k: number; apply: (st: State) => void };
    interface State {
      load: number;
      fault: FaultEvent | null;
    }
    const evs: Ev[] = [];
    for (const s of p.loadSteps)
      evs.push({
        k: Math.round(s.atS * fs),
        apply: (st) => {
          st.load = s.currentA;
        },
      });
    for (const f of p.faults) {
      evs.push({
        k: Math.round(f.startS * fs),
        apply: (st) => {
          st.fault = f;
        },
      });
      evs.push({
        k: Math.round((f.startS + f.durationS) * fs),
        apply: (st) => {
          if (st.fault === f) st.fault = null;
        },
      });
    }
    evs.sort((a, b) => a.k - b.k);
    const st: State = { load: p.loadA, fault: null };
    const boundaries = [0, ...new Set(evs.map((e) => e.k).filter((k) => k > 0))];
    let ei = 0;
    let prev: Segment | null = null;
    for (const from of boundaries) {
      while (ei < evs.length && evs[ei]!.k <= from) evs[ei++]!.apply(st);
      const seg = this.#segment(from, st.load, st.fault, prev);
      this.#segments.push(seg);
      prev = seg;
    }
  }

  #segment(from: number, load: number, fault: FaultEvent | null, prev: Segment | null): Segment {
    const p = this.params;
    const iRe = new Float64Array(3),
      iIm = new Float64Array(3),
      vRe = new Float64Array(3),
      vIm = new Float64Array(3);
    const lag = (p.loadAngleDeg * Math.PI) / 180;
    const vPk = p.voltageLN * SQ2;
    for (let ph = 0; ph < 3; ph++) {
      const mag = load * SQ2 * (ph === 0 ? 1 : ph === 1 ? 1 + p.unbalance : 1 - p.unbalance);
      iRe[ph] = mag * Math.cos(PH[ph]! - lag);
      iIm[ph] = mag * Math.sin(PH[ph]! - lag);
      vRe[ph] = vPk * Math.cos(PH[ph]!);
      vIm[ph] = vPk * Math.sin(PH[ph]!);
    }
    const pre = { iRe: iRe.slice(), iIm: iIm.slice(), vRe: vRe.slice(), vIm: vIm.slice() };
    const dc0 = new Float64Array(3);
    let decay = 1;
    if (fault) {
      const th = Math.atan(fault.xr);
      const fPk = fault.currentA * SQ2;
      const fRe = new Float64Array(3),
        fIm = new Float64Array(3);
      const phaseIdx = (c: string) => 'ABC'.indexOf(c);
      const r = fault.residualVoltage;
      const t = fault.type;
      if (t.length === 2 && t[1] === 'G') {
        const a = phaseIdx(t[0]!);
        fRe[a] = fPk * Math.cos(PH[a]! - th);
        fIm[a] = fPk * Math.sin(PH[a]! - th);
        vRe[a] = vRe[a]! * r;
        vIm[a] = vIm[a]! * r;
      } else if (t.length === 2) {
        const a = phaseIdx(t[0]!);
        const b = phaseIdx(t[1]!);
        // Phase-to-phase: Ia = −Ib = If ∠(arg(Va − Vb) − θ); both voltages collapse towards their midpoint.
        const dRe = vRe[a]! - vRe[b]!;
        const dIm = vIm[a]! - vIm[b]!;
        const ang = Math.atan2(dIm, dRe) - th;
        fRe[a] = fPk * Math.cos(ang);
        fIm[a] = fPk * Math.sin(ang);
        fRe[b] = -fRe[a]!;
        fIm[b] = -fIm[a]!;
        const mRe = (vRe[a]! + vRe[b]!) / 2;
        const mIm = (vIm[a]! + vIm[b]!) / 2;
        vRe[a] = mRe + (r * dRe) / 2;
        vIm[a] = mIm + (r * dIm) / 2;
        vRe[b] = mRe - (r * dRe) / 2;
        vIm[b] = mIm - (r * dIm) / 2;
      } else {
        for (let ph = 0; ph < 3; ph++) {
          fRe[ph] = fPk * Math.cos(PH[ph]! - th);
          fIm[ph] = fPk * Math.sin(PH[ph]! - th);
          vRe[ph] = vRe[ph]! * r;
          vIm[ph] = vIm[ph]! * r;
        }
      }
      // The current cannot jump through the loop inductance: a DC term cancels the AC fault component at
      // inception and decays with τ = L/R = (X/R)/ω.
      const k0 = from % this.period;
      for (let ph = 0; ph < 3; ph++) {
        iRe[ph] = iRe[ph]! + fRe[ph]!;
        iIm[ph] = iIm[ph]! + fIm[ph]!;
        dc0[ph] = -(fRe[ph]! * this.#cos[k0]! - fIm[ph]! * this.#sin[k0]!);
      }
      const tau = fault.xr / (2 * Math.PI * p.freq);
      decay = Math.exp(-1 / (tau * this.fs));
    }
    void prev;
    // Harmonics ride on the load current / healthy voltage: the h-th harmonic of a phase is shifted h times
    // that phase's fundamental angle (so triplen harmonics add up in the neutral, as in a real star point).
    const harm = (hs: Harmonic[], re: Float64Array, im: Float64Array) => {
      const oRe = new Float64Array(3 * hs.length);
      const oIm = new Float64Array(3 * hs.length);
      for (let ph = 0; ph < 3; ph++) {
        const mag = Math.hypot(re[ph]!, im[ph]!);
        const ang = Math.atan2(im[ph]!, re[ph]!);
        hs.forEach((h, j) => {
          oRe[ph * hs.length + j] = mag * h.ratio * Math.cos(h.order * ang);
          oIm[ph * hs.length + j] = mag * h.ratio * Math.sin(h.order * ang);
        });
      }
      return [oRe, oIm] as const;
    };
    const [hiRe, hiIm] = harm(p.currentHarmonics, pre.iRe, pre.iIm);
    const [hvRe, hvIm] = harm(p.voltageHarmonics, pre.vRe, pre.vIm);
    return { from, iRe, iIm, vRe, vIm, dc0, decay, hiRe, hiIm, hvRe, hvIm };
  }

  /**
   * Instantaneous IA IB IC IN VA VB VC VN (A, V) at global sample index k (t = k / fs) into out.
   * k must not decrease between calls except to repeat the last index (two MUs on one bay).
   */
  sample(k: number, out: Float64Array): void {
    if (k === this.#lastK) {
      out.set(this.#last);
      return;
    }
    if (k < this.#lastK) this.#seg = 0;
    while (this.#seg + 1 < this.#segments.length && this.#segments[this.#seg + 1]!.from <= k) this.#seg++;
    const s = this.#segments[this.#seg]!;
    const L = this.period;
    const p = this.params;
    const idx = k % L;
    const c = this.#cos[idx]!;
    const sn = this.#sin[idx]!;
    let dcScale = 0;
    if (s.decay !== 1) dcScale = Math.pow(s.decay, k - s.from);
    let iSum = 0;
    let vSum = 0;
    for (let ph = 0; ph < 3; ph++) {
      let i = s.iRe[ph]! * c - s.iIm[ph]! * sn;
      let v = s.vRe[ph]! * c - s.vIm[ph]! * sn;
      const ch = p.currentHarmonics;
      const vh = p.voltageHarmonics;
      for (let j = 0; j < ch.length; j++) {
        const hi = (ch[j]!.order * idx) % L;
        i += s.hiRe[ph * ch.length + j]! * this.#cos[hi]! - s.hiIm[ph * ch.length + j]! * this.#sin[hi]!;
      }
      for (let j = 0; j < vh.length; j++) {
        const hi = (vh[j]!.order * idx) % L;
        v += s.hvRe[ph * vh.length + j]! * this.#cos[hi]! - s.hvIm[ph * vh.length + j]! * this.#sin[hi]!;
      }
      if (dcScale !== 0) i += s.dc0[ph]! * dcScale;
      out[ph] = i;
      out[4 + ph] = v;
      iSum += i;
      vSum += v;
    }
    out[3] = iSum;
    out[7] = vSum; // IN and VN: star-point current (= 3I0) and open-delta 3V0
    this.#lastK = k;
    this.#last.set(out);
  }
}
