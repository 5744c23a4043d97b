// The fault/attack library (table library): written and read directly, after the queue is committed.
import type { BetterSqlite3 } from 'better-sqlite3';
import type { StoreWriter } from '../writer.ts';
import { StoreError } from '../errors.ts';

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

interface LibraryRow {
  id: bigint;
  kind: 'fault' | 'attack';
  label: string;
  features: string;
  source: string;
  created: bigint;
}

export class LibraryRepository {
  readonly #w: StoreWriter;
  readonly #insert: BetterSqlite3.Statement;
  readonly #all: BetterSqlite3.Statement;
  readonly #ofKind: BetterSqlite3.Statement;

  constructor(writer: StoreWriter) {
    this.#w = writer;
    const db = writer.db;
    this.#insert = db.prepare('INSERT INTO library (kind, label, features, source, created) VALUES (?, ?, ?, ?, ?)');
    this.#all = db.prepare('SELECT id, kind, label, features, source, created FROM library ORDER BY id').safeIntegers(true);
    this.#ofKind = db
      .prepare('SELECT id, kind, label, features, source, created FROM library WHERE kind = ? ORDER BY id')
      .safeIntegers(true);
  }

  add(e: LibraryEntryInput): number {
    if (e.kind !== 'fault' && e.kind !== 'attack')
      throw new StoreError(`library entry kind must be 'fault' or 'attack', got '${String(e.kind)}'`);
    const json = JSON.stringify(e.features);
    if (json === undefined) throw new StoreError('library entry features must be JSON-serialisable');
    this.#w.sync();
    return Number(this.#insert.run(e.kind, e.label, json, e.source, e.createdNs).lastInsertRowid);
  }

  entries(kind?: 'fault' | 'attack'): LibraryEntry[] {
    this.#w.readSync();
    const rows = (kind === undefined ? this.#all.all() : this.#ofKind.all(kind)) as LibraryRow[];
    return rows.map((r) => ({
      id: Number(r.id),
      kind: r.kind,
      label: r.label,
      features: JSON.parse(r.features) as unknown,
      source: r.source,
      createdNs: r.created.toString(),
    }));
  }
}
