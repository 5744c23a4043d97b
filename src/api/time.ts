// Query times: ISO-8601 (to the nanosecond) or nanoseconds since the epoch as a decimal string.
import { badRequest } from './errors.ts';

const ISO = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Parses a query time; throws a 400 that names the field and shows the two accepted forms. */
export function parseTimeParam(field: string, value: string): bigint {
  if (/^\d{1,20}$/.test(value)) return BigInt(value);
  const m = ISO.exec(value);
  if (m !== null) {
    const time = m[2] ?? '00:00:00';
    const zone = m[4] ?? (m[2] === undefined ? 'Z' : undefined);
    if (zone === undefined) {
      throw badRequest(`querystring.${field} '${value}' has no time zone; end it with Z or an offset such as +08:00`, [
        { location: 'querystring', field, message: 'has no time zone' },
      ]);
    }
    const ms = Date.parse(`${m[1]}T${time.length === 5 ? `${time}:00` : time}${zone}`);
    if (Number.isFinite(ms) && ms >= 0) {
      const frac = (m[3] ?? '').padEnd(9, '0');
      return BigInt(ms) * 1_000_000n + BigInt(frac);
    }
  }
  throw badRequest(
    `querystring.${field} '${value}' is not a time: give ISO-8601 (2026-01-02T03:04:05.123Z) or nanoseconds since the epoch as a decimal string`,
    [{ location: 'querystring', field, message: 'is not an ISO-8601 time or a decimal nanosecond count' }],
  );
}
