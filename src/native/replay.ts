// A CaptureBinding that serves a capture file instead of a NIC: the batches of the offline reader, each
// delivered when its last frame is due by the file's timestamps (or back to back), so the live path
// (appliance, learner) can be exercised without an interface.
import type { NativeBinding } from './addon.ts';
import type { FrameBatch } from './batch.ts';
import type { CaptureBinding, LiveCaptureStats } from './capture-binding.ts';
import { readCaptureFile } from './offline.ts';

export interface ReplayOptions {
  /** Frames per batch (default 256, as LiveCapture). */
  batchFrames?: number;
  /**
   * 'capture' (default): a batch is delivered once the time since start() reaches its last frame's offset
   * from the file's first frame (divided by `speed`); 'fast': one batch per event-loop turn.
   */
  pace?: 'capture' | 'fast';
  /** Time scale of pace 'capture' (default 1; 2 = twice as fast). */
  speed?: number;
  /**
   * Shift every timestamp so the file's first frame carries the time of start() (CLOCK_REALTIME, as a
   * live capture's kernel timestamps); default false: the file's own timestamps.
   */
  retime?: boolean;
  /** The addon's OfflineReader (default: loadNative()); tests pass their own. */
  binding?: Pick<NativeBinding, 'OfflineReader'>;
}

function nowRealtimeNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

export class ReplayCapture implements CaptureBinding {
  readonly #batches: IterableIterator<FrameBatch>;
  readonly #pace: 'capture' | 'fast';
  readonly #speed: number;
  readonly #retime: boolean;
  readonly #stats: LiveCaptureStats = {
    received: 0,
    kernelDrops: 0,
    ifDrops: 0,
    captured: 0,
    delivered: 0,
    batches: 0,
    queueDrops: 0,
    decodeErrors: 0,
    linkUp: true,
  };
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  #started = false;
  #stopped = false;
  #startMs = 0;
  #firstTs: bigint | undefined;
  #shift = 0n;
  #pending: FrameBatch | undefined;
  #onBatch: (b: FrameBatch) => void = () => {};
  #onError: ((err: Error) => void) | undefined;
  #resolveEnded!: () => void;
  /** Resolves when every batch of the file was delivered, the replay failed, or close() was called. */
  readonly ended: Promise<void>;

  /** Opens the file at once: a missing or unreadable file throws here, as a missing interface does live. */
  constructor(path: string, opts: ReplayOptions = {}) {
    this.#batches = readCaptureFile(path, { batchFrames: opts.batchFrames ?? 256 }, opts.binding);
    this.#pace = opts.pace ?? 'capture';
    this.#speed = opts.speed ?? 1;
    if (!(this.#speed > 0)) throw new RangeError(`ReplayCapture: speed must be above 0, got ${this.#speed}`);
    this.#retime = opts.retime === true;
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
  }

  start(onBatch: (b: FrameBatch) => void, onError?: (err: Error) => void): void {
    if (this.#started) throw new Error('ReplayCapture: already started');
    if (this.#stopped) throw new Error('ReplayCapture: closed');
    this.#started = true;
    this.#onBatch = onBatch;
    this.#onError = onError;
    this.#startMs = performance.now();
    if (this.#retime) this.#shift = nowRealtimeNs();
    this.#schedule(0);
  }

  stats(): LiveCaptureStats {
    return { ...this.#stats };
  }

  close(): Promise<void> {
    this.#finish();
    return Promise.resolve();
  }

  #finish(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
      this.#timer = undefined;
    }
    this.#pending = undefined;
    this.#batches.return?.();
    this.#resolveEnded();
  }

  #schedule(delayMs: number): void {
    this.#timer = delayMs > 0 ? setTimeout(() => this.#step(), delayMs) : setImmediate(() => this.#step());
  }

  /** Next batch (held back until due), or undefined at the end of the file. */
  #next(): FrameBatch | undefined {
    if (this.#pending !== undefined) return this.#pending;
    const r = this.#batches.next();
    if (r.done === true) return undefined;
    const b = r.value;
    if (b.count > 0) {
      this.#firstTs ??= b.tsNs(0);
      if (this.#retime) {
        const ts = b.cols.tsNs as BigInt64Array; // the replay owns these buffers
        const d = this.#shift - this.#firstTs;
        for (let i = 0; i < ts.length; i++) ts[i] = ts[i]! + d;
      }
    }
    this.#pending = b;
    return b;
  }

  /** ms until batch b is due (≤ 0: now). */
  #dueIn(b: FrameBatch): number {
    if (this.#pace === 'fast' || b.count === 0 || this.#firstTs === undefined) return 0;
    const first = this.#retime ? this.#shift : this.#firstTs;
    const offsetMs = Number(b.tsNs(b.count - 1) - first) / 1e6 / this.#speed;
    return offsetMs - (performance.now() - this.#startMs);
  }

  #step(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    let b: FrameBatch | undefined;
    try {
      b = this.#next();
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      this.#stats.error = e.message;
      this.#finish();
      this.#onError?.(e);
      return;
    }
    if (b === undefined) {
      this.#finish();
      return;
    }
    const wait = this.#dueIn(b);
    if (wait > 0) {
      // Timers may fire a little early: re-check until due, so no batch is ever delivered before its time.
      this.#schedule(Math.ceil(wait));
      return;
    }
    this.#pending = undefined;
    const s = this.#stats;
    s.received += b.count;
    s.captured += b.count;
    s.delivered += b.count;
    s.batches++;
    for (let i = 0; i < b.count; i++) if (!b.ok(i)) s.decodeErrors++;
    this.#schedule(0);
    this.#onBatch(b);
  }
}
