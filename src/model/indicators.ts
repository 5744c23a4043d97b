// Vocabulary of the detection engine: the nine indicators of SPEC §2 with their grades, the per-frame
// verdicts stages produce, and the alarms operators see.

export const INDICATORS = [
  'signature',
  'mac',
  'logic',
  'rate',
  'badData',
  'faultMatch',
  'attackMatch',
  'upstreamForgery',
  'upstreamTamper',
] as const;
export type IndicatorId = (typeof INDICATORS)[number];

/** 1 packet, 2 specification, 3 history, 4 upstream. */
export type Grade = 1 | 2 | 3 | 4;

export const GRADE: Readonly<Record<IndicatorId, Grade>> = Object.freeze({
  signature: 1,
  mac: 1,
  logic: 2,
  rate: 2,
  badData: 2,
  faultMatch: 3,
  attackMatch: 3,
  upstreamForgery: 4,
  upstreamTamper: 4,
});

/** Trip-inducing data is an alarm category of its own, not a tenth indicator (SPEC §2). */
export type AlarmCategory = IndicatorId | 'trip';

/** What a stage concluded about one frame. */
export interface FrameVerdict {
  /** 1-based frame number (file) or running counter (live). */
  frame: number;
  tsNs: bigint;
  indicator: AlarmCategory;
  reason: string;
  /** Stream the frame claims to belong to (its configured name, or `appId/svID` when unknown). */
  stream: string;
  /** Frames with this verdict are withheld from later stages (SPEC §2 step 4: discard after a MAC alarm). */
  discard: boolean;
  detail?: Readonly<Record<string, number | string | boolean>>;
}

/** An alarm: the first verdict of an episode (same category, stream and reason) and how many followed. */
export interface Alarm {
  id: number;
  indicator: AlarmCategory;
  grade: Grade;
  stream: string;
  reason: string;
  firstFrame: number;
  firstTsNs: bigint;
  lastFrame: number;
  lastTsNs: bigint;
  frames: number;
  detail?: Readonly<Record<string, number | string | boolean>>;
}

export function gradeOf(c: AlarmCategory): Grade {
  return c === 'trip' ? 2 : GRADE[c];
}
