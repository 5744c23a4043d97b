// The evidence store: alarm log, normal-event log, counters, forensic evidence, estimates and the
// fault/attack library in one SQLite file (better-sqlite3, WAL). src/store is the only code that writes SQL.
//
// EvidenceStore is the facade its callers use. Behind it: connection.ts opens and checks the file,
// writer.ts is the write path (ids allocated in process, rows batched into one transaction and one WAL
// fsync per batch, committed by a writer thread so the capture thread never waits for the disk; reads flush
// the queue first), one repository per table under repositories/, and health.ts the retention passes and
// the store's health.
import type { Alarm } from '../model/indicators.ts';
import type { EstimateView, MasterEstimateInput, UpstreamResult } from '../model/estimates.ts';
import type {
  AlarmQuery,
  AlarmRecord,
  CounterPage,
  CounterSample,
  EventQuery,
  EventRecord,
  EvidenceFrame,
  EvidenceStreamInfo,
  Page,
  StoreHealth,
  StoreReader,
} from '../model/records.ts';
import { openStore } from './connection.ts';
import type { AckTarget, EvidenceChunkRef } from './ops.ts';
import type { RetentionReport } from './retention.ts';
import { StoreWriter } from './writer.ts';
import { StoreUpkeep } from './health.ts';
import { AlarmsRepository, type StartRecovery } from './repositories/alarms.ts';
import { CountersRepository } from './repositories/counters.ts';
import { EstimatesRepository, type MasterEstimateRecord } from './repositories/estimates.ts';
import { EventsRepository } from './repositories/events.ts';
import { EvidenceRepository } from './repositories/evidence.ts';
import { LibraryRepository, type LibraryEntry, type LibraryEntryInput } from './repositories/library.ts';

export { StoreError } from './errors.ts';
export { packFrames, unpackFrames } from './repositories/evidence.ts';
export type { EvidenceChunkRef, LibraryEntry, LibraryEntryInput, MasterEstimateRecord, RetentionReport, StartRecovery };
export type StoreAckTarget = AckTarget;

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

export class EvidenceStore implements StoreReader {
  readonly path: string;
  readonly limitBytes: number;
  readonly alarmRetentionDays: number;
  readonly eventRetentionDays: number;
  /** Writer-thread commit time of each batch, ms (the last 1024). */
  readonly commitMs: number[];
  /** Main-thread time of each flush, ms (ring of the last 1024, for the benchmark and health). */
  readonly flushMs: number[];
  readonly #nowNs: () => bigint;
  readonly #w: StoreWriter;
  readonly #upkeep: StoreUpkeep;
  readonly #alarms: AlarmsRepository;
  readonly #events: EventsRepository;
  readonly #counters: CountersRepository;
  readonly #evidence: EvidenceRepository;
  readonly #estimates: EstimatesRepository;
  readonly #library: LibraryRepository;

  /** Opens (creating or migrating) the store at opts.path; StoreError with the reason when it cannot. */
  static open(opts: StoreOptions): EvidenceStore {
    return new EvidenceStore(opts);
  }

  constructor(opts: StoreOptions) {
    this.path = opts.path;
    this.limitBytes = opts.limitBytes ?? 256 * 1024 * 1024;
    this.alarmRetentionDays = opts.alarmRetentionDays ?? 90;
    this.eventRetentionDays = opts.eventRetentionDays ?? 30;
    const nowNs = opts.nowNs ?? (() => BigInt(Date.now()) * 1_000_000n);
    this.#nowNs = nowNs;
    const synchronous = opts.synchronous ?? 'FULL';
    const policy = {
      path: this.path,
      limitBytes: this.limitBytes,
      alarmRetentionDays: this.alarmRetentionDays,
      eventRetentionDays: this.eventRetentionDays,
    };
    // Every statement is prepared inside openStore: a failure closes the connection and says why.
    const parts = openStore(opts.path, opts.check ?? 'quick', synchronous, (db) => {
      const writer = new StoreWriter(db, {
        path: opts.path,
        batchRows: opts.batchRows ?? 512,
        batchMs: opts.batchMs ?? 50,
        consistentReads: opts.consistentReads ?? true,
        nowNs,
      });
      const events = new EventsRepository(writer);
      return {
        writer,
        events,
        alarms: new AlarmsRepository(writer),
        counters: new CountersRepository(writer),
        evidence: new EvidenceRepository(writer),
        estimates: new EstimatesRepository(writer),
        library: new LibraryRepository(writer),
        upkeep: new StoreUpkeep(writer, events, policy),
      };
    });
    const w = parts.writer;
    this.#w = w;
    this.#alarms = parts.alarms;
    this.#events = parts.events;
    this.#counters = parts.counters;
    this.#evidence = parts.evidence;
    this.#estimates = parts.estimates;
    this.#library = parts.library;
    this.#upkeep = parts.upkeep;
    this.commitMs = w.commitMs;
    this.flushMs = w.flushMs;
    if ((opts.writer ?? 'thread') === 'thread')
      w.startThread(synchronous, policy, (rep, at) => {
        this.#upkeep.finished(rep, at);
      });
    this.#upkeep.schedule(opts.retentionEveryMs ?? 60_000);
  }

  // ---- write side -------------------------------------------------------------------------------------

  /**
   * Hands every queued row to the writer now: to the writer thread (returns at once), or committed in one
   * transaction on this thread ('inline'). Returns the number of rows handed over.
   */
  flush(): number {
    return this.#w.flush();
  }

  /**
   * Flushes and waits until everything written so far is committed (durable). Returns false when the
   * writer is failing or did not finish within `timeoutMs` (then health() says why). Reads call it, so a
   * reader sees every row written before it.
   */
  sync(timeoutMs = 10_000): boolean {
    return this.#w.sync(timeoutMs);
  }

  /** Rows queued and not yet committed. */
  get pending(): number {
    return this.#w.pending;
  }

  /** Rows the database refused (constraint violations), skipped so they could not stall the others. */
  get droppedRows(): number {
    return this.#w.droppedRows;
  }

  /** An alarm was raised: its store id (allocated now; the row is committed with the next batch). */
  alarmRaised(alarm: Alarm): number {
    return this.#alarms.raised(alarm);
  }

  /** The episode grew (more frames) or ended. */
  alarmUpdated(storeId: number, alarm: Alarm, ended: boolean): void {
    this.#alarms.updated(storeId, alarm, ended);
  }

  /** A normal event. Returns its id. */
  event(kind: string, message: string, detail?: Record<string, number | string | boolean> | null, tsNs?: bigint): number {
    return this.#events.add(kind, message, detail, tsNs);
  }

  counterSample(sample: CounterSample): void {
    this.#counters.add(sample);
  }

  /**
   * Writes a chunk of frames of one stream (packed, see packFrames) and returns its reference for
   * linkEvidence(). `data` must not change afterwards (it is bound at commit time).
   */
  addChunk(stream: string, data: Uint8Array, frames: number, fromNs: bigint, toNs: bigint): EvidenceChunkRef {
    return this.#evidence.addChunk(stream, data, frames, fromNs, toNs);
  }

  /** Links chunks to an alarm's evidence; `complete` once the post-trigger part is in. */
  linkEvidence(alarmId: number, chunks: readonly EvidenceChunkRef[], complete: boolean): void {
    this.#evidence.link(alarmId, chunks, complete);
  }

  /** Convenience: one chunk of these frames, linked to the alarm. */
  addEvidence(alarmId: number, frames: readonly EvidenceFrame[], complete: boolean, stream = ''): void {
    this.#evidence.addFrames(alarmId, frames, complete, stream);
  }

  /** Saves what the exporter needs to scale a stream's samples (written only when it changed). */
  saveStreamInfo(name: string, info: EvidenceStreamInfo): void {
    this.#evidence.saveStreamInfo(name, info);
  }

  /**
   * Evidence of this alarm was exported: from now on age-based retention may delete it. Committed by the
   * writer (never blocks this thread); resolves to whether the alarm exists.
   */
  async markExported(alarmId: number): Promise<boolean> {
    return this.#alarms.markExported(alarmId);
  }

  saveLocalEstimate(e: EstimateView): void {
    this.#estimates.saveLocal(e);
  }

  /** The master station's estimate with the upstream check's result (or just its outcome). */
  saveMasterEstimate(e: MasterEstimateInput, outcome: UpstreamResult | UpstreamResult['outcome'], tsNs?: bigint): number {
    return this.#estimates.saveMaster(e, outcome, tsNs);
  }

  /**
   * Acknowledges alarms (only those not yet acknowledged, including any written before this call) with an
   * 'acknowledge' event. Committed and fsynced by the writer thread, so this thread never waits for the disk;
   * resolves to the ids acknowledged now once durable, rejects (StoreError) when the commit fails.
   */
  async acknowledge(target: StoreAckTarget, by: string, atNs: bigint): Promise<number[]> {
    return this.#alarms.acknowledge(target, by, atNs);
  }

  /**
   * At the appliance's start (not for tools reading the file while it runs): ends the alarms a crash left
   * open (detail.endedAtRestart = true, one 'restart-recovery' event) and returns what the indicator board
   * needs to reflect the store: per indicator the alarms kept, the unacknowledged ones and the newest of them.
   */
  recoverAtStart(nowNs: bigint = this.#nowNs()): StartRecovery {
    return this.#alarms.recoverAtStart(nowNs);
  }

  addLibraryEntry(e: LibraryEntryInput): number {
    return this.#library.add(e);
  }

  libraryEntries(kind?: 'fault' | 'attack'): LibraryEntry[] {
    return this.#library.entries(kind);
  }

  // ---- read side (StoreReader) ------------------------------------------------------------------------

  listAlarms(q: AlarmQuery): Page<AlarmRecord> {
    return this.#alarms.list(q);
  }

  getAlarm(id: number): AlarmRecord | undefined {
    return this.#alarms.get(id);
  }

  listEvents(q: EventQuery): Page<EventRecord> {
    return this.#events.list(q);
  }

  evidenceFrames(alarmId: number): EvidenceFrame[] {
    return this.#evidence.frames(alarmId);
  }

  /** Counter samples, oldest first, at most `limit` (default 1000, at most 10000). */
  counters(sinceNs: bigint, untilNs?: bigint, limit?: number): CounterSample[] {
    return this.counterPage(sinceNs, untilNs, limit).samples;
  }

  /** counters() and whether more samples matched (then continue with since = nextSinceNs). */
  counterPage(sinceNs: bigint, untilNs?: bigint, limit?: number): CounterPage {
    return this.#counters.page(sinceNs, untilNs, limit);
  }

  streamInfo(stream: string): EvidenceStreamInfo | undefined {
    return this.#evidence.streamInfo(stream);
  }

  localEstimates(sinceNs = 0n): EstimateView[] {
    return this.#estimates.local(sinceNs);
  }

  localEstimate(id: string): EstimateView | undefined {
    return this.#estimates.localById(id);
  }

  masterEstimates(limit = 100): MasterEstimateRecord[] {
    return this.#estimates.master(limit);
  }

  // ---- upkeep -----------------------------------------------------------------------------------------

  /** Bytes the database occupies on disk (main file + WAL). */
  sizeBytes(): number {
    return this.#upkeep.sizeBytes();
  }

  health(): StoreHealth {
    return this.#upkeep.health();
  }

  /**
   * Retention now (see src/store/retention.ts): by age, then by size; unexported alarms are never deleted,
   * and when the limit cannot be met the store turns 'degraded' with the reason.
   */
  retention(nowNs: bigint = this.#nowNs()): RetentionReport {
    return this.#upkeep.retention(nowNs);
  }

  /** The last report of a background retention pass. */
  get lastRetention(): RetentionReport | null {
    return this.#upkeep.lastRetention;
  }

  set lastRetention(r: RetentionReport | null) {
    this.#upkeep.lastRetention = r;
  }

  /** Starts a retention pass on the writer thread (inline writer: runs it now). */
  runRetentionInBackground(nowNs: bigint = this.#nowNs()): void {
    this.#upkeep.runInBackground(nowNs);
  }

  /** Runs PRAGMA integrity_check; 'ok' or the problems found. */
  integrityCheck(): string {
    return this.#upkeep.integrityCheck();
  }

  /** Flushes, waits for the writer, and closes; further writes throw. */
  close(): void {
    if (this.#w.closed) return;
    this.#upkeep.stop();
    this.#w.close();
  }
}
