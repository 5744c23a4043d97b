// Checks shared by the paged, time-filtered lists (alarms, events, counters).
import { ApiError, badRequest } from './errors.ts';

export function checkRange(since: bigint | undefined, until: bigint | undefined): void {
  if (since !== undefined && until !== undefined && until < since) {
    throw badRequest('querystring.until must not be before querystring.since', [
      { location: 'querystring', field: 'until', message: 'must not be before since' },
    ]);
  }
}

/** A cursor the store cannot read is the client's mistake (400), not the device's (500). */
export function withCursor<T>(cursor: string | undefined, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (cursor !== undefined && !(err instanceof ApiError)) {
      throw badRequest(`querystring.cursor is not a cursor this device issued (${(err as Error).message})`, [
        { location: 'querystring', field: 'cursor', message: 'not a valid cursor' },
      ]);
    }
    throw err;
  }
}
