// The nine indicators: raised by alarms, latched until acknowledged, cumulative counters, and the anomaly
// index νn (SPEC §2: νn = 1 while any indicator is raised). "Active" means an episode is still running;
// "latched" means it was raised and not yet acknowledged. νn follows the latched state.
import { GRADE, INDICATORS, type Alarm, type Grade, type IndicatorId } from './types.ts';

export interface IndicatorState {
  active: boolean;
  latched: boolean;
  count: number;
  grade: Grade;
  lastAlarmId?: number;
}

export class IndicatorBoard {
  #state = new Map<IndicatorId, IndicatorState>();
  #activeEpisodes = new Map<IndicatorId, number>();

  constructor() {
    for (const id of INDICATORS) this.#state.set(id, { active: false, latched: false, count: 0, grade: GRADE[id] });
  }

  /** An alarm episode began. Trip alarms are not indicators and are ignored here. */
  raise(alarm: Alarm): void {
    if (alarm.indicator === 'trip') return;
    const s = this.#state.get(alarm.indicator)!;
    s.count++;
    s.latched = true;
    s.active = true;
    s.lastAlarmId = alarm.id;
    this.#activeEpisodes.set(alarm.indicator, (this.#activeEpisodes.get(alarm.indicator) ?? 0) + 1);
  }

  /** An alarm episode ended (quiet for its hold time). */
  clear(alarm: Alarm): void {
    if (alarm.indicator === 'trip') return;
    const n = (this.#activeEpisodes.get(alarm.indicator) ?? 1) - 1;
    this.#activeEpisodes.set(alarm.indicator, n);
    if (n <= 0) this.#state.get(alarm.indicator)!.active = false;
  }

  /**
   * Acknowledge one indicator (or all): the latch drops. A still-active episode keeps νn at 1 (the LED
   * blinks red: acknowledged but still active); a new episode latches again.
   */
  acknowledge(id?: IndicatorId): void {
    for (const [k, s] of this.#state) if (id === undefined || id === k) s.latched = false;
  }

  /** νn: 1 while any indicator is latched or active, else 0. */
  get nu(): 0 | 1 {
    for (const s of this.#state.values()) if (s.latched || s.active) return 1;
    return 0;
  }

  snapshot(): Record<IndicatorId, IndicatorState> {
    const out = {} as Record<IndicatorId, IndicatorState>;
    for (const [k, s] of this.#state) out[k] = { ...s };
    return out;
  }
}
