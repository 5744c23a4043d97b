// Trip-inducing data on labelled scenarios: real short circuits are protection events (`overcurrent`,
// with the voltage sag that makes them plausible) only inside the genuine fault ranges; trip-level currents
// with healthy voltages are `trip-without-fault` on the attacked stream; normal traffic raises nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LogicStage } from '../../src/detect/stages/logic.ts';
import { MacStage } from '../../src/detect/stages/mac.ts';
import { TripStage } from '../../src/detect/stages/trip.ts';
import { PhasorStage } from '../../src/detect/cycles.ts';
import type { StreamRegistry } from '../../src/detect/streams.ts';
import { runPipeline, simulate } from './helpers.ts';

const stages = (r: StreamRegistry) => [new MacStage(), new LogicStage(r), new PhasorStage(r, [new TripStage(r)])];

describe('trip stage on simulator scenarios', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-trip-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('normal traffic with load steps: nothing', async () => {
    const { file, truth } = await simulate(dir, 'normal', ['--mus', '2', '--duration', '3s']);
    assert.deepEqual(runPipeline(file, truth, stages).verdicts, []);
  });

  it('real faults (AG, BC, ABC): plausible overcurrent inside each fault range, never trip-without-fault', async () => {
    const { file, truth } = await simulate(dir, 'real-fault', ['--mus', '2', '--duration', '3s']);
    const { verdicts } = runPipeline(file, truth, stages);
    const faults = truth.genuineEvents.filter((e) => e.kind === 'fault');
    assert.equal(faults.length, 3);
    assert.ok(verdicts.length > 0);
    for (const v of verdicts) {
      assert.equal(v.indicator, 'trip');
      assert.equal(v.reason, 'overcurrent', `frame ${v.frame}: ${v.reason}`);
      // The cycle that ends a fault is judged one cycle after the fault range's last frame at most.
      assert.ok(
        faults.some((f) => v.frame >= f.fromFrame && v.frame <= f.toFrame + 2 * 80),
        `frame ${v.frame} outside the faults`,
      );
    }
    for (const f of faults)
      assert.ok(
        verdicts.some((v) => v.frame >= f.fromFrame && v.frame <= f.toFrame + 160),
        `${f.detail} seen`,
      );
  });

  it('trip-level currents with healthy voltages: trip-without-fault on MU1 within the attack, MU2 quiet', async () => {
    const { file, truth } = await simulate(dir, 'trip-without-fault', ['--mus', '2', '--duration', '2s']);
    const { verdicts } = runPipeline(file, truth, stages);
    const attacked = truth.malicious.filter((m) => m.indicator === 'trip').map((m) => m.frame);
    assert.ok(attacked.length > 100);
    const first = attacked[0]!;
    const last = attacked[attacked.length - 1]!;
    assert.ok(verdicts.length >= 3, 'several cycles');
    for (const v of verdicts) {
      assert.deepEqual([v.indicator, v.reason, v.stream], ['trip', 'trip-without-fault', 'MU1']);
      assert.ok(v.frame >= first && v.frame <= last + 2 * 80, `frame ${v.frame} in the attack`);
    }
    // Detected within two cycles (2 × 80 frames of MU1, interleaved with MU2: ≤ 320 frame numbers).
    assert.ok(verdicts[0]!.frame - first <= 320, `first verdict ${verdicts[0]!.frame - first} frames after the first attacked one`);
  });
});
