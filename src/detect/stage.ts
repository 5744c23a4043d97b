// The contract between the pipeline and its stages. A stage looks at one decoded frame at a time through
// the batch columns (no per-frame allocation on the normal path) and reports suspicion through `flag`.
import type { BatchColumns, FrameBatch } from '../native/index.ts';
import type { StreamEntry } from './streams.ts';
import type { AlarmCategory } from '../model/indicators.ts';

/** One frame under inspection; the pipeline reuses a single instance. */
export interface FrameContext {
  batch: FrameBatch;
  cols: BatchColumns;
  /** Index of the frame in the batch. */
  i: number;
  frameNo: number;
  tsNs: bigint;
  /** Capture time in ns as a double: exact enough for windows and rates. */
  t: number;
  /** Source MAC as a 48-bit number. */
  srcKey: number;
  /** The configured stream the frame claims to belong to, if any. */
  stream: StreamEntry | undefined;
  /** False when the stream was matched by APPID alone (the frame's svID is not the configured one). */
  svIdMatched: boolean;
}

/** A verdict about an earlier frame, decided later (e.g. a reorder seen only when the late frame came). */
export interface FrameRef {
  frame: number;
  tsNs: bigint;
  stream: string;
}

export interface FlagOptions {
  discard?: boolean;
  detail?: Readonly<Record<string, number | string | boolean>>;
  /** The verdict is about this earlier frame, not the current one. */
  at?: FrameRef;
}

export type Flag = (indicator: AlarmCategory, reason: string, opts?: FlagOptions) => void;

export interface Stage {
  readonly name: string;
  /** Inspect one frame. Return false to withhold it from the following stages. */
  onFrame(ctx: FrameContext, flag: Flag): boolean;
  /**
   * A frame an earlier stage withheld (`by` names it). Stateful stages may account for it without judging
   * it — e.g. the logic stage lets the counter run on over genuine frames whose trailer was stripped.
   */
  onWithheld?(ctx: FrameContext, by: string): void;
  /** End of input: decide what is still pending (verdicts must carry `at`). */
  finish?(flag: Flag): void;
}
