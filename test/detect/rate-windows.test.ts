// γfz windows, fed frame times directly: one publisher (4000 frames/s, μsv 0.1: N_th = 4400/s; burst window
// 50 ms: share 220 frames + 44 frames slack = 264). A short burst stays under the 1 s threshold and only
// the burst window sees it; a slow 1.2× flood stays under the burst threshold and only the 1 s window sees
// it; normal jitter raises nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Flag, FrameContext } from '../../src/detect/stage.ts';
import { RateStage } from '../../src/detect/stages/rate.ts';
import { macKeyOf, StreamRegistry } from '../../src/detect/streams.ts';

const SRC = '02:00:00:00:00:01';
const FPS = 4000;
const PERIOD_NS = 1e9 / FPS;

interface RateVerdict {
  tNs: number;
  reason: string;
  detail: Record<string, unknown>;
}

/** Runs the rate stage over frame times (ns, from SRC) and returns its verdicts. */
function run(times: number[]): RateVerdict[] {
  const registry = new StreamRegistry([
    { name: 'MU1', svID: 'MU1', appId: 0x4001, acceptedSourceMacs: [SRC], samplesPerSecond: FPS, nofASDU: 1, framesPerSecond: FPS },
  ]);
  const rate = new RateStage(registry);
  assert.equal(rate.threshold(macKeyOf(SRC)), 4400);
  const out: RateVerdict[] = [];
  let t = 0;
  const flag: Flag = (_indicator, reason, o) => void out.push({ tNs: t, reason, detail: { ...o?.detail } });
  const ctx = { srcKey: macKeyOf(SRC), t: 0 } as FrameContext;
  for (const x of [...times].sort((a, b) => a - b)) {
    t = x;
    ctx.t = x;
    rate.onFrame(ctx, flag);
  }
  return out;
}

/** Frames at `perS` frames per second in [fromS, toS). */
function steady(fromS: number, toS: number, perS: number): number[] {
  const out: number[] = [];
  for (let k = 0; fromS + k / perS < toS - 1e-12; k++) out.push(Math.round((fromS + k / perS) * 1e9));
  return out;
}

describe('rate stage: burst window and 1 s window', () => {
  it('a 50 ms burst of 300 extra frames (under N_th over 1 s) is caught by the burst window alone', () => {
    // 1 s window: 4000 + 300 = 4300 ≤ 4400. Burst window: 200 + 300 = 500 > 264.
    const burst = steady(2, 2.05, 6000);
    assert.equal(burst.length, 300);
    const v = run([...steady(0, 4, FPS), ...burst]);
    assert.ok(v.length > 0, 'the burst is seen');
    assert.ok(
      v.every((x) => x.reason === 'flood' && x.detail['windowMs'] === 50 && x.detail['framesInLastSecond'] === undefined),
      'named by the burst window',
    );
    assert.ok(
      v.every((x) => x.tNs >= 2e9 && x.tNs < 2.1e9),
      'during the burst (and its window)',
    );
    assert.ok(v[0]!.tNs - 2e9 < 30e6, `seen ${(v[0]!.tNs - 2e9) / 1e6} ms into the burst`);
    assert.ok(Math.max(...v.map((x) => x.detail['framesInBurstWindow'] as number)) > 264);
  });

  it('a sustained flood at 1.2× the rate is caught by the 1 s window alone, once it holds more than N_th', () => {
    // Burst window: 1.2 × 200 = 240 ≤ 264, never the burst test. 1 s window after t s of flood:
    // 4000·(1 − t) + 4800·t > 4400 for t > 0.5 s.
    const v = run([...steady(0, 1, FPS), ...steady(1, 4, 1.2 * FPS)]);
    assert.ok(v.length > 1000, `${v.length} verdicts`);
    assert.ok(
      v.every((x) => x.reason === 'flood' && x.detail['windowMs'] === undefined && x.detail['threshold'] === 4400),
      'named by the 1 s window',
    );
    const after = (v[0]!.tNs - 1e9) / 1e9;
    assert.ok(after > 0.49 && after < 0.53, `first verdict ${after} s into the flood`);
  });

  it('normal jitter (±100 µs per frame, 10 ms holds released at once every 100 ms) raises nothing', () => {
    let seed = 12345;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const times: number[] = [];
    for (let k = 0; k < 5 * FPS; k++) {
      let t = k * PERIOD_NS + (rnd() - 0.5) * 200e3;
      const inCycle = (k * PERIOD_NS) % 100e6;
      if (inCycle < 10e6) t = k * PERIOD_NS - inCycle + 10e6 + (k % 40) * 1e3; // held, then sent back to back
      times.push(Math.max(0, Math.round(t)));
    }
    assert.deepEqual(run(times), []);
  });
});
