// The built-in seed library: primary faults recorded from the simulator's own fault waveforms
// (src/sim/waveforms.ts BaySignal: load, harmonics, fault current with its decaying DC offset, voltage sag)
// and the attack models SVDE knows out of the box.
//
// Faults: every fault type (AG, BG, CG, AB, BC, CA, ABC) × fault current 5/10/20 × load × X/R 5/15/30, bolted
// at the MU side of a 66 kV bay (residual voltage 0.2), inception at two points on wave; plus remote
// three-phase faults (current 3 × load, residual voltage 0.7: class 'overcurrent'). Each is sampled at
// 80 samples per cycle, run through the same full-cycle DFT and event detector as live traffic, and its
// features at the decision cycle become an entry (label e.g. 'AG 10x X/R15', features.class the reason
// code: phase-ground, phase-phase, three-phase, overcurrent). Overvoltage entries are analytic (all phase
// voltages 1.15–1.4 × pre-event with unchanged currents: load rejection / loss of earthing).
// Attack models: 'fake-short-circuit' (ERENO uc03 masquerade fake fault): currents raised at the load angle
// (no inductive fault angle) with a voltage dip — what an attacker who scales recorded normal values
// produces.
import { StreamPhasors } from '../phasor.ts';
import { BaySignal, DEFAULT_BAY, type FaultType } from '../../../tools/sim/waveforms.ts';
import type { ChannelDescription } from '../../model/channels.ts';
import { DECIDE, EventDetector } from './features.ts';
import type { LibraryEntry } from './library.ts';

const CHANNELS: ChannelDescription[] = [
  { name: 'IA', kind: 'current', phase: 'A', scale: 1 }, { name: 'IB', kind: 'current', phase: 'B', scale: 1 },
  { name: 'IC', kind: 'current', phase: 'C', scale: 1 }, { name: 'IN', kind: 'current', phase: 'N', scale: 1 },
  { name: 'VA', kind: 'voltage', phase: 'A', scale: 1 }, { name: 'VB', kind: 'voltage', phase: 'B', scale: 1 },
  { name: 'VC', kind: 'voltage', phase: 'C', scale: 1 }, { name: 'VN', kind: 'voltage', phase: 'N', scale: 1 },
];

const CLASS: Record<FaultType, string> = { AG: 'phase-ground', BG: 'phase-ground', CG: 'phase-ground', AB: 'phase-phase', BC: 'phase-phase', CA: 'phase-phase', ABC: 'three-phase' };

/** Features of one simulated fault (undefined when the detector did not decide — should not happen). */
export function simulatedFaultFeatures(type: FaultType, multiple: number, xr: number, residual: number, inceptionOffset = 0): Record<string, number | string> | undefined {
  const fs = 4000; const load = 400;
  const params = { ...DEFAULT_BAY, loadA: load, loadSteps: [], faults: [{ type, startS: 0.2 + inceptionOffset / fs, durationS: 0.1, currentA: load * multiple, xr, residualVoltage: residual }] };
  const sig = new BaySignal(params, fs);
  const ph = new StreamPhasors(CHANNELS, { samplesPerCycle: 80, nominalHz: 50 });
  const det = new EventDetector(CHANNELS, { overcurrentA: load * 2.5, overvoltageV: DEFAULT_BAY.voltageLN * 1.2 });
  const out = new Float64Array(8);
  for (let k = 0; k < fs * 0.35; k++) {
    sig.sample(k, out);
    if (!ph.push(out, 0, k)) continue;
    if (det.onCycle(ph.re, ph.im, ph.cycles === 1) === DECIDE) return det.features(ph.re, ph.im, ph.rms);
  }
  return undefined;
}

let cached: Omit<LibraryEntry, 'id'>[] | undefined;

/** The seed entries (computed once, deterministic). */
export function seedEntries(): Omit<LibraryEntry, 'id'>[] {
  if (cached !== undefined) return cached;
  const out: Omit<LibraryEntry, 'id'>[] = [];
  const createdNs = '0';
  for (const type of ['AG', 'BG', 'CG', 'AB', 'BC', 'CA', 'ABC'] as FaultType[]) {
    for (const mult of [5, 10, 20]) {
      for (const xr of [5, 15, 30]) {
        for (const off of [0, 20]) {
          const f = simulatedFaultFeatures(type, mult, xr, 0.2, off);
          if (f === undefined) continue;
          f['class'] = CLASS[type];
          out.push({ kind: 'fault', label: `${type} ${mult}x X/R${xr}${off ? ' 90deg' : ''}`, features: f, source: 'seed:simulator', createdNs });
        }
      }
    }
  }
  for (const xr of [5, 15]) {
    const f = simulatedFaultFeatures('ABC', 3, xr, 0.7);
    if (f !== undefined) { f['class'] = 'overcurrent'; out.push({ kind: 'fault', label: `remote ABC 3x X/R${xr}`, features: f, source: 'seed:simulator', createdNs }); }
  }
  for (const vMax of [1.15, 1.25, 1.4]) {
    out.push({ kind: 'fault', label: `overvoltage ${vMax}`, features: { phases: 'V+', class: 'overvoltage', vMax, vHealthy: vMax, zeroSeq: 0.02 }, source: 'seed:analytic', createdNs });
  }
  for (const ang of [15, 25, 35]) {
    out.push({ kind: 'attack', label: `fake-short-circuit load-angle ${ang}`, features: { phases: '*', class: 'fake-short-circuit', faultAngleDeg: ang, vSag: 0.3 }, source: 'seed:model', createdNs });
  }
  cached = out;
  return out;
}
