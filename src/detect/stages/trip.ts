// Trip-inducing data (SPEC §2 step 5): per stream, the fundamental phasors of every cycle (sliding full-cycle
// DFT, src/detect/phasor.ts) against the protection pickups — phase overcurrent (ANSI 50) and overvoltage
// (ANSI 59). A trip-level current is judged for plausibility: a real short circuit pulls the voltage of the
// faulted phase(s) down; trip-level currents with healthy voltages are values that would trip protection
// without a fault — an attack signal (`trip-without-fault`). Trip is an alarm category, not an indicator.
import { samplesPerCycle, type CycleEvent, type CycleListener } from '../cycles.ts';
import type { StreamPhasors } from '../phasor.ts';
import type { Flag, FrameContext } from '../stage.ts';
import type { StreamRegistry, TripSettings } from '../streams.ts';

export interface TripOptions {
  /** A phase voltage below this fraction of its pre-event level makes a trip-level current plausible (default 0.9). */
  sagFraction?: number;
}

interface TripState {
  settings: TripSettings;
  currents: number[]; // channel indexes of phase currents A, B, C
  voltages: number[]; // channel indexes of phase voltages A, B, C
  vRef: Float64Array; // pre-event |V| per voltage channel (slow average over quiet cycles)
  tripping: boolean;
}

/** Listens to the phasor stage's cycles (src/detect/cycles.ts). */
export class TripStage implements CycleListener {
  readonly name = 'trip';
  #state: Array<TripState | undefined>;
  #sag: number;

  constructor(registry: StreamRegistry, opts: TripOptions = {}) {
    this.#sag = opts.sagFraction ?? 0.9;
    this.#state = registry.streams.map((s) => {
      const cfg = s.cfg;
      if (cfg.channels === undefined || cfg.protection === undefined || samplesPerCycle(s) === undefined) return undefined;
      const phase = (kind: string): number[] =>
        ['A', 'B', 'C'].map((p) => cfg.channels!.findIndex((c) => c.kind === kind && c.phase === p)).filter((k) => k >= 0);
      return {
        settings: cfg.protection,
        currents: phase('current'),
        voltages: phase('voltage'),
        vRef: new Float64Array(cfg.channels.length),
        tripping: false,
      };
    });
  }

  onCycle(ev: CycleEvent, _ctx: FrameContext, flag: Flag): void {
    const st = this.#state[ev.stream.index];
    if (st !== undefined) this.#cycle(st, ev.phasors, ev.firstFrame, flag);
  }

  #cycle(st: TripState, p: StreamPhasors, firstFrame: number, flag: Flag): void {
    let iMax = 0;
    for (const k of st.currents) iMax = Math.max(iMax, Math.sqrt(p.re[k]! * p.re[k]! + p.im[k]! * p.im[k]!));
    let vMax = 0;
    let sagged = false;
    for (const k of st.voltages) {
      const v = Math.sqrt(p.re[k]! * p.re[k]! + p.im[k]! * p.im[k]!);
      vMax = Math.max(vMax, v);
      if (st.vRef[k]! > 0 && v < this.#sag * st.vRef[k]!) sagged = true;
    }
    const overcurrent = iMax >= st.settings.overcurrentA;
    const overvoltage = vMax >= st.settings.overvoltageV;
    const detail = { firstFrame, currentA: Math.round(iMax), voltageV: Math.round(vMax) };
    if (overcurrent) flag('trip', sagged || st.voltages.length === 0 ? 'overcurrent' : 'trip-without-fault', { detail });
    if (overvoltage) flag('trip', 'overvoltage', { detail });
    st.tripping = overcurrent || overvoltage;
    // The pre-event voltage follows quiet cycles only, so a fault's sag is measured against the level before it.
    if (!st.tripping && !sagged) {
      for (const k of st.voltages) {
        const v = Math.sqrt(p.re[k]! * p.re[k]! + p.im[k]! * p.im[k]!);
        st.vRef[k] = st.vRef[k] === 0 ? v : st.vRef[k]! + 0.1 * (v - st.vRef[k]!);
      }
    }
  }
}
