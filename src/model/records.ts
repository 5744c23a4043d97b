// The evidence store's reading side as the API, the panel and `svde export` see it. Times are ns since the
// Unix epoch as decimal strings (JSON has no 64-bit integers); ids are the store's own, stable across restarts.
import type { AlarmCategory, Grade, IndicatorId } from './indicators.ts';

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
  /** e.g. start, stop, stream-appeared, stream-lost, capture-restart, capture-loss, chip-state, storage-state, config, acknowledge, retention, restart-recovery. */
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

/** Counter samples per query: at most `max`, `default` when the caller gives no limit. */
export const COUNTERS_LIMIT = { default: 1000, max: 10_000 } as const;

export interface CounterPage {
  samples: CounterSample[];
  /** More samples matched than the limit. */
  truncated: boolean;
  /** When truncated: the `since` of the next page (the time of the first sample left out). */
  nextSinceNs: string | null;
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
  /** Why the state is not 'ok' (e.g. the size limit cannot be met because alarms are not exported). */
  reason?: string | null;
}

/** What the exporter needs to know of a stream to scale its samples (saved with the evidence). */
export interface EvidenceStreamInfo {
  svID?: string;
  appId?: number;
  /** Samples per second (smpCnt rate). */
  samplesPerSecond?: number;
  /** Nominal frequency of the bay, Hz. */
  nominalHz?: number;
  /** The dataset's channels in seqData order: physical = raw * scale + (offset ?? 0). */
  channels?: ReadonlyArray<{ name: string; kind: 'current' | 'voltage'; phase: 'A' | 'B' | 'C' | 'N'; scale: number; offset?: number }>;
  /** Substation / recording device names for COMTRADE (station_name, rec_dev_id). */
  station?: string;
  device?: string;
}

export interface StoreReader {
  listAlarms(q: AlarmQuery): Page<AlarmRecord>;
  getAlarm(id: number): AlarmRecord | undefined;
  listEvents(q: EventQuery): Page<EventRecord>;
  evidenceFrames(alarmId: number): EvidenceFrame[];
  /** Oldest first, at most `limit` (COUNTERS_LIMIT). */
  counters(sinceNs: bigint, untilNs?: bigint, limit?: number): CounterSample[];
  /** counters() with whether the limit cut the answer short. */
  counterPage?(sinceNs: bigint, untilNs?: bigint, limit?: number): CounterPage;
  health(): StoreHealth;
  /** The description saved for a stream's evidence (channels, rates), when known. */
  streamInfo?(stream: string): EvidenceStreamInfo | undefined;
}
