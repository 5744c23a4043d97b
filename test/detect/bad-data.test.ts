// badData stage on labelled simulator scenarios: value changes that break IN = IA+IB+IC or the agreement
// of the redundant MUs of a bay are found on the attacked stream (MU1) within the attack; a consistent
// a = Hc change is attributed by the temporal detector; genuine load steps and faults raise nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BadDataStage } from '../../src/detect/stages/bad-data.ts';
import { PhasorStage } from '../../src/detect/cycles.ts';
import { LogicStage } from '../../src/detect/stages/logic.ts';
import { MacStage } from '../../src/detect/stages/mac.ts';
import { TripStage } from '../../src/detect/stages/trip.ts';
import type { StreamRegistry } from '../../src/detect/streams.ts';
import type { FrameVerdict } from '../../src/model/indicators.ts';
import type { GroundTruth } from '../../tools/sim/truth.ts';
import { evaluate, runPipeline, simulate } from './helpers.ts';

const stages = (r: StreamRegistry) => [new MacStage(), new LogicStage(r), new PhasorStage(r, [new TripStage(r), new BadDataStage(r)])];
const badData = (vs: FrameVerdict[]) => vs.filter((v) => v.indicator === 'badData');

/** Every badData verdict is on MU1, and its cycle (firstFrame … frame) overlaps the attacked frames. */
function assertWithinAttack(
  truth: GroundTruth,
  verdicts: FrameVerdict[],
  reasons: readonly string[],
): { first: number; ttdFrames: number } {
  const attacked = truth.malicious.map((m) => m.frame);
  const first = attacked[0]!;
  const last = attacked[attacked.length - 1]!;
  assert.ok(verdicts.length > 0, 'detected');
  for (const v of verdicts) {
    assert.equal(v.stream, 'MU1', `frame ${v.frame}: ${v.stream}/${v.reason}`);
    assert.ok(reasons.includes(v.reason), `frame ${v.frame}: ${v.reason}`);
    const from = Number(v.detail?.['firstFrame']);
    assert.ok(v.frame >= first && from <= last, `cycle ${from}…${v.frame} outside the attack ${first}…${last}`);
  }
  return { first, ttdFrames: verdicts[0]!.frame - first };
}

describe('badData stage on simulator scenarios', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-baddata-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('fdi-kcl (IA × 1.4 on MU1): kcl-violation on MU1 with MU1.IA removed, within one cycle; nothing on MU2', async () => {
    const { file, truth } = await simulate(dir, 'fdi-kcl', ['--mus', '2', '--duration', '2s']);
    const vs = badData(runPipeline(file, truth, stages).verdicts);
    const { ttdFrames } = assertWithinAttack(truth, vs, ['kcl-violation']);
    for (const v of vs) assert.equal(v.detail?.['removed'], 'MU1.IA');
    for (const v of vs) assert.ok(Number(v.detail?.['J']) > Number(v.detail?.['threshold']));
    // The first cycle that holds attacked samples: ≤ 80 samples of MU1, interleaved with MU2 (≤ 2 × 80 frames).
    assert.ok(ttdFrames <= 160, `first verdict ${ttdFrames} frames after the attack began`);
    // the frames labelled kcl-violation that completed a cycle are all hits (one verdict per cycle)
    const ev = evaluate(truth, vs, ['badData']);
    assert.deepEqual(ev.falseAlarms, []);
    assert.ok(ev.hits >= 19, `${ev.hits} cycles of a 0.4 s attack`);
  });

  it('fdi-stealthy (a = Hc on MU1): detected across MU1/MU2, attributed to MU1 as stealthy-fdi', async () => {
    const { file, truth } = await simulate(dir, 'fdi-stealthy', ['--mus', '2', '--duration', '2s']);
    const vs = badData(runPipeline(file, truth, stages).verdicts);
    const { ttdFrames } = assertWithinAttack(truth, vs, ['stealthy-fdi']);
    assert.ok(ttdFrames <= 2 * 160, `first verdict ${ttdFrames} frames after the attack began`);
    assert.deepEqual(evaluate(truth, vs, ['badData']).falseAlarms, []);
    assert.ok(vs.length >= 19, 'every cycle of the attack, the attribution kept after the temporal alarm decays');
  });

  it('fdi-stealthy without the temporal detector: not-identifiable, one verdict per suspect (MU1 and MU2) per cycle of the attack', async () => {
    const { file, truth } = await simulate(dir, 'fdi-stealthy', ['--mus', '2', '--duration', '2s']);
    const noTemporal = (r: StreamRegistry) => [
      new MacStage(),
      new LogicStage(r),
      new PhasorStage(r, [new BadDataStage(r, { temporal: { threshold: Infinity } })]),
    ];
    const vs = badData(runPipeline(file, truth, noTemporal).verdicts);
    const first = truth.malicious[0]!.frame;
    const last = truth.malicious[truth.malicious.length - 1]!.frame;
    assert.ok(vs.length >= 2 * 19);
    for (const v of vs) {
      assert.equal(v.reason, 'not-identifiable');
      assert.ok(v.frame >= first && Number(v.detail?.['firstFrame']) <= last, `frame ${v.frame}`);
    }
    assert.equal(vs.filter((v) => v.stream === 'MU1').length, vs.filter((v) => v.stream === 'MU2').length);
  });

  it('value-modification (QUT 921a analogue: fault masked with pre-fault values, IN/VN left): found on MU1', async () => {
    const { file, truth } = await simulate(dir, 'value-modification', ['--mus', '2', '--duration', '2s']);
    const vs = badData(runPipeline(file, truth, stages).verdicts);
    assertWithinAttack(truth, vs, ['kcl-violation', 'stealthy-fdi', 'not-identifiable']);
    assert.ok(vs.some((v) => v.reason === 'kcl-violation'));
  });

  it('trip-without-fault (MU1 currents × 8): badData/stealthy-fdi on MU1 only (a label `also`)', async () => {
    const { file, truth } = await simulate(dir, 'trip-without-fault', ['--mus', '2', '--duration', '2s']);
    const vs = badData(runPipeline(file, truth, stages).verdicts);
    assertWithinAttack(truth, vs, ['stealthy-fdi']);
    assert.deepEqual(evaluate(truth, vs, ['badData']).falseAlarms, []);
  });

  it('normal traffic, 2 bays × 2 MUs with load steps: no badData verdict', async () => {
    const { file, truth } = await simulate(dir, 'normal', ['--mus', '4', '--duration', '3s']);
    assert.deepEqual(badData(runPipeline(file, truth, stages).verdicts), []);
  });

  it('real faults (AG, BC, ABC with DC offset): no badData verdict', async () => {
    const { file, truth } = await simulate(dir, 'real-fault', ['--mus', '2', '--duration', '3s']);
    const { verdicts } = runPipeline(file, truth, stages);
    assert.ok(
      verdicts.some((v) => v.indicator === 'trip'),
      'the faults are in the data',
    );
    assert.deepEqual(badData(verdicts), []);
  });

  it('smpcnt-anomalies (+37 counter jump on MU1, kept): MU1 phasors shifted against MU2 → MU1 named (attributed by its restart), MU2 never', async () => {
    const { file, truth } = await simulate(dir, 'smpcnt-anomalies', ['--mus', '2', '--duration', '2s']);
    const jump = truth.malicious.find((m) => m.reason === 'smpcnt-jump')!.frame;
    const vs = badData(runPipeline(file, truth, stages).verdicts);
    assert.ok(vs.length > 0);
    for (const v of vs) {
      assert.deepEqual([v.stream, v.reason, v.detail?.['attributedBy']], ['MU1', 'stealthy-fdi', 'restart'], `frame ${v.frame}`);
      assert.ok(v.frame > jump, `frame ${v.frame} before the jump at ${jump}`);
    }
  });

  it('streams without a bay (each alone: IN vs IA+IB+IC, VN vs VA+VB+VC only): fdi-kcl still on MU1, real faults quiet, a = Hc unseen', async () => {
    const alone = (t: GroundTruth): GroundTruth => ({
      ...t,
      config: { ...t.config, streams: t.config.streams.map((x) => ({ ...x, bay: x.name })) },
    });
    const kcl = await simulate(dir, 'fdi-kcl', ['--mus', '2', '--duration', '2s']);
    const vs = badData(runPipeline(kcl.file, alone(kcl.truth), stages).verdicts);
    assertWithinAttack(kcl.truth, vs, ['kcl-violation']);
    for (const v of vs) assert.equal(v.detail?.['dof'], 4); // 2 × (8 rows − 6 states)
    const fault = await simulate(dir, 'real-fault', ['--mus', '2', '--duration', '3s']);
    assert.deepEqual(badData(runPipeline(fault.file, alone(fault.truth), stages).verdicts), []);
    const st = await simulate(dir, 'fdi-stealthy', ['--mus', '2', '--duration', '2s']);
    assert.deepEqual(badData(runPipeline(st.file, alone(st.truth), stages).verdicts), []);
  });

  it('a stream that stops: the estimate goes on without it, no verdict', async () => {
    // deletion drops a run of MU1 frames: MU1 is absent from those cycles and restarts its window after
    const { file, truth } = await simulate(dir, 'deletion', ['--mus', '2', '--duration', '2s']);
    assert.ok(truth.deleted.length > 0);
    assert.deepEqual(badData(runPipeline(file, truth, stages).verdicts), []);
  });
});
