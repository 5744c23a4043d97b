// Keyset paging shared by the list queries (alarms, events): newest first by id, with an opaque cursor,
// and the statements of each filter combination prepared once.
import type { BetterSqlite3 } from 'better-sqlite3';
import type { Page } from '../../model/records.ts';
import { StoreError } from '../errors.ts';

export function encodeCursor(id: number): string {
  return Buffer.from(`i${id}`).toString('base64url');
}

export function decodeCursor(c: string | undefined): number | null {
  if (c === undefined || c === '') return null;
  const s = Buffer.from(c, 'base64url').toString();
  const m = /^i(\d{1,15})$/.exec(s);
  if (m === null) throw new StoreError(`invalid cursor '${c}'`);
  return Number(m[1]);
}

export function clampLimit(l: number | undefined): number {
  if (l === undefined) return 50;
  if (!Number.isInteger(l) || l < 1 || l > 500) throw new StoreError(`limit must be an integer 1 … 500, got ${l}`);
  return l;
}

/** A JSON detail column: the object, or null when absent or not an object. */
export function parseDetail(s: string | null): Record<string, number | string | boolean> | null {
  if (s === null) return null;
  try {
    const v = JSON.parse(s) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, number | string | boolean>) : null;
  } catch {
    return null;
  }
}

export class Pager {
  readonly #db: BetterSqlite3.Database;
  readonly #cache = new Map<string, BetterSqlite3.Statement>();

  constructor(db: BetterSqlite3.Database) {
    this.#db = db;
  }

  #stmt(key: string, sql: string): BetterSqlite3.Statement {
    let s = this.#cache.get(key);
    if (s === undefined) {
      s = this.#db.prepare(sql).safeIntegers(true);
      this.#cache.set(key, s);
    }
    return s;
  }

  /**
   * Newest first, keyset-paged by id: the total of the filter, one page, and the cursor of the next.
   * `key` names the filter combination (the statements are cached under it).
   */
  page<R, T extends { id: number }>(
    table: string,
    cols: string,
    key: string,
    where: string[],
    args: unknown[],
    cursor: number | null,
    limit: number,
    map: (r: R) => T,
  ): Page<T> {
    const w = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = Number((this.#stmt(`${key}#n`, `SELECT count(*) AS n FROM ${table} ${w}`).get(...args) as { n: bigint }).n);
    const pw = cursor === null ? w : where.length > 0 ? `${w} AND id < ?` : 'WHERE id < ?';
    const pargs = cursor === null ? [...args, limit + 1] : [...args, cursor, limit + 1];
    const rows = this.#stmt(`${key}#${cursor === null ? 'p' : 'c'}`, `SELECT ${cols} FROM ${table} ${pw} ORDER BY id DESC LIMIT ?`).all(
      ...pargs,
    ) as R[];
    const more = rows.length > limit;
    const items = (more ? rows.slice(0, limit) : rows).map(map);
    return { items, total, next: more ? encodeCursor(items[items.length - 1]!.id) : null };
  }
}
