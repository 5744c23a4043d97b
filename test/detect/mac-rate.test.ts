// The grade-1 MAC check and the grade-2 rate check on labelled simulator scenarios: each raises exactly on
// the frames its ground truth names (MAC), or within the flood and soon after it starts (rate), and
// nothing on normal traffic with load steps.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MacStage } from '../../src/detect/stages/mac.ts';
import { RateStage } from '../../src/detect/stages/rate.ts';
import type { StreamRegistry } from '../../src/detect/streams.ts';
import { frameTs, runPipeline, simulate } from './helpers.ts';

const stages = (r: StreamRegistry) => [new RateStage(r), new MacStage()];

describe('mac and rate stages on simulator scenarios', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-detect-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('normal traffic with load steps raises nothing', async () => {
    const { file, truth } = await simulate(dir, 'normal', ['--mus', '4', '--duration', '5s']);
    const { verdicts, pipeline } = runPipeline(file, truth, stages);
    assert.deepEqual(verdicts, []);
    assert.equal(pipeline.nu, 0);
    assert.equal(pipeline.stats.frames, truth.capture.frames);
  });

  it('unknown-source: a MAC verdict on exactly the rogue frames, which are discarded', async () => {
    const { file, truth } = await simulate(dir, 'unknown-source', ['--mus', '2', '--duration', '3s']);
    const { verdicts, alarms, pipeline } = runPipeline(file, truth, stages);
    const want = truth.malicious.filter((m) => m.indicator === 'mac').map((m) => m.frame);
    assert.ok(want.length > 100);
    const got = verdicts.filter((v) => v.indicator === 'mac');
    assert.deepEqual(
      got.map((v) => v.frame),
      want,
    );
    assert.ok(got.every((v) => v.reason === 'unknown-source' && v.discard && v.stream === 'MU1'));
    assert.deepEqual(
      verdicts.filter((v) => v.indicator !== 'mac'),
      [],
      'the rogue publisher alone is no flood',
    );
    assert.equal(alarms.length, 1, 'one episode, one alarm');
    assert.equal(alarms[0]!.frames, want.length);
    assert.equal(pipeline.board.snapshot().mac.count, 1);
    assert.equal(pipeline.nu, 1);
  });

  it('a stream nobody configured is flagged unknown-stream', async () => {
    const { file, truth } = await simulate(dir, 'normal', ['--mus', '2', '--duration', '1s']);
    truth.config.streams = truth.config.streams.filter((s) => s.name !== 'MU2');
    const { verdicts } = runPipeline(file, truth, stages);
    const flagged = verdicts.filter((v) => v.indicator === 'mac' && v.reason === 'unknown-stream');
    assert.equal(flagged.length, truth.capture.frames / 2);
    assert.ok(flagged.every((v) => v.stream === '0x4002'));
  });

  it('flood at 10× the rate: rate verdicts only during the flood (± one burst window), the first within 20 ms of its start', async () => {
    const { file, truth } = await simulate(dir, 'flood', ['--mus', '2', '--duration', '3s']);
    const { verdicts, alarms, pipeline } = runPipeline(file, truth, stages);
    const flood = truth.malicious.filter((m) => m.indicator === 'rate');
    assert.ok(flood.length > 1000);
    const firstBad = flood[0]!.frame;
    const lastBad = flood[flood.length - 1]!.frame;
    const rate = verdicts.filter((v) => v.indicator === 'rate');
    assert.ok(rate.length > 0, 'the flood is seen');
    assert.deepEqual(
      verdicts.filter((v) => v.indicator !== 'rate'),
      [],
      'nothing but rate',
    );
    assert.ok(rate.every((v) => v.stream === 'MU1' && v.reason === 'flood'));
    assert.ok(rate[0]!.frame >= firstBad, 'no rate verdict before the flood');
    // A rate is a property of the traffic, not of one frame: verdicts may go on for one burst window
    // (50 ms) after the last flood frame, never longer.
    const tLastBad = frameTs(file, lastBad);
    const tail = Number(rate[rate.length - 1]!.tsNs - tLastBad) / 1e6;
    assert.ok(tail <= 50, `rate verdicts end with the flood (${tail.toFixed(1)} ms after it)`);
    // Time to detect in capture time (not wall clock): from the first flood frame to the first verdict.
    const tFirstBad = frameTs(file, firstBad);
    const ttdMs = Number(rate[0]!.tsNs - tFirstBad) / 1e6;
    assert.ok(ttdMs >= 0 && ttdMs < 20, `time to detect ${ttdMs} ms`);
    assert.ok(alarms.some((a) => a.indicator === 'rate' && a.grade === 2));
    assert.equal(pipeline.nu, 1);
  });
});
