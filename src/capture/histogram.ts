// A log-bucket latency histogram in constant memory (HDR-style): values in integer microseconds, exact
// below 64 µs, then 32 sub-buckets per power of two (≤ 3.1 % relative error) up to 2^40 µs. Recording is
// one Math.clz32 and an increment, with no allocation, so the real-time thread can call it per frame. The
// counts are one Float64Array that crosses threads by copy; snapshots merge by adding the arrays.

const SUB_BITS = 5;
const SUB = 1 << SUB_BITS; // 32
const LINEAR = 2 * SUB; // 0…63 exact
const MAX_EXP = 40;
export const HISTOGRAM_BUCKETS = LINEAR + (MAX_EXP - SUB_BITS - 1) * SUB;

function bucketOf(v: number): number {
  if (v < LINEAR) return v < 0 ? 0 : v;
  // exponent e = floor(log2 v) ≥ 6; the SUB_BITS bits below the leading one choose the sub-bucket.
  const e = v < 2 ** 31 ? 31 - Math.clz32(v) : Math.floor(Math.log2(v));
  if (e >= MAX_EXP) return HISTOGRAM_BUCKETS - 1;
  const sub = Math.floor(v / 2 ** (e - SUB_BITS)) - SUB;
  return LINEAR + (e - SUB_BITS - 1) * SUB + sub;
}

/** The lowest value of a bucket (what percentiles report: never above the true value). */
function lowOf(b: number): number {
  if (b < LINEAR) return b;
  const k = b - LINEAR;
  const e = Math.floor(k / SUB) + SUB_BITS + 1;
  return (SUB + (k % SUB)) * 2 ** (e - SUB_BITS);
}

export interface LatencySummary {
  count: number;
  p50: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

export class LatencyHistogram {
  readonly counts: Float64Array;
  #count = 0;
  #max = 0;

  constructor(counts?: Float64Array) {
    this.counts = counts ?? new Float64Array(HISTOGRAM_BUCKETS);
    if (this.counts.length !== HISTOGRAM_BUCKETS)
      throw new RangeError(`a latency histogram has ${HISTOGRAM_BUCKETS} buckets, not ${this.counts.length}`);
    for (let b = 0; b < this.counts.length; b++) {
      const c = this.counts[b]!;
      if (c > 0) {
        this.#count += c;
        this.#max = Math.max(this.#max, lowOf(b));
      }
    }
  }

  /** Records one value in µs (rounded down; negative values count as 0). */
  record(us: number): void {
    const v = us >= 0 ? Math.floor(us) : 0;
    this.counts[bucketOf(v)]!++;
    this.#count++;
    if (v > this.#max) this.#max = v;
  }

  get count(): number {
    return this.#count;
  }

  /** The exact largest value recorded (not its bucket's bound). */
  get max(): number {
    return this.#max;
  }

  /** The value at quantile q ∈ [0, 1] (the low edge of its bucket), or null when empty. */
  quantile(q: number): number | null {
    if (this.#count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let b = 0; b < this.counts.length; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return Math.min(lowOf(b), this.#max);
    }
    return this.#max;
  }

  merge(other: LatencyHistogram): void {
    for (let b = 0; b < this.counts.length; b++) this.counts[b]! += other.counts[b]!;
    this.#count += other.count;
    this.#max = Math.max(this.#max, other.max);
  }

  reset(): void {
    this.counts.fill(0);
    this.#count = 0;
    this.#max = 0;
  }

  /** A copy that can cross threads (postMessage) and be rebuilt with `new LatencyHistogram(counts)`. */
  copy(): { counts: Float64Array; max: number } {
    return { counts: this.counts.slice(), max: this.#max };
  }

  static from(c: { counts: Float64Array; max: number }): LatencyHistogram {
    const h = new LatencyHistogram(c.counts.slice());
    h.#max = c.max;
    return h;
  }

  summary(): LatencySummary {
    return {
      count: this.#count,
      p50: this.quantile(0.5),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
      max: this.#count > 0 ? this.#max : null,
    };
  }
}
