// The state estimates (tables local_estimates and master_estimates): written through the batch queue.
import type { BetterSqlite3 } from 'better-sqlite3';
import type { EstimateView, MasterEstimateInput, UpstreamResult } from '../../model/estimates.ts';
import type { StoreWriter } from '../writer.ts';

export interface MasterEstimateRecord extends MasterEstimateInput {
  seq: number;
  tsNs: string;
  outcome: UpstreamResult['outcome'];
  reason: string;
  localId: string | null;
  alarmId: number | null;
}

interface LocalRow {
  id: string;
  bus: string;
  window_start: bigint;
  window_end: bigint;
  vals: string;
}
interface MasterRow {
  id: bigint;
  ts: bigint;
  local_id: string | null;
  bus: string;
  window_start: bigint;
  window_end: bigint;
  vals: string;
  outcome: UpstreamResult['outcome'];
  reason: string;
  alarm_id: bigint | null;
}

function localView(r: LocalRow): EstimateView {
  return {
    id: r.id,
    bus: r.bus,
    windowStartNs: r.window_start.toString(),
    windowEndNs: r.window_end.toString(),
    values: JSON.parse(r.vals) as EstimateView['values'],
  };
}

export class EstimatesRepository {
  readonly #w: StoreWriter;
  readonly #localSince: BetterSqlite3.Statement;
  readonly #localById: BetterSqlite3.Statement;
  readonly #masterList: BetterSqlite3.Statement;

  constructor(writer: StoreWriter) {
    this.#w = writer;
    const q = (sql: string): BetterSqlite3.Statement => writer.db.prepare(sql).safeIntegers(true);
    this.#localSince = q(
      'SELECT id, bus, window_start, window_end, vals FROM local_estimates WHERE window_end >= ? ORDER BY window_end, id',
    );
    this.#localById = q('SELECT id, bus, window_start, window_end, vals FROM local_estimates WHERE id = ?');
    this.#masterList = q(
      'SELECT id, ts, local_id, bus, window_start, window_end, vals, outcome, reason, alarm_id FROM master_estimates ORDER BY id DESC LIMIT ?',
    );
  }

  saveLocal(e: EstimateView): void {
    this.#w.enqueue({ t: 'local', e: { ...e, values: e.values.map((v) => ({ ...v })) } });
  }

  /** The master station's estimate with the upstream check's result (or just its outcome); returns its seq. */
  saveMaster(e: MasterEstimateInput, outcome: UpstreamResult | UpstreamResult['outcome'], tsNs?: bigint): number {
    const id = this.#w.ids.master++;
    const r: UpstreamResult = typeof outcome === 'string' ? { outcome, reason: '', localId: e.id ?? null, alarmId: null } : { ...outcome };
    this.#w.enqueue({ t: 'master', id, ts: tsNs ?? this.#w.nowNs(), e: { ...e, values: e.values.map((v) => ({ ...v })) }, r });
    return id;
  }

  local(sinceNs: bigint): EstimateView[] {
    this.#w.readSync();
    return (this.#localSince.all(sinceNs) as LocalRow[]).map(localView);
  }

  localById(id: string): EstimateView | undefined {
    this.#w.readSync();
    const r = this.#localById.get(id) as LocalRow | undefined;
    return r === undefined ? undefined : localView(r);
  }

  master(limit: number): MasterEstimateRecord[] {
    this.#w.readSync();
    const rows = this.#masterList.all(limit) as MasterRow[];
    return rows.map((r) => ({
      seq: Number(r.id),
      tsNs: r.ts.toString(),
      ...(r.local_id !== null ? { id: r.local_id } : {}),
      bus: r.bus,
      windowStartNs: r.window_start.toString(),
      windowEndNs: r.window_end.toString(),
      values: JSON.parse(r.vals) as MasterEstimateInput['values'],
      outcome: r.outcome,
      reason: r.reason,
      localId: r.local_id,
      alarmId: r.alarm_id === null ? null : Number(r.alarm_id),
    }));
  }
}
