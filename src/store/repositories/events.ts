// The normal-event log (table events): written through the batch queue, read newest first in pages.
import type { EventQuery, EventRecord, Page } from '../../model/records.ts';
import type { StoreWriter } from '../writer.ts';
import { Pager, clampLimit, decodeCursor, parseDetail } from './paging.ts';

interface EventRow {
  id: bigint;
  ts: bigint;
  kind: string;
  message: string;
  detail: string | null;
}

export class EventsRepository {
  readonly #w: StoreWriter;
  readonly #pager: Pager;

  constructor(writer: StoreWriter) {
    this.#w = writer;
    this.#pager = new Pager(writer.db);
  }

  /** Queues an event; returns its id (allocated now). */
  add(kind: string, message: string, detail?: Record<string, number | string | boolean> | null, tsNs?: bigint): number {
    const id = this.#w.ids.event++;
    this.#w.enqueue({
      t: 'event',
      id,
      ts: tsNs ?? this.#w.nowNs(),
      kind,
      message,
      detail: detail === undefined || detail === null ? null : JSON.stringify(detail),
    });
    return id;
  }

  list(q: EventQuery): Page<EventRecord> {
    this.#w.readSync();
    const limit = clampLimit(q.limit);
    const cursor = decodeCursor(q.cursor);
    const where: string[] = [];
    const args: unknown[] = [];
    let key = 'E';
    if (q.kind !== undefined) {
      where.push('kind = ?');
      args.push(q.kind);
      key += 'k';
    }
    if (q.sinceNs !== undefined) {
      where.push('ts >= ?');
      args.push(q.sinceNs);
      key += 'f';
    }
    if (q.untilNs !== undefined) {
      where.push('ts <= ?');
      args.push(q.untilNs);
      key += 't';
    }
    return this.#pager.page('events', 'id, ts, kind, message, detail', key, where, args, cursor, limit, (r: EventRow) => ({
      id: Number(r.id),
      tsNs: r.ts.toString(),
      kind: r.kind,
      message: r.message,
      detail: parseDetail(r.detail),
    }));
  }
}
