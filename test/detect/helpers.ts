// Shared by the detection tests: simulate a scenario into a temp capture, build the expected streams from
// its ground truth (what SCL + configuration would say), and run a pipeline over the capture.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readCaptureFile } from '../../src/native/index.ts';
import { Pipeline } from '../../src/detect/pipeline.ts';
import type { Stage } from '../../src/detect/stage.ts';
import { StreamRegistry } from '../../src/detect/streams.ts';
import type { Alarm, FrameVerdict } from '../../src/model/indicators.ts';
import type { GroundTruth } from '../../tools/sim/truth.ts';
import { expectedStreamsOfTruth } from '../../tools/sim/expected.ts';
import { svdeSim } from '../helpers/repo.ts';

export async function simulate(dir: string, scenario: string, extra: string[] = []): Promise<{ file: string; truth: GroundTruth }> {
  const file = path.join(dir, `${scenario}.pcap`);
  const r = await svdeSim(['--out', file, '--scenario', scenario, '--seed', '3', ...extra]);
  if (r.code !== 0) throw new Error(`simulate ${scenario}: ${r.stderr}`);
  return { file, truth: JSON.parse(readFileSync(`${file}.truth.json`, 'utf8')) as GroundTruth };
}

export const expectedStreams = expectedStreamsOfTruth;

export interface RunResult {
  pipeline: Pipeline;
  verdicts: FrameVerdict[];
  alarms: Alarm[];
}

export function runPipeline(file: string, truth: GroundTruth, makeStages: (r: StreamRegistry) => Stage[]): RunResult {
  const registry = new StreamRegistry(expectedStreams(truth));
  const verdicts: FrameVerdict[] = [];
  const alarms: Alarm[] = [];
  const pipeline = new Pipeline({
    registry,
    stages: makeStages(registry),
    onVerdict: (v) => verdicts.push(v),
    alarms: { onAlarm: (a) => alarms.push(a) },
  });
  for (const b of readCaptureFile(file)) pipeline.processBatch(b);
  pipeline.finish();
  return { pipeline, verdicts, alarms };
}

/** Capture time (ns) of frame `frameNo` (1-based) of a capture file. */
export function frameTs(file: string, frameNo: number): bigint {
  for (const b of readCaptureFile(file)) {
    for (let i = 0; i < b.count; i++) if (b.frameNo(i) === frameNo) return b.tsNs(i);
  }
  throw new Error(`frame ${frameNo} not in ${file}`);
}

export interface Evaluation {
  /** Malicious frames (of the indicators evaluated) with a matching verdict. */
  hits: number;
  /** Malicious frames without one. */
  missed: Array<{ frame: number; want: string }>;
  /** Verdicts on frames the truth does not label (or with a verdict the label does not allow). */
  falseAlarms: Array<{ frame: number; got: string }>;
}

/**
 * Compares verdicts with the ground truth for the given indicators: every labelled frame whose primary
 * indicator is among them must get its verdict (or one of its `also`); every verdict must be allowed by
 * the label of its frame.
 */
export function evaluate(truth: GroundTruth, verdicts: FrameVerdict[], indicators: readonly string[]): Evaluation {
  const labels = new Map(truth.malicious.map((m) => [m.frame, m]));
  const allowed = (frame: number, ind: string, reason: string): boolean => {
    const m = labels.get(frame);
    if (m === undefined) return false;
    return (m.indicator === ind && m.reason === reason) || (m.also ?? []).some((a) => a.indicator === ind && a.reason === reason);
  };
  const byFrame = new Map<number, FrameVerdict[]>();
  for (const v of verdicts) byFrame.set(v.frame, [...(byFrame.get(v.frame) ?? []), v]);
  const out: Evaluation = { hits: 0, missed: [], falseAlarms: [] };
  for (const m of truth.malicious) {
    if (!indicators.includes(m.indicator)) continue;
    if ((byFrame.get(m.frame) ?? []).some((v) => allowed(m.frame, v.indicator, v.reason))) out.hits++;
    else out.missed.push({ frame: m.frame, want: `${m.indicator}/${m.reason}` });
  }
  for (const v of verdicts)
    if (indicators.includes(v.indicator) && !allowed(v.frame, v.indicator, v.reason))
      out.falseAlarms.push({ frame: v.frame, got: `${v.indicator}/${v.reason}` });
  return out;
}
