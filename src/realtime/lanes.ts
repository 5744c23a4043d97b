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

export class Lanes implements EvidenceSink {
  readonly #post: (m: WorkerMessage) => void;
  readonly #credit: number;
  #alarms: AlarmItem[] = [];
  #evidence: EvidenceItem[] = [];
  #pendingBytes = 0;
  #inFlight = 0;
  #ref = 0;
  readonly counters: LaneCounters = { alarmsPosted: 0, evidencePosted: 0, evidenceDropped: 0, evidenceBytesInFlight: 0 };

  constructor(post: (m: WorkerMessage) => void, creditBytes = DEFAULT_EVIDENCE_CREDIT) {
    this.#post = post;
    this.#credit = creditBytes;
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

  /** Sends what gathered: alarms first (the evidence that follows may name them). */
  flush(): void {
    if (this.#alarms.length > 0) {
      const items = this.#alarms;
      this.#alarms = [];
      this.counters.alarmsPosted += items.length;
      this.#post({ t: 'alarms', items });
    }
    if (this.#evidence.length > 0) {
      const items = this.#evidence;
      const bytes = this.#pendingBytes;
      this.#evidence = [];
      this.#pendingBytes = 0;
      this.#inFlight += bytes;
      this.counters.evidenceBytesInFlight = this.#inFlight;
      this.counters.evidencePosted += items.length;
      this.#post({ t: 'evidence', items, bytes });
    }
  }
}
