// The real-time thread's outgoing lanes (see protocol.ts). Items gather while a batch is processed and
// leave in one message per lane after it, so the cost of crossing threads is per batch, not per frame.
// The evidence lane is bounded by credit returned by the main thread: a stalled or slow consumer makes
// evidence drop (counted), never detection wait, and never an alarm drop.
import type { EvidenceChunkRef } from '../store/store.ts';
import type { EvidenceSink } from '../evidence/recorder.ts';
import type { EvidenceStreamInfo } from '../model/records.ts';
import type { Alarm } from '../model/indicators.ts';
import type { AlarmItem, EvidenceItem, LaneCounters, WorkerMessage } from './protocol.ts';

export const DEFAULT_EVIDENCE_CREDIT = 64 * 1024 * 1024;
/**
 * Evidence bytes one flush may post. An alarm's pre-trigger recording is megabytes; posting it whole after
 * one batch held every later frame back by tens of ms. The rest waits, in order, for the next flushes
 * (a flush follows every batch), still bounded by the credit.
 */
export const DEFAULT_EVIDENCE_PER_FLUSH = 256 * 1024;

export type Post = (m: WorkerMessage, transfer?: ArrayBuffer[]) => void;

export class Lanes implements EvidenceSink {
  /** addChunk copies the bytes: the recorder's ring reuses its buffers. */
  readonly copiesChunks = true;
  readonly #post: Post;
  readonly #credit: number;
  readonly #perFlush: number;
  #alarms: AlarmItem[] = [];
  #evidence: EvidenceItem[] = [];
  #pendingBytes = 0;
  #inFlight = 0;
  #ref = 0;
  readonly counters: LaneCounters = { alarmsPosted: 0, evidencePosted: 0, evidenceDropped: 0, evidenceBytesInFlight: 0 };

  constructor(post: Post, creditBytes = DEFAULT_EVIDENCE_CREDIT, perFlushBytes = DEFAULT_EVIDENCE_PER_FLUSH) {
    this.#post = post;
    this.#credit = creditBytes;
    this.#perFlush = perFlushBytes;
  }

  alarm(k: AlarmItem['k'], a: Alarm, atNs: bigint): void {
    this.#alarms.push({ k, a, atNs });
  }

  /** The main thread consumed this many bytes of evidence. */
  credit(bytes: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - bytes);
    this.counters.evidenceBytesInFlight = this.#inFlight;
  }

  // EvidenceSink: the recorder on this thread writes through these; the main thread's journal stores them.
  addChunk(stream: string, data: Uint8Array, frames: number, fromNs: bigint, toNs: bigint): EvidenceChunkRef {
    const ref = ++this.#ref;
    if (this.#inFlight + this.#pendingBytes + data.byteLength > this.#credit) {
      // The link that names it still goes: the store records the alarm's evidence as incomplete.
      this.counters.evidenceDropped++;
    } else {
      // A copy: the ring reuses its segment buffers.
      this.#evidence.push({ k: 'chunk', ref, stream, data: data.slice(), frames, fromNs, toNs });
      this.#pendingBytes += data.byteLength;
    }
    return { id: ref, frames, fromNs, toNs };
  }

  linkEvidence(alarmId: number, chunks: readonly EvidenceChunkRef[], complete: boolean): void {
    this.#evidence.push({ k: 'link', alarm: alarmId, refs: chunks.map((c) => c.id), complete });
  }

  saveStreamInfo(name: string, info: EvidenceStreamInfo): void {
    this.#evidence.push({ k: 'info', stream: name, info });
  }

  event(kind: string, message: string, detail?: Record<string, number | string | boolean> | null): number {
    this.#evidence.push({ k: 'event', kind, message, detail: detail ?? null });
    return 0;
  }

  other(item: EvidenceItem): void {
    this.#evidence.push(item);
  }

  /** Evidence gathered and not posted yet (it leaves over the next flushes). */
  get evidencePending(): number {
    return this.#evidence.length;
  }

  /**
   * Sends what gathered: alarms first and whole (the evidence that follows may name them), then evidence
   * in order up to the per-flush budget, or all of it when `all` (closing). Chunk buffers are transferred,
   * not copied: each is this lane's own copy.
   */
  flush(all = false): void {
    if (this.#alarms.length > 0) {
      const items = this.#alarms;
      this.#alarms = [];
      this.counters.alarmsPosted += items.length;
      this.#post({ t: 'alarms', items });
    }
    if (this.#evidence.length === 0) return;
    let n = 0;
    let bytes = 0;
    const transfer: ArrayBuffer[] = [];
    for (const item of this.#evidence) {
      if (item.k === 'chunk') {
        if (!all && n > 0 && bytes + item.data.byteLength > this.#perFlush) break;
        bytes += item.data.byteLength;
        transfer.push(item.data.buffer as ArrayBuffer);
      }
      n++;
    }
    const items = n === this.#evidence.length ? this.#evidence : this.#evidence.slice(0, n);
    this.#evidence = n === this.#evidence.length ? [] : this.#evidence.slice(n);
    this.#pendingBytes -= bytes;
    this.#inFlight += bytes;
    this.counters.evidenceBytesInFlight = this.#inFlight;
    this.counters.evidencePosted += items.length;
    this.#post({ t: 'evidence', items, bytes }, transfer);
  }
}
