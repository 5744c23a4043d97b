// Turns per-frame verdicts into alarms: one alarm per episode of the same category, stream and reason;
// an episode ends after `holdNs` without a new verdict. Episodes drive the indicator board (raise/clear).
import type { IndicatorBoard } from './indicators.ts';
import { gradeOf, type Alarm, type FrameVerdict } from '../model/indicators.ts';

export interface AlarmListener {
  onAlarm?(alarm: Alarm): void;
  onAlarmEnd?(alarm: Alarm): void;
}

const MAX_OPEN = 4096; // bounded: a storm of distinct streams cannot grow the open-episode table forever

export class AlarmManager {
  #open = new Map<string, Alarm>();
  #nextId = 1;
  readonly #holdNs: bigint;
  #board: IndicatorBoard;
  #listener: AlarmListener;

  constructor(board: IndicatorBoard, listener: AlarmListener = {}, holdMs = 1000) {
    this.#board = board;
    this.#listener = listener;
    this.#holdNs = BigInt(Math.round(holdMs * 1e6));
  }

  onVerdict(v: FrameVerdict): void {
    const key = `${v.indicator}\u0000${v.stream}\u0000${v.reason}`;
    const a = this.#open.get(key);
    if (a !== undefined && v.tsNs - a.lastTsNs <= this.#holdNs) {
      a.lastFrame = v.frame;
      a.lastTsNs = v.tsNs;
      a.frames++;
      return;
    }
    if (a !== undefined) this.#end(key, a);
    if (this.#open.size >= MAX_OPEN) this.expire(v.tsNs);
    const alarm: Alarm = {
      id: this.#nextId++,
      indicator: v.indicator,
      grade: gradeOf(v.indicator),
      stream: v.stream,
      reason: v.reason,
      firstFrame: v.frame,
      firstTsNs: v.tsNs,
      lastFrame: v.frame,
      lastTsNs: v.tsNs,
      frames: 1,
    };
    if (v.detail !== undefined) alarm.detail = v.detail;
    this.#open.set(key, alarm);
    this.#board.raise(alarm);
    this.#listener.onAlarm?.(alarm);
  }

  /** Ends the episodes that have been quiet for the hold time at capture time `nowNs`. */
  expire(nowNs: bigint): void {
    for (const [key, a] of this.#open) if (nowNs - a.lastTsNs > this.#holdNs) this.#end(key, a);
  }

  /** Ends every open episode (end of a capture file, shutdown). */
  flush(): void {
    for (const [key, a] of this.#open) this.#end(key, a);
  }

  #end(key: string, a: Alarm): void {
    this.#open.delete(key);
    this.#board.clear(a);
    this.#listener.onAlarmEnd?.(a);
  }
}
