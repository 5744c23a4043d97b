// Shared by the store tests: alarms shaped as the detection engine raises them.
import type { Alarm, AlarmCategory } from '../../src/model/indicators.ts';
import { gradeOf } from '../../src/model/indicators.ts';

export const T0 = 1_780_000_000_000_000_000n;

export function alarm(n: number, over: Partial<Alarm> = {}): Alarm {
  const indicator: AlarmCategory = over.indicator ?? 'logic';
  const ts = T0 + BigInt(n) * 1_000_000n;
  return {
    id: n,
    indicator,
    grade: gradeOf(indicator),
    stream: 'MU1',
    reason: 'smpcnt-jump',
    firstFrame: n * 10,
    firstTsNs: ts,
    lastFrame: n * 10,
    lastTsNs: ts,
    frames: 1,
    ...over,
  };
}
