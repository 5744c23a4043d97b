// The one duration grammar of the command lines: a decimal number with an optional unit — ms, s (default),
// m or h — e.g. "500ms", "10s", "2m", "1.5h". Bounds are the caller's (each names its own option).

/** Seconds, or undefined when `s` is not a duration. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (m === null) return undefined;
  const unit = m[2] === 'ms' ? 0.001 : m[2] === 'm' ? 60 : m[2] === 'h' ? 3600 : 1;
  return Number(m[1]) * unit;
}
