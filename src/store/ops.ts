// The queued writes of the evidence store and how one is applied: shared by the in-process writer and the
// writer thread (src/store/writer-worker.ts), which each hold their own connection.
import type { BetterSqlite3 } from 'better-sqlite3';
import type { Alarm, AlarmCategory, IndicatorId } from '../model/indicators.ts';
import type { EstimateView, MasterEstimateInput, UpstreamResult } from '../model/estimates.ts';
import type { CounterSample } from '../model/records.ts';

/** A chunk of evidence frames written to the store (shared by the alarms that link it). */
export interface EvidenceChunkRef {
  id: number;
  frames: number;
  fromNs: bigint;
  toNs: bigint;
}

export type Op =
  | { t: 'alarm'; id: number; a: Alarm }
  | { t: 'alarmUpd'; id: number; a: Alarm; ended: boolean }
  | { t: 'event'; id: number; ts: bigint; kind: string; message: string; detail: string | null }
  | { t: 'counter'; s: CounterSample }
  | { t: 'chunk'; id: number; stream: string; from: bigint; to: bigint; frames: number; data: Uint8Array }
  | { t: 'link'; alarmId: number; chunks: EvidenceChunkRef[]; complete: boolean }
  | { t: 'stream'; name: string; info: string; ts: bigint }
  | { t: 'local'; e: EstimateView }
  | { t: 'master'; id: number; ts: bigint; e: MasterEstimateInput; r: UpstreamResult };

/** What an acknowledgement applies to. */
export type AckTarget = { ids: number[] } | { indicator: IndicatorId | AlarmCategory } | { allOpen: true };

/**
 * A write that answers: run by the writer in its own transaction, in order with the batches; the main
 * thread's promise settles with the result once it is committed.
 */
export type Request = { t: 'ack'; target: AckTarget; by: string; atNs: bigint; eventId: number } | { t: 'exported'; alarmId: number };

export interface WriteStatements {
  ackIds: BetterSqlite3.Statement;
  openIds: BetterSqlite3.Statement;
  openIdsOf: BetterSqlite3.Statement;
  markExported: BetterSqlite3.Statement;
  insAlarm: BetterSqlite3.Statement;
  updAlarm: BetterSqlite3.Statement;
  insEvent: BetterSqlite3.Statement;
  insCounter: BetterSqlite3.Statement;
  insChunk: BetterSqlite3.Statement;
  insLink: BetterSqlite3.Statement;
  updEvidence: BetterSqlite3.Statement;
  upsStream: BetterSqlite3.Statement;
  insLocal: BetterSqlite3.Statement;
  insMaster: BetterSqlite3.Statement;
}

export function prepareWrites(db: BetterSqlite3.Database): WriteStatements {
  const p = (sql: string): BetterSqlite3.Statement => db.prepare(sql);
  return {
    ackIds: p('UPDATE alarms SET ack_by = ?, ack_ts = ? WHERE id = ? AND ack_by IS NULL'),
    openIds: p('SELECT id FROM alarms WHERE ack_by IS NULL ORDER BY id').safeIntegers(true),
    openIdsOf: p('SELECT id FROM alarms WHERE ack_by IS NULL AND indicator = ? ORDER BY id').safeIntegers(true),
    markExported: p('UPDATE alarms SET exported = 1 WHERE id = ?'),
    insAlarm: p(`INSERT INTO alarms (id, indicator, grade, stream, reason, first_frame, last_frame, frames, first_ts, last_ts, detail)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    updAlarm: p('UPDATE alarms SET last_frame = ?, last_ts = ?, frames = ?, ended = ?, detail = coalesce(?, detail) WHERE id = ?'),
    insEvent: p('INSERT INTO events (id, ts, kind, message, detail) VALUES (?, ?, ?, ?, ?)'),
    insCounter: p('INSERT INTO counters (ts, counts, frames, lost) VALUES (?, ?, ?, ?)'),
    insChunk: p('INSERT INTO chunks (id, stream, from_ts, to_ts, frames, data) VALUES (?, ?, ?, ?, ?, ?)'),
    insLink: p('INSERT OR IGNORE INTO alarm_chunks (alarm_id, chunk_id) VALUES (?, ?)'),
    updEvidence: p(`UPDATE alarms SET ev_frames = coalesce(ev_frames, 0) + ?,
                      ev_from = CASE WHEN ev_from IS NULL OR ? < ev_from THEN ? ELSE ev_from END,
                      ev_to = CASE WHEN ev_to IS NULL OR ? > ev_to THEN ? ELSE ev_to END,
                      ev_complete = max(coalesce(ev_complete, 0), ?) WHERE id = ?`),
    upsStream: p(
      'INSERT INTO streams (name, info, updated) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET info = excluded.info, updated = excluded.updated',
    ),
    insLocal: p('INSERT OR REPLACE INTO local_estimates (id, bus, window_start, window_end, vals) VALUES (?, ?, ?, ?, ?)'),
    insMaster: p(`INSERT INTO master_estimates (id, ts, local_id, bus, window_start, window_end, vals, outcome, reason, alarm_id)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
  };
}

/** Chunk data crossing to the writer thread arrives as a Uint8Array: bind it as a Buffer view. */
function blob(d: Uint8Array): Buffer {
  return Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

export function applyOp(s: WriteStatements, op: Op): void {
  switch (op.t) {
    case 'alarm': {
      const a = op.a;
      s.insAlarm.run(
        op.id,
        a.indicator,
        a.grade,
        a.stream,
        a.reason,
        a.firstFrame,
        a.lastFrame,
        a.frames,
        a.firstTsNs,
        a.lastTsNs,
        a.detail === undefined ? null : JSON.stringify(a.detail),
      );
      return;
    }
    case 'alarmUpd': {
      const a = op.a;
      s.updAlarm.run(a.lastFrame, a.lastTsNs, a.frames, op.ended ? 1 : 0, a.detail === undefined ? null : JSON.stringify(a.detail), op.id);
      return;
    }
    case 'event':
      s.insEvent.run(op.id, op.ts, op.kind, op.message, op.detail);
      return;
    case 'counter':
      s.insCounter.run(BigInt(op.s.tsNs), JSON.stringify(op.s.counts), op.s.frames, op.s.lost);
      return;
    case 'chunk':
      s.insChunk.run(op.id, op.stream, op.from, op.to, op.frames, blob(op.data));
      return;
    case 'link': {
      for (const c of op.chunks) {
        const added = s.insLink.run(op.alarmId, c.id).changes;
        if (added > 0) s.updEvidence.run(c.frames, c.fromNs, c.fromNs, c.toNs, c.toNs, 0, op.alarmId);
      }
      // An alarm with evidence but no frames (nothing in the ring) still gets its evidence row.
      s.updEvidence.run(0, null, null, null, null, op.complete ? 1 : 0, op.alarmId);
      return;
    }
    case 'stream':
      s.upsStream.run(op.name, op.info, op.ts);
      return;
    case 'local':
      s.insLocal.run(op.e.id, op.e.bus, BigInt(op.e.windowStartNs), BigInt(op.e.windowEndNs), JSON.stringify(op.e.values));
      return;
    case 'master':
      s.insMaster.run(
        op.id,
        op.ts,
        op.r.localId ?? op.e.id ?? null,
        op.e.bus,
        BigInt(op.e.windowStartNs),
        BigInt(op.e.windowEndNs),
        JSON.stringify(op.e.values),
        op.r.outcome,
        op.r.reason,
        op.r.alarmId,
      );
      return;
  }
}

/**
 * Runs a request in one IMMEDIATE transaction (committed, and with synchronous=FULL fsynced, when it
 * returns). ack: the ids acknowledged now (only those not acknowledged yet) and an 'acknowledge' event;
 * exported: whether the alarm exists.
 */
export function makeRequestRunner(db: BetterSqlite3.Database, s: WriteStatements): (r: Request) => number[] | boolean {
  const ack = db.transaction((r: Extract<Request, { t: 'ack' }>): number[] => {
    const t = r.target;
    const ids =
      'ids' in t
        ? t.ids
        : (('indicator' in t ? s.openIdsOf.all(t.indicator) : s.openIds.all()) as Array<{ id: bigint }>).map((x) => Number(x.id));
    const done: number[] = [];
    for (const id of ids) if (s.ackIds.run(r.by, r.atNs, id).changes > 0) done.push(id);
    if (done.length > 0) {
      try {
        s.insEvent.run(
          r.eventId,
          r.atNs,
          'acknowledge',
          `${done.length} alarm(s) acknowledged by ${r.by}`,
          JSON.stringify({ by: r.by, ids: done.length <= 20 ? done.join(',') : `${done.slice(0, 20).join(',')},…`, count: done.length }),
        );
      } catch (err) {
        // An event id another writer took must not cost the operator's acknowledgement (the ack columns hold it).
        if (!isConstraint(err)) throw err;
      }
    }
    return done;
  });
  const exported = db.transaction((alarmId: number): boolean => s.markExported.run(alarmId).changes > 0);
  return (r) => (r.t === 'ack' ? ack.immediate(r) : exported.immediate(r.alarmId));
}

export interface BatchResult {
  /** Rows refused by a constraint (e.g. an id another writer used): skipped so they cannot stall the rest. */
  dropped: number;
  firstError: string | null;
}

/**
 * Commits a batch in one IMMEDIATE transaction. When a row violates a constraint the batch is committed
 * again row by row (each in a savepoint) without the offending rows; any other error (disk full, I/O)
 * throws, and the caller keeps the whole batch for a retry.
 */
export function makeBatchCommitter(db: BetterSqlite3.Database, s: WriteStatements): (ops: readonly Op[]) => BatchResult {
  const all = db.transaction((ops: readonly Op[]) => {
    for (const op of ops) applyOp(s, op);
  });
  const one = db.transaction((op: Op) => {
    applyOp(s, op);
  });
  const each = db.transaction((ops: readonly Op[]): BatchResult => {
    const r: BatchResult = { dropped: 0, firstError: null };
    for (const op of ops) {
      try {
        one(op);
      } catch (err) {
        if (!isConstraint(err)) throw err;
        r.dropped++;
        r.firstError ??= `${describeOp(op)}: ${(err as Error).message}`;
      }
    }
    return r;
  });
  return (ops) => {
    try {
      all.immediate(ops);
      return { dropped: 0, firstError: null };
    } catch (err) {
      if (!isConstraint(err)) throw err;
      return each.immediate(ops);
    }
  };
}

function isConstraint(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT');
}

function describeOp(op: Op): string {
  switch (op.t) {
    case 'alarm':
      return `alarm ${op.id}`;
    case 'alarmUpd':
      return `update of alarm ${op.id}`;
    case 'event':
      return `event ${op.id}`;
    case 'chunk':
      return `evidence chunk ${op.id}`;
    case 'link':
      return `evidence of alarm ${op.alarmId}`;
    case 'master':
      return `master estimate ${op.id}`;
    default:
      return `${op.t} row`;
  }
}
