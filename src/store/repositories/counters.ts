// The counter samples (table counters): written through the batch queue, read oldest first by time.
import { COUNTERS_LIMIT, type CounterPage, type CounterSample } from '../../model/records.ts';
import type { BetterSqlite3 } from 'better-sqlite3';
import type { StoreWriter } from '../writer.ts';
import { StoreError } from '../errors.ts';

export class CountersRepository {
  readonly #w: StoreWriter;
  readonly #range: BetterSqlite3.Statement;

  constructor(writer: StoreWriter) {
    this.#w = writer;
    this.#range = writer.db
      .prepare('SELECT ts, counts, frames, lost FROM counters WHERE ts >= ? AND ts <= ? ORDER BY ts, id LIMIT ?')
      .safeIntegers(true);
  }

  add(sample: CounterSample): void {
    this.#w.enqueue({ t: 'counter', s: { ...sample, counts: { ...sample.counts } } });
  }

  /** Samples oldest first, at most `limit` (COUNTERS_LIMIT), and whether more matched. */
  page(sinceNs: bigint, untilNs?: bigint, limit?: number): CounterPage {
    const l = limit ?? COUNTERS_LIMIT.default;
    if (!Number.isInteger(l) || l < 1 || l > COUNTERS_LIMIT.max)
      throw new StoreError(`limit must be an integer 1 … ${COUNTERS_LIMIT.max}, got ${l}`);
    this.#w.readSync();
    const rows = this.#range.all(sinceNs, untilNs ?? 0x7fffffffffffffffn, l + 1) as Array<{
      ts: bigint;
      counts: string;
      frames: bigint;
      lost: bigint;
    }>;
    const truncated = rows.length > l;
    const samples = (truncated ? rows.slice(0, l) : rows).map((r) => ({
      tsNs: r.ts.toString(),
      counts: JSON.parse(r.counts) as CounterSample['counts'],
      frames: Number(r.frames),
      lost: Number(r.lost),
    }));
    return { samples, truncated, nextSinceNs: truncated ? rows[l]!.ts.toString() : null };
  }
}
