// Child of no-addon.test.ts, run with SVDE_NATIVE=off: imports src/native and the detection pipeline with
// its stages, feeds a batch built in TypeScript and prints the verdicts as JSON. Must work without the addon.
import { createRequire } from 'node:module';
import { loadNative, readCaptureFile } from '../../src/native/index.ts';
import { Pipeline } from '../../src/detect/pipeline.ts';
import { StreamRegistry } from '../../src/detect/streams.ts';
import { MacStage } from '../../src/detect/stages/mac.ts';
import { LogicStage } from '../../src/detect/stages/logic.ts';
import { RateStage } from '../../src/detect/stages/rate.ts';
import '../../src/detect/stages/attack-match.ts';
import '../../src/detect/stages/bad-data.ts';
import '../../src/detect/stages/fault-match.ts';
import '../../src/detect/stages/signature.ts';
import '../../src/detect/stages/trip.ts';
import '../../src/detect/learn.ts';
import '../../src/detect/engine.ts';
import type { FrameVerdict } from '../../src/model/indicators.ts';
import { batchOf, svFrame, type FrameSpec } from '../helpers/batch-builder.ts';

// Whether importing all of the above loaded a .node (checked before anything asks for the addon).
const nativeLoadedByImports = Object.keys(createRequire(import.meta.url).cache).some((k) => k.endsWith('.node'));
const refusals: string[] = [];
for (const attempt of [() => loadNative(), () => readCaptureFile('/nonexistent.pcap')]) {
  try {
    attempt();
  } catch (e) {
    refusals.push((e as Error).message);
  }
}

const registry = new StreamRegistry([
  {
    name: 'MU1',
    svID: 'MU1',
    appId: 0x4000,
    acceptedSourceMacs: ['00:11:22:33:44:01'],
    samplesPerSecond: 4000,
    nofASDU: 1,
    framesPerSecond: 4000,
  },
]);
const verdicts: FrameVerdict[] = [];
const pipeline = new Pipeline({
  registry,
  stages: [new RateStage(registry), new MacStage(), new LogicStage(registry, { timing: false })],
  onVerdict: (v) => verdicts.push(v),
});
const T0 = 1_700_000_000_000_000_000n;
const specs: FrameSpec[] = [];
for (let n = 0; n < 200; n++) {
  if (n === 120) continue; // one sample lost: smpCnt gap
  specs.push({ frame: svFrame({ smpCnt: n }), frameNo: specs.length + 1, tsNs: T0 + BigInt(n) * 250_000n });
}
// a rogue publisher of MU1 (a source MAC not in the accept list) between frames 50 and 51
specs.splice(50, 0, { frame: svFrame({ smpCnt: 50, src: '66:66:66:66:66:66' }), tsNs: T0 + 50n * 250_000n + 1000n });
specs.forEach((s, k) => {
  s.frameNo = k + 1;
});
pipeline.processBatch(batchOf(specs));
pipeline.finish();
console.log(
  JSON.stringify({
    nativeLoadedByImports,
    refusals,
    frames: pipeline.stats.frames,
    verdicts: verdicts.map((v) => ({ frame: v.frame, indicator: v.indicator, reason: v.reason })),
  }),
);
