// What the running appliance shows to the outside (the API, the panel, the LED): a read model kept by the
// composition root, plus the few commands an operator or the master station may give. The API and the panel
// depend on this interface only, never on capture, detection or storage internals.
import type { MasterEstimateInput, SignedEstimates, UpstreamResult } from './estimates.ts';
import type { IndicatorId, Grade, AlarmCategory } from './indicators.ts';
import type { AlarmRecord, StoreReader } from './records.ts';
import type { RiskReport } from './risk.ts';

export type ComponentState = 'ok' | 'degraded' | 'failed' | 'absent';

/** LED patterns (SPEC §6 / issue 5): green heartbeat, red steady, red blinking, alternating. */
export type LedPattern = 'heartbeat' | 'red-steady' | 'red-blink' | 'degraded' | 'off';

export interface IndicatorView {
  id: IndicatorId;
  grade: Grade;
  /** An alarm episode is running. */
  active: boolean;
  /** Raised and not yet acknowledged. */
  latched: boolean;
  count: number;
  lastAlarmId: number | null;
}

/** A latency distribution in µs (log-bucket histogram: quantiles are within 1/32 below the true value). */
export interface LatencySummaryView {
  count: number;
  p50: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

/** The real-time thread: where it runs, how its knobs came out, and what it measures of itself. */
export interface RealtimeView {
  thread: { tid: number; cpus: number[] };
  knobs: Array<{ name: string; requested: string; applied: boolean; detail: string | null }>;
  /** Kernel timestamp of each frame → its verdict, every frame since start. */
  verdictLatencyUs: LatencySummaryView;
  /** Its first part: kernel timestamp → the capture thread reads the frame (the OS's share, not SVDE's). */
  kernelLagUs: LatencySummaryView;
  /** Signature requested (signed frame or block end) → verified. */
  signatureLagUs: LatencySummaryView;
  /** Alarm raised on the real-time thread → LED pattern set on this one. */
  verdictToLedUs: LatencySummaryView;
  frames: number;
  /** CPU of the real-time thread per frame since start, ns. */
  cpuNsPerFrame: number | null;
  /** Evidence the real-time thread dropped because this thread was slow (alarms are never dropped). */
  evidenceDropped: number;
  heapUsedBytes: number;
  /** Garbage collections of the real-time thread's heap since start: each pause holds the frames behind it. */
  gc: GcView;
  /** Per-stream state started afresh after the bus fell silent. */
  restarts: number;
}

export interface GcView {
  minor: number;
  major: number;
  /** Longest pause and the sum of all pauses, µs. */
  pauseMaxUs: number;
  pauseTotalUs: number;
}

export interface StatusView {
  nu: 0 | 1;
  led: LedPattern;
  /** Keyed by indicator id, all nine present (SPEC §4 fixes this shape of GET /api/v1/status). */
  indicators: Record<IndicatorId, IndicatorView>;
  degraded: { capture: boolean; chip: boolean; storage: boolean; led: boolean };
  mode: 'demo' | 'demo-in-process' | 'live';
  /** Demo only: the scripted scenario now playing. */
  scenario: string | null;
  startedNs: string;
  nowNs: string;
  version: string;
  /** Absent before the real-time thread reported (and in test doubles). */
  realtime?: RealtimeView | null;
}

export interface StreamView {
  name: string;
  appId: number;
  svId: string;
  configured: boolean;
  observed: boolean;
  srcMacs: string[];
  framesPerSecond: number;
  expectedFramesPerSecond: number | null;
  lastSmpCnt: number | null;
  confRev: number | null;
  signed: boolean;
  /** Share of the last second's frames whose signature was verified good (signed streams only). */
  signatureCoverage: number | null;
  bay: string | null;
  bus: string | null;
}

export interface HealthView {
  capture: {
    state: ComponentState;
    iface: string;
    received: number;
    kernelDrops: number;
    ifDrops: number;
    queueDrops: number;
    latencyP99Us: number | null;
    detail: string | null;
  };
  chip: {
    state: ComponentState;
    port: string | null;
    verifiedPerSecond: number;
    queueDepth: number;
    fallback: 'software' | 'none' | null;
    detail: string | null;
  };
  storage: { state: ComponentState; path: string | null; sizeBytes: number; limitBytes: number; pending: number; detail: string | null };
  led: { state: ComponentState; pattern: LedPattern; detail: string | null };
}

export interface PhasorView {
  channel: string;
  magnitude: number;
  angleDeg: number;
  unit: string;
}

/** The last cycles of one stream, scaled to engineering units, for the panel's live waveform. */
export interface WaveformView {
  stream: string;
  tsNs: string;
  samplesPerSecond: number;
  frequencyHz: number | null;
  channels: Array<{ name: string; unit: string; samples: number[] }>;
  phasors: PhasorView[];
}

export type AckTarget = { alarmId: number } | { indicator: IndicatorId } | { all: true };
export interface AckResult {
  alarmIds: number[];
  indicators: IndicatorId[];
}

export type LiveEvent =
  | { type: 'status'; data: StatusView }
  | { type: 'alarm'; data: AlarmRecord }
  | { type: 'alarm-update'; data: AlarmRecord }
  | { type: 'ack'; data: { alarmIds: number[]; indicators: IndicatorId[]; by: string } }
  | { type: 'waveform'; data: WaveformView }
  | { type: 'streams'; data: StreamView[] };

export interface DeviceView {
  readonly store: StoreReader;
  status(): StatusView;
  streams(): StreamView[];
  health(): HealthView;
  waveform(stream: string): WaveformView | undefined;
  /**
   * Acknowledge; what was acknowledged (empty when nothing matched), once persisted. The device answers
   * with a promise (the store commits on its writer thread); a test double may answer at once.
   */
  acknowledge(target: AckTarget, by: string): AckResult | Promise<AckResult>;
  /** Risk of every stream and of the appliance (SPEC §3), with MTTD/MTTR. */
  risk(): RiskReport;
  localEstimates(sinceNs?: bigint): Promise<SignedEstimates>;
  submitMasterEstimate(input: MasterEstimateInput): UpstreamResult | Promise<UpstreamResult>;
  /** Live events for SSE; returns the unsubscribe function. `waveform` events only for the chosen stream. */
  subscribe(listener: (e: LiveEvent) => void, opts?: { waveformStream?: string }): () => void;
}

export type { AlarmCategory };
