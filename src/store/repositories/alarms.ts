// The alarm log (table alarms): raised and updated through the batch queue; acknowledgements and export
// marks through the writer's requests (they settle once committed); the appliance's start recovery.
import type { BetterSqlite3 } from 'better-sqlite3';
import type { Alarm, AlarmCategory, Grade } from '../../model/indicators.ts';
import type { AlarmQuery, AlarmRecord, Page } from '../../model/records.ts';
import type { AckTarget } from '../ops.ts';
import type { StoreWriter } from '../writer.ts';
import { Pager, clampLimit, decodeCursor, parseDetail } from './paging.ts';

/** What the appliance restores at start (see EvidenceStore.recoverAtStart). */
export interface StartRecovery {
  /** Per indicator (and trip): alarms in the store, how many wait for acknowledgement, the newest of those. */
  indicators: Partial<Record<AlarmCategory, { count: number; unacknowledged: number; lastUnacknowledgedId: number | null }>>;
  /** Alarms still open (not ended) when the previous run stopped without ending them, now ended. */
  endedAtRestart: number[];
}

interface AlarmRow {
  id: bigint;
  indicator: string;
  grade: bigint;
  stream: string;
  reason: string;
  first_frame: bigint;
  last_frame: bigint;
  frames: bigint;
  first_ts: bigint;
  last_ts: bigint;
  ended: bigint;
  ack_by: string | null;
  ack_ts: bigint | null;
  detail: string | null;
  exported: bigint;
  ev_frames: bigint | null;
  ev_from: bigint | null;
  ev_to: bigint | null;
  ev_complete: bigint | null;
}

const ALARM_COLS =
  'id, indicator, grade, stream, reason, first_frame, last_frame, frames, first_ts, last_ts, ended, ack_by, ack_ts, detail, exported, ev_frames, ev_from, ev_to, ev_complete';

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
    evidence:
      r.ev_frames === null
        ? null
        : {
            frames: Number(r.ev_frames),
            fromNs: (r.ev_from ?? 0n).toString(),
            toNs: (r.ev_to ?? 0n).toString(),
            complete: r.ev_complete === 1n,
          },
    exported: r.exported !== 0n,
  };
}

export class AlarmsRepository {
  readonly #w: StoreWriter;
  readonly #pager: Pager;
  readonly #get: BetterSqlite3.Statement;
  readonly #perIndicator: BetterSqlite3.Statement;
  readonly #notEnded: BetterSqlite3.Statement;
  readonly #endAtRestart: BetterSqlite3.Statement;

  constructor(writer: StoreWriter) {
    this.#w = writer;
    const db = writer.db;
    this.#pager = new Pager(db);
    this.#get = db.prepare(`SELECT ${ALARM_COLS} FROM alarms WHERE id = ?`).safeIntegers(true);
    this.#perIndicator = db
      .prepare(
        `SELECT indicator, count(*) AS n, sum(ack_by IS NULL) AS unacked, max(CASE WHEN ack_by IS NULL THEN id END) AS last_unacked
                                     FROM alarms GROUP BY indicator`,
      )
      .safeIntegers(true);
    this.#notEnded = db.prepare('SELECT id FROM alarms WHERE ended = 0 ORDER BY id').safeIntegers(true);
    this.#endAtRestart = db.prepare(`UPDATE alarms SET ended = 1, detail = CASE WHEN json_valid(detail) AND json_type(detail) = 'object'
                                       THEN json_set(detail, '$.endedAtRestart', json('true')) ELSE json_object('endedAtRestart', json('true')) END
                                     WHERE ended = 0`);
  }

  /** Queues a new alarm; returns its store id (allocated now). */
  raised(alarm: Alarm): number {
    const id = this.#w.ids.alarm++;
    this.#w.enqueue({ t: 'alarm', id, a: { ...alarm } });
    return id;
  }

  updated(storeId: number, alarm: Alarm, ended: boolean): void {
    this.#w.enqueue({ t: 'alarmUpd', id: storeId, a: { ...alarm }, ended });
  }

  /** Resolves to the ids acknowledged now, once committed (with their 'acknowledge' event). */
  async acknowledge(target: AckTarget, by: string, atNs: bigint): Promise<number[]> {
    return (await this.#w.request({ t: 'ack', target, by, atNs, eventId: this.#w.ids.event++ })) as number[];
  }

  /** Resolves to whether the alarm exists, once the mark is committed. */
  async markExported(alarmId: number): Promise<boolean> {
    return (await this.#w.request({ t: 'exported', alarmId })) as boolean;
  }

  /** Ends the alarms a crash left open (one 'restart-recovery' event) and counts what the board restores. */
  recoverAtStart(nowNs: bigint): StartRecovery {
    const w = this.#w;
    w.sync();
    const endedAtRestart: number[] = [];
    w.db
      .transaction(() => {
        for (const r of this.#notEnded.all() as Array<{ id: bigint }>) endedAtRestart.push(Number(r.id));
        if (endedAtRestart.length === 0) return;
        this.#endAtRestart.run();
        const n = endedAtRestart.length;
        w.writes.insEvent.run(
          w.ids.event++,
          nowNs,
          'restart-recovery',
          `${n} alarm(s) still open when svde last stopped (crash, kill or power loss) ended at restart; their end time and evidence may be incomplete`,
          JSON.stringify({ count: n, ids: n <= 20 ? endedAtRestart.join(',') : `${endedAtRestart.slice(0, 20).join(',')},…` }),
        );
      })
      .immediate();
    const indicators: StartRecovery['indicators'] = {};
    for (const r of this.#perIndicator.all() as Array<{
      indicator: AlarmCategory;
      n: bigint;
      unacked: bigint | null;
      last_unacked: bigint | null;
    }>) {
      indicators[r.indicator] = {
        count: Number(r.n),
        unacknowledged: Number(r.unacked ?? 0n),
        lastUnacknowledgedId: r.last_unacked === null ? null : Number(r.last_unacked),
      };
    }
    return { indicators, endedAtRestart };
  }

  list(q: AlarmQuery): Page<AlarmRecord> {
    this.#w.readSync();
    const limit = clampLimit(q.limit);
    const cursor = decodeCursor(q.cursor);
    const where: string[] = [];
    const args: unknown[] = [];
    let key = 'A';
    if (q.indicator !== undefined) {
      where.push('indicator = ?');
      args.push(q.indicator);
      key += 'i';
    }
    if (q.stream !== undefined) {
      where.push('stream = ?');
      args.push(q.stream);
      key += 's';
    }
    if (q.minGrade !== undefined) {
      // Grade 1 is the most severe (packet level): "at least grade g" = grade <= g.
      where.push('grade <= ?');
      args.push(q.minGrade);
      key += 'g';
    }
    if (q.acknowledged !== undefined) {
      where.push(q.acknowledged ? 'ack_by IS NOT NULL' : 'ack_by IS NULL');
      key += q.acknowledged ? 'a' : 'u';
    }
    if (q.ended !== undefined) {
      where.push('ended = ?');
      args.push(q.ended ? 1 : 0);
      key += 'e';
    }
    if (q.sinceNs !== undefined) {
      where.push('last_ts >= ?');
      args.push(q.sinceNs);
      key += 'f';
    }
    if (q.untilNs !== undefined) {
      where.push('first_ts <= ?');
      args.push(q.untilNs);
      key += 't';
    }
    return this.#pager.page('alarms', ALARM_COLS, key, where, args, cursor, limit, (r: AlarmRow) => alarmRecord(r));
  }

  get(id: number): AlarmRecord | undefined {
    this.#w.readSyncAlarm(id);
    const r = this.#get.get(id) as AlarmRow | undefined;
    return r === undefined ? undefined : alarmRecord(r);
  }
}
