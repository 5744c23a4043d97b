// Retention of the evidence store (run by the writer thread periodically, or by EvidenceStore.retention()):
// (1) by age — events, counter samples and estimates older than eventRetentionDays; alarms (with their
// evidence) only when exported AND older than alarmRetentionDays; (2) by size, while the rows use more
// than the limit: the oldest events first, then the oldest counter samples, then the oldest local state
// estimates, then the oldest master-station estimates (their outcome is also in the alarms). An alarm that was not exported
// is never deleted: when the limit cannot be met the report says 'degraded' and why.
import { statSync } from 'node:fs';
import type { BetterSqlite3 } from 'better-sqlite3';

export interface RetentionPolicy {
  path: string;
  limitBytes: number;
  alarmRetentionDays: number;
  eventRetentionDays: number;
}

export interface RetentionReport {
  events: number;
  counters: number;
  alarms: number;
  chunks: number;
  estimates: number;
  sizeBytes: number;
  state: 'ok' | 'degraded';
  reason: string | null;
}

/** Bytes the database occupies on disk (main file + WAL). */
export function fileBytes(path: string): number {
  let n = 0;
  for (const f of [path, `${path}-wal`]) {
    try {
      n += statSync(f).size;
    } catch {
      /* absent */
    }
  }
  return n;
}

export class Retention {
  readonly #db: BetterSqlite3.Database;
  readonly #p: RetentionPolicy;
  readonly #s: Record<string, BetterSqlite3.Statement>;

  constructor(db: BetterSqlite3.Database, policy: RetentionPolicy) {
    this.#db = db;
    this.#p = policy;
    const p = (sql: string): BetterSqlite3.Statement => db.prepare(sql);
    this.#s = {
      delEventsOld: p('DELETE FROM events WHERE ts < ?'),
      delCountersOld: p('DELETE FROM counters WHERE ts < ?'),
      delLocalOld: p('DELETE FROM local_estimates WHERE window_end < ?'),
      delMasterOld: p('DELETE FROM master_estimates WHERE ts < ?'),
      delEventsOldest: p('DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY ts, id LIMIT ?)'),
      delCountersOldest: p('DELETE FROM counters WHERE id IN (SELECT id FROM counters ORDER BY ts, id LIMIT ?)'),
      oldExported: p('SELECT id FROM alarms WHERE exported = 1 AND first_ts < ? ORDER BY first_ts, id LIMIT ?').safeIntegers(true),
      delAlarm: p('DELETE FROM alarms WHERE id = ?'),
      delLinks: p('DELETE FROM alarm_chunks WHERE alarm_id = ?'),
      delOrphanChunks: p('DELETE FROM chunks WHERE NOT EXISTS (SELECT 1 FROM alarm_chunks ac WHERE ac.chunk_id = chunks.id)'),
      delLocalOldest: p('DELETE FROM local_estimates WHERE id IN (SELECT id FROM local_estimates ORDER BY window_end, id LIMIT ?)'),
      delMasterOldest: p('DELETE FROM master_estimates WHERE id IN (SELECT id FROM master_estimates ORDER BY ts, id LIMIT ?)'),
      countEvents: p('SELECT count(*) AS n FROM events'),
      countCounters: p('SELECT count(*) AS n FROM counters'),
      countLocal: p('SELECT count(*) AS n FROM local_estimates'),
      countMaster: p('SELECT count(*) AS n FROM master_estimates'),
      unexported: p('SELECT count(*) AS n, coalesce(sum(ev_frames), 0) AS f FROM alarms WHERE exported = 0'),
      exported: p('SELECT count(*) AS n FROM alarms WHERE exported = 1'),
    };
  }

  #usedBytes(): number {
    const pageSize = this.#db.pragma('page_size', { simple: true }) as number;
    const pages = this.#db.pragma('page_count', { simple: true }) as number;
    const free = this.#db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * pageSize;
  }

  /** What the rows may use: the limit minus room for the WAL between checkpoints. */
  #budget(): number {
    const l = this.#p.limitBytes;
    return Math.max(l - Math.min(8 << 20, Math.floor(l / 8)), 0);
  }

  /** One pass. `truncateWal`: checkpoint with TRUNCATE (only when no other connection is writing). */
  run(nowNs: bigint, truncateWal: boolean): RetentionReport {
    const s = this.#s;
    const p = this.#p;
    const rep: RetentionReport = { events: 0, counters: 0, alarms: 0, chunks: 0, estimates: 0, sizeBytes: 0, state: 'ok', reason: null };
    const evCut = nowNs - BigInt(Math.round(p.eventRetentionDays * 86_400_000)) * 1_000_000n;
    const alCut = nowNs - BigInt(Math.round(p.alarmRetentionDays * 86_400_000)) * 1_000_000n;
    this.#db
      .transaction(() => {
        rep.events += s.delEventsOld!.run(evCut).changes;
        rep.counters += s.delCountersOld!.run(evCut).changes;
        rep.estimates += s.delLocalOld!.run(evCut).changes + s.delMasterOld!.run(evCut).changes;
        for (;;) {
          const ids = (s.oldExported!.all(alCut, 500) as Array<{ id: bigint }>).map((r) => r.id);
          if (ids.length === 0) break;
          for (const id of ids) {
            s.delLinks!.run(id);
            rep.alarms += s.delAlarm!.run(id).changes;
          }
        }
        rep.chunks += s.delOrphanChunks!.run().changes;
      })
      .immediate();
    const step = (del: BetterSqlite3.Statement, count: BetterSqlite3.Statement): number => {
      let removed = 0;
      while (this.#usedBytes() > this.#budget()) {
        const left = (count.get() as { n: number }).n;
        if (left === 0) break;
        removed += del.run(Math.max(100, Math.ceil(left / 10))).changes;
      }
      return removed;
    };
    if (this.#usedBytes() > this.#budget()) {
      rep.events += step(s.delEventsOldest!, s.countEvents!);
      rep.counters += step(s.delCountersOldest!, s.countCounters!);
      rep.estimates += step(s.delLocalOldest!, s.countLocal!);
      rep.estimates += step(s.delMasterOldest!, s.countMaster!);
    }
    // Freed pages go back to the file system (auto_vacuum = INCREMENTAL), the WAL back to its minimum.
    this.#db.pragma('incremental_vacuum');
    this.#db.pragma(truncateWal ? 'wal_checkpoint(TRUNCATE)' : 'wal_checkpoint(PASSIVE)');
    rep.sizeBytes = fileBytes(p.path);
    const used = this.#usedBytes();
    if (used > this.#budget()) {
      const u = s.unexported!.get() as { n: number; f: number };
      const ex = (s.exported!.get() as { n: number }).n;
      rep.state = 'degraded';
      rep.reason =
        `size ${used} bytes is above the limit of ${p.limitBytes} bytes after retention: ` +
        `${u.n} alarm(s) not exported (${u.f} evidence frames) are kept until exported` +
        (ex > 0 ? `, ${ex} exported alarm(s) are younger than ${p.alarmRetentionDays} days` : '') +
        '; export evidence or raise the storage limit';
    }
    return rep;
  }
}
