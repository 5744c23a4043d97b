// What crosses between the main thread and the real-time thread. Everything is structured-cloneable
// (bigint and typed arrays included); nothing here is a function or a class instance.
//
// Lanes, worker → main, one MessagePort, each message a batch of items:
//   alarms    raise / update / end of alarm episodes — reserved: never dropped, never waits for credit;
//   evidence  frames around alarms, stream descriptions, library additions — bounded by credit: while the
//             main thread has not consumed `evidenceCreditBytes`, new evidence is dropped and counted;
//   tick      once a second: monitor report, coverage, estimates, waveforms, latency histograms, counters.
// main → worker: requests with an id (master estimate, report, close), credit returns, fed batches, the key
// table, and the answers to signature verifications. Verification itself (the chip's serial port, the
// software worker) stays on the main thread: the serial binding polls on the process's default loop and
// cannot run on a worker. Its answers are asynchronous anyway; their lag is measured apart.
import type { Alarm } from '../model/indicators.ts';
import type { ExpectedStream } from '../model/streams.ts';
import type { SignedStream } from '../model/signature.ts';
import type { EstimateView, MasterEstimateInput, UpstreamResult } from '../model/estimates.ts';
import type { LibraryEntryInit } from './library.ts';
import type { EvidenceStreamInfo } from '../model/records.ts';
import type { WaveformView } from '../model/device.ts';
import type { MonitorReport } from '../capture/stream-monitor.ts';
import type { LogicOptions } from '../detect/stages/logic.ts';
import type { RateOptions } from '../detect/stages/rate.ts';
import type { KeyTableEntry } from '../crypto/verification.ts';
import type { LiveCaptureStats } from '../native/index.ts';

/** Board-profile knobs of the real-time thread (docs/performance.md says what each buys). */
export interface RealtimeKnobs {
  /** CPUs the real-time thread (and the capture thread it starts) may run on. */
  cpus?: number[];
  /** SCHED_FIFO priority (1–99) of the real-time thread; needs CAP_SYS_NICE. */
  fifoPriority?: number;
  /** mlockall: asked for, but refused (V8 aborts when it releases locked heap pages); reported as such. */
  mlockall?: boolean;
  /** libpcap buffer (the PACKET_MMAP ring), bytes. */
  ringBytes?: number;
  /** Batch flush interval of the capture thread, µs (immediate mode: this is the block timeout). */
  flushMicros?: number;
  /** V8 heap limits of the real-time thread's isolate, MiB. */
  heap?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number };
}

/** How each knob came out: applied, or skipped and why. */
export interface KnobReport {
  name: string;
  requested: string;
  applied: boolean;
  detail: string | null;
}

export type RealtimeSource =
  | { kind: 'live'; iface: string; netns?: string }
  /** The main thread feeds batch buffers (in-process demo replay): no capture on this thread. */
  | { kind: 'feed' };

export interface RealtimeInit {
  streams: ExpectedStream[];
  signed: SignedStream[];
  logic?: LogicOptions;
  rate?: RateOptions;
  source: RealtimeSource;
  /** The keys that verify (knows() is answered here; verify() asks the main thread). */
  keys: KeyTableEntry[];
  library: LibraryEntryInit[];
  knobs: RealtimeKnobs;
  /** Bytes of evidence in flight before new evidence is dropped (default 64 MiB). */
  evidenceCreditBytes?: number;
  /** Live capture: episodes whose stream fell silent end after their hold time in wall time. */
  expireByWallClock: boolean;
}

/** atNs: wall time on the real-time thread when the episode began, changed or ended (verdict time). */
export type AlarmItem = { k: 'raise' | 'update' | 'end'; a: Alarm; atNs: bigint };

export type EvidenceItem =
  | { k: 'chunk'; ref: number; stream: string; data: Uint8Array; frames: number; fromNs: bigint; toNs: bigint }
  /** alarm: detection's alarm id (the journal maps it to the store's). */
  | { k: 'link'; alarm: number; refs: number[]; complete: boolean }
  | { k: 'info'; stream: string; info: EvidenceStreamInfo }
  | { k: 'event'; kind: string; message: string; detail: Record<string, number | string | boolean> | null }
  | { k: 'library'; entry: LibraryEntryInit };

export interface LaneCounters {
  alarmsPosted: number;
  evidencePosted: number;
  /** Evidence items dropped because the main thread had not consumed the credit (a slow consumer). */
  evidenceDropped: number;
  evidenceBytesInFlight: number;
}

import type { GcView } from '../model/device.ts';

export interface TickReport {
  monitor: MonitorReport;
  capture: LiveCaptureStats | null;
  coverage: Record<string, number | null>;
  /** Local estimates closed since the previous tick. */
  estimates: EstimateView[];
  waveforms: WaveformView[];
  /** arrival (kernel timestamp) → verdict, µs, cumulative since start. */
  verdictLatency: { counts: Float64Array; max: number };
  /** arrival (kernel timestamp) → the batch reaches this thread's JS, µs: the capture's share of the above. */
  deliveryLatency: { counts: Float64Array; max: number };
  /** Longest time this thread spent building one tick report, µs (a report delays the frames behind it). */
  tickCostMaxUs: number;
  /** Block end (or signed frame) arrival → its signature verdict, µs, cumulative. */
  signatureLag: { counts: Float64Array; max: number };
  /** CPU time of the real-time thread, µs, and the frames it handled, since start. */
  cpuUs: number;
  frames: number;
  /** Verifications asked of the main thread and not answered yet. */
  verifyPending: number;
  lanes: LaneCounters;
  restarts: number;
  heapUsedBytes: number;
  gc: GcView;
}

export type WorkerMessage =
  | { t: 'ready'; knobs: KnobReport[]; tid: number; cpus: number[] }
  | { t: 'alarms'; items: AlarmItem[] }
  | { t: 'evidence'; items: EvidenceItem[]; bytes: number }
  | { t: 'tick'; r: TickReport }
  | { t: 'verify'; id: number; keyId: number; message: Uint8Array; signature: Uint8Array; stream: string | undefined }
  | { t: 'capture-error'; message: string }
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; error: { name: string; message: string } }
  | { t: 'fatal'; message: string };

export type Request =
  | { op: 'master'; input: MasterEstimateInput }
  /** The report now (benchmarks, and close-out figures), besides the one each second. */
  | { op: 'report' }
  | { op: 'close' };

export type RequestResult = { master: UpstreamResult; report: TickReport; close: null };

export type MainMessage =
  | { t: 'req'; id: number; req: Request }
  | { t: 'credit'; bytes: number }
  | { t: 'feed'; buffer: ArrayBuffer; live: boolean }
  | { t: 'keys'; keys: KeyTableEntry[] }
  /** Benchmarks: the latency histograms start afresh (a phase measured on its own). */
  | { t: 'reset-latency' }
  | { t: 'verified'; id: number; ok: boolean | null };
