// The store's upkeep on the main thread: when retention runs (periodically on the writer thread, or now),
// the degraded state a pass leaves and the events it reports, and the store's health for the API.
import type { StoreHealth } from '../model/records.ts';
import { Retention, fileBytes, type RetentionPolicy, type RetentionReport } from './retention.ts';
import type { EventsRepository } from './repositories/events.ts';
import type { StoreWriter } from './writer.ts';

export class StoreUpkeep {
  readonly #w: StoreWriter;
  readonly #events: EventsRepository;
  readonly #policy: RetentionPolicy;
  readonly #retention: Retention;
  #timer: NodeJS.Timeout | undefined;
  #degradedReason: string | null = null;
  /** The last report of a background retention pass. */
  lastRetention: RetentionReport | null = null;

  constructor(writer: StoreWriter, events: EventsRepository, policy: RetentionPolicy) {
    this.#w = writer;
    this.#events = events;
    this.#policy = policy;
    this.#retention = new Retention(writer.db, policy);
  }

  /** Runs retention every `everyMs` (0: only when asked). */
  schedule(everyMs: number): void {
    if (everyMs <= 0) return;
    // With the writer thread, retention runs there (deleting and checkpointing never stall this thread).
    this.#timer = setInterval(() => {
      this.runInBackground(this.#w.nowNs());
    }, everyMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  /** Bytes the database occupies on disk (main file + WAL). */
  sizeBytes(): number {
    return fileBytes(this.#policy.path);
  }

  health(): StoreHealth {
    const w = this.#w;
    const dropped = w.droppedRows;
    const state = w.failed ? 'failed' : this.#degradedReason !== null || dropped > 0 ? 'degraded' : 'ok';
    return {
      state,
      path: this.#policy.path,
      sizeBytes: this.sizeBytes(),
      limitBytes: this.#policy.limitBytes,
      pending: w.pending,
      lastCommitNs: w.lastCommitNs === null ? null : w.lastCommitNs.toString(),
      lastError: w.lastError,
      reason: w.failed || (this.#degradedReason === null && dropped > 0) ? w.lastError : this.#degradedReason,
    };
  }

  /** A pass on this thread now, after everything written before it is committed. */
  retention(nowNs: bigint): RetentionReport {
    // The writer thread is idle after sync() (batches are only posted from this thread): TRUNCATE cannot wait.
    const idle = this.#w.sync();
    let rep: RetentionReport;
    try {
      rep = this.#retention.run(nowNs, idle);
    } catch (err) {
      this.#w.noteError(`retention failed: ${(err as Error).message}`);
      return {
        events: 0,
        counters: 0,
        alarms: 0,
        chunks: 0,
        estimates: 0,
        sizeBytes: this.sizeBytes(),
        state: this.#degradedReason === null ? 'ok' : 'degraded',
        reason: this.#degradedReason,
      };
    }
    this.#done(rep, nowNs);
    return rep;
  }

  /** Starts a pass on the writer thread (inline writer: runs it now). */
  runInBackground(nowNs: bigint): void {
    if (this.#w.closed) return;
    if (!this.#w.postRetention(nowNs)) this.lastRetention = this.retention(nowNs);
  }

  /** A pass finished on the writer thread. */
  finished(rep: RetentionReport, nowNs: bigint): void {
    this.#done(rep, nowNs);
    this.lastRetention = rep;
  }

  /** Degraded state and events from a retention pass (ours or the writer thread's). */
  #done(rep: RetentionReport, nowNs: bigint): void {
    if (this.#w.closed) return;
    if (rep.state === 'degraded' && this.#degradedReason !== rep.reason) {
      this.#degradedReason = rep.reason;
      this.#events.add('storage-state', rep.reason!, { state: 'degraded' }, nowNs);
    } else if (rep.state === 'ok' && this.#degradedReason !== null) {
      this.#degradedReason = null;
      this.#events.add('storage-state', 'storage back within its limit', { state: 'ok' }, nowNs);
    }
    if (rep.events + rep.counters + rep.alarms + rep.estimates > 0) {
      this.#events.add(
        'retention',
        `retention deleted ${rep.events} events, ${rep.counters} counter samples, ${rep.alarms} exported alarms, ${rep.estimates} estimates`,
        { events: rep.events, counters: rep.counters, alarms: rep.alarms, chunks: rep.chunks, estimates: rep.estimates },
        nowNs,
      );
    }
  }

  /** Runs PRAGMA integrity_check; 'ok' or the problems found. */
  integrityCheck(): string {
    const rows = this.#w.db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    return rows.map((r) => r.integrity_check).join('; ');
  }
}
