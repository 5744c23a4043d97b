// The alarm journal of the main thread: every alarm episode from the real-time thread is committed to the
// store first, then fanned out, with the store's id, to the registered subscribers (indicator board, LED,
// live events, syslog, the CLI). It maps detection's alarm ids (per process run) to the store's (stable)
// and writes the evidence lane through to the store, matching chunk references to the store's chunks.
import type { Alarm } from '../model/indicators.ts';
import type { AlarmRecord, EvidenceStreamInfo } from '../model/records.ts';
import type { LibraryEntry } from '../model/library.ts';
import type { EvidenceChunkRef } from '../store/store.ts';
import type { AlarmItem, EvidenceItem } from '../realtime/protocol.ts';

/** What the journal writes through (EvidenceStore implements it). */
export interface JournalStore {
  alarmRaised(a: Alarm): number;
  alarmUpdated(id: number, a: Alarm, ended: boolean): void;
  addChunk(stream: string, data: Uint8Array, frames: number, fromNs: bigint, toNs: bigint): EvidenceChunkRef;
  linkEvidence(alarmId: number, chunks: readonly EvidenceChunkRef[], complete: boolean): void;
  saveStreamInfo(name: string, info: EvidenceStreamInfo): void;
  event(kind: string, message: string, detail?: Record<string, number | string | boolean> | null): number;
  addLibraryEntry(e: Omit<LibraryEntry, 'id' | 'createdNs'> & { createdNs: bigint }): number;
}

export interface AlarmSubscriber {
  raised?(a: Alarm, rec: AlarmRecord): void;
  updated?(a: Alarm, storeId: number): void;
  ended?(a: Alarm, rec: AlarmRecord): void;
}

export interface JournalCounters {
  alarms: number;
  /** Evidence links that named chunks the store never got (dropped by the real-time lane). */
  evidenceMissing: number;
  chunks: number;
}

/** Bounds of the id maps: episodes and chunks are referred to shortly after they begin. */
const IDS_KEPT = 100_000;
const CHUNKS_KEPT = 16_384;

function remember<K, V>(m: Map<K, V>, k: K, v: V, max: number): void {
  m.set(k, v);
  if (m.size > max) m.delete(m.keys().next().value as K);
}

export class AlarmJournal {
  readonly #store: JournalStore;
  readonly #recordOf: (storeId: number, a: Alarm, ended: boolean) => AlarmRecord;
  readonly #subs: AlarmSubscriber[] = [];
  readonly #storeIds = new Map<number, number>();
  readonly #chunks = new Map<number, EvidenceChunkRef>();
  readonly counters: JournalCounters = { alarms: 0, evidenceMissing: 0, chunks: 0 };

  constructor(store: JournalStore, recordOf: (storeId: number, a: Alarm, ended: boolean) => AlarmRecord) {
    this.#store = store;
    this.#recordOf = recordOf;
  }

  subscribe(s: AlarmSubscriber): () => void {
    this.#subs.push(s);
    return () => {
      const k = this.#subs.indexOf(s);
      if (k >= 0) this.#subs.splice(k, 1);
    };
  }

  /** The store's id of a detection alarm id, while the journal remembers it. */
  storeIdOf(detectionId: number): number | undefined {
    return this.#storeIds.get(detectionId);
  }

  onAlarms(items: readonly AlarmItem[]): void {
    for (const { k, a } of items) {
      if (k === 'raise') {
        const id = this.#store.alarmRaised(a);
        remember(this.#storeIds, a.id, id, IDS_KEPT);
        this.counters.alarms++;
        const rec = this.#recordOf(id, a, false);
        for (const s of this.#subs) s.raised?.(a, rec);
        continue;
      }
      const id = this.#storeIds.get(a.id);
      if (id === undefined) continue;
      if (k === 'update') {
        this.#store.alarmUpdated(id, a, false);
        for (const s of this.#subs) s.updated?.(a, id);
      } else {
        this.#store.alarmUpdated(id, a, true);
        const rec = this.#recordOf(id, a, true);
        for (const s of this.#subs) s.ended?.(a, rec);
      }
    }
  }

  onEvidence(items: readonly EvidenceItem[]): void {
    for (const it of items) {
      switch (it.k) {
        case 'chunk':
          remember(this.#chunks, it.ref, this.#store.addChunk(it.stream, it.data, it.frames, it.fromNs, it.toNs), CHUNKS_KEPT);
          this.counters.chunks++;
          break;
        case 'link': {
          const id = this.#storeIds.get(it.alarm);
          if (id === undefined) break;
          const refs: EvidenceChunkRef[] = [];
          for (const r of it.refs) {
            const c = this.#chunks.get(r);
            if (c !== undefined) refs.push(c);
            else this.counters.evidenceMissing++;
          }
          this.#store.linkEvidence(id, refs, it.complete && refs.length === it.refs.length);
          break;
        }
        case 'info':
          this.#store.saveStreamInfo(it.stream, it.info);
          break;
        case 'event':
          this.#store.event(it.kind, it.message, it.detail);
          break;
        case 'library': {
          const { id: _id, createdNs, ...rest } = it.entry;
          this.#store.addLibraryEntry({ ...rest, createdNs: BigInt(createdNs) });
          break;
        }
      }
    }
  }
}
