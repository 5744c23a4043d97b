// Small dense linear algebra on row-major Float64Array (n ≤ ~50): Cholesky factorisation and solves.
// No allocation: callers own every buffer.

/**
 * Cholesky A = L·Lᵀ of the symmetric n×n matrix `a` into the lower triangle of `l` (upper part zeroed).
 * Returns false when A is not numerically positive definite (a pivot ≤ relTol · the largest diagonal),
 * i.e. the system is unobservable with the active measurements.
 */
export function cholesky(a: Float64Array, n: number, l: Float64Array, relTol = 1e-12): boolean {
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, Math.abs(a[i * n + i]!));
  const floor = relTol * (maxDiag || 1);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(s > floor)) return false;
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j]!;
    }
    for (let j = i + 1; j < n; j++) l[i * n + j] = 0;
  }
  return true;
}

/** Solve L·Lᵀ·x = b in place (b becomes x). */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * b[k]!;
    b[i] = s / l[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * b[k]!;
    b[i] = s / l[i * n + i]!;
  }
}
