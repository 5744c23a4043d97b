// The evidence store's reading side as the API, the panel and `svde export` see it. Times are ns since the
// Unix epoch as decimal strings (JSON has no 64-bit integers); ids are the store's own, stable across restarts.
import type { AlarmCategory, Grade, IndicatorId } from '../detect/types.ts';

export interface AlarmRecord {
  id: number;
  indicator: AlarmCategory;
  grade: Grade;
  stream: string;
  reason: string;
  firstFrame: number;
  lastFrame: number;
  frames: number;
  firstTsNs: string;
  lastTsNs: string;
  /** The episode is over (quiet for the hold time). */
  ended: boolean;
  acknowledged: { by: string; atNs: string } | null;
  detail: Record<string, number | string | boolean> | null;
  /** Raw frames kept around the alarm; `complete` once the post-trigger part is written. */
  evidence: { frames: number; fromNs: string; toNs: string; complete: boolean } | null;
  exported: boolean;
}

export interface EventRecord {
  id: number;
  tsNs: string;
  /** e.g. start, stop, stream-appeared, stream-lost, capture-restart, capture-loss, chip-state, storage-state, config, acknowledge, retention. */
  kind: string;
  message: string;
  detail: Record<string, number | string | boolean> | null;
}

export interface AlarmQuery {
  indicator?: AlarmCategory;
  stream?: string;
  minGrade?: Grade;
  acknowledged?: boolean;
  ended?: boolean;
  sinceNs?: bigint;
  untilNs?: bigint;
  /** 1 … 500. */
  limit?: number;
  /** Opaque cursor from a previous page's `next`. Newest first. */
  cursor?: string;
}

export interface EventQuery {
  kind?: string;
  sinceNs?: bigint;
  untilNs?: bigint;
  limit?: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  next: string | null;
}

/** One raw frame of evidence as captured. */
export interface EvidenceFrame {
  tsNs: bigint;
  bytes: Uint8Array;
}

/** Per-indicator counters over time, one row per interval (statistics for the API and the panel). */
export interface CounterSample {
  tsNs: string;
  counts: Partial<Record<IndicatorId | 'trip', number>>;
  frames: number;
  lost: number;
}

export interface StoreHealth {
  state: 'ok' | 'degraded' | 'failed';
  path: string;
  sizeBytes: number;
  limitBytes: number;
  /** Rows waiting to be committed. */
  pending: number;
  lastCommitNs: string | null;
  lastError: string | null;
}

export interface StoreReader {
  listAlarms(q: AlarmQuery): Page<AlarmRecord>;
  getAlarm(id: number): AlarmRecord | undefined;
  listEvents(q: EventQuery): Page<EventRecord>;
  evidenceFrames(alarmId: number): EvidenceFrame[];
  counters(sinceNs: bigint, untilNs?: bigint): CounterSample[];
  health(): StoreHealth;
}
