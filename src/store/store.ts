// The evidence store: alarm log, normal-event log, counters, forensic evidence, estimates and the
// fault/attack library in one SQLite file (better-sqlite3, WAL). The only module that writes SQL.
//
// Write path: the capture thread never waits for the disk. Ids are allocated in process (max(id) at open),
// rows go into an in-memory queue and are committed together in one transaction when the queue holds
// `batchRows` rows or `batchMs` after the first queued row, whichever comes first. One transaction per batch
// means one WAL fsync per batch instead of one per row (see docs/evidence-store.md for the numbers).
// Acknowledgements and export marks go through the writer too, in order with the batches, and their
// promise settles once committed; reads flush the queue first so a reader sees every row written before it.
//
// Durability: journal_mode=WAL with synchronous=FULL: the WAL is fsynced at every commit, so a committed
// alarm survives power loss, not only a killed process (NORMAL would only fsync at checkpoints and may lose
// the last commits on power loss).
import { SvdeError } from '../model/errors.ts';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { BetterSqlite3 } from 'better-sqlite3';
import type { Alarm, AlarmCategory, Grade } from '../model/indicators.ts';
import type { EstimateView, MasterEstimateInput, UpstreamResult } from '../model/estimates.ts';
import { APPLICATION_ID, SCHEMA_VERSION, migrate } from './schema.ts';
import { Retention, fileBytes, type RetentionReport } from './retention.ts';
import {
  makeBatchCommitter, makeRequestRunner, prepareWrites, type AckTarget, type BatchResult, type EvidenceChunkRef, type Op, type Request,
  type WriteStatements,
} from './ops.ts';
import {
  COUNTERS_LIMIT, type AlarmQuery, type AlarmRecord, type CounterPage, type CounterSample, type EventQuery, type EventRecord,
  type EvidenceFrame, type EvidenceStreamInfo, type Page, type StoreHealth, type StoreReader,
} from '../model/records.ts';

const REQUIRED_TABLES = ['alarms', 'events', 'counters', 'chunks', 'alarm_chunks', 'streams', 'local_estimates', 'master_estimates', 'library'];

export class StoreError extends SvdeError {
  readonly code = 'STORE';
  override name = 'StoreError';
}

export interface StoreOptions {
  path: string;
  /** Size bound of the database (main file + WAL), bytes. Default 256 MiB. */
  limitBytes?: number;
  /** Exported alarms (and their evidence) older than this may be deleted. Default 90 days. */
  alarmRetentionDays?: number;
  /** Normal events, counter samples and estimates older than this are deleted. Default 30 days. */
  eventRetentionDays?: number;
  /** Commit when this many rows are queued (default 512). */
  batchRows?: number;
  /** …or this long after the first queued row (default 50 ms). */
  batchMs?: number;
  /** Retention runs this often (default 60 s; 0: only when retention() is called). */
  retentionEveryMs?: number;
  /** Integrity check at open: 'quick' (default) or 'none'. */
  check?: 'quick' | 'none';
  /** Clock for retention (ns since the epoch). */
  nowNs?: () => bigint;
  /** WAL fsync policy; 'FULL' (default) survives power loss. 'NORMAL' exists for the benchmark's comparison. */
  synchronous?: 'FULL' | 'NORMAL';
  /**
   * List queries (alarms, events, counters, estimates, library) wait until everything written before them
   * is committed (default true). false: they read the committed state, at most one batch interval behind,
   * and never wait for the writer thread — for the appliance's API. getAlarm(id) of an id not yet
   * committed, evidenceFrames() and the synchronous writes always wait.
   */
  consistentReads?: boolean;
  /**
   * Who commits the batches: 'thread' (default) a writer thread with its own connection, so the caller's
   * thread never waits for the disk; 'inline' the caller's thread (simpler; for tools and comparisons).
   */
  writer?: 'thread' | 'inline';
}

export type StoreAckTarget = AckTarget;

/** What the appliance restores at start (see EvidenceStore.recoverAtStart). */
export interface StartRecovery {
  /** Per indicator (and trip): alarms in the store, how many wait for acknowledgement, the newest of those. */
  indicators: Partial<Record<AlarmCategory, { count: number; unacknowledged: number; lastUnacknowledgedId: number | null }>>;
  /** Alarms still open (not ended) when the previous run stopped without ending them, now ended. */
  endedAtRestart: number[];
}

export interface LibraryEntryInput {
  kind: 'fault' | 'attack';
  label: string;
  features: unknown;
  source: string;
  createdNs: bigint;
}

export interface LibraryEntry {
  id: number;
  kind: 'fault' | 'attack';
  label: string;
  features: unknown;
  source: string;
  createdNs: string;
}

export interface MasterEstimateRecord extends MasterEstimateInput {
  seq: number;
  tsNs: string;
  outcome: UpstreamResult['outcome'];
  reason: string;
  localId: string | null;
  alarmId: number | null;
}

export type { EvidenceChunkRef };

export type { RetentionReport };

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

interface AlarmRow {
  id: bigint; indicator: string; grade: bigint; stream: string; reason: string; first_frame: bigint; last_frame: bigint;
  frames: bigint; first_ts: bigint; last_ts: bigint; ended: bigint; ack_by: string | null; ack_ts: bigint | null;
  detail: string | null; exported: bigint; ev_frames: bigint | null; ev_from: bigint | null; ev_to: bigint | null;
  ev_complete: bigint | null;
}
interface EventRow { id: bigint; ts: bigint; kind: string; message: string; detail: string | null }

function parseDetail(s: string | null): Record<string, number | string | boolean> | null {
  if (s === null) return null;
  try {
    const v = JSON.parse(s) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, number | string | boolean>) : null;
  } catch {
    return null;
  }
}

function alarmRecord(r: AlarmRow): AlarmRecord {
  return {
    id: Number(r.id),
    indicator: r.indicator as AlarmCategory,
    grade: Number(r.grade) as Grade,
    stream: r.stream,
    reason: r.reason,
    firstFrame: Number(r.first_frame),
    lastFrame: Number(r.last_frame),
    frames: Number(r.frames),
    firstTsNs: r.first_ts.toString(),
    lastTsNs: r.last_ts.toString(),
    ended: r.ended !== 0n,
    acknowledged: r.ack_by === null ? null : { by: r.ack_by, atNs: (r.ack_ts ?? 0n).toString() },
    detail: parseDetail(r.detail),
    evidence: r.ev_frames === null ? null : {
      frames: Number(r.ev_frames),
      fromNs: (r.ev_from ?? 0n).toString(),
      toNs: (r.ev_to ?? 0n).toString(),
      complete: r.ev_complete === 1n,
    },
    exported: r.exported !== 0n,
  };
}

function encodeCursor(id: number): string {
  return Buffer.from(`i${id}`).toString('base64url');
}
function decodeCursor(c: string | undefined): number | null {
  if (c === undefined || c === '') return null;
  const s = Buffer.from(c, 'base64url').toString();
  const m = /^i(\d{1,15})$/.exec(s);
  if (m === null) throw new StoreError(`invalid cursor '${c}'`);
  return Number(m[1]);
}
function clampLimit(l: number | undefined): number {
  if (l === undefined) return 50;
  if (!Number.isInteger(l) || l < 1 || l > 500) throw new StoreError(`limit must be an integer 1 … 500, got ${l}`);
  return l;
}

const ALARM_COLS = 'id, indicator, grade, stream, reason, first_frame, last_frame, frames, first_ts, last_ts, ended, ack_by, ack_ts, detail, exported, ev_frames, ev_from, ev_to, ev_complete';

function describeOpenError(path: string, err: unknown): StoreError {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  if (code === 'SQLITE_NOTADB') return new StoreError(`${path}: not an SQLite database (the file is corrupt or something else)`);
  if (code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT')) return new StoreError(`${path}: the database is corrupt (${e.message ?? code})`);
  if (code === 'SQLITE_CANTOPEN') return new StoreError(`${path}: cannot open (${e.message ?? code}): check the directory exists and is writable`);
  if (code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY')) return new StoreError(`${path}: read-only (${e.message ?? code})`);
  if (err instanceof StoreError) return err;
  return new StoreError(`${path}: ${e.message ?? String(err)}${code !== '' ? ` (${code})` : ''}`);
}

export class EvidenceStore implements StoreReader {
  readonly path: string;
  readonly limitBytes: number;
  readonly alarmRetentionDays: number;
  readonly eventRetentionDays: number;
  readonly #db: BetterSqlite3.Database;
  readonly #batchRows: number;
  readonly #batchMs: number;
  readonly #nowNs: () => bigint;
  #queue: Op[] = [];
  #timer: NodeJS.Timeout | undefined;
  #retentionTimer: NodeJS.Timeout | undefined;
  #nextAlarm: number;
  #nextEvent: number;
  #nextChunk: number;
  #nextMaster: number;
  #lastCommitNs: bigint | null = null;
  #lastError: string | null = null;
  #failed = false;
  #degradedReason: string | null = null;
  #closed = false;
  #streamInfoCache = new Map<string, string>();
  readonly #s: Record<string, BetterSqlite3.Statement>;
  readonly #commit: (ops: readonly Op[]) => BatchResult;
  readonly #runRequest: (r: Request) => number[] | boolean;
  #replyPort: MessagePort | undefined;
  readonly #replies = new Map<number, { resolve: (v: number[] | boolean) => void; reject: (e: Error) => void }>();
  readonly #w: WriteStatements;
  readonly #retention: Retention;
  #worker: Worker | undefined;
  #flags: Int32Array | undefined;
  #posted = 0;
  #inflight: Array<{ seq: number; rows: number; maxAlarm: number }> = [];
  #alarmCommittedMax = 0;
  readonly #consistentReads: boolean;
  /** Writer-thread commit time of each batch, ms (the last 1024). */
  readonly commitMs: number[] = [];
  readonly #queryCache = new Map<string, BetterSqlite3.Statement>();
  /** Main-thread time of each flush, ms (ring of the last 1024, for the benchmark and health). */
  readonly flushMs: number[] = [];

  /** Opens (creating or migrating) the store at opts.path; StoreError with the reason when it cannot. */
  static open(opts: StoreOptions): EvidenceStore {
    return new EvidenceStore(opts);
  }

  constructor(opts: StoreOptions) {
    this.path = opts.path;
    this.limitBytes = opts.limitBytes ?? 256 * 1024 * 1024;
    this.alarmRetentionDays = opts.alarmRetentionDays ?? 90;
    this.eventRetentionDays = opts.eventRetentionDays ?? 30;
    this.#batchRows = opts.batchRows ?? 512;
    this.#batchMs = opts.batchMs ?? 50;
    this.#consistentReads = opts.consistentReads ?? true;
    this.#nowNs = opts.nowNs ?? (() => BigInt(Date.now()) * 1_000_000n);
    let db: BetterSqlite3.Database;
    try {
      db = new Database(opts.path, { timeout: 5000 });
    } catch (err) {
      throw describeOpenError(opts.path, err);
    }
    try {
      this.#db = db;
      this.#openChecks(opts.check ?? 'quick', opts.synchronous ?? 'FULL');
      this.#s = this.#prepare();
      this.#w = prepareWrites(db);
      this.#retention = new Retention(db, { path: this.path, limitBytes: this.limitBytes, alarmRetentionDays: this.alarmRetentionDays, eventRetentionDays: this.eventRetentionDays });
      this.#commit = makeBatchCommitter(db, this.#w);
      this.#runRequest = makeRequestRunner(db, this.#w);
      const max = (sql: string): number => Number((db.prepare(sql).safeIntegers(true).get() as { m: bigint | null }).m ?? 0n);
      this.#nextAlarm = max('SELECT max(id) AS m FROM alarms') + 1;
      this.#alarmCommittedMax = this.#nextAlarm - 1;
      this.#nextEvent = max('SELECT max(id) AS m FROM events') + 1;
      this.#nextChunk = max('SELECT max(id) AS m FROM chunks') + 1;
      this.#nextMaster = max('SELECT max(id) AS m FROM master_estimates') + 1;
    } catch (err) {
      try { db.close(); } catch { /* already failing */ }
      throw describeOpenError(opts.path, err);
    }
    if ((opts.writer ?? 'thread') === 'thread') this.#startWriter(opts.synchronous ?? 'FULL');
    const every = opts.retentionEveryMs ?? 60_000;
    if (every > 0) {
      // With the writer thread, retention runs there (deleting and checkpointing never stall this thread).
      this.#retentionTimer = setInterval(() => { this.runRetentionInBackground(); }, every);
      this.#retentionTimer.unref();
    }
  }

  #openChecks(check: 'quick' | 'none', synchronous: 'FULL' | 'NORMAL'): void {
    const db = this.#db;
    // Reading the schema makes SQLite parse the header: a file that is not a database fails here.
    const tables = (db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as { n: number }).n;
    const appId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (tables === 0 && version === 0) {
      // A new file: incremental auto-vacuum must be chosen before the first table exists (it lets retention
      // give pages back to the file system on flash).
      db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma(`application_id = ${APPLICATION_ID}`);
    } else if (appId !== APPLICATION_ID) {
      throw new StoreError(`${this.path}: not an SVDE evidence store (application_id 0x${(appId >>> 0).toString(16)}, ${tables} tables of another application)`);
    }
    if (version > SCHEMA_VERSION) {
      throw new StoreError(`${this.path}: schema version ${version} is newer than this build understands (${SCHEMA_VERSION}); use a newer svde`);
    }
    const mode = db.pragma('journal_mode = WAL', { simple: true }) as string;
    if (mode !== 'wal') throw new StoreError(`${this.path}: cannot switch to WAL journal mode (got '${mode}')`);
    db.pragma(`synchronous = ${synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
    db.pragma('foreign_keys = OFF');
    // Keep the WAL from growing without bound between checkpoints (flash).
    db.pragma('journal_size_limit = 8388608');
    if (check === 'quick' && version > 0) {
      const rows = db.pragma('quick_check(5)') as Array<{ quick_check: string }>;
      const msgs = rows.map((r) => r.quick_check);
      if (msgs.length !== 1 || msgs[0] !== 'ok') throw new StoreError(`${this.path}: the database is corrupt: ${msgs.join('; ')}`);
    }
    migrate(db);
    // A hostile file could carry triggers or views that run on our writes, or lack tables: refuse it.
    const objs = db.prepare("SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'").all() as Array<{ type: string; name: string }>;
    const foreign = objs.filter((o) => o.type !== 'table' && o.type !== 'index');
    if (foreign.length > 0) throw new StoreError(`${this.path}: unexpected ${foreign.map((o) => `${o.type} '${o.name}'`).join(', ')} in the evidence store (not created by svde)`);
    const names = new Set(objs.filter((o) => o.type === 'table').map((o) => o.name));
    const missing = REQUIRED_TABLES.filter((t) => !names.has(t));
    if (missing.length > 0) throw new StoreError(`${this.path}: schema version ${SCHEMA_VERSION} but table(s) ${missing.join(', ')} missing`);
  }

  #prepare(): Record<string, BetterSqlite3.Statement> {
    const db = this.#db;
    const p = (sql: string): BetterSqlite3.Statement => db.prepare(sql);
    const q = (sql: string): BetterSqlite3.Statement => db.prepare(sql).safeIntegers(true);
    return {
      getAlarm: q(`SELECT ${ALARM_COLS} FROM alarms WHERE id = ?`),
      getStream: p('SELECT info FROM streams WHERE name = ?'),
      perIndicator: q(`SELECT indicator, count(*) AS n, sum(ack_by IS NULL) AS unacked, max(CASE WHEN ack_by IS NULL THEN id END) AS last_unacked
                       FROM alarms GROUP BY indicator`),
      notEnded: q('SELECT id FROM alarms WHERE ended = 0 ORDER BY id'),
      endAtRestart: p(`UPDATE alarms SET ended = 1, detail = CASE WHEN json_valid(detail) AND json_type(detail) = 'object'
                         THEN json_set(detail, '$.endedAtRestart', json('true')) ELSE json_object('endedAtRestart', json('true')) END
                       WHERE ended = 0`),
      evidence: q('SELECT c.data AS data FROM alarm_chunks ac JOIN chunks c ON c.id = ac.chunk_id WHERE ac.alarm_id = ? ORDER BY c.from_ts, c.id'),
      counters: q('SELECT ts, counts, frames, lost FROM counters WHERE ts >= ? AND ts <= ? ORDER BY ts, id LIMIT ?'),
      localSince: q('SELECT id, bus, window_start, window_end, vals FROM local_estimates WHERE window_end >= ? ORDER BY window_end, id'),
      localById: q('SELECT id, bus, window_start, window_end, vals FROM local_estimates WHERE id = ?'),
      masterList: q('SELECT id, ts, local_id, bus, window_start, window_end, vals, outcome, reason, alarm_id FROM master_estimates ORDER BY id DESC LIMIT ?'),
      insLibrary: p('INSERT INTO library (kind, label, features, source, created) VALUES (?, ?, ?, ?, ?)'),
      libAll: q('SELECT id, kind, label, features, source, created FROM library ORDER BY id'),
      libKind: q('SELECT id, kind, label, features, source, created FROM library WHERE kind = ? ORDER BY id'),
    };
  }

  // ---- write side -------------------------------------------------------------------------------------

  #enqueue(op: Op): void {
    if (this.#closed) throw new StoreError(`${this.path}: the store is closed`);
    this.#queue.push(op);
    if (this.#queue.length >= this.#batchRows) this.flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => { this.#timer = undefined; this.flush(); }, this.#batchMs);
      this.#timer.unref();
    }
  }

  #startWriter(synchronous: 'FULL' | 'NORMAL'): void {
    const state = new SharedArrayBuffer(12);
    this.#flags = new Int32Array(state);
    const policy = { path: this.path, limitBytes: this.limitBytes, alarmRetentionDays: this.alarmRetentionDays, eventRetentionDays: this.eventRetentionDays };
    const { port1, port2 } = new MessageChannel();
    const w = new Worker(new URL('./writer-worker.ts', import.meta.url), { workerData: { path: this.path, synchronous, state, policy, replies: port2 }, transferList: [port2] });
    port1.on('message', (m: RequestReply) => { this.#settle(m); });
    // Pending requests do not keep the process alive either (close() drains the answers).
    port1.unref();
    this.#replyPort = port1;
    w.on('message', (m: { type: 'committed'; seq: number; rows: number; ms: number; dropped: number; firstError: string | null } | { type: 'error'; seq: number; message: string } | { type: 'retention'; nowNs: bigint; report: RetentionReport }) => {
      if (m.type === 'retention') {
        this.#retentionDone(m.report, m.nowNs);
        this.lastRetention = m.report;
        return;
      }
      if (m.type === 'error' && m.seq === -1) { this.#lastError = m.message; return; }
      if (m.type === 'committed') {
        this.#lastCommitNs = this.#nowNs();
        this.#failed = false;
        if (m.dropped > 0) this.#droppedRows(m.dropped, m.firstError);
        if (this.commitMs.length >= 1024) this.commitMs.shift();
        this.commitMs.push(m.ms);
      } else {
        this.#lastError = m.message;
        this.#failed = true;
      }
    });
    w.on('error', (err) => { this.#lastError = `writer thread failed: ${err.message}`; this.#failed = true; });
    // Never keep the process alive for the writer: close() waits for it.
    w.unref();
    this.#worker = w;
  }

  #settle(m: RequestReply): void {
    const p = this.#replies.get(m.seq);
    if (p === undefined) return;
    this.#replies.delete(m.seq);
    if ('error' in m) {
      this.#lastError = m.error;
      p.reject(new StoreError(`${this.path}: ${m.error}`));
    } else {
      this.#lastCommitNs = this.#nowNs();
      p.resolve(m.result);
    }
  }

  /**
   * Hands a request to the writer after everything queued before it; settles once committed. Inline
   * writer: committed on this thread now.
   */
  #request(r: Request): Promise<number[] | boolean> {
    if (this.#closed) return Promise.reject(new StoreError(`${this.path}: the store is closed`));
    this.flush();
    if (this.#worker === undefined) {
      try {
        const v = this.#runRequest(r);
        this.#lastCommitNs = this.#nowNs();
        return Promise.resolve(v);
      } catch (err) {
        return Promise.reject(new StoreError(`${this.path}: ${(err as Error).message}`));
      }
    }
    const seq = ++this.#posted;
    this.#worker.postMessage({ type: 'request', seq, req: r });
    this.#inflight.push({ seq, rows: 1, maxAlarm: 0 });
    return new Promise((resolve, reject) => { this.#replies.set(seq, { resolve, reject }); });
  }

  #dropped = 0;
  #droppedRows(n: number, first: string | null): void {
    this.#dropped += n;
    this.#lastError = `${this.#dropped} row(s) refused by the database so far (is another process writing this file?); first: ${first ?? '?'}`;
  }

  /** Rows the database refused (constraint violations), skipped so they could not stall the others. */
  get droppedRows(): number {
    return this.#dropped;
  }

  /**
   * Hands every queued row to the writer now: to the writer thread (returns at once), or committed in one
   * transaction on this thread ('inline'). Returns the number of rows handed over.
   */
  flush(): number {
    if (this.#timer !== undefined) { clearTimeout(this.#timer); this.#timer = undefined; }
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
        this.#alarmCommittedMax = this.#nextAlarm - 1;
        this.#lastCommitNs = this.#nowNs();
        this.#failed = false;
      } catch (err) {
        // Keep the rows for the next attempt (e.g. the disk was full for a moment); say why in health().
        this.#lastError = `commit of ${ops.length} rows failed: ${(err as Error).message}`;
        this.#failed = true;
        if (this.#queue.length > 100_000) this.#queue = this.#queue.filter((o) => o.t !== 'counter' && o.t !== 'event');
        if (this.#timer === undefined) {
          this.#timer = setTimeout(() => { this.#timer = undefined; this.flush(); }, 1000);
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
   * writer is failing or did not finish within `timeoutMs` (then health() says why). Reads call it, so a
   * reader sees every row written before it.
   */
  sync(timeoutMs = 10_000): boolean {
    this.flush();
    const f = this.#flags;
    if (f === undefined) return this.#queue.length === 0;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const done = Atomics.load(f, 0);
      if (done >= this.#posted) break;
      if (Atomics.load(f, 1) === 1) { this.#failed = true; this.#lastError ??= 'the writer thread cannot commit'; return false; }
      const left = deadline - performance.now();
      if (left <= 0) { this.#lastError = `the writer thread has not committed within ${timeoutMs} ms`; return false; }
      Atomics.wait(f, 0, done, Math.min(left, 50));
    }
    this.#lastCommitNs = this.#nowNs();
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
      if (b.seq <= done) { if (b.maxAlarm > this.#alarmCommittedMax) this.#alarmCommittedMax = b.maxAlarm; } else left.push(b);
    }
    this.#inflight = left;
  }

  /**
   * Before a list query: with consistentReads, wait for everything written so far; otherwise hand the
   * queue over and read what is committed (at most one batch interval behind), so an API poll never
   * makes the capture thread wait for an fsync.
   */
  #readSync(): void {
    if (this.#consistentReads) this.sync();
    else this.flush();
  }

  /** Rows queued and not yet committed. */
  get pending(): number {
    this.#refresh();
    let n = this.#queue.length;
    for (const b of this.#inflight) n += b.rows;
    return n;
  }

  /** An alarm was raised: its store id (allocated now; the row is committed with the next batch). */
  alarmRaised(alarm: Alarm): number {
    const id = this.#nextAlarm++;
    this.#enqueue({ t: 'alarm', id, a: { ...alarm } });
    return id;
  }

  /** The episode grew (more frames) or ended. */
  alarmUpdated(storeId: number, alarm: Alarm, ended: boolean): void {
    this.#enqueue({ t: 'alarmUpd', id: storeId, a: { ...alarm }, ended });
  }

  /** A normal event. Returns its id. */
  event(kind: string, message: string, detail?: Record<string, number | string | boolean> | null, tsNs?: bigint): number {
    const id = this.#nextEvent++;
    this.#enqueue({ t: 'event', id, ts: tsNs ?? this.#nowNs(), kind, message, detail: detail === undefined || detail === null ? null : JSON.stringify(detail) });
    return id;
  }

  counterSample(sample: CounterSample): void {
    this.#enqueue({ t: 'counter', s: { ...sample, counts: { ...sample.counts } } });
  }

  /**
   * Writes a chunk of frames of one stream (packed, see packFrames) and returns its reference for
   * linkEvidence(). `data` must not change afterwards (it is bound at commit time).
   */
  addChunk(stream: string, data: Uint8Array, frames: number, fromNs: bigint, toNs: bigint): EvidenceChunkRef {
    const id = this.#nextChunk++;
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.#enqueue({ t: 'chunk', id, stream, from: fromNs, to: toNs, frames, data: buf });
    return { id, frames, fromNs, toNs };
  }

  /** Links chunks to an alarm's evidence; `complete` once the post-trigger part is in. */
  linkEvidence(alarmId: number, chunks: readonly EvidenceChunkRef[], complete: boolean): void {
    this.#enqueue({ t: 'link', alarmId, chunks: [...chunks], complete });
  }

  /** Convenience: one chunk of these frames, linked to the alarm. */
  addEvidence(alarmId: number, frames: readonly EvidenceFrame[], complete: boolean, stream = ''): void {
    const refs: EvidenceChunkRef[] = [];
    if (frames.length > 0) {
      let from = frames[0]!.tsNs;
      let to = from;
      for (const f of frames) { if (f.tsNs < from) from = f.tsNs; if (f.tsNs > to) to = f.tsNs; }
      refs.push(this.addChunk(stream, packFrames(frames), frames.length, from, to));
    }
    this.linkEvidence(alarmId, refs, complete);
  }

  /** Saves what the exporter needs to scale a stream's samples (written only when it changed). */
  saveStreamInfo(name: string, info: EvidenceStreamInfo): void {
    const json = JSON.stringify(info);
    if (this.#streamInfoCache.get(name) === json) return;
    this.#streamInfoCache.set(name, json);
    this.#enqueue({ t: 'stream', name, info: json, ts: this.#nowNs() });
  }

  /**
   * Evidence of this alarm was exported: from now on age-based retention may delete it. Committed by the
   * writer (never blocks this thread); resolves to whether the alarm exists.
   */
  async markExported(alarmId: number): Promise<boolean> {
    return (await this.#request({ t: 'exported', alarmId })) as boolean;
  }

  saveLocalEstimate(e: EstimateView): void {
    this.#enqueue({ t: 'local', e: { ...e, values: e.values.map((v) => ({ ...v })) } });
  }

  /** The master station's estimate with the upstream check's result (or just its outcome). */
  saveMasterEstimate(e: MasterEstimateInput, outcome: UpstreamResult | UpstreamResult['outcome'], tsNs?: bigint): number {
    const id = this.#nextMaster++;
    const r: UpstreamResult = typeof outcome === 'string' ? { outcome, reason: '', localId: e.id ?? null, alarmId: null } : { ...outcome };
    this.#enqueue({ t: 'master', id, ts: tsNs ?? this.#nowNs(), e: { ...e, values: e.values.map((v) => ({ ...v })) }, r });
    return id;
  }

  /**
   * Acknowledges alarms (only those not yet acknowledged, including any written before this call) with an
   * 'acknowledge' event. Committed and fsynced by the writer thread, so this thread never waits for the disk;
   * resolves to the ids acknowledged now once durable, rejects (StoreError) when the commit fails.
   */
  async acknowledge(target: StoreAckTarget, by: string, atNs: bigint): Promise<number[]> {
    return (await this.#request({ t: 'ack', target, by, atNs, eventId: this.#nextEvent++ })) as number[];
  }

  /**
   * At the appliance's start (not for tools reading the file while it runs): ends the alarms a crash left
   * open (detail.endedAtRestart = true, one 'restart-recovery' event) and returns what the indicator board
   * needs to reflect the store: per indicator the alarms kept, the unacknowledged ones and the newest of them.
   */
  recoverAtStart(nowNs: bigint = this.#nowNs()): StartRecovery {
    this.sync();
    const s = this.#s;
    const endedAtRestart: number[] = [];
    this.#db.transaction(() => {
      for (const r of s.notEnded!.all() as Array<{ id: bigint }>) endedAtRestart.push(Number(r.id));
      if (endedAtRestart.length === 0) return;
      s.endAtRestart!.run();
      const n = endedAtRestart.length;
      this.#w.insEvent.run(this.#nextEvent++, nowNs, 'restart-recovery',
        `${n} alarm(s) still open when svde last stopped (crash, kill or power loss) ended at restart; their end time and evidence may be incomplete`,
        JSON.stringify({ count: n, ids: n <= 20 ? endedAtRestart.join(',') : `${endedAtRestart.slice(0, 20).join(',')},…` }));
    }).immediate();
    const indicators: StartRecovery['indicators'] = {};
    for (const r of s.perIndicator!.all() as Array<{ indicator: AlarmCategory; n: bigint; unacked: bigint | null; last_unacked: bigint | null }>) {
      indicators[r.indicator] = { count: Number(r.n), unacknowledged: Number(r.unacked ?? 0n), lastUnacknowledgedId: r.last_unacked === null ? null : Number(r.last_unacked) };
    }
    return { indicators, endedAtRestart };
  }

  addLibraryEntry(e: LibraryEntryInput): number {
    if (e.kind !== 'fault' && e.kind !== 'attack') throw new StoreError(`library entry kind must be 'fault' or 'attack', got '${String(e.kind)}'`);
    const json = JSON.stringify(e.features);
    if (json === undefined) throw new StoreError('library entry features must be JSON-serialisable');
    this.sync();
    return Number(this.#s.insLibrary!.run(e.kind, e.label, json, e.source, e.createdNs).lastInsertRowid);
  }

  libraryEntries(kind?: 'fault' | 'attack'): LibraryEntry[] {
    this.#readSync();
    const rows = (kind === undefined ? this.#s.libAll!.all() : this.#s.libKind!.all(kind)) as Array<{ id: bigint; kind: 'fault' | 'attack'; label: string; features: string; source: string; created: bigint }>;
    return rows.map((r) => ({ id: Number(r.id), kind: r.kind, label: r.label, features: JSON.parse(r.features) as unknown, source: r.source, createdNs: r.created.toString() }));
  }

  // ---- read side (StoreReader) ------------------------------------------------------------------------

  #stmt(key: string, sql: string): BetterSqlite3.Statement {
    let s = this.#queryCache.get(key);
    if (s === undefined) {
      s = this.#db.prepare(sql).safeIntegers(true);
      this.#queryCache.set(key, s);
    }
    return s;
  }

  listAlarms(q: AlarmQuery): Page<AlarmRecord> {
    this.#readSync();
    const limit = clampLimit(q.limit);
    const cursor = decodeCursor(q.cursor);
    const where: string[] = [];
    const args: unknown[] = [];
    let key = 'A';
    if (q.indicator !== undefined) { where.push('indicator = ?'); args.push(q.indicator); key += 'i'; }
    if (q.stream !== undefined) { where.push('stream = ?'); args.push(q.stream); key += 's'; }
    if (q.minGrade !== undefined) {
      // Grade 1 is the most severe (packet level): "at least grade g" = grade <= g.
      where.push('grade <= ?'); args.push(q.minGrade); key += 'g';
    }
    if (q.acknowledged !== undefined) { where.push(q.acknowledged ? 'ack_by IS NOT NULL' : 'ack_by IS NULL'); key += q.acknowledged ? 'a' : 'u'; }
    if (q.ended !== undefined) { where.push('ended = ?'); args.push(q.ended ? 1 : 0); key += 'e'; }
    if (q.sinceNs !== undefined) { where.push('last_ts >= ?'); args.push(q.sinceNs); key += 'f'; }
    if (q.untilNs !== undefined) { where.push('first_ts <= ?'); args.push(q.untilNs); key += 't'; }
    return this.#page('alarms', ALARM_COLS, key, where, args, cursor, limit, (r: AlarmRow) => alarmRecord(r));
  }

  /** Newest first, keyset-paged by id: the total of the filter, one page, and the cursor of the next. */
  #page<R, T extends { id: number }>(table: string, cols: string, key: string, where: string[], args: unknown[], cursor: number | null, limit: number, map: (r: R) => T): Page<T> {
    const w = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = Number((this.#stmt(`${key}#n`, `SELECT count(*) AS n FROM ${table} ${w}`).get(...args) as { n: bigint }).n);
    const pw = cursor === null ? w : where.length > 0 ? `${w} AND id < ?` : 'WHERE id < ?';
    const pargs = cursor === null ? [...args, limit + 1] : [...args, cursor, limit + 1];
    const rows = this.#stmt(`${key}#${cursor === null ? 'p' : 'c'}`, `SELECT ${cols} FROM ${table} ${pw} ORDER BY id DESC LIMIT ?`).all(...pargs) as R[];
    const more = rows.length > limit;
    const items = (more ? rows.slice(0, limit) : rows).map(map);
    return { items, total, next: more ? encodeCursor(items[items.length - 1]!.id) : null };
  }

  getAlarm(id: number): AlarmRecord | undefined {
    if (this.#consistentReads) this.sync();
    else {
      this.#refresh();
      if (id > this.#alarmCommittedMax && id < this.#nextAlarm) this.sync();
      else this.flush();
    }
    const r = this.#s.getAlarm!.get(id) as AlarmRow | undefined;
    return r === undefined ? undefined : alarmRecord(r);
  }

  listEvents(q: EventQuery): Page<EventRecord> {
    this.#readSync();
    const limit = clampLimit(q.limit);
    const cursor = decodeCursor(q.cursor);
    const where: string[] = [];
    const args: unknown[] = [];
    let key = 'E';
    if (q.kind !== undefined) { where.push('kind = ?'); args.push(q.kind); key += 'k'; }
    if (q.sinceNs !== undefined) { where.push('ts >= ?'); args.push(q.sinceNs); key += 'f'; }
    if (q.untilNs !== undefined) { where.push('ts <= ?'); args.push(q.untilNs); key += 't'; }
    return this.#page('events', 'id, ts, kind, message, detail', key, where, args, cursor, limit,
      (r: EventRow) => ({ id: Number(r.id), tsNs: r.ts.toString(), kind: r.kind, message: r.message, detail: parseDetail(r.detail) }));
  }

  evidenceFrames(alarmId: number): EvidenceFrame[] {
    this.sync();
    const out: EvidenceFrame[] = [];
    let lastTs: bigint | null = null;
    for (const r of this.#s.evidence!.iterate(alarmId) as IterableIterator<{ data: Buffer }>) {
      const before = out.length;
      unpackFrames(r.data, out);
      // Chunks of one stream never overlap; keep the order by time if a caller linked overlapping ones.
      if (lastTs !== null && out.length > before && out[before]!.tsNs < lastTs) out.sort((x, y) => (x.tsNs < y.tsNs ? -1 : x.tsNs > y.tsNs ? 1 : 0));
      if (out.length > 0) lastTs = out[out.length - 1]!.tsNs;
    }
    return out;
  }

  /** Counter samples, oldest first, at most `limit` (default 1000, at most 10000). */
  counters(sinceNs: bigint, untilNs?: bigint, limit?: number): CounterSample[] {
    return this.counterPage(sinceNs, untilNs, limit).samples;
  }

  /** counters() and whether more samples matched (then continue with since = nextSinceNs). */
  counterPage(sinceNs: bigint, untilNs?: bigint, limit?: number): CounterPage {
    const l = limit ?? COUNTERS_LIMIT.default;
    if (!Number.isInteger(l) || l < 1 || l > COUNTERS_LIMIT.max) throw new StoreError(`limit must be an integer 1 … ${COUNTERS_LIMIT.max}, got ${l}`);
    this.#readSync();
    const rows = this.#s.counters!.all(sinceNs, untilNs ?? 0x7fffffffffffffffn, l + 1) as Array<{ ts: bigint; counts: string; frames: bigint; lost: bigint }>;
    const truncated = rows.length > l;
    const samples = (truncated ? rows.slice(0, l) : rows)
      .map((r) => ({ tsNs: r.ts.toString(), counts: JSON.parse(r.counts) as CounterSample['counts'], frames: Number(r.frames), lost: Number(r.lost) }));
    return { samples, truncated, nextSinceNs: truncated ? rows[l]!.ts.toString() : null };
  }

  streamInfo(stream: string): EvidenceStreamInfo | undefined {
    this.#readSync();
    const r = this.#s.getStream!.get(stream) as { info: string } | undefined;
    if (r === undefined) return undefined;
    try { return JSON.parse(r.info) as EvidenceStreamInfo; } catch { return undefined; }
  }

  localEstimates(sinceNs = 0n): EstimateView[] {
    this.#readSync();
    return (this.#s.localSince!.all(sinceNs) as Array<{ id: string; bus: string; window_start: bigint; window_end: bigint; vals: string }>).map(localView);
  }

  localEstimate(id: string): EstimateView | undefined {
    this.#readSync();
    const r = this.#s.localById!.get(id) as { id: string; bus: string; window_start: bigint; window_end: bigint; vals: string } | undefined;
    return r === undefined ? undefined : localView(r);
  }

  masterEstimates(limit = 100): MasterEstimateRecord[] {
    this.#readSync();
    const rows = this.#s.masterList!.all(limit) as Array<{ id: bigint; ts: bigint; local_id: string | null; bus: string; window_start: bigint; window_end: bigint; vals: string; outcome: UpstreamResult['outcome']; reason: string; alarm_id: bigint | null }>;
    return rows.map((r) => ({
      seq: Number(r.id), tsNs: r.ts.toString(), ...(r.local_id !== null ? { id: r.local_id } : {}), bus: r.bus,
      windowStartNs: r.window_start.toString(), windowEndNs: r.window_end.toString(), values: JSON.parse(r.vals) as MasterEstimateInput['values'],
      outcome: r.outcome, reason: r.reason, localId: r.local_id, alarmId: r.alarm_id === null ? null : Number(r.alarm_id),
    }));
  }

  /** Bytes the database occupies on disk (main file + WAL). */
  sizeBytes(): number {
    return fileBytes(this.path);
  }

  health(): StoreHealth {
    const state = this.#failed ? 'failed' : this.#degradedReason !== null || this.#dropped > 0 ? 'degraded' : 'ok';
    return {
      state,
      path: this.path,
      sizeBytes: this.sizeBytes(),
      limitBytes: this.limitBytes,
      pending: this.pending,
      lastCommitNs: this.#lastCommitNs === null ? null : this.#lastCommitNs.toString(),
      lastError: this.#lastError,
      reason: this.#failed || (this.#degradedReason === null && this.#dropped > 0) ? this.#lastError : this.#degradedReason,
    };
  }

  /**
   * Retention now (see src/store/retention.ts): by age, then by size; unexported alarms are never deleted,
   * and when the limit cannot be met the store turns 'degraded' with the reason.
   */
  retention(nowNs: bigint = this.#nowNs()): RetentionReport {
    // The writer thread is idle after sync() (batches are only posted from this thread): TRUNCATE cannot wait.
    const idle = this.sync();
    let rep: RetentionReport;
    try {
      rep = this.#retention.run(nowNs, idle);
    } catch (err) {
      this.#lastError = `retention failed: ${(err as Error).message}`;
      return { events: 0, counters: 0, alarms: 0, chunks: 0, estimates: 0, sizeBytes: this.sizeBytes(), state: this.#degradedReason === null ? 'ok' : 'degraded', reason: this.#degradedReason };
    }
    this.#retentionDone(rep, nowNs);
    return rep;
  }

  /** The last report of a background retention pass. */
  lastRetention: RetentionReport | null = null;

  /** Starts a retention pass on the writer thread (inline writer: runs it now). */
  runRetentionInBackground(nowNs: bigint = this.#nowNs()): void {
    if (this.#closed) return;
    if (this.#worker === undefined) { this.lastRetention = this.retention(nowNs); return; }
    this.flush();
    this.#worker.postMessage({ type: 'retention', nowNs });
  }

  /** Degraded state and events from a retention pass (ours or the writer thread's). */
  #retentionDone(rep: RetentionReport, nowNs: bigint): void {
    if (this.#closed) return;
    if (rep.state === 'degraded' && this.#degradedReason !== rep.reason) {
      this.#degradedReason = rep.reason;
      this.event('storage-state', rep.reason!, { state: 'degraded' }, nowNs);
    } else if (rep.state === 'ok' && this.#degradedReason !== null) {
      this.#degradedReason = null;
      this.event('storage-state', 'storage back within its limit', { state: 'ok' }, nowNs);
    }
    if (rep.events + rep.counters + rep.alarms + rep.estimates > 0) {
      this.event('retention', `retention deleted ${rep.events} events, ${rep.counters} counter samples, ${rep.alarms} exported alarms, ${rep.estimates} estimates`,
        { events: rep.events, counters: rep.counters, alarms: rep.alarms, chunks: rep.chunks, estimates: rep.estimates }, nowNs);
    }
  }

  /** Runs PRAGMA integrity_check; 'ok' or the problems found. */
  integrityCheck(): string {
    const rows = this.#db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    return rows.map((r) => r.integrity_check).join('; ');
  }

  /** Flushes, waits for the writer, and closes; further writes throw. */
  close(): void {
    if (this.#closed) return;
    if (this.#retentionTimer !== undefined) clearInterval(this.#retentionTimer);
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
      for (let m = receiveMessageOnPort(this.#replyPort); m !== undefined; m = receiveMessageOnPort(this.#replyPort)) this.#settle(m.message as RequestReply);
      this.#replyPort.close();
    }
    for (const [seq, p] of this.#replies) { this.#replies.delete(seq); p.reject(new StoreError(`${this.path}: the store closed before the writer answered`)); }
    try { this.#db.pragma('wal_checkpoint(TRUNCATE)'); } catch { /* best effort */ }
    this.#db.close();
  }
}

type RequestReply = { seq: number; result: number[] | boolean } | { seq: number; error: string };

function localView(r: { id: string; bus: string; window_start: bigint; window_end: bigint; vals: string }): EstimateView {
  return { id: r.id, bus: r.bus, windowStartNs: r.window_start.toString(), windowEndNs: r.window_end.toString(), values: JSON.parse(r.vals) as EstimateView['values'] };
}
