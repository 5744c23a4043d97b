// What the front-panel LEDs and the alarm relay show, as pure functions of the device status (tested
// without hardware). The driver (driver.ts) only plays the frames computed here.
import type { LedPattern, StatusView } from '../model/device.ts';
import type { RelayMode } from '../config/board.ts';

export type LedStatus = Pick<StatusView, 'nu' | 'indicators' | 'degraded'>;

/** A fault that makes the device's own verdicts doubtful; the LED cannot show its own failure. */
export function isDegraded(s: LedStatus): boolean {
  return s.degraded.capture || s.degraded.chip || s.degraded.storage;
}

/**
 * The LED pattern for a status. Precedence, most urgent first:
 * red steady — an alarm waits for acknowledgement (a new attack must show even on a degraded device);
 * degraded   — chip, capture or storage fault (red/green alternating);
 * red blink  — acknowledged, but an episode is still running (νn stays 1);
 * heartbeat  — running, nothing raised.
 */
export function ledPatternOf(s: LedStatus): LedPattern {
  const ind = Object.values(s.indicators);
  const latched = ind.some((i) => i.latched);
  const active = ind.some((i) => i.active);
  if (latched) return 'red-steady';
  if (isDegraded(s)) return 'degraded';
  if (active) return 'red-blink';
  // νn = 1 with nothing latched or active should not happen; if it does, err on the side of the alarm.
  if (s.nu === 1) return 'red-steady';
  return 'heartbeat';
}

/** Whether the alarm relay is closed (energised) for a status. */
export function relayClosedOf(s: LedStatus, mode: RelayMode = 'nu'): boolean {
  switch (mode) {
    case 'nu':
      return s.nu === 1;
    case 'unacknowledged':
      return Object.values(s.indicators).some((i) => i.latched);
    case 'nu-or-degraded':
      return s.nu === 1 || isDegraded(s);
  }
}

/** One step of a pattern: both LEDs' logical state (true = lit) for `ms` milliseconds. */
export interface LedFrame {
  ms: number;
  green: boolean;
  red: boolean;
}

export interface FrameOptions {
  /** Length of one pattern period (default 1000 ms); every pattern repeats with it. */
  periodMs?: number;
  /** Green heartbeat continues under the red patterns (separate LEDs). */
  heartbeatDuringAlarm?: boolean;
}

type Track = Array<[fromFraction: number, on: boolean]>;

// Per-LED tracks over one period (fractions of it). The heartbeat is a double pulse so it is not mistaken
// for the alarm blink; the alarm blink is a plain 50 % square wave; degraded alternates the two colours.
const HEARTBEAT: Track = [
  [0, true],
  [0.12, false],
  [0.24, true],
  [0.36, false],
];
const OFF: Track = [[0, false]];
const ON: Track = [[0, true]];
const BLINK: Track = [
  [0, true],
  [0.5, false],
];
const BLINK_INVERTED: Track = [
  [0, false],
  [0.5, true],
];

function tracks(p: LedPattern, hb: boolean): { green: Track; red: Track } {
  switch (p) {
    case 'heartbeat':
      return { green: HEARTBEAT, red: OFF };
    case 'red-steady':
      return { green: hb ? HEARTBEAT : OFF, red: ON };
    case 'red-blink':
      return { green: hb ? HEARTBEAT : OFF, red: BLINK };
    case 'degraded':
      return { green: BLINK, red: BLINK_INVERTED };
    case 'off':
      return { green: OFF, red: OFF };
  }
}

function at(t: Track, f: number): boolean {
  let v = t[0]![1];
  for (const [from, on] of t) if (from <= f) v = on;
  return v;
}

/** The frames of one period of a pattern (consecutive frames always differ; a constant pattern is one frame). */
export function framesOf(p: LedPattern, opts: FrameOptions = {}): LedFrame[] {
  const period = opts.periodMs ?? 1000;
  const { green, red } = tracks(p, opts.heartbeatDuringAlarm ?? true);
  const cuts = [...new Set([...green, ...red].map(([f]) => f))].sort((a, b) => a - b);
  const frames: LedFrame[] = [];
  cuts.forEach((f, i) => {
    const end = cuts[i + 1] ?? 1;
    const g = at(green, f);
    const r = at(red, f);
    const ms = Math.round((end - f) * period);
    const last = frames[frames.length - 1];
    if (last !== undefined && last.green === g && last.red === r) last.ms += ms;
    else frames.push({ ms, green: g, red: r });
  });
  // The period wraps: a last frame equal to the first is one frame.
  if (frames.length > 1) {
    const first = frames[0]!;
    const last = frames[frames.length - 1]!;
    if (first.green === last.green && first.red === last.red) {
      frames.pop();
      first.ms += last.ms;
    }
  }
  return frames;
}
