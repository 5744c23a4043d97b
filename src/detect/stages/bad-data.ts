// State-estimation bad data (γbl, SPEC §2 step 4): per stream the fundamental phasors of every cycle
// (sliding full-cycle DFT, ../phasor.ts); once per cycle, for the streams of one bus (the bays on it and
// their redundant MUs), the SV measurement model (../estimation/sv-model.ts: IN vs IA+IB+IC, VN vs
// VA+VB+VC, redundant MUs of a bay, KCL over bays) is estimated by WLS with chi-square and LNR, and the
// temporal-consistency detector (../estimation/temporal.ts) follows every stream's one-cycle innovations.
//
// Cycle alignment: phasors are referenced to smpCnt, so a cycle is floor(smpCnt / samplesPerCycle) within
// the second; the estimate of a cycle runs when every stream of the bus delivered it, or when a stream
// delivers the next cycle (the streams that did not deliver are absent from that estimate).
//
// Verdicts (about the suspect stream, at the frame that completed its cycle; detail.firstFrame is the
// first frame of that cycle):
//   kcl-violation    chi-square fails and one stream is identified (LNR / stream-level hypotheses);
//   stealthy-fdi     chi-square fails, several streams could explain it, and the temporal detector names
//                    one of them as the stream that moved while its peers did not (a = Hc) — or the
//                    inconsistency began as exactly one of them restarted its window (a counter jump
//                    shifts a stream's phasors consistently); the attribution (detail.attributedBy) is
//                    kept while the static inconsistency it explains persists;
//   not-identifiable chi-square fails, several streams could explain it and no temporal attribution came
//                    within `holdCycles` cycles (one verdict per suspect stream).
import { buildSvModel, SvEstimator } from '../estimation/sv-model.ts';
import type { SvModelOptions, SvStreamSpec } from '../estimation/sv-model.ts';
import { TemporalConsistency } from '../estimation/temporal.ts';
import type { TemporalOptions } from '../estimation/temporal.ts';
import { samplesPerCycle, type CycleEvent, type CycleListener } from '../cycles.ts';
import type { StreamPhasors } from '../phasor.ts';
import type { Flag, FrameContext } from '../stage.ts';
import type { StreamRegistry } from '../streams.ts';

export interface BadDataStageOptions {
  /** False-alarm probability of the chi-square test (default 0.01). */
  alpha?: number;
  /** LNR identification threshold (default 3.0). */
  lnrThreshold?: number;
  /** Measurement model options (σ, neutral rows, bay redundancy, KCL buses). */
  model?: SvModelOptions;
  temporal?: TemporalOptions;
  /** Cycles a not-identifiable detection waits for the temporal detector to name a stream (default 3). */
  holdCycles?: number;
  /**
   * Every cycle's local estimate of every bus (the upstream check keeps them per window:
   * src/detect/upstream.ts). The event object and its arrays are reused: copy what must outlive the call.
   */
  onEstimate?: (e: CycleEstimate) => void;
}

/** One bus's WLS estimate of one cycle (complex states: currents per bay, voltages per bus). */
export interface CycleEstimate {
  bus: string;
  /** Capture time of the frame that completed the cycle. */
  tsNs: bigint;
  /** State names, e.g. 'IA@BAY1', 'VB@BUS1'. */
  names: readonly string[];
  re: Float64Array;
  im: Float64Array;
  /** Standard deviation of each state (per component) from the diagonal of (HᵀWH)⁻¹ with every row present. */
  sigma: Float64Array;
  /** The bad-data test failed on this cycle (the estimate is the one after removing the bad rows). */
  badData: boolean;
}

/** √diag((HᵀWH)⁻¹) of an SV model (all rows present) by Gauss–Jordan on the small gain matrix. */
function stateSigma(H: ArrayLike<number>, sigma: readonly number[], n: number): Float64Array {
  const m = sigma.length;
  const A = new Float64Array(n * 2 * n);
  for (let i = 0; i < m; i++) {
    const w = 1 / (sigma[i]! * sigma[i]!);
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) A[a * 2 * n + b] = A[a * 2 * n + b]! + H[i * n + a]! * H[i * n + b]! * w;
  }
  for (let a = 0; a < n; a++) A[a * 2 * n + n + a] = 1;
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r * 2 * n + c]!) > Math.abs(A[piv * 2 * n + c]!)) piv = r;
    if (piv !== c)
      for (let k = 0; k < 2 * n; k++) {
        const t = A[c * 2 * n + k]!;
        A[c * 2 * n + k] = A[piv * 2 * n + k]!;
        A[piv * 2 * n + k] = t;
      }
    const d = A[c * 2 * n + c]!;
    if (d === 0) return new Float64Array(n).fill(NaN);
    for (let k = 0; k < 2 * n; k++) A[c * 2 * n + k] = A[c * 2 * n + k]! / d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = A[r * 2 * n + c]!;
      if (f !== 0) for (let k = 0; k < 2 * n; k++) A[r * 2 * n + k] = A[r * 2 * n + k]! - f * A[c * 2 * n + k]!;
    }
  }
  const out = new Float64Array(n);
  for (let a = 0; a < n; a++) out[a] = Math.sqrt(Math.max(0, A[a * 2 * n + n + a]!));
  return out;
}

interface StreamState {
  group: Group;
  local: number;
}

interface Group {
  names: string[];
  /** The estimate handed to onEstimate (reused). */
  out: CycleEstimate;
  est: SvEstimator;
  tc: TemporalConsistency;
  size: number;
  pendingKey: number;
  lastKey: number;
  fresh: Uint8Array;
  restarted: Uint8Array;
  estPresent: Uint8Array;
  prevPresent: Uint8Array;
  frame: Float64Array;
  first: Float64Array;
  ts: BigInt64Array;
  /** Stream the temporal detector (or a restart) named (−1: none); kept while the static inconsistency persists. */
  blamed: number;
  blamedBy: 'temporal' | 'restart';
  /** Cycles since each stream's phasor window (re)started or the stream was absent. */
  age: Int32Array;
  /** The last estimate failed chi-square. */
  wasDetected: boolean;
  /** Suspect streams of the last estimate (1 = suspect). */
  sus: Uint8Array;
  /** Held not-identifiable cycles (ring of holdCycles): per cycle the stream refs and suspects. */
  held: number;
  heldFrame: Float64Array;
  heldFirst: Float64Array;
  heldTs: BigInt64Array;
  heldSuspect: Uint8Array;
  heldJ: Float64Array;
  heldThr: Float64Array;
  heldDof: Float64Array;
}

/** Listens to the phasor stage's cycles (src/detect/cycles.ts). */
export class BadDataStage implements CycleListener {
  readonly name = 'badData';
  readonly #streams: Array<StreamState | undefined>;
  readonly #hold: number;
  readonly #onEstimate: ((e: CycleEstimate) => void) | undefined;

  constructor(registry: StreamRegistry, opts: BadDataStageOptions = {}) {
    this.#hold = Math.max(1, opts.holdCycles ?? 3);
    this.#onEstimate = opts.onEstimate;
    this.#streams = registry.streams.map(() => undefined);
    // Streams with channels and a whole number of samples per cycle, grouped by bus (default: the bay,
    // default: the stream itself — then only its own IN/VN rows are checked).
    const byBus = new Map<string, { index: number; spec: SvStreamSpec }[]>();
    for (const s of registry.streams) {
      const cfg = s.cfg;
      if (cfg.channels === undefined || samplesPerCycle(s) === undefined) continue;
      if (!cfg.channels.some((c) => (c.kind === 'current' || c.kind === 'voltage') && !c.derived)) continue;
      const bay = cfg.bay ?? cfg.name;
      const bus = cfg.bus ?? bay;
      const list = byBus.get(bus) ?? [];
      list.push({ index: s.index, spec: { name: cfg.name, bay, bus, channels: cfg.channels } });
      byBus.set(bus, list);
    }
    const H = this.#hold;
    for (const [bus, list] of byBus) {
      let est: SvEstimator;
      try {
        est = new SvEstimator(
          buildSvModel(
            list.map((x) => x.spec),
            opts.model,
          ),
          { alpha: opts.alpha ?? 0.01, threshold: opts.lnrThreshold ?? 3 },
        );
      } catch {
        continue; // unobservable model (e.g. a channel set without phase channels): nothing to estimate
      }
      const S = list.length;
      const states = est.model.states;
      const nStates = states.length;
      const out: CycleEstimate = {
        bus,
        tsNs: 0n,
        names: states.map((x) => `${x.kind === 'current' ? 'I' : 'V'}${x.phase}@${x.owner}`),
        re: new Float64Array(nStates),
        im: new Float64Array(nStates),
        sigma: stateSigma(
          est.model.H,
          est.model.measurements.map((x) => x.sigma),
          nStates,
        ),
        badData: false,
      };
      const g: Group = {
        names: list.map((x) => x.spec.name),
        out,
        est,
        tc: new TemporalConsistency(est.model, opts.temporal),
        size: S,
        pendingKey: -1,
        lastKey: -1,
        fresh: new Uint8Array(S),
        restarted: new Uint8Array(S),
        estPresent: new Uint8Array(S).fill(1),
        prevPresent: new Uint8Array(S),
        frame: new Float64Array(S),
        first: new Float64Array(S),
        ts: new BigInt64Array(S),
        blamed: -1,
        blamedBy: 'temporal',
        age: new Int32Array(S),
        wasDetected: false,
        sus: new Uint8Array(S),
        held: 0,
        heldFrame: new Float64Array(H * S),
        heldFirst: new Float64Array(H * S),
        heldTs: new BigInt64Array(H * S),
        heldSuspect: new Uint8Array(H * S),
        heldJ: new Float64Array(H),
        heldThr: new Float64Array(H),
        heldDof: new Float64Array(H),
      };
      list.forEach((x, local) => {
        this.#streams[x.index] = { group: g, local };
      });
    }
  }

  onCycle(ev: CycleEvent, ctx: FrameContext, flag: Flag): void {
    const st = this.#streams[ev.stream.index];
    if (st !== undefined) this.#delivered(st, ev.phasors, ev.cycle, ev.firstFrame, ctx, flag);
  }

  /** Stream st completed cycle `key`. */
  #delivered(st: StreamState, phasors: StreamPhasors, key: number, firstFrame: number, ctx: FrameContext, flag: Flag): void {
    const g = st.group;
    if (g.pendingKey === -1) {
      if (key === g.lastKey) return; // late for a cycle already estimated without it
      g.pendingKey = key;
    } else if (key !== g.pendingKey) {
      this.#run(g, flag);
      g.pendingKey = key;
    }
    const l = st.local;
    g.est.setStream(l, phasors.re, phasors.im);
    g.tc.setStream(l, phasors.re, phasors.im);
    g.fresh[l] = 1;
    g.restarted[l] = phasors.cycles === 1 ? 1 : 0;
    g.frame[l] = ctx.frameNo;
    g.ts[l] = ctx.tsNs;
    g.first[l] = firstFrame;
    for (let k = 0; k < g.size; k++) if (g.fresh[k] === 0) return;
    this.#run(g, flag);
  }

  /** Estimate the pending cycle of group g and judge it. */
  #run(g: Group, flag: Flag): void {
    const { est, tc } = g;
    for (let l = 0; l < g.size; l++) {
      const present = g.fresh[l]!;
      if (present !== g.estPresent[l]) {
        est.setStreamPresent(l, present === 1);
        g.estPresent[l] = present;
      }
      // no innovation across a gap, a window restart or a cycle the stream missed
      if (!present || g.restarted[l] || !g.prevPresent[l]) {
        tc.restart(l);
        g.age[l] = 0;
      } else g.age[l] = g.age[l]! + 1;
      g.prevPresent[l] = present;
    }
    est.estimate();
    tc.update();
    const detected = est.report.detected;
    if (this.#onEstimate !== undefined) {
      const o = g.out;
      o.re.set(est.wls.xRe);
      o.im.set(est.wls.xIm);
      o.badData = detected;
      let ts = 0n;
      for (let l = 0; l < g.size; l++) if (g.fresh[l] && g.ts[l]! > ts) ts = g.ts[l]!;
      o.tsNs = ts;
      this.#onEstimate(o);
    }
    // Suspect streams: the stream-level hypotheses; when they cannot run (a stream alone on its bus: without
    // it nothing is left), the streams of the measurements LNR removed or could not tell apart — one stream
    // inconsistent with itself (IN ≠ IA+IB+IC) is identified even when its channel is not.
    const sus = g.sus;
    sus.fill(0);
    let nSus = 0;
    let single = -1;
    if (detected) {
      for (const l of est.suspectStreams) sus[l] = 1;
      if (est.suspectStreams.length === 0) {
        const ms = est.model.measurements;
        for (const r of est.report.removed) {
          const x = ms[r]!.stream;
          if (x >= 0) sus[x] = 1;
        }
        for (const r of est.report.suspects) {
          const x = ms[r]!.stream;
          if (x >= 0) sus[x] = 1;
        }
      }
      for (let l = 0; l < g.size; l++)
        if (sus[l] && g.fresh[l]) {
          nSus++;
          single = l;
        }
    }
    let named = -1;
    // The temporal detector only attributes an inconsistency the static test sees: alone, it would also name
    // the stream that did NOT move when an attack masked a real step (value-modification: the peer's fault
    // step), or the one returning to the truth when an attack ends.
    if (detected)
      for (let l = 0; l < g.size; l++)
        if (tc.alarm[l] && g.fresh[l] && sus[l] === 1) {
          named = l;
          break;
        }
    // An attribution stands while the inconsistency it explains persists: a later genuine step (a load
    // change) is seen in different cycles by a stream already shifted in time, and must not move it.
    if (g.blamed >= 0 && (!detected || sus[g.blamed] !== 1)) g.blamed = -1;
    if (named >= 0 && g.blamed < 0) {
      g.blamed = named;
      g.blamedBy = 'temporal';
    }
    // A stream whose window restarted (counter jump, gap) has no innovation for the temporal detector: when
    // the inconsistency begins with that restart and only one suspect restarted, that stream is the one.
    if (detected && !g.wasDetected && g.blamed < 0) {
      let only = -1;
      let count = 0;
      for (let l = 0; l < g.size; l++)
        if (sus[l] && g.fresh[l] && g.age[l]! <= 1) {
          only = l;
          count++;
        }
      if (count === 1) {
        g.blamed = only;
        g.blamedBy = 'restart';
      }
    }
    g.wasDetected = detected;

    if (nSus === 1) {
      this.#flushHeld(g, flag, -1);
      const s = single;
      this.#emit(
        g,
        flag,
        s,
        'kcl-violation',
        g.frame[s]!,
        g.ts[s]!,
        g.first[s]!,
        est.report.J0,
        est.report.chi20,
        est.report.dof0,
        this.#removed(g),
      );
    } else if (g.blamed >= 0 && g.fresh[g.blamed]) {
      this.#flushHeld(g, flag, g.blamed);
      const s = g.blamed;
      this.#emit(
        g,
        flag,
        s,
        'stealthy-fdi',
        g.frame[s]!,
        g.ts[s]!,
        g.first[s]!,
        est.report.J0,
        est.report.chi20,
        est.report.dof0,
        this.#removed(g),
        g.blamedBy === 'temporal' ? tc.g[s]! : NaN,
        g.blamedBy,
      );
    } else if (nSus > 1) {
      if (g.held === this.#hold) {
        this.#emitHeld(g, flag, 0, -1);
        this.#shiftHeld(g);
      } // waited long enough
      const h = g.held++;
      const S = g.size;
      for (let l = 0; l < S; l++) {
        g.heldFrame[h * S + l] = g.frame[l]!;
        g.heldFirst[h * S + l] = g.first[l]!;
        g.heldTs[h * S + l] = g.ts[l]!;
        g.heldSuspect[h * S + l] = g.fresh[l] && sus[l] ? 1 : 0;
      }
      g.heldJ[h] = est.report.J0;
      g.heldThr[h] = est.report.chi20;
      g.heldDof[h] = est.report.dof0;
    } else {
      this.#flushHeld(g, flag, -1);
    }
    g.lastKey = g.pendingKey;
    g.pendingKey = -1;
    g.fresh.fill(0);
  }

  #removed(g: Group): string {
    const ms = g.est.model.measurements;
    return g.est.badRows.map((r) => ms[r]!.label).join(',');
  }

  /** `cusum`: the temporal detector's statistic of the stream (stealthy-fdi), else NaN. */
  #emit(
    g: Group,
    flag: Flag,
    s: number,
    reason: string,
    frame: number,
    tsNs: bigint,
    first: number,
    J: number,
    thr: number,
    dof: number,
    removed: string,
    cusum = NaN,
    by?: string,
  ): void {
    const detail: Record<string, number | string> = {
      firstFrame: first,
      J: Math.round(J * 10) / 10,
      threshold: Math.round(thr * 10) / 10,
      dof,
      removed,
    };
    if (!Number.isNaN(cusum)) detail['cusum'] = Math.round(cusum * 10) / 10;
    if (by !== undefined) detail['attributedBy'] = by;
    flag('badData', reason, { at: { frame, tsNs, stream: g.names[s]! }, detail });
  }

  /** Held cycle h: stealthy-fdi on `blamed` when it was among the suspects, else not-identifiable on each suspect. */
  #emitHeld(g: Group, flag: Flag, h: number, blamed: number): void {
    const S = g.size;
    for (let l = 0; l < S; l++) {
      if (!g.heldSuspect[h * S + l] || (blamed >= 0 && l !== blamed)) continue;
      const reason = blamed >= 0 ? 'stealthy-fdi' : 'not-identifiable';
      this.#emit(
        g,
        flag,
        l,
        reason,
        g.heldFrame[h * S + l]!,
        g.heldTs[h * S + l]!,
        g.heldFirst[h * S + l]!,
        g.heldJ[h]!,
        g.heldThr[h]!,
        g.heldDof[h]!,
        '',
        NaN,
        blamed >= 0 ? g.blamedBy : undefined,
      );
    }
  }

  #flushHeld(g: Group, flag: Flag, blamed: number): void {
    for (let h = 0; h < g.held; h++) this.#emitHeld(g, flag, h, blamed >= 0 && g.heldSuspect[h * g.size + blamed] ? blamed : -1);
    g.held = 0;
  }

  #shiftHeld(g: Group): void {
    const S = g.size;
    g.heldFrame.copyWithin(0, S);
    g.heldFirst.copyWithin(0, S);
    g.heldTs.copyWithin(0, S);
    g.heldSuspect.copyWithin(0, S);
    g.heldJ.copyWithin(0, 1);
    g.heldThr.copyWithin(0, 1);
    g.heldDof.copyWithin(0, 1);
    g.held--;
  }

  finish(flag: Flag): void {
    for (const st of this.#streams) {
      if (st === undefined) continue;
      const g = st.group;
      if (g.pendingKey !== -1) this.#run(g, flag);
      this.#flushHeld(g, flag, -1);
    }
  }
}
