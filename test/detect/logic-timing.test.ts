// γlj arrival timing: frames of a stream sent faster than its rate (with a valid counter), held back, or
// released in bursts are flagged; normal capture jitter, load steps and real faults are not.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCaptureFile } from '../../src/native/index.ts';
import { LogicStage } from '../../src/detect/stages/logic.ts';
import { MacStage } from '../../src/detect/stages/mac.ts';
import type { StreamRegistry } from '../../src/detect/streams.ts';
import { CaptureWriter } from '../../src/sv/pcap-writer.ts';
import { Rng } from '../../tools/sim/rng.ts';
import { evaluate, runPipeline, simulate } from './helpers.ts';

const TIMING = new Set(['arrival-early', 'arrival-late', 'jitter-burst']);
const stages = (r: StreamRegistry) => [new MacStage(), new LogicStage(r)];

/** Rewrites a capture with every timestamp moved by a uniform random offset in ±jitterNs (file order kept). */
function jitter(src: string, dst: string, jitterNs: number, seed: number): void {
  const rng = new Rng(seed);
  const w = new CaptureWriter(dst, { format: 'pcap' });
  for (const b of readCaptureFile(src)) {
    for (let i = 0; i < b.count; i++) {
      const ts = b.tsNs(i) + BigInt(Math.round((rng.next() * 2 - 1) * jitterNs));
      w.write(b.cols.raw, b.cols.rawOff[i]!, b.cols.capLen[i]!, Number(ts / 1_000_000_000n), Number(ts % 1_000_000_000n));
    }
  }
  w.close();
}

describe('logic stage: arrival timing', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-timing-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('faster than the rate, held back, released in a burst: flagged on the attacked frames only', async () => {
    const { file, truth } = await simulate(dir, 'timing-anomalies', ['--mus', '2', '--duration', '3s']);
    const { verdicts } = runPipeline(file, truth, stages);
    const e = evaluate(truth, verdicts, ['logic']);
    assert.deepEqual(e.falseAlarms.slice(0, 10), [], `${e.falseAlarms.length} verdicts on frames the attack did not touch`);
    const by = (r: string) => verdicts.filter((v) => v.reason === r);
    assert.ok(
      verdicts.every((v) => TIMING.has(v.reason) && v.stream === 'MU1'),
      'only timing verdicts, only on MU1',
    );
    const first = truth.malicious[0]!.frame;
    assert.ok(by('arrival-early').length > 100);
    // twice the rate: 2 ms ahead after 16 frames of MU1 (interleaved with MU2: ≤ 40 frame numbers)
    assert.ok(
      by('arrival-early')[0]!.frame - first <= 40,
      `first arrival-early ${by('arrival-early')[0]!.frame - first} frames after the attack began`,
    );
    assert.ok(by('arrival-late').length > 100);
    assert.ok(by('jitter-burst').length >= 1 && by('jitter-burst').length <= 4, 'jitter-burst once per episode');
  });

  it('capture timestamps jittered by ±0.5 ms (and ±1 ms at 4800 Hz × 2 ASDUs), load steps, real faults: nothing', async () => {
    for (const [scenario, args, j] of [
      ['normal', ['--mus', '4', '--duration', '3s'], 500_000],
      ['real-fault', ['--mus', '2', '--duration', '3s'], 500_000],
      ['normal', ['--mus', '2', '--duration', '2s', '--rate', '4800', '--asdus', '2', '--freq', '60'], 1_000_000],
    ] as const) {
      const { file, truth } = await simulate(dir, scenario, [...args]);
      const jittered = path.join(dir, `${scenario}-jitter.pcap`);
      jitter(file, jittered, j, 7);
      const { verdicts } = runPipeline(jittered, truth, stages);
      assert.deepEqual(verdicts.map((v) => `${v.frame} ${v.reason}`).slice(0, 10), [], `${scenario} ${args.join(' ')}`);
    }
  });

  it('timing off: no timing verdicts on the attack', async () => {
    const { file, truth } = await simulate(dir, 'timing-anomalies', ['--mus', '2', '--duration', '3s']);
    const { verdicts } = runPipeline(file, truth, (r) => [new MacStage(), new LogicStage(r, { timing: false })]);
    assert.deepEqual(
      verdicts.filter((v) => TIMING.has(v.reason)),
      [],
    );
  });
});
