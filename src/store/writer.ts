// The write path of the evidence store: the capture thread never waits for the disk. Ids are allocated in
// process (max(id) at open), rows go into an in-memory queue and are committed together in one transaction
// when the queue holds `batchRows` rows or `batchMs` after the first queued row, whichever comes first. One
// transaction per batch means one WAL fsync per batch instead of one per row (see docs/evidence-store.md for
// the numbers). Acknowledgements and export marks go through the writer too, in order with the batches, and
// their promise settles once committed; reads flush the queue first so a reader sees every row written
// before it. The batches are committed by a writer thread with its own connection (writer-worker.ts) or,
// 'inline', on the caller's thread.
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { BetterSqlite3 } from 'better-sqlite3';
import {
  makeBatchCommitter,
  makeRequestRunner,
  prepareWrites,
  type BatchResult,
  type Op,
  type Request,
  type WriteStatements,
} from './ops.ts';
import type { RetentionPolicy, RetentionReport } from './retention.ts';
import { StoreError } from './errors.ts';

/** The next id of each table whose ids the store allocates (shared by the repositories). */
export interface Sequences {
  alarm: number;
  event: number;
  chunk: number;
  master: number;
}

export interface WriterOptions {
  path: string;
  batchRows: number;
  batchMs: number;
  /** See StoreOptions.consistentReads. */
  consistentReads: boolean;
  nowNs: () => bigint;
}

type RequestReply = { seq: number; result: number[] | boolean } | { seq: number; error: string };
type WorkerMessage =
  | { type: 'committed'; seq: number; rows: number; ms: number; dropped: number; firstError: string | null }
  | { type: 'error'; seq: number; message: string }
  | { type: 'retention'; nowNs: bigint; report: RetentionReport };

export class StoreWriter {
  readonly db: BetterSqlite3.Database;
  readonly path: string;
  readonly nowNs: () => bigint;
  readonly ids: Sequences;
  /** The write statements on the main connection (inline commits, and the writes done in place). */
  readonly writes: WriteStatements;
  /** Writer-thread commit time of each batch, ms (the last 1024). */
  readonly commitMs: number[] = [];
  /** Main-thread time of each flush, ms (ring of the last 1024, for the benchmark and health). */
  readonly flushMs: number[] = [];
  readonly #batchRows: number;
  readonly #batchMs: number;
  readonly #consistentReads: boolean;
  readonly #commit: (ops: readonly Op[]) => BatchResult;
  readonly #runRequest: (r: Request) => number[] | boolean;
  #queue: Op[] = [];
  #timer: NodeJS.Timeout | undefined;
  #lastCommitNs: bigint | null = null;
  #lastError: string | null = null;
  #failed = false;
  #closed = false;
  #dropped = 0;
  #replyPort: MessagePort | undefined;
  readonly #replies = new Map<number, { resolve: (v: number[] | boolean) => void; reject: (e: Error) => void }>();
  #worker: Worker | undefined;
  #flags: Int32Array | undefined;
  #posted = 0;
  #inflight: Array<{ seq: number; rows: number; maxAlarm: number }> = [];
  #alarmCommittedMax: number;

  constructor(db: BetterSqlite3.Database, opts: WriterOptions) {
    this.db = db;
    this.path = opts.path;
    this.nowNs = opts.nowNs;
    this.#batchRows = opts.batchRows;
    this.#batchMs = opts.batchMs;
    this.#consistentReads = opts.consistentReads;
    this.writes = prepareWrites(db);
    this.#commit = makeBatchCommitter(db, this.writes);
    this.#runRequest = makeRequestRunner(db, this.writes);
    const max = (sql: string): number => Number((db.prepare(sql).safeIntegers(true).get() as { m: bigint | null }).m ?? 0n);
    this.ids = {
      alarm: max('SELECT max(id) AS m FROM alarms') + 1,
      event: max('SELECT max(id) AS m FROM events') + 1,
      chunk: max('SELECT max(id) AS m FROM chunks') + 1,
      master: max('SELECT max(id) AS m FROM master_estimates') + 1,
    };
    this.#alarmCommittedMax = this.ids.alarm - 1;
  }

  get closed(): boolean {
    return this.#closed;
  }
  /** Whether a writer thread commits the batches. */
  get threaded(): boolean {
    return this.#worker !== undefined;
  }
  get failed(): boolean {
    return this.#failed;
  }
  get lastError(): string | null {
    return this.#lastError;
  }
  get lastCommitNs(): bigint | null {
    return this.#lastCommitNs;
  }
  /** Rows the database refused (constraint violations), skipped so they could not stall the others. */
  get droppedRows(): number {
    return this.#dropped;
  }

  /** A failure outside the commits (retention) that health() reports. */
  noteError(message: string): void {
    this.#lastError = message;
  }

  /** Starts the writer thread; `onRetention` receives the reports of its retention passes. */
  startThread(
    synchronous: 'FULL' | 'NORMAL',
    policy: RetentionPolicy,
    onRetention: (report: RetentionReport, nowNs: bigint) => void,
  ): void {
    const state = new SharedArrayBuffer(12);
    this.#flags = new Int32Array(state);
    const { port1, port2 } = new MessageChannel();
    const w = new Worker(new URL('./writer-worker.ts', import.meta.url), {
      workerData: { path: this.path, synchronous, state, policy, replies: port2 },
      transferList: [port2],
    });
    port1.on('message', (m: RequestReply) => {
      this.#settle(m);
    });
    // Pending requests do not keep the process alive either (close() drains the answers).
    port1.unref();
    this.#replyPort = port1;
    w.on('message', (m: WorkerMessage) => {
      if (m.type === 'retention') {
        onRetention(m.report, m.nowNs);
        return;
      }
      if (m.type === 'error' && m.seq === -1) {
        this.#lastError = m.message;
        return;
      }
      if (m.type === 'committed') {
        this.#lastCommitNs = this.nowNs();
        this.#failed = false;
        if (m.dropped > 0) this.#droppedRows(m.dropped, m.firstError);
        if (this.commitMs.length >= 1024) this.commitMs.shift();
        this.commitMs.push(m.ms);
      } else {
        this.#lastError = m.message;
        this.#failed = true;
      }
    });
    w.on('error', (err) => {
      this.#lastError = `writer thread failed: ${err.message}`;
      this.#failed = true;
    });
    // Never keep the process alive for the writer: close() waits for it.
    w.unref();
    this.#worker = w;
  }

  enqueue(op: Op): void {
    if (this.#closed) throw new StoreError(`${this.path}: the store is closed`);
    this.#queue.push(op);
    if (this.#queue.length >= this.#batchRows) this.flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush();
      }, this.#batchMs);
      this.#timer.unref();
    }
  }

  #settle(m: RequestReply): void {
    const p = this.#replies.get(m.seq);
    if (p === undefined) return;
    this.#replies.delete(m.seq);
    if ('error' in m) {
      this.#lastError = m.error;
      p.reject(new StoreError(`${this.path}: ${m.error}`));
    } else {
      this.#lastCommitNs = this.nowNs();
      p.resolve(m.result);
    }
  }

  /**
   * Hands a request to the writer after everything queued before it; settles once committed. Inline
   * writer: committed on this thread now.
   */
  request(r: Request): Promise<number[] | boolean> {
    if (this.#closed) return Promise.reject(new StoreError(`${this.path}: the store is closed`));
    this.flush();
    if (this.#worker === undefined) {
      try {
        const v = this.#runRequest(r);
        this.#lastCommitNs = this.nowNs();
        return Promise.resolve(v);
      } catch (err) {
        return Promise.reject(new StoreError(`${this.path}: ${(err as Error).message}`));
      }
    }
    const seq = ++this.#posted;
    this.#worker.postMessage({ type: 'request', seq, req: r });
    this.#inflight.push({ seq, rows: 1, maxAlarm: 0 });
    return new Promise((resolve, reject) => {
      this.#replies.set(seq, { resolve, reject });
    });
  }

  #droppedRows(n: number, first: string | null): void {
    this.#dropped += n;
    this.#lastError = `${this.#dropped} row(s) refused by the database so far (is another process writing this file?); first: ${first ?? '?'}`;
  }

  /**
   * Hands every queued row to the writer now: to the writer thread (returns at once), or committed in one
   * transaction on this thread ('inline'). Returns the number of rows handed over.
   */
  flush(): number {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const ops = this.#queue;
    if (ops.length === 0 || this.#closed) return 0;
    const t0 = performance.now();
    if (this.#worker !== undefined) {
      const seq = ++this.#posted;
      this.#worker.postMessage({ type: 'batch', seq, ops });
      this.#queue = [];
      let maxAlarm = 0;
      for (const op of ops) if (op.t === 'alarm' && op.id > maxAlarm) maxAlarm = op.id;
      this.#inflight.push({ seq, rows: ops.length, maxAlarm });
    } else {
      try {
        const r = this.#commit(ops);
        if (r.dropped > 0) this.#droppedRows(r.dropped, r.firstError);
        this.#queue = [];
        this.#alarmCommittedMax = this.ids.alarm - 1;
        this.#lastCommitNs = this.nowNs();
        this.#failed = false;
      } catch (err) {
        // Keep the rows for the next attempt (e.g. the disk was full for a moment); say why in health().
        this.#lastError = `commit of ${ops.length} rows failed: ${(err as Error).message}`;
        this.#failed = true;
        if (this.#queue.length > 100_000) this.#queue = this.#queue.filter((o) => o.t !== 'counter' && o.t !== 'event');
        if (this.#timer === undefined) {
          this.#timer = setTimeout(() => {
            this.#timer = undefined;
            this.flush();
          }, 1000);
          this.#timer.unref();
        }
        return 0;
      }
    }
    const ms = performance.now() - t0;
    if (this.flushMs.length >= 1024) this.flushMs.shift();
    this.flushMs.push(ms);
    return ops.length;
  }

  /**
   * Flushes and waits until everything written so far is committed (durable). Returns false when the
   * writer is failing or did not finish within `timeoutMs` (then health() says why).
   */
  sync(timeoutMs = 10_000): boolean {
    this.flush();
    const f = this.#flags;
    if (f === undefined) return this.#queue.length === 0;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const done = Atomics.load(f, 0);
      if (done >= this.#posted) break;
      if (Atomics.load(f, 1) === 1) {
        this.#failed = true;
        this.#lastError ??= 'the writer thread cannot commit';
        return false;
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        this.#lastError = `the writer thread has not committed within ${timeoutMs} ms`;
        return false;
      }
      Atomics.wait(f, 0, done, Math.min(left, 50));
    }
    this.#lastCommitNs = this.nowNs();
    this.#refresh();
    return true;
  }

  /** Drops the batches the writer thread has committed from the in-flight list. */
  #refresh(): void {
    if (this.#flags === undefined) return;
    const done = Atomics.load(this.#flags, 0);
    if (this.#inflight.length === 0 || this.#inflight[0]!.seq > done) return;
    const left: Array<{ seq: number; rows: number; maxAlarm: number }> = [];
    for (const b of this.#inflight) {
      if (b.seq <= done) {
        if (b.maxAlarm > this.#alarmCommittedMax) this.#alarmCommittedMax = b.maxAlarm;
      } else left.push(b);
    }
    this.#inflight = left;
  }

  /**
   * Before a list query: with consistentReads, wait for everything written so far; otherwise hand the
   * queue over and read what is committed (at most one batch interval behind), so an API poll never
   * makes the capture thread wait for an fsync.
   */
  readSync(): void {
    if (this.#consistentReads) this.sync();
    else this.flush();
  }

  /** Before reading alarm `id`: as readSync(), but waits when that alarm is allocated and not yet committed. */
  readSyncAlarm(id: number): void {
    if (this.#consistentReads) this.sync();
    else {
      this.#refresh();
      if (id > this.#alarmCommittedMax && id < this.ids.alarm) this.sync();
      else this.flush();
    }
  }

  /** Rows queued and not yet committed. */
  get pending(): number {
    this.#refresh();
    let n = this.#queue.length;
    for (const b of this.#inflight) n += b.rows;
    return n;
  }

  /** Hands a retention pass to the writer thread after the queued rows; false without a thread. */
  postRetention(nowNs: bigint): boolean {
    if (this.#worker === undefined) return false;
    this.flush();
    this.#worker.postMessage({ type: 'retention', nowNs });
    return true;
  }

  /** Flushes, waits for the writer thread, and closes the connection; further writes throw. */
  close(): void {
    if (this.#closed) return;
    this.sync();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#closed = true;
    if (this.#worker !== undefined && this.#flags !== undefined) {
      this.#worker.postMessage({ type: 'close' });
      const deadline = performance.now() + 10_000;
      while (Atomics.load(this.#flags, 2) === 0 && performance.now() < deadline) Atomics.wait(this.#flags, 2, 0, 50);
      void this.#worker.terminate();
      this.#worker = undefined;
    }
    if (this.#replyPort !== undefined) {
      // Answers the writer sent before it closed; anything left had no answer.
      for (let m = receiveMessageOnPort(this.#replyPort); m !== undefined; m = receiveMessageOnPort(this.#replyPort))
        this.#settle(m.message as RequestReply);
      this.#replyPort.close();
    }
    for (const [seq, p] of this.#replies) {
      this.#replies.delete(seq);
      p.reject(new StoreError(`${this.path}: the store closed before the writer answered`));
    }
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      /* best effort */
    }
    this.db.close();
  }
}
