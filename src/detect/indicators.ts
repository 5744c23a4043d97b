// The nine indicators: raised by alarms, latched until acknowledged, cumulative counters, and the anomaly
// index νn (SPEC §2: νn = 1 while any indicator is raised). "Active" means an episode is still running;
// "latched" means it was raised and not yet acknowledged. νn follows the latched state. At start the
// appliance restores latches and counts from the evidence store (restore()), so a restart forgets nothing.
import { GRADE, INDICATORS, type Alarm, type Grade, type IndicatorId } from '../model/indicators.ts';

export interface IndicatorState {
  active: boolean;
  latched: boolean;
  count: number;
  grade: Grade;
  lastAlarmId?: number;
}

/** What the store says of an indicator at start: its alarms kept and whether one waits for acknowledgement. */
export interface RestoredIndicator {
  count: number;
  latched: boolean;
}

export class IndicatorBoard {
  #state = new Map<IndicatorId, IndicatorState>();
  #activeEpisodes = new Map<IndicatorId, number>();
  /** Raises so far, and the raise number of each indicator's last raise (see mark()). */
  #raises = 0;
  #lastRaise = new Map<IndicatorId, number>();

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
    this.#lastRaise.set(alarm.indicator, ++this.#raises);
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
   * Before the start of an acknowledgement that completes later (committed asynchronously): pass it to
   * acknowledge() so an alarm raised in between keeps its latch.
   */
  mark(): number {
    return this.#raises;
  }

  /**
   * Acknowledge one indicator (or all): the latch drops, except of indicators raised after `upTo` (a
   * mark()). A still-active episode keeps νn at 1 (the LED blinks red: acknowledged but still active); a
   * new episode latches again. Returns the indicators whose latch dropped.
   */
  acknowledge(id?: IndicatorId, upTo = Number.POSITIVE_INFINITY): IndicatorId[] {
    const dropped: IndicatorId[] = [];
    for (const [k, s] of this.#state) {
      if ((id !== undefined && id !== k) || (this.#lastRaise.get(k) ?? 0) > upTo) continue;
      if (s.latched) dropped.push(k);
      s.latched = false;
    }
    return dropped;
  }

  /**
   * At start, before any raise: counts and latches as the store holds them (alarms of the previous run
   * are over, so nothing is active). Indicators not given stay as they are.
   */
  restore(from: Partial<Record<IndicatorId, RestoredIndicator>>): void {
    for (const [k, r] of Object.entries(from) as Array<[IndicatorId, RestoredIndicator | undefined]>) {
      const s = this.#state.get(k);
      if (s === undefined || r === undefined) continue;
      s.count = r.count;
      s.latched = r.latched;
    }
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
