// Opening the evidence store's main connection: refuses what is not an SVDE store (another application's
// database, a newer schema, foreign triggers or views, missing tables), sets the pragmas and migrates.
//
// Durability: journal_mode=WAL with synchronous=FULL: the WAL is fsynced at every commit, so a committed
// alarm survives power loss, not only a killed process (NORMAL would only fsync at checkpoints and may lose
// the last commits on power loss).
import Database from 'better-sqlite3';
import type { BetterSqlite3 } from 'better-sqlite3';
import { APPLICATION_ID, SCHEMA_VERSION, migrate } from './schema.ts';
import { StoreError } from './errors.ts';

const REQUIRED_TABLES = [
  'alarms',
  'events',
  'counters',
  'chunks',
  'alarm_chunks',
  'streams',
  'local_estimates',
  'master_estimates',
  'library',
];

/** The reason an open failed, in the operator's terms. */
export function describeOpenError(path: string, err: unknown): StoreError {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  if (code === 'SQLITE_NOTADB') return new StoreError(`${path}: not an SQLite database (the file is corrupt or something else)`);
  if (code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT'))
    return new StoreError(`${path}: the database is corrupt (${e.message ?? code})`);
  if (code === 'SQLITE_CANTOPEN')
    return new StoreError(`${path}: cannot open (${e.message ?? code}): check the directory exists and is writable`);
  if (code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY')) return new StoreError(`${path}: read-only (${e.message ?? code})`);
  if (err instanceof StoreError) return err;
  return new StoreError(`${path}: ${e.message ?? String(err)}${code !== '' ? ` (${code})` : ''}`);
}

/**
 * Opens the file, checks and migrates it, and hands the connection to `prepare`; when any of it fails
 * the connection is closed and the StoreError says why.
 */
export function openStore<T>(
  path: string,
  check: 'quick' | 'none',
  synchronous: 'FULL' | 'NORMAL',
  prepare: (db: BetterSqlite3.Database) => T,
): T {
  let db: BetterSqlite3.Database;
  try {
    db = new Database(path, { timeout: 5000 });
  } catch (err) {
    throw describeOpenError(path, err);
  }
  try {
    openChecks(db, path, check, synchronous);
    return prepare(db);
  } catch (err) {
    try {
      db.close();
    } catch {
      /* already failing */
    }
    throw describeOpenError(path, err);
  }
}

function openChecks(db: BetterSqlite3.Database, path: string, check: 'quick' | 'none', synchronous: 'FULL' | 'NORMAL'): void {
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
    throw new StoreError(
      `${path}: not an SVDE evidence store (application_id 0x${(appId >>> 0).toString(16)}, ${tables} tables of another application)`,
    );
  }
  if (version > SCHEMA_VERSION) {
    throw new StoreError(`${path}: schema version ${version} is newer than this build understands (${SCHEMA_VERSION}); use a newer svde`);
  }
  const mode = db.pragma('journal_mode = WAL', { simple: true }) as string;
  if (mode !== 'wal') throw new StoreError(`${path}: cannot switch to WAL journal mode (got '${mode}')`);
  db.pragma(`synchronous = ${synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = OFF');
  // Keep the WAL from growing without bound between checkpoints (flash).
  db.pragma('journal_size_limit = 8388608');
  if (check === 'quick' && version > 0) {
    const rows = db.pragma('quick_check(5)') as Array<{ quick_check: string }>;
    const msgs = rows.map((r) => r.quick_check);
    if (msgs.length !== 1 || msgs[0] !== 'ok') throw new StoreError(`${path}: the database is corrupt: ${msgs.join('; ')}`);
  }
  migrate(db);
  // A hostile file could carry triggers or views that run on our writes, or lack tables: refuse it.
  const objs = db.prepare("SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'").all() as Array<{
    type: string;
    name: string;
  }>;
  const foreign = objs.filter((o) => o.type !== 'table' && o.type !== 'index');
  if (foreign.length > 0)
    throw new StoreError(
      `${path}: unexpected ${foreign.map((o) => `${o.type} '${o.name}'`).join(', ')} in the evidence store (not created by svde)`,
    );
  const names = new Set(objs.filter((o) => o.type === 'table').map((o) => o.name));
  const missing = REQUIRED_TABLES.filter((t) => !names.has(t));
  if (missing.length > 0) throw new StoreError(`${path}: schema version ${SCHEMA_VERSION} but table(s) ${missing.join(', ')} missing`);
}
