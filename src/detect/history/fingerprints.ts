// Fingerprints of recent events: the hashes of the sample values (seqData) of every frame around an event,
// kept for a bounded number of events, so that a recorded fault replayed later with fresh smpCnt and
// timestamps is recognised frame by frame. Real faults never repeat sample for sample with the same noise;
// a copy of a recorded waveform does.
//
// Memory: at most `maxEvents` events × `maxFramesPerEvent` hashes (oldest event evicted first). Only event
// frames are inserted (allocation happens at events, not on the normal path); the normal path does one
// Map lookup per frame, and none while the store is empty.

/** FNV-1a over a byte range. */
export function fnv1a(raw: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < len; k++) h = Math.imul(h ^ raw[off + k]!, 0x01000193);
  return h >>> 0;
}

export interface FingerprintOptions {
  maxEvents?: number;
  maxFramesPerEvent?: number;
}

export class FingerprintStore {
  readonly maxEvents: number;
  readonly maxFrames: number;
  /** hash → slot * 2 + (1 when the frame is inside the event, 0 when it is from before the trigger). */
  readonly #map = new Map<number, number>();
  readonly #hashes: Uint32Array[];
  readonly #count: Int32Array;
  /** Capture time (ns) the slot's recording began; NaN when free. */
  readonly startT: Float64Array;
  readonly stream: Int32Array;
  readonly label: string[];
  #next = 0;
  #events = 0;

  constructor(opts: FingerprintOptions = {}) {
    this.maxEvents = opts.maxEvents ?? 32;
    this.maxFrames = opts.maxFramesPerEvent ?? 8192;
    this.#hashes = Array.from({ length: this.maxEvents }, () => new Uint32Array(0));
    this.#count = new Int32Array(this.maxEvents);
    this.startT = new Float64Array(this.maxEvents).fill(NaN);
    this.stream = new Int32Array(this.maxEvents).fill(-1);
    this.label = new Array<string>(this.maxEvents).fill('');
  }

  get size(): number {
    return this.#map.size;
  }
  /** Events recorded so far (including evicted ones). */
  get events(): number {
    return this.#events;
  }

  /** Start recording a new event; returns its slot (the oldest event is evicted). */
  begin(stream: number, t: number, label: string): number {
    const s = this.#next;
    this.#next = (this.#next + 1) % this.maxEvents;
    this.#evict(s);
    if (this.#hashes[s]!.length === 0) this.#hashes[s] = new Uint32Array(this.maxFrames);
    this.startT[s] = t;
    this.stream[s] = stream;
    this.label[s] = label;
    this.#events++;
    return s;
  }

  /** Add a frame's hash to slot s; false when the slot is full. A hash already known keeps its first owner. */
  add(s: number, hash: number, inEvent: boolean): boolean {
    const n = this.#count[s]!;
    if (n >= this.maxFrames) return false;
    if (this.#map.has(hash)) return true;
    this.#hashes[s]![n] = hash;
    this.#count[s] = n + 1;
    this.#map.set(hash, s * 2 + (inEvent ? 1 : 0));
    return true;
  }

  /** slot * 2 + inEvent of a known hash, or −1. */
  lookup(hash: number): number {
    if (this.#map.size === 0) return -1;
    return this.#map.get(hash) ?? -1;
  }

  #evict(s: number): void {
    const h = this.#hashes[s]!;
    const n = this.#count[s]!;
    for (let k = 0; k < n; k++) if ((this.#map.get(h[k]!) ?? -2) >> 1 === s) this.#map.delete(h[k]!);
    this.#count[s] = 0;
    this.startT[s] = NaN;
    this.stream[s] = -1;
  }
}
