#!/usr/bin/env node
// Generates the fault library's seed entries (src/detect/history/seed-faults.json) ONCE from the
// simulator's fault waveforms (tools/sim/waveforms.ts BaySignal: load, harmonics, fault current with its
// decaying DC offset, voltage sag), so the appliance reads data instead of running the simulator.
//   node tools/history/make-seed.ts [--out FILE]     (default: the checked-in file)
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
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { StreamPhasors } from '../../src/detect/phasor.ts';
import { DECIDE, EventDetector } from '../../src/detect/history/features.ts';
import type { SeedEntry, SeedFile } from '../../src/detect/history/seed.ts';
import type { ChannelDescription } from '../../src/model/channels.ts';
import { BaySignal, DEFAULT_BAY, type FaultType } from '../sim/waveforms.ts';

/** Bumped whenever the generator's output would change for the same parameters. */
export const GENERATOR_VERSION = 1;

export const DEFAULT_OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/detect/history/seed-faults.json');

/** Everything the entries depend on, recorded in the file. */
export const PARAMETERS = {
  samplesPerSecond: 4000,
  nominalHz: 50,
  samplesPerCycle: 80,
  loadA: 400,
  faultStartS: 0.2,
  faultDurationS: 0.1,
  runS: 0.35,
  faultTypes: ['AG', 'BG', 'CG', 'AB', 'BC', 'CA', 'ABC'] as FaultType[],
  multiples: [5, 10, 20],
  xr: [5, 15, 30],
  residualVoltage: 0.2,
  inceptionOffsetSamples: [0, 20],
  remote: { type: 'ABC' as FaultType, multiple: 3, xr: [5, 15], residualVoltage: 0.7 },
  detector: { overcurrentTimesLoad: 2.5, overvoltageTimesVoltageLN: 1.2 },
  overvoltage: [1.15, 1.25, 1.4],
  fakeShortCircuitAngleDeg: [15, 25, 35],
};

const CHANNELS: ChannelDescription[] = [
  { name: 'IA', kind: 'current', phase: 'A', scale: 1 },
  { name: 'IB', kind: 'current', phase: 'B', scale: 1 },
  { name: 'IC', kind: 'current', phase: 'C', scale: 1 },
  { name: 'IN', kind: 'current', phase: 'N', scale: 1 },
  { name: 'VA', kind: 'voltage', phase: 'A', scale: 1 },
  { name: 'VB', kind: 'voltage', phase: 'B', scale: 1 },
  { name: 'VC', kind: 'voltage', phase: 'C', scale: 1 },
  { name: 'VN', kind: 'voltage', phase: 'N', scale: 1 },
];

const CLASS: Record<FaultType, string> = {
  AG: 'phase-ground',
  BG: 'phase-ground',
  CG: 'phase-ground',
  AB: 'phase-phase',
  BC: 'phase-phase',
  CA: 'phase-phase',
  ABC: 'three-phase',
};

/** Features of one simulated fault (undefined when the detector did not decide — should not happen). */
export function simulatedFaultFeatures(
  type: FaultType,
  multiple: number,
  xr: number,
  residual: number,
  inceptionOffset = 0,
): Record<string, number | string> | undefined {
  const P = PARAMETERS;
  const fs = P.samplesPerSecond;
  const load = P.loadA;
  const params = {
    ...DEFAULT_BAY,
    loadA: load,
    loadSteps: [],
    faults: [
      {
        type,
        startS: P.faultStartS + inceptionOffset / fs,
        durationS: P.faultDurationS,
        currentA: load * multiple,
        xr,
        residualVoltage: residual,
      },
    ],
  };
  const sig = new BaySignal(params, fs);
  const ph = new StreamPhasors(CHANNELS, { samplesPerCycle: P.samplesPerCycle, nominalHz: P.nominalHz });
  const det = new EventDetector(CHANNELS, {
    overcurrentA: load * P.detector.overcurrentTimesLoad,
    overvoltageV: DEFAULT_BAY.voltageLN * P.detector.overvoltageTimesVoltageLN,
  });
  const out = new Float64Array(8);
  for (let k = 0; k < fs * P.runS; k++) {
    sig.sample(k, out);
    if (!ph.push(out, 0, k)) continue;
    if (det.onCycle(ph.re, ph.im, ph.cycles === 1) === DECIDE) return det.features(ph.re, ph.im, ph.rms);
  }
  return undefined;
}

/** The seed entries (deterministic). */
export function makeSeedEntries(): SeedEntry[] {
  const P = PARAMETERS;
  const out: SeedEntry[] = [];
  const createdNs = '0';
  for (const type of P.faultTypes) {
    for (const mult of P.multiples) {
      for (const xr of P.xr) {
        for (const off of P.inceptionOffsetSamples) {
          const f = simulatedFaultFeatures(type, mult, xr, P.residualVoltage, off);
          if (f === undefined) continue;
          f['class'] = CLASS[type];
          out.push({
            kind: 'fault',
            label: `${type} ${mult}x X/R${xr}${off ? ' 90deg' : ''}`,
            features: f,
            source: 'seed:simulator',
            createdNs,
          });
        }
      }
    }
  }
  for (const xr of P.remote.xr) {
    const f = simulatedFaultFeatures(P.remote.type, P.remote.multiple, xr, P.remote.residualVoltage);
    if (f !== undefined) {
      f['class'] = 'overcurrent';
      out.push({ kind: 'fault', label: `remote ABC 3x X/R${xr}`, features: f, source: 'seed:simulator', createdNs });
    }
  }
  for (const vMax of P.overvoltage) {
    out.push({
      kind: 'fault',
      label: `overvoltage ${vMax}`,
      features: { phases: 'V+', class: 'overvoltage', vMax, vHealthy: vMax, zeroSeq: 0.02 },
      source: 'seed:analytic',
      createdNs,
    });
  }
  for (const ang of P.fakeShortCircuitAngleDeg) {
    out.push({
      kind: 'attack',
      label: `fake-short-circuit load-angle ${ang}`,
      features: { phases: '*', class: 'fake-short-circuit', faultAngleDeg: ang, vSag: 0.3 },
      source: 'seed:model',
      createdNs,
    });
  }
  return out;
}

/** The data file's content, with its provenance. */
export function makeSeedFile(date = new Date().toISOString().slice(0, 10)): SeedFile {
  return {
    provenance: { generator: 'tools/history/make-seed.ts', version: GENERATOR_VERSION, date, parameters: PARAMETERS },
    entries: makeSeedEntries(),
  };
}

export function seedFileText(file: SeedFile): string {
  return `${JSON.stringify(file, null, 1)}\n`;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const out = values.out ?? DEFAULT_OUT;
  const file = makeSeedFile();
  writeFileSync(out, seedFileText(file));
  process.stdout.write(`${file.entries.length} seed entries → ${out}\n`);
}
