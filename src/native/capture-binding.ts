// The interface of a running capture, whatever serves the batches: LiveCapture (the addon on a NIC) or
// ReplayCapture (a capture file through the offline reader, paced by its timestamps). The appliance and
// the learner consume this interface, so the live path can run without a NIC.
import type { FrameBatch } from './batch.ts';

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
  /**
   * Kernel timestamp → the capture thread reads the frame, µs, as LatencyHistogram counts: the share of
   * a frame's latency spent before any of SVDE's code runs. Live capture only.
   */
  kernelLag?: Float64Array;
  /** Set when the capture stopped on an error (e.g. the interface went down). */
  error?: string;
}

export interface CaptureBinding {
  /**
   * Starts delivering. onBatch runs on the JS thread once per batch; the batch's buffer stays valid as
   * long as it is referenced. onError gets a failure that stopped the capture (stats().error says the same).
   */
  start(onBatch: (b: FrameBatch) => void, onError?: (err: Error) => void): void;
  stats(): LiveCaptureStats;
  /** Stops; resolves after the last batch was delivered. */
  close(): Promise<void>;
}
