// Indicators latch until acknowledged, count episodes, and drive νn (SPEC §2).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlarmManager } from '../../src/detect/alarms.ts';
import { IndicatorBoard } from '../../src/detect/indicators.ts';
import { INDICATORS, type FrameVerdict } from '../../src/model/indicators.ts';

const v = (frame: number, ms: number, indicator: FrameVerdict['indicator'] = 'logic', reason = 'gap'): FrameVerdict => ({
  frame,
  tsNs: BigInt(ms) * 1_000_000n,
  indicator,
  reason,
  stream: 'MU1',
  discard: false,
});

describe('indicator board and alarm episodes', () => {
  it('starts with all nine indicators quiet and νn = 0', () => {
    const b = new IndicatorBoard();
    assert.equal(b.nu, 0);
    const s = b.snapshot();
    assert.deepEqual(Object.keys(s).sort(), [...INDICATORS].sort());
    assert.deepEqual(
      [
        s.signature.grade,
        s.mac.grade,
        s.logic.grade,
        s.rate.grade,
        s.badData.grade,
        s.faultMatch.grade,
        s.attackMatch.grade,
        s.upstreamForgery.grade,
        s.upstreamTamper.grade,
      ],
      [1, 1, 2, 2, 2, 3, 3, 4, 4],
    );
  });

  it('verdicts within the hold time form one alarm; a pause starts a new episode', () => {
    const b = new IndicatorBoard();
    const raised: number[] = [];
    const ended: number[] = [];
    const m = new AlarmManager(b, { onAlarm: (a) => raised.push(a.id), onAlarmEnd: (a) => ended.push(a.id) }, 1000);
    m.onVerdict(v(1, 0));
    m.onVerdict(v(2, 500));
    m.onVerdict(v(3, 1400));
    assert.deepEqual(raised, [1]);
    m.expire(2_000_000_000n); // 600 ms after the last verdict: still open
    assert.deepEqual(ended, []);
    m.expire(2_500_000_000n);
    assert.deepEqual(ended, [1]);
    m.onVerdict(v(4, 3000));
    assert.deepEqual(raised, [1, 2]);
    assert.equal(b.snapshot().logic.count, 2);
    // A different reason or indicator is a different alarm, even at the same time.
    m.onVerdict(v(5, 3001, 'logic', 'smpcnt-duplicate'));
    m.onVerdict(v(6, 3001, 'rate', 'flood'));
    assert.deepEqual(raised, [1, 2, 3, 4]);
  });

  it('latches until acknowledged; acknowledged but still active keeps νn = 1; trip is no indicator', () => {
    const b = new IndicatorBoard();
    const m = new AlarmManager(b, {}, 1000);
    m.onVerdict(v(1, 0, 'trip', 'overcurrent'));
    assert.equal(b.nu, 0, 'trip alarms do not raise νn by themselves');
    m.onVerdict(v(2, 0, 'mac', 'unknown-source'));
    assert.equal(b.nu, 1);
    assert.deepEqual(
      { ...b.snapshot().mac, lastAlarmId: undefined },
      { active: true, latched: true, count: 1, grade: 1, lastAlarmId: undefined },
    );
    b.acknowledge('mac');
    assert.equal(b.snapshot().mac.latched, false);
    assert.equal(b.snapshot().mac.active, true);
    assert.equal(b.nu, 1, 'still active');
    m.expire(5_000_000_000n);
    assert.equal(b.snapshot().mac.active, false);
    assert.equal(b.nu, 0, 'acknowledged and over');
    m.onVerdict(v(3, 6000, 'mac', 'unknown-source'));
    assert.equal(b.snapshot().mac.latched, true, 'a new episode latches again');
    m.flush();
    assert.equal(b.nu, 1, 'ended but not acknowledged: still latched');
    b.acknowledge();
    assert.equal(b.nu, 0);
  });
});
