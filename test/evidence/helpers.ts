// Shared by the evidence and export tests: detection over a simulated capture with the store and the
// recorder wired as the appliance wires them.
import { Pipeline } from '../../src/detect/pipeline.ts';
import { MacStage } from '../../src/detect/stages/mac.ts';
import { StreamRegistry } from '../../src/detect/streams.ts';
import type { Alarm } from '../../src/model/indicators.ts';
import { EvidenceRecorder, registryStreamOf, streamInfoOf } from '../../src/evidence/recorder.ts';
import { readCaptureFile } from '../../src/native/index.ts';
import type { EvidenceStore } from '../../src/store/store.ts';
import type { GroundTruth } from '../../tools/sim/truth.ts';
import { expectedStreams } from '../detect/helpers.ts';

export interface Captured {
  tsNs: bigint;
  stream: string;
  hex: string;
}

export function captureFrames(file: string, registry: StreamRegistry): Captured[] {
  const streamOf = registryStreamOf(registry);
  const out: Captured[] = [];
  for (const b of readCaptureFile(file))
    for (let i = 0; i < b.count; i++) out.push({ tsNs: b.tsNs(i), stream: streamOf(b, i), hex: Buffer.from(b.raw(i)).toString('hex') });
  return out;
}

/** Runs MAC detection with the store and the recorder wired as the appliance wires them. */
export function run(
  file: string,
  truth: GroundTruth,
  store: EvidenceStore,
  opts: { ringBytes?: number; segmentBytes?: number; maxActive?: number } = {},
): { alarms: Array<{ id: number; a: Alarm }>; recorder: EvidenceRecorder; maxRingBytes: number } {
  const streams = expectedStreams(truth);
  const registry = new StreamRegistry(streams);
  const recorder = new EvidenceRecorder({ store, ...opts, streamInfo: streamInfoOf(streams) });
  const alarms: Array<{ id: number; a: Alarm }> = [];
  const pipeline = new Pipeline({
    registry,
    stages: [new MacStage()],
    alarms: {
      onAlarm: (a) => {
        const id = store.alarmRaised(a);
        alarms.push({ id, a });
        recorder.onAlarm(id, a);
      },
    },
  });
  const streamOf = registryStreamOf(registry);
  let maxRingBytes = 0;
  for (const b of readCaptureFile(file, { batchFrames: 64 })) {
    recorder.onBatch(b, streamOf);
    pipeline.processBatch(b);
    maxRingBytes = Math.max(maxRingBytes, recorder.stats().bytes);
  }
  pipeline.finish();
  recorder.close();
  store.sync();
  return { alarms, recorder, maxRingBytes };
}
