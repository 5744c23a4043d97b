// Trip-inducing data (SPEC §2 step 5): per stream, the fundamental phasors of every cycle (sliding full-cycle
// DFT, src/detect/phasor.ts) against the protection settings — phase overcurrent ANSI 50 (instantaneous
// pickup), ANSI 51 (inverse time: IEC 60255-151 / IEEE C37.112 curves of src/config/protection.ts, one
// accumulator per phase) and overvoltage ANSI 59. 50 and 59 operate once the pickup has held for their
// definite-time delay (TripSettings.overcurrentDelayS / overvoltageDelayS, whole cycles, at least one).
// Trip is an alarm category, not an indicator.
//
// Plausibility of a trip-level current: with a judge (the faultMatch stage, TripJudge) the event must match
// a recorded primary fault and be neither an attack model nor a replay; the judge decides one cycle after
// the event's trigger, so the verdicts of the cycles before are held and given then (with `at`). Without a
// judge (or when it has no event) a real short circuit must pull the voltage of a phase below `sagFraction`
// of its pre-event level. Trip-level values without a plausible fault are `trip-without-fault` (an attack
// signal); plausible ones are protection events `overcurrent` (50) and `overcurrent-51` (51 operated).
//
// ANSI 51 accumulator (per phase p, per cycle of T = 1/f0 seconds, M = |I_p| / pickup):
//   M > 1:  acc_p += T / t_op(M)   (t_op = inverseTimeS(curve, tms, M)); operate when acc_p ≥ 1
//   M ≤ 1:  IEC and definite-time curves reset after `resetS` below pickup (default 0: at once);
//           IEEE curves reset like an induction disc: acc_p −= T / t_r(M), t_r = TMS·R/(1 − M²)
//           with R = 4.85 (MI), 21.6 (VI), 29.1 (EI) (IEEE C37.112).
import type { Curve } from '../../model/protection.ts';
import { inverseTimeS } from '../../config/protection.ts';
import { samplesPerCycle, type CycleEvent, type CycleListener } from '../cycles.ts';
import type { StreamPhasors } from '../phasor.ts';
import type { Flag, FrameContext, FrameRef } from '../stage.ts';
import type { ExpectedStream, TripSettings } from '../../model/streams.ts';
import type { StreamRegistry } from '../streams.ts';
import { IMPLAUSIBLE, NO_EVENT, PENDING, PLAUSIBLE, type TripJudge } from './fault-match.ts';

export interface InverseTimeSettings {
  pickupA: number;
  curve: Curve;
  tms: number;
  /** Reset time below pickup for IEC/DT curves, s (default 0: instantaneous reset). */
  resetS?: number;
}

export interface TripOptions {
  /** A phase voltage below this fraction of its pre-event level makes a trip-level current plausible (default 0.9). */
  sagFraction?: number;
  /** Plausibility of trip-level events (the faultMatch stage). */
  judge?: TripJudge;
  /**
   * ANSI 51 settings per stream; undefined turns 51 off for that stream. Default (configuredInverseTime):
   * the stream's configured `protection.inverseTime` (null: off); without one, pickup 0.6 × the 50 pickup
   * (1.5 × In with the default 50 pickup of 2.5 × In), curve IEC-SI, TMS 0.1.
   */
  inverseTimeOf?: (s: ExpectedStream) => InverseTimeSettings | undefined;
}

const IEEE_RESET: Partial<Record<Curve, number>> = { 'IEEE-MI': 4.85, 'IEEE-VI': 21.6, 'IEEE-EI': 29.1 };

export function configuredInverseTime(s: ExpectedStream): InverseTimeSettings | undefined {
  const set = s.protection?.inverseTime;
  if (set !== undefined) return set ?? undefined;
  const oc = s.protection?.overcurrentA;
  return oc !== undefined && Number.isFinite(oc) ? { pickupA: 0.6 * oc, curve: 'IEC-SI', tms: 0.1 } : undefined;
}

interface Held {
  at: FrameRef;
  kind: 50 | 51;
  detail: Record<string, number | string>;
}

interface TripState {
  name: string;
  settings: TripSettings;
  currents: number[]; // channel indexes of phase currents A, B, C
  voltages: number[]; // channel indexes of phase voltages A, B, C
  vRef: Float64Array; // pre-event |V| per voltage channel (slow average over quiet cycles)
  tripping: boolean;
  cycleS: number;
  need50: number; // cycles at pickup before 50 operates (definite-time delay)
  need59: number;
  n50: number; // consecutive cycles at pickup so far
  n59: number;
  it: InverseTimeSettings | undefined;
  resetR: number; // IEEE reset constant, 0 for IEC/DT
  acc: Float64Array; // 51 accumulator per phase current
  below: Float64Array; // seconds below pickup per phase (IEC reset time)
  sagSeen: boolean; // a sag was seen while picked up (51 plausibility without a judge)
  held: Held[];
}

/** Listens to the phasor stage's cycles (src/detect/cycles.ts). */
export class TripStage implements CycleListener {
  readonly name = 'trip';
  #state: Array<TripState | undefined>;
  #sag: number;
  #judge: TripJudge | undefined;

  constructor(registry: StreamRegistry, opts: TripOptions = {}) {
    this.#sag = opts.sagFraction ?? 0.9;
    this.#judge = opts.judge;
    const itOf = opts.inverseTimeOf ?? configuredInverseTime;
    this.#state = registry.streams.map((s) => {
      const cfg = s.cfg;
      if (cfg.channels === undefined || cfg.protection === undefined || samplesPerCycle(s) === undefined) return undefined;
      const phase = (kind: string): number[] =>
        ['A', 'B', 'C'].map((p) => cfg.channels!.findIndex((c) => c.kind === kind && c.phase === p)).filter((k) => k >= 0);
      const it = itOf(cfg);
      const currents = phase('current');
      const cycleS = 1 / (cfg.nominalHz ?? 50);
      const cycles = (delayS: number | undefined): number => Math.max(1, Math.ceil((delayS ?? 0) / cycleS - 1e-9));
      return {
        name: cfg.name,
        settings: cfg.protection,
        currents,
        voltages: phase('voltage'),
        vRef: new Float64Array(cfg.channels.length),
        tripping: false,
        cycleS,
        need50: cycles(cfg.protection.overcurrentDelayS),
        need59: cycles(cfg.protection.overvoltageDelayS),
        n50: 0,
        n59: 0,
        it: it !== undefined && it.pickupA > 0 && Number.isFinite(it.pickupA) ? it : undefined,
        resetR: it !== undefined ? (IEEE_RESET[it.curve] ?? 0) : 0,
        acc: new Float64Array(currents.length),
        below: new Float64Array(currents.length),
        sagSeen: false,
        held: [],
      };
    });
  }

  onCycle(ev: CycleEvent, ctx: FrameContext, flag: Flag): void {
    const st = this.#state[ev.stream.index];
    if (st !== undefined) this.#cycle(st, ev.stream.index, ev.phasors, ev.firstFrame, ctx, flag);
  }

  /** The 51 accumulators of a stream (for tests and the panel): fraction of the operating time used, per phase. */
  accumulators(streamIndex: number): Float64Array | undefined {
    return this.#state[streamIndex]?.acc;
  }

  #cycle(st: TripState, index: number, p: StreamPhasors, firstFrame: number, ctx: FrameContext, flag: Flag): void {
    let iMax = 0;
    for (const k of st.currents) iMax = Math.max(iMax, Math.sqrt(p.re[k]! * p.re[k]! + p.im[k]! * p.im[k]!));
    let vMax = 0;
    let sagged = false;
    for (const k of st.voltages) {
      const v = Math.sqrt(p.re[k]! * p.re[k]! + p.im[k]! * p.im[k]!);
      vMax = Math.max(vMax, v);
      if (st.vRef[k]! > 0 && v < this.#sag * st.vRef[k]!) sagged = true;
    }
    const picked50 = iMax >= st.settings.overcurrentA;
    const picked59 = vMax >= st.settings.overvoltageV;
    st.n50 = picked50 ? st.n50 + 1 : 0;
    st.n59 = picked59 ? st.n59 + 1 : 0;
    const overcurrent = st.n50 >= st.need50;
    const overvoltage = st.n59 >= st.need59;
    const operated51 = st.it !== undefined && this.#inverseTime(st, p, sagged);
    const judged = this.#judge?.plausibility(index) ?? NO_EVENT;
    if (judged !== PENDING && st.held.length > 0) this.#flushHeld(st, judged, flag);
    if (overcurrent || operated51) {
      const detail: Record<string, number | string> = { firstFrame, currentA: Math.round(iMax), voltageV: Math.round(vMax) };
      if (operated51 && !overcurrent) {
        detail['curve'] = st.it!.curve;
        detail['multiple'] = Math.round((iMax / st.it!.pickupA) * 100) / 100;
      }
      const kind: 50 | 51 = overcurrent ? 50 : 51;
      if (judged === PENDING) {
        if (st.held.length < 64) st.held.push({ at: { frame: ctx.frameNo, tsNs: ctx.tsNs, stream: st.name }, kind, detail });
      } else {
        flag('trip', this.#reason(st, kind, judged, sagged), { detail });
      }
    }
    if (overvoltage) flag('trip', 'overvoltage', { detail: { firstFrame, currentA: Math.round(iMax), voltageV: Math.round(vMax) } });
    st.tripping = picked50 || picked59 || operated51;
    // The pre-event voltage follows quiet cycles only, so a fault's sag is measured against the level before it.
    if (!st.tripping && !sagged) {
      for (const k of st.voltages) {
        const v = Math.sqrt(p.re[k]! * p.re[k]! + p.im[k]! * p.im[k]!);
        st.vRef[k] = st.vRef[k] === 0 ? v : st.vRef[k]! + 0.1 * (v - st.vRef[k]!);
      }
    }
  }

  #reason(st: TripState, kind: 50 | 51, judged: number, sagged: boolean): string {
    const plausible =
      judged === PLAUSIBLE
        ? true
        : judged === IMPLAUSIBLE
          ? false
          : kind === 51
            ? st.sagSeen || sagged || st.voltages.length === 0
            : sagged || st.voltages.length === 0;
    if (!plausible) return 'trip-without-fault';
    return kind === 50 ? 'overcurrent' : 'overcurrent-51';
  }

  #flushHeld(st: TripState, judged: number, flag: Flag): void {
    for (const h of st.held) flag('trip', this.#reason(st, h.kind, judged, st.sagSeen), { at: h.at, detail: h.detail });
    st.held.length = 0;
  }

  /** One cycle of the 51 accumulators; true while any phase has operated and is above pickup. */
  #inverseTime(st: TripState, p: StreamPhasors, sagged: boolean): boolean {
    const it = st.it!;
    const T = st.cycleS;
    let operated = false;
    let picked = false;
    for (let j = 0; j < st.currents.length; j++) {
      const k = st.currents[j]!;
      const m = Math.sqrt(p.re[k]! * p.re[k]! + p.im[k]! * p.im[k]!) / it.pickupA;
      if (m > 1) {
        picked = true;
        st.below[j] = 0;
        st.acc[j] = Math.min(1, st.acc[j]! + T / inverseTimeS(it.curve, it.tms, m));
        if (st.acc[j]! >= 1) operated = true;
      } else if (st.acc[j]! > 0) {
        if (st.resetR > 0) {
          st.acc[j] = Math.max(0, st.acc[j]! - T / ((it.tms * st.resetR) / (1 - m * m)));
        } else {
          st.below[j] = st.below[j]! + T;
          if (st.below[j]! >= (it.resetS ?? 0)) st.acc[j] = 0;
        }
      }
    }
    if (picked) {
      if (sagged) st.sagSeen = true;
    } else {
      let any = false;
      for (let j = 0; j < st.acc.length; j++) if (st.acc[j]! > 0) any = true;
      if (!any) st.sagSeen = false;
    }
    return operated;
  }

  finish(flag: Flag): void {
    for (const st of this.#state) if (st !== undefined && st.held.length > 0) this.#flushHeld(st, NO_EVENT, flag);
  }
}
