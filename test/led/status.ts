// Device statuses for the LED tests.
import { GRADE, INDICATORS, type IndicatorId } from '../../src/model/indicators.ts';
import type { IndicatorView } from '../../src/model/device.ts';
import type { LedStatus } from '../../src/led/pattern.ts';

export function ledStatus(
  opts: {
    latched?: IndicatorId[];
    active?: IndicatorId[];
    degraded?: Partial<LedStatus['degraded']>;
  } = {},
): LedStatus {
  const indicators = {} as Record<IndicatorId, IndicatorView>;
  for (const id of INDICATORS) {
    const latched = opts.latched?.includes(id) ?? false;
    const active = opts.active?.includes(id) ?? false;
    indicators[id] = { id, grade: GRADE[id], active, latched, count: latched || active ? 1 : 0, lastAlarmId: null };
  }
  const nu = Object.values(indicators).some((i) => i.active || i.latched) ? 1 : 0;
  return { nu, indicators, degraded: { capture: false, chip: false, storage: false, led: false, ...opts.degraded } };
}
