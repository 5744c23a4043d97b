// Chi-square distribution for the bad-data test: CDF via the regularized lower incomplete gamma function
// P(k/2, x/2) (power series below a+1, Lentz continued fraction for Q above), and the quantile by a
// bracketed Newton iteration. Only integer degrees of freedom are needed (m − n), so Γ(k/2) is computed
// exactly from factorials (integer and half-integer arguments). Checked against scipy's chi2.ppf values
// in state-estimation.md to 1e-9 (test/detect/estimation/chi2.test.ts).

/** ln Γ(a) for a = k/2, k a positive integer. */
function lnGammaHalf(k: number): number {
  if (k % 2 === 0) {
    // Γ(n) = (n−1)!
    let s = 0;
    for (let i = 2; i < k / 2; i++) s += Math.log(i);
    return s;
  }
  // Γ(n + 1/2) = √π · Π_{i=1..n} (i − 1/2)
  let s = 0.5 * Math.log(Math.PI);
  const n = (k - 1) / 2;
  for (let i = 1; i <= n; i++) s += Math.log(i - 0.5);
  return s;
}

/** Regularized lower incomplete gamma P(a, x) with ln Γ(a) given. */
function gammaP(a: number, x: number, lnGa: number): number {
  if (x <= 0) return 0;
  const lnPre = a * Math.log(x) - x - lnGa;
  if (x < a + 1) {
    // P = e^{−x} x^a / Γ(a+1) · Σ x^n / ((a+1)…(a+n))
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
    }
    return Math.exp(lnPre) * sum;
  }
  // Q = e^{−x} x^a / Γ(a) · 1/(x+1−a− 1·(1−a)/(x+3−a− 2·(2−a)/(x+5−a− …))) (modified Lentz)
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-17) break;
  }
  return 1 - Math.exp(lnPre) * h;
}

/** Chi-square CDF with k (integer ≥ 1) degrees of freedom. */
export function chi2Cdf(x: number, k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`dof must be a positive integer, got ${k}`);
  return gammaP(k / 2, x / 2, lnGammaHalf(k));
}

function chi2Pdf(x: number, k: number, lnGa: number): number {
  if (x <= 0) return 0;
  return Math.exp((k / 2 - 1) * Math.log(x) - x / 2 - (k / 2) * Math.LN2 - lnGa);
}

/** p → (k → quantile); nested numeric keys so that a cached lookup does not allocate (hot path). */
const cache = new Map<number, Map<number, number>>();

/** Quantile χ²_p(k): the x with CDF(x) = p (p = 1 − α for the bad-data threshold). Cached per (p, k). */
export function chi2Quantile(p: number, k: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be in (0, 1), got ${p}`);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`dof must be a positive integer, got ${k}`);
  let byK = cache.get(p);
  if (!byK) {
    byK = new Map();
    cache.set(p, byK);
  }
  const hit = byK.get(k);
  if (hit !== undefined) return hit;
  const lnGa = lnGammaHalf(k);
  let lo = 0;
  let hi = Math.max(1, k);
  while (gammaP(k / 2, hi / 2, lnGa) < p) {
    lo = hi;
    hi *= 2;
  }
  let x = 0.5 * (lo + hi);
  for (let it = 0; it < 200; it++) {
    const f = gammaP(k / 2, x / 2, lnGa) - p;
    if (f < 0) lo = x;
    else hi = x;
    const pdf = chi2Pdf(x, k, lnGa);
    let nx = pdf > 0 ? x - f / pdf : NaN;
    if (!(nx > lo && nx < hi)) nx = 0.5 * (lo + hi); // Newton left the bracket: bisect
    if (Math.abs(nx - x) <= 1e-15 * Math.max(1, x)) {
      x = nx;
      break;
    }
    x = nx;
  }
  byK.set(k, x);
  return x;
}
