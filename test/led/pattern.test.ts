// The LED pattern and the alarm relay as pure functions of the device status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { framesOf, ledPatternOf, relayClosedOf } from '../../src/led/pattern.ts';
import type { LedPattern } from '../../src/model/device.ts';
import { ledStatus } from './status.ts';

test('heartbeat while running with nothing raised', () => {
  assert.equal(ledPatternOf(ledStatus()), 'heartbeat');
  // An LED fault alone is not shown on the LED (it could not show it) and is not a device fault.
  assert.equal(ledPatternOf(ledStatus({ degraded: { led: true } })), 'heartbeat');
});

test('red steady while an alarm waits for acknowledgement, active or ended', () => {
  assert.equal(ledPatternOf(ledStatus({ latched: ['mac'], active: ['mac'] })), 'red-steady');
  assert.equal(ledPatternOf(ledStatus({ latched: ['upstreamTamper'] })), 'red-steady');
  // A new attack shows even on a degraded device.
  assert.equal(ledPatternOf(ledStatus({ latched: ['rate'], degraded: { chip: true } })), 'red-steady');
});

test('red blinking when acknowledged but still active', () => {
  assert.equal(ledPatternOf(ledStatus({ active: ['logic'] })), 'red-blink');
  assert.equal(ledPatternOf(ledStatus({ active: ['logic', 'rate'] })), 'red-blink');
});

test('alternating on a chip, capture or storage fault', () => {
  for (const k of ['chip', 'capture', 'storage'] as const) {
    assert.equal(ledPatternOf(ledStatus({ degraded: { [k]: true } })), 'degraded', k);
  }
  // Degraded outranks an acknowledged, still active alarm (the operator knows that one already).
  assert.equal(ledPatternOf(ledStatus({ active: ['mac'], degraded: { storage: true } })), 'degraded');
});

test('νn = 1 with nothing latched or active errs on the side of the alarm', () => {
  assert.equal(ledPatternOf({ ...ledStatus(), nu: 1 }), 'red-steady');
});

test('the relay follows νn by default, or the latch, or νn and device faults', () => {
  const quiet = ledStatus();
  const acked = ledStatus({ active: ['mac'] });
  const latched = ledStatus({ latched: ['mac'] });
  const faulty = ledStatus({ degraded: { capture: true } });
  assert.deepEqual(
    [quiet, acked, latched, faulty].map((s) => relayClosedOf(s)),
    [false, true, true, false],
  );
  assert.deepEqual(
    [quiet, acked, latched, faulty].map((s) => relayClosedOf(s, 'unacknowledged')),
    [false, false, true, false],
  );
  assert.deepEqual(
    [quiet, acked, latched, faulty].map((s) => relayClosedOf(s, 'nu-or-degraded')),
    [false, true, true, true],
  );
});

test('frames: every pattern fills its period, consecutive frames differ', () => {
  const all: LedPattern[] = ['heartbeat', 'red-steady', 'red-blink', 'degraded', 'off'];
  for (const p of all) {
    for (const hb of [true, false]) {
      const f = framesOf(p, { periodMs: 1000, heartbeatDuringAlarm: hb });
      assert.equal(
        f.reduce((a, x) => a + x.ms, 0),
        1000,
        p,
      );
      for (let i = 1; i < f.length; i++)
        assert.ok(f[i]!.green !== f[i - 1]!.green || f[i]!.red !== f[i - 1]!.red, `${p}: frame ${i} repeats`);
    }
  }
  assert.deepEqual(framesOf('off'), [{ ms: 1000, green: false, red: false }]);
  assert.deepEqual(framesOf('red-steady', { heartbeatDuringAlarm: false }), [{ ms: 1000, green: false, red: true }]);
  // Heartbeat: a double green pulse, red dark.
  const hb = framesOf('heartbeat');
  assert.deepEqual(
    hb.map((x) => x.green),
    [true, false, true, false],
  );
  assert.ok(hb.every((x) => !x.red));
  // Red blink: on/off halves; degraded: the colours in antiphase.
  assert.deepEqual(
    framesOf('red-blink', { heartbeatDuringAlarm: false }).map((x) => [x.red, x.ms]),
    [
      [true, 500],
      [false, 500],
    ],
  );
  assert.ok(framesOf('degraded').every((x) => x.green !== x.red));
  // With the heartbeat kept under the alarm, red stays on through every frame of red-steady.
  const steady = framesOf('red-steady', { heartbeatDuringAlarm: true });
  assert.ok(steady.length > 1 && steady.every((x) => x.red));
});
