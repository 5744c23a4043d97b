// One error type for every refusal the appliance explains to a person (CLI, API, syslog): a stable `code`
// to act on, and a message that says precisely what was wrong. Each module's error class extends it with its
// own code, or with finer codes where the module has them (ChipError, ApiError). Shaped after
// better-sqlite3's SqliteError.
export abstract class SvdeError extends Error {
  /** Stable, machine-readable: CONFIG, BOARD, SCL, KEYSTORE, TOKEN, EXPORT, STORE, ENCODE, UPSTREAM_INPUT,
   *  USAGE, PROTOCOL, REALTIME, or a module's finer code (ChipError: TIMEOUT, …; ApiError: BAD_REQUEST, …). */
  abstract readonly code: string;
}

export function isSvdeError(e: unknown): e is SvdeError {
  return e instanceof SvdeError;
}
