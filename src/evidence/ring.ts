// The pre-trigger ring: the last seconds of raw frames per stream, so an alarm's evidence can start before
// the alarm. Batch buffers are reused by the capture, so frames are copied — into per-stream segments of one
// preallocated buffer each, packed exactly as the store's evidence chunks ([tsNs int64 LE][len uint32 LE]
// [bytes]); a sealed segment goes to the store as one chunk without another copy. Memory is bounded by
// `capBytes` (segment capacities counted); the oldest segment is evicted first. No allocation per frame.

/** One run of consecutive frames of one stream. Immutable once sealed. */
export interface Segment {
  readonly stream: string;
  readonly seq: number;
  buf: Buffer;
  used: number;
  frames: number;
  /** Capture time of the first and last frame as doubles (ns; ~256 ns precision, enough for windows). */
  firstNs: number;
  lastNs: number;
  sealed: boolean;
  /** Set by the recorder once the segment was written to the store. */
  chunk: { id: number; frames: number; fromNs: bigint; toNs: bigint } | null;
}

export interface RingOptions {
  /** Memory bound, bytes (default 32 MiB). */
  capBytes?: number;
  /** Capacity of one segment, bytes (default 64 KiB; a larger frame gets a segment of its own size). */
  segmentBytes?: number;
  /** A segment is sealed when it spans this much capture time (default 100 ms). */
  segmentSpanNs?: number;
  /** Called when a segment is sealed (full, span reached, forced, or before eviction). */
  onSeal?: (seg: Segment) => void;
  /**
   * Reuse the buffers of segments handed to the sink as well (a sink that copies at once). Without it only
   * never-written buffers are reused; fresh 64 KiB buffers are external memory that only a full GC returns,
   * and on the real-time thread such a GC holds every frame behind it.
   */
  reuseWritten?: boolean;
}

export interface RingStats {
  bytes: number;
  capBytes: number;
  segments: number;
  frames: number;
  evictedSegments: number;
  evictedFrames: number;
}

const TWO32 = 4294967296;

export class PreTriggerRing {
  readonly capBytes: number;
  readonly segmentBytes: number;
  readonly segmentSpanNs: number;
  onSeal: ((seg: Segment) => void) | undefined;
  /** All segments, oldest first (creation order). */
  #all: Segment[] = [];
  #head = 0;
  #byStream = new Map<string, Segment[]>();
  #open = new Map<string, Segment>();
  #free: Buffer[] = [];
  #bytes = 0;
  #frames = 0;
  #seq = 0;
  #evictedSegments = 0;
  #evictedFrames = 0;
  readonly #reuseWritten: boolean;

  constructor(opts: RingOptions = {}) {
    this.capBytes = opts.capBytes ?? 32 << 20;
    this.segmentBytes = opts.segmentBytes ?? 64 << 10;
    this.segmentSpanNs = opts.segmentSpanNs ?? 100e6;
    this.onSeal = opts.onSeal;
    this.#reuseWritten = opts.reuseWritten === true;
    if (this.capBytes < 2 * this.segmentBytes)
      throw new RangeError(`ring capacity ${this.capBytes} must hold at least two segments of ${this.segmentBytes} bytes`);
  }

  /**
   * Copies one frame: `len` bytes of `src` (a Buffer view, so the copy needs no subarray) from `off`, captured at the int64 (LE) at tsBytes[tsOff…+8).
   * (Passing the capture-time bytes avoids a BigInt per frame.)
   */
  push(stream: string, src: Buffer, off: number, len: number, tsBytes: Uint8Array, tsOff: number): void {
    const lo = tsBytes[tsOff]! | (tsBytes[tsOff + 1]! << 8) | (tsBytes[tsOff + 2]! << 16) | (tsBytes[tsOff + 3]! << 24);
    const hi = tsBytes[tsOff + 4]! | (tsBytes[tsOff + 5]! << 8) | (tsBytes[tsOff + 6]! << 16) | (tsBytes[tsOff + 7]! << 24);
    const ns = hi * TWO32 + (lo >>> 0);
    let seg = this.#open.get(stream);
    const need = 12 + len;
    if (seg !== undefined && (seg.used + need > seg.buf.length || ns - seg.firstNs >= this.segmentSpanNs)) {
      this.#seal(seg);
      seg = undefined;
    }
    if (seg === undefined) seg = this.#newSegment(stream, need);
    const b = seg.buf;
    let o = seg.used;
    for (let k = 0; k < 8; k++) b[o + k] = tsBytes[tsOff + k]!;
    b[o + 8] = len & 0xff;
    b[o + 9] = (len >>> 8) & 0xff;
    b[o + 10] = (len >>> 16) & 0xff;
    b[o + 11] = (len >>> 24) & 0xff;
    o += 12;
    src.copy(b, o, off, off + len);
    seg.used = o + len;
    if (seg.frames === 0) seg.firstNs = ns;
    seg.lastNs = ns;
    seg.frames++;
    this.#frames++;
  }

  #newSegment(stream: string, need: number): Segment {
    const size = Math.max(need, this.segmentBytes);
    while (this.#bytes + size > this.capBytes && this.#head < this.#all.length) this.#evictOldest();
    let buf: Buffer | undefined;
    if (size === this.segmentBytes) buf = this.#free.pop();
    buf ??= Buffer.allocUnsafe(size);
    const seg: Segment = { stream, seq: this.#seq++, buf, used: 0, frames: 0, firstNs: 0, lastNs: 0, sealed: false, chunk: null };
    this.#all.push(seg);
    let list = this.#byStream.get(stream);
    if (list === undefined) {
      list = [];
      this.#byStream.set(stream, list);
    }
    list.push(seg);
    this.#open.set(stream, seg);
    this.#bytes += buf.length;
    return seg;
  }

  #seal(seg: Segment): void {
    if (seg.sealed) return;
    seg.sealed = true;
    if (this.#open.get(seg.stream) === seg) this.#open.delete(seg.stream);
    if (seg.frames > 0) this.onSeal?.(seg);
  }

  #evictOldest(): void {
    const seg = this.#all[this.#head]!;
    this.#all[this.#head] = undefined as unknown as Segment;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#all.length) {
      this.#all = this.#all.slice(this.#head);
      this.#head = 0;
    }
    this.#seal(seg);
    const list = this.#byStream.get(seg.stream)!;
    if (list[0] === seg) list.shift();
    else list.splice(list.indexOf(seg), 1);
    if (list.length === 0) this.#byStream.delete(seg.stream);
    this.#bytes -= seg.buf.length;
    this.#frames -= seg.frames;
    this.#evictedSegments++;
    this.#evictedFrames += seg.frames;
    // A buffer handed to the store is bound at commit time: only never-written buffers are reused.
    if ((seg.chunk === null || this.#reuseWritten) && seg.buf.length === this.segmentBytes && this.#free.length < 64)
      this.#free.push(seg.buf);
  }

  /** Seals the stream's open segment now (an alarm wants everything up to this frame). */
  sealStream(stream: string): void {
    const seg = this.#open.get(stream);
    if (seg !== undefined) this.#seal(seg);
  }

  /** Sealed segments of a stream whose frames reach `fromNs` or later, oldest first. */
  sealedSince(stream: string, fromNs: number): Segment[] {
    const list = this.#byStream.get(stream);
    if (list === undefined) return [];
    const out: Segment[] = [];
    for (const s of list) if (s.sealed && s.frames > 0 && s.lastNs >= fromNs) out.push(s);
    return out;
  }

  /** Capture time of the newest frame of a stream (NaN when none is held). */
  lastNsOf(stream: string): number {
    const list = this.#byStream.get(stream);
    return list === undefined || list.length === 0 ? Number.NaN : list[list.length - 1]!.lastNs;
  }

  /** The frames a segment holds (copies), for tests and diagnostics. */
  static frames(seg: Segment): Array<{ tsNs: bigint; bytes: Uint8Array }> {
    const out: Array<{ tsNs: bigint; bytes: Uint8Array }> = [];
    let o = 0;
    while (o < seg.used) {
      const len = seg.buf.readUInt32LE(o + 8);
      out.push({ tsNs: seg.buf.readBigInt64LE(o), bytes: new Uint8Array(seg.buf.subarray(o + 12, o + 12 + len)) });
      o += 12 + len;
    }
    return out;
  }

  /** Frames held for a stream (for tests). */
  framesOf(stream: string): Array<{ tsNs: bigint; bytes: Uint8Array }> {
    return (this.#byStream.get(stream) ?? []).flatMap((s) => PreTriggerRing.frames(s));
  }

  stats(): RingStats {
    return {
      bytes: this.#bytes,
      capBytes: this.capBytes,
      segments: this.#all.length - this.#head,
      frames: this.#frames,
      evictedSegments: this.#evictedSegments,
      evictedFrames: this.#evictedFrames,
    };
  }
}
