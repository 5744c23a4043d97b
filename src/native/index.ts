// Typed interface of the native addon: offline reading, live capture, paced sending, clocks.
import { addon } from './addon.ts';
import type { DecodeBenchResult, NativeSm2Key, NativeCaptureStats, NativeLiveCapture, NativeSender, NativeSenderStats } from './addon.ts';
import { BatchView } from './batch.ts';
import type { FrameBatch } from './batch.ts';

export { AsduFlag, BatchView, STATUS_NOT_SV, STATUS_TRUNCATED_ETHERNET, statusNames, WARNING_NAMES } from './batch.ts';
export type { BatchColumns, FrameBatch, TrailerInfo } from './batch.ts';
export type { DecodeBenchResult, NativeSm2Key, NativeCaptureStats as CaptureStats, NativeSenderStats as SenderStats } from './addon.ts';

/**
 * An SM2 public key (65 bytes 04‖x‖y) for verification through the OpenSSL that Node links, with the signer
 * ID set explicitly. Throws when the point is not on sm2p256v1.
 */
export function nativeSm2Key(pub: Uint8Array): NativeSm2Key {
  return new addon.Sm2Key(pub);
}

/** Decoder throughput in C++ alone: loads the capture into memory and decodes it `rounds` times. */
export function decodeBench(path: string, rounds = 5): DecodeBenchResult {
  return addon.decodeBench(path, rounds);
}

/** CLOCK_REALTIME in ns (same clock as live capture timestamps). */
/** One sd_notify(3) datagram to `socketPath` ($NOTIFY_SOCKET); returns '' or the reason it failed. */
export function sdNotify(socketPath: string, state: string): string {
  return addon.sdNotify(socketPath, state);
}

export function realtimeNs(): bigint {
  return addon.realtimeNs();
}
/** CLOCK_MONOTONIC in ns (the Sender's pacing clock). */
export function monotonicNs(): bigint {
  return addon.monotonicNs();
}
/** The BPF filter LiveCapture uses by default: SV with 0, 1 or 2 VLAN tags. */
/** Pins the calling thread (and the threads it creates later) to these CPUs; '' or the reason it could not. */
export function setThreadAffinity(cpus: number[]): string {
  return addon.rtKnob('affinity', cpus);
}

/** SCHED_FIFO at this priority for the calling thread (needs CAP_SYS_NICE); '' or the reason it could not. */
export function setThreadFifo(priority: number): string {
  return addon.rtKnob('fifo', priority);
}

/** The kernel's id of the calling thread and the CPUs it may run on. */
export function threadInfo(): { tid: number; cpus: number[] } {
  return { tid: addon.rtKnob('tid'), cpus: addon.rtKnob('cpus') };
}

export const defaultCaptureFilter: string = addon.defaultFilter;

export interface ReadOptions {
  /** Frames per batch (default 1024). */
  batchFrames?: number;
}

/**
 * Reads a pcap or pcapng file (format from the magic number) in batches. Frame numbers are
 * 1-based as in Wireshark; timestamps are ns since the epoch. Throws at once when the file cannot
 * be opened; a read error mid-file is thrown after the frames read before it were yielded.
 */
export function readCaptureFile(path: string, opts: ReadOptions = {}): IterableIterator<FrameBatch> {
  const reader = new addon.OfflineReader(path, opts.batchFrames);
  function* iterate(): Generator<FrameBatch, void, undefined> {
    try {
      for (;;) {
        const ab = reader.next();
        if (ab === null) return;
        yield new BatchView(ab);
      }
    } finally {
      reader.close();
    }
  }
  return iterate();
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

export interface LiveCaptureStats {
  /** Frames the kernel passed through the filter (pcap_stats ps_recv). */
  received: number;
  /** Frames the kernel dropped because the ring was full (ps_drop). */
  kernelDrops: number;
  /** Frames dropped by the interface/driver (ps_ifdrop). */
  ifDrops: number;
  /** Frames read from the ring by the capture thread. */
  captured: number;
  /** Frames handed to JS. */
  delivered: number;
  batches: number;
  /** Frames dropped because JS did not keep up (native queue full). */
  queueDrops: number;
  /** Frames whose decoder status is not ok (still delivered). */
  decodeErrors: number;
  /** Interface up with carrier (checked every 100 ms); capture resumes by itself when it returns. */
  linkUp: boolean;
  /** Set when the capture thread stopped on an error (e.g. the interface went down). */
  error?: string;
}

export class LiveCapture {
  #native: NativeLiveCapture;

  /** Opens and activates the interface at once: errors (no such device, permissions) throw here. */
  constructor(opts: LiveCaptureOptions) {
    this.#native = new addon.LiveCapture(opts);
  }

  /**
   * Starts the capture thread. onBatch runs on the JS thread once per batch; the batch's buffer
   * stays valid as long as it is referenced. onError gets a capture-thread failure (the thread
   * has stopped; stats().error says the same).
   */
  start(onBatch: (b: FrameBatch) => void, onError?: (err: Error) => void): void {
    this.#native.start(
      (ab) => onBatch(new BatchView(ab)),
      onError === undefined ? undefined : (msg) => onError(new Error(msg)),
    );
  }

  stats(): LiveCaptureStats {
    const s: NativeCaptureStats = this.#native.stats();
    return s;
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

  constructor(opts: SenderOptions) {
    this.#native = new addon.Sender(opts);
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
