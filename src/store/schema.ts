// Schema of the evidence store and its migrations. PRAGMA user_version is the schema version; each step
// runs in one transaction, so a crash mid-migration leaves the previous version intact. Times are ns since
// the epoch in INTEGER columns (64-bit); JSON columns hold small objects the store does not interpret.
import type { BetterSqlite3 } from 'better-sqlite3';

/** 'SVDE' as a 32-bit application_id: tells our files from any other SQLite database. */
export const APPLICATION_ID = 0x53564445;

export const MIGRATIONS: readonly string[] = [
  // 1: the alarm log, the normal-event log and the counters.
  `CREATE TABLE alarms (
     id INTEGER PRIMARY KEY,
     indicator TEXT NOT NULL,
     grade INTEGER NOT NULL,
     stream TEXT NOT NULL,
     reason TEXT NOT NULL,
     first_frame INTEGER NOT NULL,
     last_frame INTEGER NOT NULL,
     frames INTEGER NOT NULL,
     first_ts INTEGER NOT NULL,
     last_ts INTEGER NOT NULL,
     ended INTEGER NOT NULL DEFAULT 0,
     ack_by TEXT,
     ack_ts INTEGER,
     detail TEXT,
     exported INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX alarms_indicator ON alarms(indicator, id);
   CREATE INDEX alarms_stream ON alarms(stream, id);
   CREATE INDEX alarms_first_ts ON alarms(first_ts);
   CREATE TABLE events (
     id INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     kind TEXT NOT NULL,
     message TEXT NOT NULL,
     detail TEXT
   );
   CREATE INDEX events_kind ON events(kind, id);
   CREATE INDEX events_ts ON events(ts);
   CREATE TABLE counters (
     id INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     counts TEXT NOT NULL,
     frames INTEGER NOT NULL,
     lost INTEGER NOT NULL
   );
   CREATE INDEX counters_ts ON counters(ts);`,
  // 2: forensic evidence. Raw frames are packed into chunks (one per ring segment of one stream) that
  // several alarms of the same stream and time share; the alarm row carries the evidence summary.
  `CREATE TABLE chunks (
     id INTEGER PRIMARY KEY,
     stream TEXT NOT NULL,
     from_ts INTEGER NOT NULL,
     to_ts INTEGER NOT NULL,
     frames INTEGER NOT NULL,
     data BLOB NOT NULL
   );
   CREATE TABLE alarm_chunks (
     alarm_id INTEGER NOT NULL,
     chunk_id INTEGER NOT NULL,
     PRIMARY KEY (alarm_id, chunk_id)
   ) WITHOUT ROWID;
   CREATE INDEX alarm_chunks_chunk ON alarm_chunks(chunk_id);
   ALTER TABLE alarms ADD COLUMN ev_frames INTEGER;
   ALTER TABLE alarms ADD COLUMN ev_from INTEGER;
   ALTER TABLE alarms ADD COLUMN ev_to INTEGER;
   ALTER TABLE alarms ADD COLUMN ev_complete INTEGER;
   CREATE TABLE streams (
     name TEXT PRIMARY KEY,
     info TEXT NOT NULL,
     updated INTEGER NOT NULL
   );`,
  // 3: state estimates (local and the master station's) and the fault/attack library.
  `CREATE TABLE local_estimates (
     id TEXT PRIMARY KEY,
     bus TEXT NOT NULL,
     window_start INTEGER NOT NULL,
     window_end INTEGER NOT NULL,
     vals TEXT NOT NULL
   );
   CREATE INDEX local_estimates_end ON local_estimates(window_end);
   CREATE TABLE master_estimates (
     id INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     local_id TEXT,
     bus TEXT NOT NULL,
     window_start INTEGER NOT NULL,
     window_end INTEGER NOT NULL,
     vals TEXT NOT NULL,
     outcome TEXT NOT NULL,
     reason TEXT NOT NULL,
     alarm_id INTEGER
   );
   CREATE INDEX master_estimates_ts ON master_estimates(ts);
   CREATE TABLE library (
     id INTEGER PRIMARY KEY,
     kind TEXT NOT NULL CHECK (kind IN ('fault', 'attack')),
     label TEXT NOT NULL,
     features TEXT NOT NULL,
     source TEXT NOT NULL,
     created INTEGER NOT NULL
   );`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings `db` from its user_version up to `upTo` (default: the newest), one transaction per step. */
export function migrate(db: BetterSqlite3.Database, upTo: number = SCHEMA_VERSION): number {
  let v = db.pragma('user_version', { simple: true }) as number;
  while (v < upTo) {
    const sql = MIGRATIONS[v]!;
    const next = v + 1;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${next}`);
    })();
    v = next;
  }
  return v;
}
