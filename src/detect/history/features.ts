// Event features for the history indicators (γlsft/γlsit): per stream, a cheap per-cycle trigger on the
// fundamental phasors (src/detect/phasor.ts), and, one full cycle after the trigger, a feature vector that
// describes the event against the cycle before it:
//
//   phases        which phase currents carry a fault component (|ΔI| ≥ raiseRatio × the largest pre-event
//                 phase current and ≥ minDeltaA), plus 'G' when the zero-sequence current is large;
//                 'V+' for an overvoltage without current, 'V-' for a sag without current; categorical
//   iMult         ln(max |I| / max |I_pre|) — how far the currents rose
//   vSag          min |V|/|V_pre| over the raised phases (1 = no sag)
//   vHealthy      min |V|/|V_pre| over the other phases
//   vMax          max |V|/|V_pre| over all phases (overvoltage)
//   faultAngleDeg mean lag of the fault component ΔI = I − I_pre behind its driving pre-event voltage
//                 (V_p for phase-ground and three-phase, V_p − V_q for a phase pair): ≈ atan(X/R), 70–88°
//                 for a real short circuit, the load angle (15–35°) for currents scaled by an attacker
//   zeroSeq       |3I0| / max |I| (IN when measured, else |IA+IB+IC|)
//   dc            non-fundamental content of the raised currents in the decision cycle:
//                 √(RMS² − |X|²)/|X| — a decaying DC offset after a real inception, harmonics otherwise
//   durationMs    known when the event ends (kept with the event, not used for matching)
//
// The trigger (any of): a phase current at/above the 50 pickup; |ΔI_p| ≥ raiseRatio × max |I_pre| (and
// ≥ minDeltaA); a phase voltage below sagRatio or above swellRatio of its pre-event value, or at/above the
// 59 pickup. Pre-event = the phasors two cycles before the trigger cycle (the trigger cycle itself may already
// hold part of the event). The per-cycle work allocates nothing; features are built once per event.
import type { ChannelDescription } from '../../model/channels.ts';

export type Features = Record<string, number | string>;

export interface ChannelMap {
  /** Channel index of IA, IB, IC (−1 when absent). */
  i: [number, number, number];
  v: [number, number, number];
  /** Channel index of IN (−1 when absent). */
  iN: number;
}

export function channelMap(channels: readonly ChannelDescription[]): ChannelMap {
  const find = (kind: string, phase: string): number => channels.findIndex((c) => c.kind === kind && c.phase === phase);
  return {
    i: [find('current', 'A'), find('current', 'B'), find('current', 'C')],
    v: [find('voltage', 'A'), find('voltage', 'B'), find('voltage', 'C')],
    iN: find('current', 'N'),
  };
}

export interface TriggerSettings {
  /** ANSI 50 pickup, A (Infinity: off). */
  overcurrentA: number;
  /** ANSI 59 pickup, V (Infinity: off). */
  overvoltageV: number;
  /** |ΔI| / max |I_pre| that counts as a fault component (default 1.0). */
  raiseRatio?: number;
  /** Smallest |ΔI| that counts, A (default 10 % of the 50 pickup, or 50 A). */
  minDeltaA?: number;
  /** Voltage sag trigger, fraction of pre-event (default 0.8). */
  sagRatio?: number;
  /** Voltage swell trigger, fraction of pre-event (default 1.1). */
  swellRatio?: number;
}

const RING = 3;
const PH = 'ABC';

/** What EventDetector.onCycle concluded. */
export const QUIET = 0;
export const TRIGGERED = 1;
export const DECIDE = 2;
export const ONGOING = 3;
export const ENDED = 4;

/**
 * Per-stream event detector. Feed it every completed cycle (re, im, rms per channel) with `restarted` true
 * when the phasor window restarted (gap, counter jump): the pre-event ring starts over.
 */
export class EventDetector {
  readonly map: ChannelMap;
  readonly #c: number;
  readonly #ringRe: Float64Array;
  readonly #ringIm: Float64Array;
  #ringN = 0;
  #ringPos = 0;
  readonly preRe: Float64Array;
  readonly preIm: Float64Array;
  readonly #oc: number;
  readonly #ov: number;
  readonly #raise: number;
  readonly #minDelta: number;
  readonly #sag: number;
  readonly #swell: number;
  /** 0 quiet, 1 armed (decide next cycle), 2 in event. */
  state = 0;
  #quiet = 0;
  /** Cycles since the trigger. */
  cycles = 0;
  /** Largest phase current / voltage magnitude seen in the event. */
  peakI = 0;
  peakV = 0;

  constructor(channels: readonly ChannelDescription[], trig: TriggerSettings) {
    this.map = channelMap(channels);
    this.#c = channels.length;
    this.#ringRe = new Float64Array(RING * this.#c);
    this.#ringIm = new Float64Array(RING * this.#c);
    this.preRe = new Float64Array(this.#c);
    this.preIm = new Float64Array(this.#c);
    this.#oc = trig.overcurrentA;
    this.#ov = trig.overvoltageV;
    this.#raise = trig.raiseRatio ?? 1.0;
    this.#minDelta = trig.minDeltaA ?? (Number.isFinite(trig.overcurrentA) ? 0.1 * trig.overcurrentA : 50);
    this.#sag = trig.sagRatio ?? 0.8;
    this.#swell = trig.swellRatio ?? 1.1;
  }

  /** Forget the pre-event history (and any event in progress). */
  reset(): void {
    this.#ringN = 0;
    this.#ringPos = 0;
    this.state = 0;
    this.#quiet = 0;
    this.cycles = 0;
  }

  /** The cycle `back` cycles ago (1 = the previous one) as an offset into the ring, or −1. */
  #ago(back: number): number {
    if (back > this.#ringN) return -1;
    return ((this.#ringPos - back + RING * 4) % RING) * this.#c;
  }

  /** Whether this cycle deviates from the reference cycle at ring offset `ref`. */
  #abnormal(re: Float64Array, im: Float64Array, ref: number): boolean {
    const m = this.map;
    const rr = this.#ringRe;
    const ri = this.#ringIm;
    let preMax = 0;
    for (let p = 0; p < 3; p++) {
      const k = m.i[p]!;
      if (k >= 0) preMax = Math.max(preMax, Math.hypot(rr[ref + k]!, ri[ref + k]!));
    }
    // A reference cycle at trip level is no pre-event state (e.g. the window restarted inside a fault after
    // a gap): nothing can be judged against it.
    if (preMax >= this.#oc) return false;
    for (let p = 0; p < 3; p++) {
      const k = m.v[p]!;
      if (k >= 0 && Math.hypot(rr[ref + k]!, ri[ref + k]!) >= this.#ov) return false;
    }
    for (let p = 0; p < 3; p++) {
      const k = m.i[p]!;
      if (k < 0) continue;
      const mag = Math.hypot(re[k]!, im[k]!);
      if (mag >= this.#oc) return true;
      const d = Math.hypot(re[k]! - rr[ref + k]!, im[k]! - ri[ref + k]!);
      if (d >= this.#minDelta && d >= this.#raise * preMax) return true;
    }
    for (let p = 0; p < 3; p++) {
      const k = m.v[p]!;
      if (k < 0) continue;
      const mag = Math.hypot(re[k]!, im[k]!);
      if (mag >= this.#ov) return true;
      const pre = Math.hypot(rr[ref + k]!, ri[ref + k]!);
      if (pre > 0 && (mag < this.#sag * pre || mag > this.#swell * pre)) return true;
    }
    return false;
  }

  /** One completed cycle; returns QUIET, TRIGGERED, DECIDE (features ready via features()), ONGOING or ENDED. */
  onCycle(re: Float64Array, im: Float64Array, restarted: boolean): number {
    if (restarted) this.reset();
    let out = QUIET;
    if (this.state === 0) {
      const ref = this.#ago(2);
      if (ref >= 0 && this.#abnormal(re, im, ref)) {
        this.preRe.set(this.#ringRe.subarray(ref, ref + this.#c));
        this.preIm.set(this.#ringIm.subarray(ref, ref + this.#c));
        this.state = 1;
        this.cycles = 0;
        this.peakI = 0;
        this.peakV = 0;
        this.#quiet = 0;
        out = TRIGGERED;
      }
    } else {
      this.cycles++;
      const abnormal = this.#abnormalVsPre(re, im);
      if (this.state === 1) {
        this.state = 2;
        out = DECIDE;
      } else out = ONGOING;
      if (!abnormal) {
        if (++this.#quiet >= 2 && out !== DECIDE) {
          this.state = 0;
          out = ENDED;
        }
      } else this.#quiet = 0;
    }
    if (this.state !== 0) this.#peaks(re, im);
    // The ring keeps quiet cycles only: an event does not become its own reference.
    if (this.state === 0 || out === TRIGGERED) {
      if (out !== TRIGGERED) {
        const o = this.#ringPos * this.#c;
        this.#ringRe.set(re, o);
        this.#ringIm.set(im, o);
        this.#ringPos = (this.#ringPos + 1) % RING;
        if (this.#ringN < RING) this.#ringN++;
      }
    }
    return out;
  }

  #peaks(re: Float64Array, im: Float64Array): void {
    const m = this.map;
    for (let p = 0; p < 3; p++) {
      const k = m.i[p]!;
      if (k >= 0) this.peakI = Math.max(this.peakI, Math.hypot(re[k]!, im[k]!));
      const v = m.v[p]!;
      if (v >= 0) this.peakV = Math.max(this.peakV, Math.hypot(re[v]!, im[v]!));
    }
  }

  /** Abnormal against the saved pre-event cycle (the event goes on). */
  #abnormalVsPre(re: Float64Array, im: Float64Array): boolean {
    // Temporarily treat preRe/preIm as the reference (same test as the trigger).
    const m = this.map;
    const pr = this.preRe;
    const pi = this.preIm;
    let preMax = 0;
    for (let p = 0; p < 3; p++) {
      const k = m.i[p]!;
      if (k >= 0) preMax = Math.max(preMax, Math.hypot(pr[k]!, pi[k]!));
    }
    for (let p = 0; p < 3; p++) {
      const k = m.i[p]!;
      if (k < 0) continue;
      if (Math.hypot(re[k]!, im[k]!) >= this.#oc) return true;
      const d = Math.hypot(re[k]! - pr[k]!, im[k]! - pi[k]!);
      if (d >= this.#minDelta && d >= this.#raise * preMax) return true;
    }
    for (let p = 0; p < 3; p++) {
      const k = m.v[p]!;
      if (k < 0) continue;
      const mag = Math.hypot(re[k]!, im[k]!);
      const pre = Math.hypot(pr[k]!, pi[k]!);
      if (mag >= this.#ov || (pre > 0 && (mag < this.#sag * pre || mag > this.#swell * pre))) return true;
    }
    return false;
  }

  /** The feature vector of the event against the saved pre-event cycle (call at DECIDE). */
  features(re: Float64Array, im: Float64Array, rms: Float64Array): Features {
    return eventFeatures(this.map, this.preRe, this.preIm, re, im, rms, this.#minDelta, this.#raise);
  }
}

const deg = (rad: number): number => (rad * 180) / Math.PI;
function wrapDeg(d: number): number {
  let x = d % 360;
  if (x > 180) x -= 360;
  if (x <= -180) x += 360;
  return x;
}
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Feature vector of one event cycle (re/im/rms) against a pre-event cycle (preRe/preIm). */
export function eventFeatures(
  m: ChannelMap,
  preRe: ArrayLike<number>,
  preIm: ArrayLike<number>,
  re: ArrayLike<number>,
  im: ArrayLike<number>,
  rms: ArrayLike<number>,
  minDeltaA = 50,
  raiseRatio = 1.0,
): Features {
  const f: Features = {};
  let preMax = 0;
  let iMax = 0;
  for (let p = 0; p < 3; p++) {
    const k = m.i[p]!;
    if (k < 0) continue;
    preMax = Math.max(preMax, Math.hypot(preRe[k]!, preIm[k]!));
    iMax = Math.max(iMax, Math.hypot(re[k]!, im[k]!));
  }
  const raised = [false, false, false];
  let phases = '';
  for (let p = 0; p < 3; p++) {
    const k = m.i[p]!;
    if (k < 0) continue;
    const d = Math.hypot(re[k]! - preRe[k]!, im[k]! - preIm[k]!);
    if (d >= minDeltaA && d >= raiseRatio * preMax) {
      raised[p] = true;
      phases += PH[p];
    }
  }
  const haveI = m.i.some((k) => k >= 0);
  const haveV = m.v.some((k) => k >= 0);
  // zero sequence: IN when measured, else the sum of the phases
  let zRe = 0;
  let zIm = 0;
  if (m.iN >= 0) {
    zRe = re[m.iN]!;
    zIm = im[m.iN]!;
  } else
    for (const k of m.i)
      if (k >= 0) {
        zRe += re[k]!;
        zIm += im[k]!;
      }
  const zeroSeq = iMax > 0 ? Math.hypot(zRe, zIm) / iMax : 0;
  const vr = (p: number): number => {
    const k = m.v[p]!;
    if (k < 0) return NaN;
    const pre = Math.hypot(preRe[k]!, preIm[k]!);
    return pre > 0 ? Math.hypot(re[k]!, im[k]!) / pre : NaN;
  };
  let vMax = NaN;
  let vMin = NaN;
  for (let p = 0; p < 3; p++) {
    const x = vr(p);
    if (!Number.isNaN(x)) {
      vMax = Number.isNaN(vMax) ? x : Math.max(vMax, x);
      vMin = Number.isNaN(vMin) ? x : Math.min(vMin, x);
    }
  }
  if (phases.length > 0 && zeroSeq > 0.3) phases += 'G';
  if (phases.length === 0) phases = !Number.isNaN(vMax) && vMax > 1.05 ? 'V+' : !Number.isNaN(vMin) && vMin < 0.95 ? 'V-' : '-';
  f['phases'] = phases;
  if (haveI && preMax > 0) f['iMult'] = r3(Math.log(Math.max(iMax, 1e-9) / preMax));
  f['zeroSeq'] = r3(zeroSeq);
  if (haveV) {
    let sag = Infinity;
    let healthy = Infinity;
    for (let p = 0; p < 3; p++) {
      const x = vr(p);
      if (Number.isNaN(x)) continue;
      if (raised[p]) sag = Math.min(sag, x);
      else healthy = Math.min(healthy, x);
    }
    if (Number.isFinite(sag)) f['vSag'] = r3(sag);
    if (Number.isFinite(healthy)) f['vHealthy'] = r3(healthy);
    if (!Number.isNaN(vMax)) f['vMax'] = r3(vMax);
  }
  // fault angle: lag of ΔI behind its driving pre-event voltage
  const nRaised = raised.filter(Boolean).length;
  let angSum = 0;
  let angN = 0;
  let dcMax = 0;
  for (let p = 0; p < 3; p++) {
    if (!raised[p]) continue;
    const k = m.i[p]!;
    const dRe = re[k]! - preRe[k]!;
    const dIm = im[k]! - preIm[k]!;
    const mag = Math.hypot(re[k]!, im[k]!);
    if (mag > 0) dcMax = Math.max(dcMax, Math.sqrt(Math.max(0, rms[k]! * rms[k]! - mag * mag)) / mag);
    const v = m.v[p]!;
    if (v < 0) continue;
    let vRe = preRe[v]!;
    let vIm = preIm[v]!;
    if (nRaised === 2 && !phases.endsWith('G')) {
      const q = raised.findIndex((x, j) => x && j !== p);
      const w = m.v[q]!;
      if (w < 0) continue;
      vRe -= preRe[w]!;
      vIm -= preIm[w]!;
    }
    const lag = wrapDeg(deg(Math.atan2(vIm, vRe) - Math.atan2(dIm, dRe)));
    angSum += lag;
    angN++;
  }
  if (angN > 0) f['faultAngleDeg'] = Math.round((angSum / angN) * 10) / 10;
  if (nRaised > 0) f['dc'] = r3(dcMax);
  return f;
}
