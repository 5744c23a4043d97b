// The live detection wrapper runs every stage: a replayed fault raises attackMatch, the local estimates
// fill per window, and a master station's estimate is judged (match / forgery with its alarm id).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DetectionEngine } from '../../src/detect/engine.ts';
import { readCaptureFile } from '../../src/native/index.ts';
import type { Alarm } from '../../src/model/indicators.ts';
import { expectedStreams, simulate } from './helpers.ts';

describe('live detection with every stage', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-live-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('fault replay → attackMatch; estimates per window; master estimates judged', async () => {
    const { file, truth } = await simulate(dir, 'fault-replay', ['--mus', '2', '--duration', '3s']);
    const alarms: Alarm[] = [];
    const ended: Alarm[] = [];
    const live = new DetectionEngine(expectedStreams(truth), { onAlarm: (a) => alarms.push(a), onAlarmEnd: (a) => ended.push(a) });
    let cycles = 0;
    live.onEstimate(() => cycles++);
    for (const b of readCaptureFile(file)) live.onBatch(b);
    assert.ok(alarms.some((a) => a.indicator === 'attackMatch' && a.reason === 'fault-replay' && a.stream === 'MU1'));
    assert.ok(
      alarms.some((a) => a.indicator === 'faultMatch' && a.reason === 'phase-ground'),
      'the genuine fault',
    );
    assert.ok(cycles > 100, `${cycles} cycle estimates`);
    const list = live.localEstimates();
    assert.ok(list.length >= 1);
    const w = list[0]!;
    const echo = {
      bus: w.bus,
      windowStartNs: w.windowStartNs,
      windowEndNs: w.windowEndNs,
      values: w.values.map((v) => ({ name: v.name, re: v.re, im: v.im })),
    };
    assert.deepEqual(live.submitMasterEstimate(echo), { outcome: 'match', reason: 'within-tolerance', localId: w.id, alarmId: null });
    const forged = live.submitMasterEstimate({ ...echo, windowStartNs: '5' });
    assert.equal(forged.outcome, 'forgery');
    assert.equal(typeof forged.alarmId, 'number');
    assert.equal(alarms.at(-1)!.id, forged.alarmId);
    assert.equal(live.report().indicators['upstreamForgery']!.count, 1);
    assert.equal(live.streamOf([...readCaptureFile(file)][0]!, 0).startsWith('MU'), true);
    assert.equal(live.signatureCoverage('MU1'), null, 'unsigned');
  });
});
