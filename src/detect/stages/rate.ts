// γfz (SPEC §2 step 5): frames per second per source address against N_th = (1 + μsv)·Σ fᵢ over the
// streams expected from that address, on a sliding 1 s window; plus a short burst window so a flood is
// seen within tens of milliseconds rather than after a second. Sources nobody configured are held to the
// largest configured stream rate. Counting happens before the MAC check: a flood is a flood whoever sends it.
import type { FrameContext, Flag, Stage } from '../stage.ts';
import type { StreamRegistry } from '../streams.ts';

export interface RateOptions {
  /** μsv, the tolerance coefficient (default 0.1). */
  mu?: number;
  /** Burst window in ms (default 50). */
  burstMs?: number;
  /** Jitter allowed on top of the burst window's share, in ms of traffic at the expected rate (default 10:
   *  a publisher or switch that holds frames back for 10 ms then sends them together is no flood). */
  burstSlackMs?: number;
}

const BUCKET_NS = 10e6; // 10 ms buckets; 100 of them make the 1 s window
const BUCKETS = 100;
const MAX_SOURCES = 4096; // bounded state: beyond this, new sources share one overflow counter

class SourceWindow {
  readonly counts = new Uint32Array(BUCKETS);
  bucket = -1; // absolute index of the newest bucket
  total = 0;
  readonly limitPerS: number;
  constructor(limitPerS: number) {
    this.limitPerS = limitPerS;
  }

  add(t: number): void {
    const b = Math.floor(t / BUCKET_NS);
    if (this.bucket < 0) this.bucket = b;
    if (b > this.bucket) {
      const steps = Math.min(b - this.bucket, BUCKETS);
      for (let k = 1; k <= steps; k++) {
        const slot = (this.bucket + k) % BUCKETS;
        this.total -= this.counts[slot]!;
        this.counts[slot] = 0;
      }
      this.bucket = b;
    }
    // A timestamp that goes backwards (offline files) counts in the newest bucket.
    this.counts[this.bucket % BUCKETS]!++;
    this.total++;
  }

  /** Frames in the newest `n` buckets. */
  recent(n: number): number {
    let s = 0;
    for (let k = 0; k < n; k++) s += this.counts[(this.bucket - k + BUCKETS * 2) % BUCKETS]!;
    return s;
  }
}

export class RateStage implements Stage {
  readonly name = 'rate';
  #windows = new Map<number, SourceWindow>();
  #expectedBySource = new Map<number, number>();
  #defaultLimit: number;
  #mu: number;
  #burstBuckets: number;
  #burstSlackMs: number;

  constructor(registry: StreamRegistry, opts: RateOptions = {}) {
    this.#mu = opts.mu ?? 0.1;
    this.#burstBuckets = Math.max(1, Math.round((opts.burstMs ?? 50) / 10));
    this.#burstSlackMs = opts.burstSlackMs ?? 10;
    let maxRate = 0;
    for (const s of registry.streams) {
      maxRate = Math.max(maxRate, s.cfg.framesPerSecond);
      for (const src of s.accepted) this.#expectedBySource.set(src, (this.#expectedBySource.get(src) ?? 0) + s.cfg.framesPerSecond);
    }
    this.#defaultLimit = maxRate;
  }

  /** N_th for a source address, frames per second. */
  threshold(srcKey: number): number {
    return (1 + this.#mu) * (this.#expectedBySource.get(srcKey) ?? this.#defaultLimit);
  }

  onFrame(ctx: FrameContext, flag: Flag): boolean {
    let w = this.#windows.get(ctx.srcKey);
    if (w === undefined) {
      if (this.#windows.size >= MAX_SOURCES) return true;
      w = new SourceWindow(this.threshold(ctx.srcKey));
      this.#windows.set(ctx.srcKey, w);
    }
    w.add(ctx.t);
    const burst = w.recent(this.#burstBuckets);
    const burstShare = (w.limitPerS * this.#burstBuckets) / BUCKETS;
    const slack = Math.max(8, (w.limitPerS * this.#burstSlackMs) / 1000);
    // The 1 s window is the patent's test; it stays high for a second after a flood ends, so a frame is
    // flagged only while the recent rate is above the threshold too. The burst test alone (with slack for
    // jitter) sees a flood within tens of milliseconds.
    if (w.total > w.limitPerS && burst > burstShare) {
      flag('rate', 'flood', { detail: { framesInLastSecond: w.total, threshold: Math.round(w.limitPerS) } });
    } else if (burst > burstShare + slack) {
      flag('rate', 'flood', {
        detail: { framesInBurstWindow: burst, threshold: Math.round(burstShare + slack), windowMs: this.#burstBuckets * 10 },
      });
    }
    return true;
  }
}
