// Forensic evidence (tables chunks, alarm_chunks and streams): chunks of packed frames shared by the alarms
// that link them, and what the exporter needs to scale a stream's samples. Written through the batch queue.
import type { BetterSqlite3 } from 'better-sqlite3';
import type { EvidenceFrame, EvidenceStreamInfo } from '../../model/records.ts';
import type { EvidenceChunkRef } from '../ops.ts';
import type { StoreWriter } from '../writer.ts';
import { StoreError } from '../errors.ts';

/** Packs frames as [tsNs int64 LE][length uint32 LE][bytes] — the chunk blob format. */
export function packFrames(frames: readonly EvidenceFrame[]): Buffer {
  let n = 0;
  for (const f of frames) n += 12 + f.bytes.length;
  const out = Buffer.allocUnsafe(n);
  let o = 0;
  for (const f of frames) {
    out.writeBigInt64LE(f.tsNs, o);
    out.writeUInt32LE(f.bytes.length, o + 8);
    out.set(f.bytes, o + 12);
    o += 12 + f.bytes.length;
  }
  return out;
}

export function unpackFrames(blob: Uint8Array, out: EvidenceFrame[] = []): EvidenceFrame[] {
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  let o = 0;
  while (o + 12 <= b.length) {
    const tsNs = b.readBigInt64LE(o);
    const len = b.readUInt32LE(o + 8);
    if (o + 12 + len > b.length) throw new StoreError(`evidence chunk is truncated at byte ${o} (frame of ${len} bytes)`);
    out.push({ tsNs, bytes: new Uint8Array(b.subarray(o + 12, o + 12 + len)) });
    o += 12 + len;
  }
  return out;
}

export class EvidenceRepository {
  readonly #w: StoreWriter;
  readonly #chunksOf: BetterSqlite3.Statement;
  readonly #stream: BetterSqlite3.Statement;
  readonly #streamInfoCache = new Map<string, string>();

  constructor(writer: StoreWriter) {
    this.#w = writer;
    const db = writer.db;
    this.#chunksOf = db
      .prepare(
        'SELECT c.data AS data FROM alarm_chunks ac JOIN chunks c ON c.id = ac.chunk_id WHERE ac.alarm_id = ? ORDER BY c.from_ts, c.id',
      )
      .safeIntegers(true);
    this.#stream = db.prepare('SELECT info FROM streams WHERE name = ?');
  }

  /** Queues a chunk of packed frames of one stream; `data` must not change afterwards (bound at commit). */
  addChunk(stream: string, data: Uint8Array, frames: number, fromNs: bigint, toNs: bigint): EvidenceChunkRef {
    const id = this.#w.ids.chunk++;
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.#w.enqueue({ t: 'chunk', id, stream, from: fromNs, to: toNs, frames, data: buf });
    return { id, frames, fromNs, toNs };
  }

  link(alarmId: number, chunks: readonly EvidenceChunkRef[], complete: boolean): void {
    this.#w.enqueue({ t: 'link', alarmId, chunks: [...chunks], complete });
  }

  /** One chunk of these frames, linked to the alarm. */
  addFrames(alarmId: number, frames: readonly EvidenceFrame[], complete: boolean, stream: string): void {
    const refs: EvidenceChunkRef[] = [];
    if (frames.length > 0) {
      let from = frames[0]!.tsNs;
      let to = from;
      for (const f of frames) {
        if (f.tsNs < from) from = f.tsNs;
        if (f.tsNs > to) to = f.tsNs;
      }
      refs.push(this.addChunk(stream, packFrames(frames), frames.length, from, to));
    }
    this.link(alarmId, refs, complete);
  }

  /** Queued only when it changed since the last save. */
  saveStreamInfo(name: string, info: EvidenceStreamInfo): void {
    const json = JSON.stringify(info);
    if (this.#streamInfoCache.get(name) === json) return;
    this.#streamInfoCache.set(name, json);
    this.#w.enqueue({ t: 'stream', name, info: json, ts: this.#w.nowNs() });
  }

  streamInfo(stream: string): EvidenceStreamInfo | undefined {
    this.#w.readSync();
    const r = this.#stream.get(stream) as { info: string } | undefined;
    if (r === undefined) return undefined;
    try {
      return JSON.parse(r.info) as EvidenceStreamInfo;
    } catch {
      return undefined;
    }
  }

  /** The frames linked to an alarm, by time (waits for everything written before). */
  frames(alarmId: number): EvidenceFrame[] {
    this.#w.sync();
    const out: EvidenceFrame[] = [];
    let lastTs: bigint | null = null;
    for (const r of this.#chunksOf.iterate(alarmId) as IterableIterator<{ data: Buffer }>) {
      const before = out.length;
      unpackFrames(r.data, out);
      // Chunks of one stream never overlap; keep the order by time if a caller linked overlapping ones.
      if (lastTs !== null && out.length > before && out[before]!.tsNs < lastTs)
        out.sort((x, y) => (x.tsNs < y.tsNs ? -1 : x.tsNs > y.tsNs ? 1 : 0));
      if (out.length > 0) lastTs = out[out.length - 1]!.tsNs;
    }
    return out;
  }
}
