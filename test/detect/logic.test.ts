// γlj on labelled simulator scenarios: every labelled logic frame gets its verdict (or an allowed
// alternative), and no frame gets a logic verdict its label does not allow — including normal traffic,
// load steps and real faults.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LogicStage } from '../../src/detect/stages/logic.ts';
import { MacStage } from '../../src/detect/stages/mac.ts';
import type { StreamRegistry } from '../../src/detect/streams.ts';
import { evaluate, runPipeline, simulate } from './helpers.ts';

const stages = (r: StreamRegistry) => [new MacStage(), new LogicStage(r)];

describe('logic stage on simulator scenarios', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-logic-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: Array<{ scenario: string; args?: string[]; minHits: number }> = [
    { scenario: 'normal', args: ['--mus', '4', '--duration', '5s'], minHits: 0 },
    { scenario: 'real-fault', args: ['--mus', '2', '--duration', '3s'], minHits: 0 },
    { scenario: 'smpcnt-anomalies', minHits: 10 },
    { scenario: 'deletion', minHits: 1 },
    { scenario: 'interleaved-injection', minHits: 100 },
    { scenario: 'replay', minHits: 100 },
    { scenario: 'config-mismatch', minHits: 100 },
    { scenario: 'simulate-bit', minHits: 100 },
    { scenario: 'spoofed-mac', minHits: 100 },
    {
      scenario: 'interleaved-injection',
      args: ['--mus', '2', '--duration', '2s', '--asdus', '2', '--rate', '4800', '--freq', '60'],
      minHits: 100,
    },
    { scenario: 'smpcnt-anomalies', args: ['--mus', '2', '--duration', '2s', '--samples-per-cycle', '256'], minHits: 10 },
  ];
  for (const c of cases) {
    const args = c.args ?? ['--mus', '2', '--duration', '2s'];
    it(`${c.scenario} ${args.join(' ')}`, async () => {
      const { file, truth } = await simulate(dir, c.scenario, args);
      const { verdicts } = runPipeline(file, truth, stages);
      const e = evaluate(truth, verdicts, ['logic']);
      assert.deepEqual(e.falseAlarms.slice(0, 10), [], `${e.falseAlarms.length} false logic verdicts`);
      assert.deepEqual(e.missed.slice(0, 10), [], `${e.missed.length} labelled frames missed`);
      assert.ok(e.hits >= c.minHits, `${e.hits} hits`);
    });
  }
});
