// Typed interface of the native addon: offline reading, live capture, paced sending, clocks. Importing this
// module loads nothing native: each function or class below loads the addon on first use (loadNative) and
// takes an optional binding instead, for tests.
import { loadNative } from './addon.ts';
import type { DecodeBenchResult, NativeBinding, NativeSm2Key, NativeLiveCapture, NativeSender, NativeSenderStats } from './addon.ts';
import { BatchView } from './batch.ts';
import type { FrameBatch } from './batch.ts';
import type { CaptureBinding, LiveCaptureStats } from './capture-binding.ts';

export { AsduFlag, BatchView, STATUS_NOT_SV, STATUS_TRUNCATED_ETHERNET, statusNames, WARNING_NAMES } from './batch.ts';
export type { BatchColumns, FrameBatch, TrailerInfo } from './batch.ts';
export { loadNative } from './addon.ts';
export type {
  DecodeBenchResult,
  NativeBinding,
  NativeSm2Key,
  NativeCaptureStats as CaptureStats,
  NativeSenderStats as SenderStats,
} from './addon.ts';
export type { CaptureBinding, LiveCaptureStats } from './capture-binding.ts';
export { readCaptureFile, type ReadOptions } from './offline.ts';
export { ReplayCapture, type ReplayOptions } from './replay.ts';

/**
 * An SM2 public key (65 bytes 04‖x‖y) for verification through the OpenSSL that Node links, with the signer
 * ID set explicitly. Throws when the point is not on sm2p256v1.
 */
export function nativeSm2Key(pub: Uint8Array, binding: Pick<NativeBinding, 'Sm2Key'> = loadNative()): NativeSm2Key {
  return new binding.Sm2Key(pub);
}

/** Decoder throughput in C++ alone: loads the capture into memory and decodes it `rounds` times. */
export function decodeBench(path: string, rounds = 5): DecodeBenchResult {
  return loadNative().decodeBench(path, rounds);
}

/** One sd_notify(3) datagram to `socketPath` ($NOTIFY_SOCKET); returns '' or the reason it failed. */
export function sdNotify(socketPath: string, state: string): string {
  return loadNative().sdNotify(socketPath, state);
}

/** CLOCK_REALTIME in ns (same clock as live capture timestamps). */
export function realtimeNs(): bigint {
  return loadNative().realtimeNs();
}
/** CLOCK_MONOTONIC in ns (the Sender's pacing clock). */
export function monotonicNs(): bigint {
  return loadNative().monotonicNs();
}
/** The BPF filter LiveCapture uses by default: SV with 0, 1 or 2 VLAN tags. */
/** Pins the calling thread (and the threads it creates later) to these CPUs; '' or the reason it could not. */
export function setThreadAffinity(cpus: number[]): string {
  return loadNative().rtKnob('affinity', cpus);
}

/** SCHED_FIFO at this priority for the calling thread (needs CAP_SYS_NICE); '' or the reason it could not. */
export function setThreadFifo(priority: number): string {
  return loadNative().rtKnob('fifo', priority);
}

/** The kernel's id of the calling thread and the CPUs it may run on. */
export function threadInfo(): { tid: number; cpus: number[] } {
  const n = loadNative();
  return { tid: n.rtKnob('tid'), cpus: n.rtKnob('cpus') };
}

export function defaultCaptureFilter(): string {
  return loadNative().defaultFilter;
}

export interface LiveCaptureOptions {
  /** Interface name. */
  iface: string;
  /** Network namespace (name under /run/netns, or a path) the interface lives in; default: ours. */
  netns?: string;
  /** Kernel ring size in bytes (default 32 MiB). */
  bufferBytes?: number;
  /** Bytes kept per frame (default 2048: small ring slots, whole SV frames). */
  snaplen?: number;
  /**
   * A non-empty batch is delivered at the latest this long after its first frame (default 200 µs);
   * 0: whenever the kernel ring has been read empty (lowest latency, more, smaller batches).
   */
  flushMicros?: number;
  /** Batches waiting for JS before new ones are dropped and counted (default 512). */
  maxQueuedBatches?: number;
  /** Frames per batch at most (default 256). */
  batchFrames?: number;
  /** BPF filter; default: SV with 0, 1 or 2 VLAN tags (defaultCaptureFilter). */
  filter?: string;
  /** Promiscuous mode (default true: the appliance listens on a mirror port). */
  promisc?: boolean;
}

/** The addon's capture on a NIC: one CaptureBinding (ReplayCapture is the other). */
export class LiveCapture implements CaptureBinding {
  #native: NativeLiveCapture;

  /** Opens and activates the interface at once: errors (no such device, permissions) throw here. */
  constructor(opts: LiveCaptureOptions, binding: Pick<NativeBinding, 'LiveCapture'> = loadNative()) {
    this.#native = new binding.LiveCapture(opts);
  }

  /**
   * Starts the capture thread. onBatch runs on the JS thread once per batch; the batch's buffer
   * stays valid as long as it is referenced. onError gets a capture-thread failure (the thread
   * has stopped; stats().error says the same).
   */
  start(onBatch: (b: FrameBatch) => void, onError?: (err: Error) => void): void {
    this.#native.start((ab) => onBatch(new BatchView(ab)), onError === undefined ? undefined : (msg) => onError(new Error(msg)));
  }

  stats(): LiveCaptureStats {
    return this.#native.stats();
  }

  /** Stops the thread; resolves after the last batch was delivered. */
  close(): Promise<void> {
    return this.#native.close();
  }
}

export interface SenderOptions {
  iface: string;
  /** Network namespace (name under /run/netns, or a path) of the interface; default: ours. */
  netns?: string;
  /** send() waits while more frames than this are queued (default 65536). */
  maxQueuedFrames?: number;
  /** Busy-wait this long before each deadline instead of sleeping (default 50000 ns). */
  spinNs?: number;
}

export interface SenderResult {
  sent: number;
  errors: number;
  /** Worst lateness of a frame against its deadline. */
  lateMaxNs: number;
  /** 99th percentile lateness (1 µs resolution). */
  lateP99Ns: number;
  lastError?: string;
}

/** Paced sender on a native thread (AF_PACKET, absolute CLOCK_MONOTONIC deadlines). */
export class Sender {
  #native: NativeSender;

  constructor(opts: SenderOptions, binding: Pick<NativeBinding, 'Sender'> = loadNative()) {
    this.#native = new binding.Sender(opts);
  }

  /**
   * Queues frames: frames holds them back to back, offsets/lengths locate each, departNs is each
   * frame's departure time in ns after the sender's start (its first send call), non-decreasing
   * across calls. Resolves once the frames are queued (waits while the native queue is full).
   */
  send(frames: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, departNs: BigInt64Array): Promise<void> {
    return this.#native.send(frames, offsets, lengths, departNs);
  }

  /** Resolves when every queued frame is on the wire. */
  drain(): Promise<SenderResult> {
    return this.#native.drain();
  }

  stats(): SenderResult {
    const s: NativeSenderStats = this.#native.stats();
    return s;
  }

  /** Stops at once: unsent frames are discarded, waiting send() calls reject. */
  close(): void {
    this.#native.close();
  }
}
