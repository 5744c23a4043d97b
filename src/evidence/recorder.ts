// Forensic evidence around alarms: feeds every captured frame into the pre-trigger ring and, on an alarm,
// keeps the offending stream's raw frames from ≥ preNs before the alarm's first frame to ≥ postNs after it
// (capture time). The pre-trigger part is written at once (complete = false) so a crash keeps it; each ring
// segment sealed inside the window is written as it seals; complete = true once the window has passed.
//
// Alarm storms: a segment is written to the store once, however many alarms link it; at most `maxActive`
// recordings are followed at a time (further alarms get their pre-trigger part only, and an event says so).
import type { FrameBatch } from '../native/index.ts';
import type { Alarm } from '../model/indicators.ts';
import type { ExpectedStream } from '../model/streams.ts';
import type { StreamRegistry } from '../detect/streams.ts';
import type { EvidenceStreamInfo } from '../model/records.ts';
import type { EvidenceChunkRef } from '../store/store.ts';
import { PreTriggerRing, type RingStats, type Segment } from './ring.ts';

/** The part of the store the recorder writes through (EvidenceStore implements it). */
export interface EvidenceSink {
  addChunk(stream: string, data: Uint8Array, frames: number, fromNs: bigint, toNs: bigint): EvidenceChunkRef;
  linkEvidence(alarmId: number, chunks: readonly EvidenceChunkRef[], complete: boolean): void;
  saveStreamInfo?(name: string, info: EvidenceStreamInfo): void;
  event?(kind: string, message: string, detail?: Record<string, number | string | boolean> | null, tsNs?: bigint): number;
  /** True when addChunk copies the bytes at once: the ring may then reuse every segment buffer. */
  readonly copiesChunks?: boolean;
}

export interface RecorderOptions {
  store: EvidenceSink;
  /** Ring memory bound (default 32 MiB). */
  ringBytes?: number;
  segmentBytes?: number;
  segmentSpanNs?: number;
  /** Evidence before the alarm's first frame (default 1 s). */
  preNs?: number;
  /** Evidence after it (default 1 s). */
  postNs?: number;
  /** A recording whose stream stopped is closed when other streams are this far past its window (default 0.5 s). */
  graceNs?: number;
  /** Recordings followed at the same time (default 32). */
  maxActive?: number;
  /** Which alarms get evidence (default: all but the upstream ones, which concern no frames). */
  wants?: (alarm: Alarm) => boolean;
  /** Scaling and rates of a stream for the exporter; saved once per stream with its first evidence. */
  streamInfo?: (stream: string) => EvidenceStreamInfo | undefined;
}

interface Recording {
  alarmId: number;
  stream: string;
  startNs: number;
  endNs: number;
  /** seq of the newest segment linked so far (segments of a stream are sealed in seq order). */
  lastSeq: number;
}

export interface RecorderStats extends RingStats {
  active: number;
  recordings: number;
  completed: number;
  truncated: number;
  chunksWritten: number;
}

const defaultWants = (a: Alarm): boolean => a.indicator !== 'upstreamForgery' && a.indicator !== 'upstreamTamper';

export class EvidenceRecorder {
  readonly ring: PreTriggerRing;
  readonly #store: EvidenceSink;
  readonly #preNs: number;
  readonly #postNs: number;
  readonly #graceNs: number;
  readonly #maxActive: number;
  readonly #wants: (a: Alarm) => boolean;
  readonly #streamInfo: ((s: string) => EvidenceStreamInfo | undefined) | undefined;
  #active: Recording[] = [];
  #infoSaved = new Set<string>();
  #newestNs = 0;
  #recordings = 0;
  #completed = 0;
  #truncated = 0;
  #chunks = 0;
  #closing = false;

  /** `new EvidenceRecorder(store)` with the defaults, or with options. */
  constructor(arg: EvidenceSink | RecorderOptions) {
    const opts: RecorderOptions = 'addChunk' in arg ? { store: arg } : arg;
    this.#store = opts.store;
    this.#preNs = opts.preNs ?? 1e9;
    this.#postNs = opts.postNs ?? 1e9;
    this.#graceNs = opts.graceNs ?? 0.5e9;
    this.#maxActive = opts.maxActive ?? 32;
    this.#wants = opts.wants ?? defaultWants;
    this.#streamInfo = opts.streamInfo;
    this.ring = new PreTriggerRing({
      ...(opts.ringBytes !== undefined ? { capBytes: opts.ringBytes } : {}),
      ...(opts.segmentBytes !== undefined ? { segmentBytes: opts.segmentBytes } : {}),
      ...(opts.segmentSpanNs !== undefined ? { segmentSpanNs: opts.segmentSpanNs } : {}),
      onSeal: (seg) => {
        this.#onSeal(seg);
      },
      reuseWritten: opts.store.copiesChunks === true,
    });
  }

  /**
   * Every captured batch, before or after detection (before is better: the alarm's own frame is then
   * already in the pre-trigger part). `streamOf` names each frame's stream as alarms do (registryStreamOf).
   */
  onBatch(batch: FrameBatch, streamOf: (batch: FrameBatch, i: number) => string): void {
    const n = batch.count;
    if (n === 0) return;
    const c = batch.cols;
    const raw = c.raw;
    const rawBuf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const ts = c.tsNs;
    const tsBytes = new Uint8Array(ts.buffer, ts.byteOffset, ts.byteLength);
    const rawOff = c.rawOff;
    const capLen = c.capLen;
    for (let i = 0; i < n; i++) this.ring.push(streamOf(batch, i), rawBuf, rawOff[i]!, capLen[i]!, tsBytes, i * 8);
    const lo =
      tsBytes[(n - 1) * 8]! | (tsBytes[(n - 1) * 8 + 1]! << 8) | (tsBytes[(n - 1) * 8 + 2]! << 16) | (tsBytes[(n - 1) * 8 + 3]! << 24);
    const hi =
      tsBytes[(n - 1) * 8 + 4]! | (tsBytes[(n - 1) * 8 + 5]! << 8) | (tsBytes[(n - 1) * 8 + 6]! << 16) | (tsBytes[(n - 1) * 8 + 7]! << 24);
    const newest = hi * 4294967296 + (lo >>> 0);
    if (newest > this.#newestNs) this.#newestNs = newest;
    if (this.#active.length > 0) this.#advance();
  }

  /** Closes recordings whose window has passed (by the stream's own frames, or by the others' plus grace). */
  #advance(): void {
    let k = 0;
    for (const r of this.#active) {
      const last = this.ring.lastNsOf(r.stream);
      const done = (!Number.isNaN(last) && last >= r.endNs) || this.#newestNs >= r.endNs + this.#graceNs;
      if (!done) {
        this.#active[k++] = r;
        continue;
      }
      this.ring.sealStream(r.stream); // links the last segment through #onSeal while r is still active
      this.#store.linkEvidence(r.alarmId, [], true);
      this.#completed++;
    }
    // Recordings removed only after all were sealed: #onSeal walks #active.
    this.#active.length = k;
  }

  /** An alarm was raised (storeId from the store's alarmRaised). */
  onAlarm(storeId: number, alarm: Alarm): void {
    if (!this.#wants(alarm)) return;
    this.#recordings++;
    const stream = alarm.stream;
    const trigger = Number(alarm.firstTsNs);
    const startNs = trigger - this.#preNs;
    this.#saveInfo(stream);
    this.ring.sealStream(stream);
    const segs = this.ring.sealedSince(stream, startNs);
    const refs: EvidenceChunkRef[] = [];
    let lastSeq = -1;
    for (const s of segs) {
      refs.push(this.#chunkOf(s));
      lastSeq = s.seq;
    }
    const endNs = trigger + this.#postNs;
    const windowPassed =
      this.#newestNs >= endNs + this.#graceNs || (!Number.isNaN(this.ring.lastNsOf(stream)) && this.ring.lastNsOf(stream) >= endNs);
    if (windowPassed) {
      this.#store.linkEvidence(storeId, refs, true);
      this.#completed++;
      return;
    }
    if (this.#active.length >= this.#maxActive || this.#closing) {
      this.#store.linkEvidence(storeId, refs, false);
      this.#truncated++;
      this.#store.event?.(
        'evidence-truncated',
        `alarm ${storeId}: ${this.#maxActive} recordings already running, only the pre-trigger frames are kept`,
        { alarm: storeId, stream, maxActive: this.#maxActive },
      );
      return;
    }
    this.#store.linkEvidence(storeId, refs, false);
    this.#active.push({ alarmId: storeId, stream, startNs, endNs, lastSeq });
  }

  #saveInfo(stream: string): void {
    if (this.#infoSaved.has(stream) || this.#streamInfo === undefined || this.#store.saveStreamInfo === undefined) return;
    this.#infoSaved.add(stream);
    const info = this.#streamInfo(stream);
    if (info !== undefined) this.#store.saveStreamInfo(stream, info);
  }

  #chunkOf(seg: Segment): EvidenceChunkRef {
    if (seg.chunk === null) {
      const fromNs = seg.buf.readBigInt64LE(0);
      let o = 0;
      let lastOff = 0;
      while (o < seg.used) {
        lastOff = o;
        o += 12 + seg.buf.readUInt32LE(o + 8);
      }
      const toNs = seg.buf.readBigInt64LE(lastOff);
      seg.chunk = this.#store.addChunk(seg.stream, seg.buf.subarray(0, seg.used), seg.frames, fromNs, toNs);
      this.#chunks++;
    }
    return seg.chunk;
  }

  #onSeal(seg: Segment): void {
    for (const r of this.#active) {
      if (r.stream !== seg.stream || seg.seq <= r.lastSeq) continue;
      if (seg.lastNs < r.startNs || seg.firstNs > r.endNs) continue;
      this.#store.linkEvidence(r.alarmId, [this.#chunkOf(seg)], false);
      r.lastSeq = seg.seq;
    }
  }

  /**
   * At shutdown: writes what every running recording has (its stream's open segment included) and marks it
   * complete only if its window had passed.
   */
  close(): void {
    this.#closing = true;
    for (const r of this.#active) this.ring.sealStream(r.stream);
    for (const r of this.#active) {
      const last = this.ring.lastNsOf(r.stream);
      this.#store.linkEvidence(r.alarmId, [], !Number.isNaN(last) && last >= r.endNs);
    }
    this.#active = [];
  }

  stats(): RecorderStats {
    return {
      ...this.ring.stats(),
      active: this.#active.length,
      recordings: this.#recordings,
      completed: this.#completed,
      truncated: this.#truncated,
      chunksWritten: this.#chunks,
    };
  }
}

/**
 * Names frames as the detection pipeline names alarm streams: the configured stream's name, else the APPID
 * as 0xhhhh. Strings are made once per APPID.
 */
export function registryStreamOf(registry: StreamRegistry): (batch: FrameBatch, i: number) => string {
  const unknown = new Map<number, string>();
  return (batch, i) => {
    const c = batch.cols;
    const e = registry.lookup(c, i);
    if (e !== undefined) return e.cfg.name;
    const appId = c.appId[i]!;
    let s = unknown.get(appId);
    if (s === undefined) {
      s = `0x${appId.toString(16).padStart(4, '0')}`;
      unknown.set(appId, s);
    }
    return s;
  };
}

/** The exporter's description of each configured stream (for RecorderOptions.streamInfo). */
export function streamInfoOf(
  streams: readonly ExpectedStream[],
  names: { station?: string; device?: string } = {},
): (stream: string) => EvidenceStreamInfo | undefined {
  const byName = new Map(streams.map((s) => [s.name, s]));
  return (stream) => {
    const s = byName.get(stream);
    if (s === undefined) return undefined;
    return {
      svID: s.svID,
      appId: s.appId,
      samplesPerSecond: s.samplesPerSecond,
      nominalHz: s.nominalHz ?? 50,
      ...(s.channels !== undefined
        ? {
            channels: s.channels.map((c) => ({
              name: c.name,
              kind: c.kind,
              phase: c.phase,
              scale: c.scale,
              ...(c.offset !== undefined ? { offset: c.offset } : {}),
            })),
          }
        : {}),
      ...(names.station !== undefined ? { station: names.station } : {}),
      ...(names.device !== undefined ? { device: names.device } : {}),
    };
  };
}
