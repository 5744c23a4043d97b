// The default SV measurement model (badData indicator): a complex linear WLS over the fundamental phasors
// of every configured stream, estimated once per cycle.
//
// States (complex phasors; the real and imaginary parts share H and σ, see LinearWls components = 2):
//   per bay  — the phase currents I_A, I_B, I_C of the bay (primary A, CT polarity as configured);
//   per bus  — the phase-to-neutral voltages V_A, V_B, V_C of the bus.
// Measurements (one complex row each):
//   stream current channel A/B/C → the bay's phase current;  IN (if not `derived`) → I_A + I_B + I_C;
//   stream voltage channel A/B/C → the bus's phase voltage;  VN (if not `derived`) → V_A + V_B + V_C.
//   The same bus voltage seen by several streams is one state (several rows), as are the currents of a
//   bay measured by redundant merging units (main 1 / main 2).
//   KCL over the bays of a bus (opt-in per bus, `kcl: true`, only when every feeder of the bus is
//   measured): a pseudo-measurement 0 = Σ_bays sign·I_bay,φ per phase with σ = kclSigmaA.
// Derived channels (the MU computes them from the others) carry no independent information and are left out:
// they would only add fake redundancy.
// σ: per channel from its accuracy: currentAccuracy × ratedCurrentA (+ currentAbsoluteA) and
// voltageAccuracy × ratedVoltageV (+ voltageAbsoluteV) (defaults 0.5 % of 1000 A and of 66 kV/√3 — a
// class-0.5 CT/VT; configure the rated values of the bay), or per channel through sigmaOf.
// The σ are constant so the gain matrix is computed once (per-cycle cost O(m·n)); the price is that CT
// errors that grow with the current (faults) are covered only by the margin of the class.
//
// Per cycle: estimate() → chi-square + LNR (badDataAnalysis). When bad data is detected, a stream-level
// hypothesis test follows: for each stream s, the model without all rows of s is re-estimated; streams
// whose removal makes the rest pass are the suspects. One suspect → that stream (and, if LNR removed only
// its rows, those channels) is identified; several suspects (e.g. the two MUs of a bay disagree by a
// consistent factor — an a = Hc change on one of them) → detected but not identifiable between them: the
// temporal detector (temporal.ts) tells which one moved.
import type { ChannelDescription, ChannelPhase } from '../../model/channels.ts';
import { LinearWls, BadDataReport, badDataAnalysis, normalizedResidual } from './wls.ts';
import { chi2Quantile } from './chi2.ts';
import type { BadDataOptions, BadDataOutcome } from './wls.ts';

export interface SvStreamSpec {
  name: string;
  bay: string;
  bus: string;
  channels: readonly ChannelDescription[];
}

export interface SvBusSpec {
  name: string;
  /** All feeders of this bus are measured: add KCL pseudo-measurements over its bays. */
  kcl?: boolean;
  /** Bays whose CT polarity points out of the bus (sign −1 in KCL). */
  reversedBays?: readonly string[];
}

export interface SvModelOptions {
  buses?: readonly SvBusSpec[];
  ratedCurrentA?: number;
  ratedVoltageV?: number;
  /** Relative accuracy of current channels (fraction of ratedCurrentA). Default 0.005. */
  currentAccuracy?: number;
  /** Relative accuracy of voltage channels (fraction of ratedVoltageV). Default 0.005. */
  voltageAccuracy?: number;
  /** Added to the current σ (A), e.g. the configuration's sigma.currentAbsoluteA. Default 0. */
  currentAbsoluteA?: number;
  /** Added to the voltage σ (V). Default 0. */
  voltageAbsoluteV?: number;
  /** Include IN vs IA+IB+IC and VN vs VA+VB+VC rows (configuration neutralKirchhoff). Default true. */
  neutralKirchhoff?: boolean;
  /** Redundant streams of a bay share its current states (configuration bayRedundancy). Default true;
   *  false gives every stream its own current states (no cross-stream current check). */
  bayRedundancy?: boolean;
  /** σ of the KCL pseudo-measurement. Default: currentAccuracy × ratedCurrentA. */
  kclSigmaA?: number;
  /** Per-channel override of σ (physical units); return undefined for the default. */
  sigmaOf?: (stream: SvStreamSpec, channel: ChannelDescription) => number | undefined;
}

export type SvStateKind = 'current' | 'voltage';
export interface SvState {
  kind: SvStateKind;
  /** bay (current) or bus (voltage) */ owner: string;
  phase: Exclude<ChannelPhase, 'N'>;
}
export interface SvMeasurement {
  /** Stream index, −1 for a KCL pseudo-measurement. */
  stream: number;
  /** Channel index in the stream's seqData, −1 for KCL. */
  channel: number;
  label: string;
  sigma: number;
}

export interface SvModel {
  streams: readonly SvStreamSpec[];
  states: readonly SvState[];
  measurements: readonly SvMeasurement[];
  /** m×n row-major. */
  H: Float64Array;
  /** Rows of each stream. */
  rowsOfStream: readonly (readonly number[])[];
  /** For each stream and channel: the measurement row, or −1 when not used. */
  rowOf: readonly Int32Array[];
}

const PHASES = ['A', 'B', 'C'] as const;

export function buildSvModel(streams: readonly SvStreamSpec[], opts: SvModelOptions = {}): SvModel {
  const ratedI = opts.ratedCurrentA ?? 1000;
  const ratedV = opts.ratedVoltageV ?? 66_000 / Math.sqrt(3);
  const sI = (opts.currentAccuracy ?? 0.005) * ratedI + (opts.currentAbsoluteA ?? 0);
  const sV = (opts.voltageAccuracy ?? 0.005) * ratedV + (opts.voltageAbsoluteV ?? 0);
  const neutral = opts.neutralKirchhoff ?? true;
  const shareBay = opts.bayRedundancy ?? true;
  const states: SvState[] = [];
  const stateIndex = new Map<string, number>();
  const stateOf = (kind: SvStateKind, owner: string, phase: 'A' | 'B' | 'C') => {
    const key = `${kind}:${owner}:${phase}`;
    let i = stateIndex.get(key);
    if (i === undefined) {
      i = states.length;
      states.push({ kind, owner, phase });
      stateIndex.set(key, i);
    }
    return i;
  };
  const rows: { cols: number[]; coef: number[]; meas: SvMeasurement }[] = [];
  const rowsOfStream: number[][] = streams.map(() => []);
  const rowOf = streams.map((s) => new Int32Array(s.channels.length).fill(-1));
  streams.forEach((s, si) => {
    s.channels.forEach((c, ci) => {
      if (c.derived || (c.phase === 'N' && !neutral)) return;
      const owner = c.kind === 'current' ? (shareBay ? s.bay : `${s.bay}/${s.name}`) : s.bus;
      const cols = c.phase === 'N' ? PHASES.map((p) => stateOf(c.kind, owner, p)) : [stateOf(c.kind, owner, c.phase)];
      const sigma = opts.sigmaOf?.(s, c) ?? (c.kind === 'current' ? sI : sV);
      rowOf[si]![ci] = rows.length;
      rowsOfStream[si]!.push(rows.length);
      rows.push({ cols, coef: cols.map(() => 1), meas: { stream: si, channel: ci, label: `${s.name}.${c.name}`, sigma } });
    });
  });
  for (const bus of opts.buses ?? []) {
    if (!bus.kcl) continue;
    const bays = [...new Set(streams.filter((s) => s.bus === bus.name).map((s) => s.bay))];
    if (bays.length < 2) continue;
    for (const p of PHASES) {
      const cols: number[] = [];
      const coef: number[] = [];
      for (const b of bays) {
        const k = stateIndex.get(`current:${b}:${p}`);
        if (k === undefined) continue;
        cols.push(k);
        coef.push(bus.reversedBays?.includes(b) ? -1 : 1);
      }
      if (cols.length < 2) continue;
      rows.push({ cols, coef, meas: { stream: -1, channel: -1, label: `KCL ${bus.name} ${p}`, sigma: opts.kclSigmaA ?? sI } });
    }
  }
  const n = states.length;
  const m = rows.length;
  const H = new Float64Array(m * n);
  rows.forEach((r, i) =>
    r.cols.forEach((c, k) => {
      H[i * n + c] = H[i * n + c]! + r.coef[k]!;
    }),
  );
  return { streams, states, measurements: rows.map((r) => r.meas), H, rowsOfStream, rowOf };
}

export type SvOutcome = BadDataOutcome;

/** Per-cycle estimator over an SvModel. All buffers are preallocated; clean cycles do not allocate. */
export class SvEstimator {
  readonly model: SvModel;
  readonly wls: LinearWls;
  readonly report = new BadDataReport();
  readonly opts: BadDataOptions;
  /** Outcome of the last cycle, combining LNR and the stream-level test. */
  outcome: SvOutcome = 'pass';
  /** Streams identified (one) or suspected (several) on the last cycle. */
  readonly suspectStreams: number[] = [];
  /** Measurements (rows) identified as bad on the last cycle. */
  readonly badRows: number[] = [];
  readonly #streamCount: number;
  readonly #mask: Uint8Array;

  constructor(model: SvModel, opts: BadDataOptions = {}) {
    this.model = model;
    this.opts = opts;
    const m = model.measurements.length;
    const n = model.states.length;
    this.wls = new LinearWls(m, n, 2);
    this.wls.H.set(model.H);
    this.wls.setSigma(model.measurements.map((x) => x.sigma));
    if (!this.wls.prepare()) throw new Error('SV model is unobservable: a bay or bus state has no measurement');
    this.#streamCount = model.streams.length;
    this.#mask = new Uint8Array(m);
  }

  /** Copy one stream's per-cycle phasors (indexed by channel) into z. */
  setStream(stream: number, re: ArrayLike<number>, im: ArrayLike<number>): void {
    const map = this.model.rowOf[stream]!;
    const z = this.wls;
    for (let c = 0; c < map.length; c++) {
      const r = map[c]!;
      if (r >= 0) {
        z.zRe[r] = re[c]!;
        z.zIm[r] = im[c]!;
      }
    }
  }

  /**
   * Mark a stream as absent (no valid phasor this cycle: gap, restart, invalid quality) or present again.
   * Its rows leave the estimate; the reduced factorisation is cached while the set is unchanged.
   */
  setStreamPresent(stream: number, present: boolean): void {
    for (const r of this.model.rowsOfStream[stream]!) this.wls.setExcluded(r, !present);
  }

  /** Estimate and analyse the current z (KCL rows stay 0). */
  estimate(): SvOutcome {
    const rep = badDataAnalysis(this.wls, this.opts, this.report);
    this.suspectStreams.length = 0;
    this.badRows.length = 0;
    this.outcome = rep.outcome;
    if (!rep.detected) return this.outcome;
    // stream-level hypotheses
    const w = this.wls;
    const alpha = this.opts.alpha ?? 0.05;
    const lnrRows = rep.outcome === 'identified' ? rep.removed.slice() : null;
    const mask = this.#mask;
    for (let s = 0; s < this.#streamCount; s++) {
      mask.set(w.base);
      const own = this.model.rowsOfStream[s]!;
      let removed = 0;
      for (const r of own)
        if (mask[r]) {
          mask[r] = 0;
          removed++;
        }
      if (removed === 0) continue; // absent stream
      let active = 0;
      for (let i = 0; i < mask.length; i++) active += mask[i]!;
      const dof = 2 * (active - w.n);
      if (dof > 0 && w.quickJ(mask) <= chi2Quantile(1 - alpha, dof)) this.suspectStreams.push(s);
    }
    if (this.suspectStreams.length === 1) {
      const s = this.suspectStreams[0]!;
      const own = this.model.rowsOfStream[s]!;
      if (lnrRows && lnrRows.every((r) => own.includes(r))) this.badRows.push(...lnrRows);
      else this.badRows.push(...own);
      this.outcome = 'identified';
    } else if (this.suspectStreams.length > 1) {
      this.outcome = 'not-identifiable';
    } else if (lnrRows) {
      this.badRows.push(...lnrRows);
      for (const r of lnrRows) {
        const st = this.model.measurements[r]!.stream;
        if (st >= 0 && !this.suspectStreams.includes(st)) this.suspectStreams.push(st);
      }
    }
    // the WLS keeps the final LNR estimate (x̂, r of the cleaned set) for callers that read it
    return this.outcome;
  }

  /** Normalized residual of a row on the last solve (NaN if inactive/critical). */
  rN(row: number): number {
    return normalizedResidual(this.wls, row);
  }
}

/** Stream specs from the simulator's truth config (streams with channels and bay; bus = bay). */
export function streamsFromTruth(config: {
  streams: readonly {
    name: string;
    bay: string;
    channels: readonly { name: string; kind: string; phase: string; scale: number; derived?: boolean }[];
  }[];
}): SvStreamSpec[] {
  return config.streams.map((s) => ({
    name: s.name,
    bay: s.bay,
    bus: s.bay,
    channels: s.channels.map((c) => {
      if ((c.kind !== 'current' && c.kind !== 'voltage') || !['A', 'B', 'C', 'N'].includes(c.phase))
        throw new Error(`${s.name}: unknown channel ${c.name}`);
      return c as ChannelDescription;
    }),
  }));
}
