// Configured protection settings reach detection: configuration file + SCL → expected streams → pipeline
// (phasor + trip stages, built as `svde analyze` builds them) over a crafted capture. The configured 51
// curve decides when the trip stage operates; the configured 59 delay decides whether a swell operates.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { expectedStreams } from '../../src/config/expected.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { PhasorStage } from '../../src/detect/cycles.ts';
import { Pipeline } from '../../src/detect/pipeline.ts';
import { TripStage } from '../../src/detect/stages/trip.ts';
import { StreamRegistry } from '../../src/detect/streams.ts';
import type { FrameVerdict } from '../../src/model/indicators.ts';
import { readCaptureFile } from '../../src/native/index.ts';
import { encodeFrame } from '../../src/sv/encode.ts';
import { CaptureWriter } from '../../src/sv/pcap-writer.ts';
import { sclDir } from '../helpers/repo.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svde-prot-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const DIGSUB = path.join(sclDir, 'digsub_01_SV_Stream_4I+4V_9-2LE.scd');
const SPS = 4000; // OMICRON_CMC_SV1: 80 samples per 50 Hz cycle, 4I+4V 9-2LE (1 mA, 10 mV)
const VN = 38105;
let n = 0;

interface Segment {
  cycles: number;
  iA: number;
  vA: number;
} // phase-A RMS current (A), phase-A voltage (× Vn)

/** A capture of OMICRON_CMC_SV1: phases B and C at 400 A / Vn, phase A as the segments say. */
function capture(segments: Segment[]): string {
  const file = path.join(dir, `c${n++}.pcap`);
  const w = new CaptureWriter(file, { format: 'pcap' });
  let k = 0;
  for (const seg of segments) {
    for (let s = 0; s < seg.cycles * 80; s++, k++) {
      const wt = (2 * Math.PI * 50 * k) / SPS;
      const ph = (a: number): number => Math.sin(wt + a);
      const iRms = [seg.iA, 400, 400];
      const vRms = [seg.vA * VN, VN, VN];
      const seq = new Uint8Array(64);
      const dv = new DataView(seq.buffer);
      for (let p = 0; p < 3; p++) {
        dv.setInt32(8 * p, Math.round(Math.SQRT2 * iRms[p]! * ph((-2 * Math.PI * p) / 3) * 1000)); // mA
        dv.setInt32(8 * (4 + p), Math.round(Math.SQRT2 * vRms[p]! * ph((-2 * Math.PI * p) / 3) * 100)); // 10 mV
      }
      const { bytes } = encodeFrame({
        dst: '01:0c:cd:04:00:01',
        src: '00:0a:35:00:00:01',
        appId: 0x4000,
        asdus: [{ svID: 'OMICRON_CMC_SV1', smpCnt: k % SPS, confRev: 1, smpSynch: 2, seqData: seq }],
      });
      const tNs = Math.round((k * 1e9) / SPS);
      w.write(bytes, 0, bytes.length, 1_700_000_000 + Math.floor(tNs / 1e9), tNs % 1e9);
    }
  }
  void w.close();
  return file;
}

function analyze(config: unknown, file: string): FrameVerdict[] {
  const cfgFile = path.join(dir, `cfg${n++}.json`);
  writeFileSync(cfgFile, JSON.stringify(config));
  const registry = new StreamRegistry(expectedStreams(loadConfigFile(cfgFile, { scl: DIGSUB })).streams);
  const verdicts: FrameVerdict[] = [];
  const p = new Pipeline({ registry, stages: [new PhasorStage(registry, [new TripStage(registry)])], onVerdict: (v) => verdicts.push(v) });
  for (const b of readCaptureFile(file)) p.processBatch(b);
  p.finish();
  return verdicts;
}

describe('configured protection → detection', () => {
  // 1 s of load, then a phase-A fault of 5000 A (M = 10 × the 500 A 51 pickup) with the voltage sagged to
  // half, for 1 s. Fault onset on frame 4001 (a cycle boundary).
  const PRE = 50;
  const fault = capture([
    { cycles: PRE, iA: 400, vA: 1 },
    { cycles: 50, iA: 5000, vA: 0.5 },
  ]);
  const onset = PRE * 80 + 1;

  /** Seconds from the fault onset to the end of the frame with the first trip verdict. */
  const operateS = (v: FrameVerdict[]): number => (v[0]!.frame - onset + 1) / SPS;

  // Operating times at M = 10 (10^0.02 = 1.047129, 10^2 = 100):
  //   IEEE-EI TD 1:   1 · (28.2 / 99 + 0.1217)   = 0.28485 + 0.1217 = 0.40655 s
  //   IEEE-VI TD 1:   1 · (19.61 / 99 + 0.491)   = 0.19808 + 0.491  = 0.68908 s
  //   IEC-SI TMS 0.1: 0.1 · 0.14 / 0.047129       = 0.29706 s
  for (const [curve, tms, want] of [
    ['IEEE-EI', 1, 0.40655],
    ['IEEE-VI', 1, 0.68908],
    ['IEC-SI', 0.1, 0.29706],
  ] as const) {
    it(`51 ${curve} (TMS ${tms}) from the configuration operates after ${want} s, within one cycle`, () => {
      const v = analyze(
        {
          scl: DIGSUB,
          // 50 off, so 51 alone decides; the curve comes from the per-stream override.
          protection: { nominalCurrentA: 400, overcurrent50: { enabled: false }, overcurrent51: { pickupA: 500 } },
          streams: [{ svID: 'OMICRON_CMC_SV1', protection: { overcurrent51: { curve, tms } } }],
        },
        fault,
      );
      assert.ok(v.length > 0, 'operated');
      assert.ok(
        v.every((x) => x.indicator === 'trip' && x.reason === 'overcurrent-51' && x.stream === 'MU01_4I_4V_1/MU01/LLN0.MSVCB01'),
        `${v[0]!.reason} on ${v[0]!.stream}`,
      );
      assert.equal(v[0]!.detail?.['curve'], curve);
      const got = operateS(v);
      assert.ok(got >= want - 0.001 && got <= want + 0.02 + 0.001, `${curve}: operated after ${got} s, curve ${want} s`);
    });
  }

  it('51 disabled in the configuration: the same fault raises nothing', () => {
    const v = analyze({ scl: DIGSUB, protection: { overcurrent50: { enabled: false }, overcurrent51: { enabled: false } } }, fault);
    assert.deepEqual(v, []);
  });

  it('50 with the configured delay: operates after delayS, not on the first cycle', () => {
    // 5000 A ≥ the 2500 A 50 pickup (2.5 × 1000 A); 51 off. delayS 0.1 s = 5 cycles: the fifth fault cycle.
    const cfg = (delayS: number) => ({ scl: DIGSUB, protection: { overcurrent50: { delayS }, overcurrent51: { enabled: false } } });
    const v0 = analyze(cfg(0), fault);
    assert.equal(v0[0]!.reason, 'overcurrent');
    assert.ok(Math.abs(operateS(v0) - 0.02) < 0.001, `instantaneous: ${operateS(v0)} s`);
    const v1 = analyze(cfg(0.1), fault);
    assert.equal(v1[0]!.reason, 'overcurrent');
    assert.ok(Math.abs(operateS(v1) - 0.1) < 0.001, `delayed: ${operateS(v1)} s`);
  });

  it('59 with the configured delay: a swell shorter than delayS raises nothing, a longer one operates after it', () => {
    // Phase A at 1.3 × Vn = 49537 V ≥ the 45000 V pickup; delayS 0.2 s = 10 cycles.
    const cfg = { scl: DIGSUB, protection: { overvoltage59: { pickupV: 45000, delayS: 0.2 } } };
    const short = capture([
      { cycles: PRE, iA: 400, vA: 1 },
      { cycles: 8, iA: 400, vA: 1.3 },
      { cycles: 20, iA: 400, vA: 1 },
    ]);
    assert.deepEqual(analyze(cfg, short), []);
    const long = capture([
      { cycles: PRE, iA: 400, vA: 1 },
      { cycles: 20, iA: 400, vA: 1.3 },
      { cycles: 20, iA: 400, vA: 1 },
    ]);
    const v = analyze(cfg, long);
    assert.ok(v.length > 0 && v.every((x) => x.indicator === 'trip' && x.reason === 'overvoltage'));
    assert.ok(Math.abs(operateS(v) - 0.2) < 0.001, `operated after ${operateS(v)} s`);
  });
});
