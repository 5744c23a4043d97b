// The driver without GPIO lines (absent): it still follows the device's status events, so the panel and
// the API can report the pattern, and it never throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LedDriver } from '../../src/led/driver.ts';
import type { DeviceView, LiveEvent, StatusView } from '../../src/model/device.ts';
import { ledStatus } from './status.ts';

const noPins = {
  gpio: { ledGreen: null, ledRed: null, alarmRelay: null, activeLow: false, relayCloses: 'nu' as const, heartbeatDuringAlarm: true },
};

test('follows status events; unsubscribes; close is idempotent', async () => {
  const listeners = new Set<(e: LiveEvent) => void>();
  let current = ledStatus();
  const device: Pick<DeviceView, 'status' | 'subscribe'> = {
    status: () => current as StatusView,
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  const emit = (s: ReturnType<typeof ledStatus>): void => {
    current = s;
    for (const l of listeners) l({ type: 'status', data: s as StatusView });
  };
  const led = await LedDriver.open(noPins);
  assert.equal(led.health().state, 'absent');
  const stop = led.follow(device);
  assert.equal(led.pattern, 'heartbeat');
  emit(ledStatus({ latched: ['signature'], active: ['signature'] }));
  assert.equal(led.pattern, 'red-steady');
  emit(ledStatus({ active: ['signature'] }));
  assert.equal(led.pattern, 'red-blink');
  emit(ledStatus({ degraded: { capture: true } }));
  assert.equal(led.health().pattern, 'degraded');
  stop();
  assert.equal(listeners.size, 0);
  emit(ledStatus());
  assert.equal(led.pattern, 'degraded', 'no longer following');
  led.close();
  led.close();
  assert.equal(led.pattern, 'off');
  led.update(ledStatus({ latched: ['mac'] }));
  assert.equal(led.pattern, 'off', 'a closed driver ignores updates');
});
