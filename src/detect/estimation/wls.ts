// Weighted-least-squares state estimation with bad-data analysis.
//
//   z = h(x) + e,  W = R⁻¹ = diag(1/σᵢ²)
//   linear:    x̂ = (HᵀWH)⁻¹HᵀWz = K z
//   nonlinear: Gauss–Newton, Δx = (HᵀWH)⁻¹HᵀW(z − h(x)), H = ∂h/∂x at x, until max|Δx| < tol
//   r = z − h(x̂),  J = rᵀWr,  Ω = R − H(HᵀWH)⁻¹Hᵀ,  r_N,i = |rᵢ| / √Ω_ii
//
// Bad data (badDataAnalysis): chi-square test J > χ²_{1−α}(k·(m_active − n)) (k = 1 for real, 2 for complex
// measurements), then largest-normalized-residual (LNR) identification: the measurement with the largest
// r_N is removed if r_N > threshold, the state re-estimated, and the test repeated. The outcome is
// "not-identifiable" (detected but not identifiable) when
//   - the largest r_N is tied with another one (m − n = 1 makes all r_N equal; measurements whose residuals
//     are fully correlated form a group that no residual test can split),
//   - every remaining measurement is critical (Ω_ii ≈ 0: its error is invisible in the residuals),
//   - the largest r_N is below the threshold although J fails,
//   - removal would exhaust the redundancy or the removal budget.
//
// Hot path (LinearWls): the gain K and diag Ω of the full measurement set are computed once per model; a
// clean cycle costs one matrix–vector product K·z and the residuals (O(m·n)), no allocation. Removals
// refactor a working copy (O(m·n² + n³)) only on the cycles that failed the chi-square test.
import { cholesky, choleskySolve } from './linalg.ts';
import { chi2Quantile } from './chi2.ts';

/** HᵀWH, its Cholesky factor, K = (HᵀWH)⁻¹HᵀW and diag Ω for the active rows of H. */
export class WlsCore {
  readonly m: number;
  readonly n: number;
  /** m×n row-major. */
  readonly H: Float64Array;
  readonly sigma2: Float64Array;
  readonly active: Uint8Array;
  readonly G: Float64Array;
  readonly L: Float64Array;
  /** n×m row-major (column i = gain of measurement i; zero for inactive rows). */
  readonly K: Float64Array;
  /** diag Ω (σᵢ²·(1 − hᵢ·Kᵢ)); 0 for inactive rows. */
  readonly omega: Float64Array;
  readonly #col: Float64Array;

  constructor(m: number, n: number) {
    this.m = m; this.n = n;
    this.H = new Float64Array(m * n); this.sigma2 = new Float64Array(m).fill(1); this.active = new Uint8Array(m).fill(1);
    this.G = new Float64Array(n * n); this.L = new Float64Array(n * n);
    this.K = new Float64Array(n * m); this.omega = new Float64Array(m); this.#col = new Float64Array(n);
  }

  /** Form and factor HᵀWH over the active rows (no K, no Ω); false when unobservable. */
  factorG(): boolean {
    const { m, n, H, G, L, active, sigma2 } = this;
    G.fill(0);
    for (let i = 0; i < m; i++) {
      if (!active[i]) continue;
      const w = 1 / sigma2[i]!; const o = i * n;
      for (let a = 0; a < n; a++) {
        const ha = H[o + a]! * w;
        if (ha === 0) continue;
        for (let b = 0; b <= a; b++) G[a * n + b] = G[a * n + b]! + ha * H[o + b]!;
      }
    }
    for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) G[b * n + a] = G[a * n + b]!;
    return cholesky(G, n, L);
  }

  /** factorG, then K and diag Ω for the active rows; false when unobservable. */
  factor(): boolean {
    if (!this.factorG()) return false;
    const { m, n, H, L, K, active, sigma2, omega } = this;
    const col = this.#col;
    for (let i = 0; i < m; i++) {
      if (!active[i]) { for (let a = 0; a < n; a++) K[a * m + i] = 0; omega[i] = 0; continue; }
      const w = 1 / sigma2[i]!; const o = i * n;
      for (let a = 0; a < n; a++) col[a] = H[o + a]! * w;
      choleskySolve(L, n, col);
      let hk = 0;
      for (let a = 0; a < n; a++) { K[a * m + i] = col[a]!; hk += H[o + a]! * col[a]!; }
      omega[i] = sigma2[i]! * (1 - hk);
    }
    return true;
  }
}

/** What the bad-data loop needs from an estimator. */
export interface WlsProblem {
  readonly m: number;
  readonly n: number;
  /** 1: real measurements; 2: complex (real and imaginary parts share H and σ). */
  readonly components: 1 | 2;
  readonly sigma2: Float64Array;
  /** Current active mask (1 = used). */
  readonly active: Uint8Array;
  /** diag Ω of the last solve. */
  readonly omega: Float64Array;
  /** rᵀWr of the last solve. */
  readonly J: number;
  activeCount(): number;
  resetActive(): void;
  deactivate(i: number): void;
  /** Estimate with the active set; false when unobservable or not converged. */
  solve(): boolean;
  /** |rᵢ| (complex magnitude when components = 2) of the last solve. */
  residualAbs(i: number): number;
}

export interface BadDataOptions {
  /** False-alarm probability of the chi-square test. Default 0.05 (pandapower's chi2_prob_false). */
  alpha?: number;
  /** LNR identification threshold. Default 3.0 (pandapower rn_max_threshold, JuliaGrid tests). */
  threshold?: number;
  /** At most this many removals. Default: unlimited (bounded by the redundancy). */
  maxRemovals?: number;
  /** Two r_N within this relative distance of each other are tied. Default 1e-6. */
  tieTolerance?: number;
  /** Ω_ii ≤ this · σᵢ² marks a critical measurement. Default 1e-9. */
  criticalTolerance?: number;
}

export type BadDataOutcome =
  /** J within the chi-square threshold with every measurement. */
  | 'pass'
  /** Bad data detected, removed by LNR; the remaining set passes. */
  | 'identified'
  /** Bad data detected (J too large) but the residuals cannot say which measurement; see `suspects`. */
  | 'not-identifiable'
  /** m − n ≤ 0: no redundancy, nothing can be tested. */
  | 'no-redundancy'
  /** The active set cannot determine the state. */
  | 'unobservable';

export interface BadDataStep { J: number; dof: number; chi2: number; removed: number; rN: number }

/** Reusable report (reset by every analysis; no allocation on clean runs). */
export class BadDataReport {
  outcome: BadDataOutcome = 'pass';
  /** J > χ² on the first estimate. */
  detected = false;
  /** J, dof and threshold of the first estimate (all measurements). */
  J0 = 0; dof0 = 0; chi20 = 0;
  /** J, dof and threshold of the last estimate. */
  J = 0; dof = 0; chi2 = 0;
  /** Largest normalized residual of the last failing step (0 when none). */
  maxRN = 0;
  /** Removed measurement indices in removal order, with their r_N at removal. */
  readonly removed: number[] = [];
  readonly removedRN: number[] = [];
  /** When not identifiable: the measurements that share the largest r_N (tied), or the top one below threshold. */
  readonly suspects: number[] = [];
  /** One entry per failing step (filled only when bad data was detected). */
  readonly steps: BadDataStep[] = [];
  reset(): void {
    this.outcome = 'pass'; this.detected = false; this.J0 = this.dof0 = this.chi20 = this.J = this.dof = this.chi2 = this.maxRN = 0;
    this.removed.length = 0; this.removedRN.length = 0; this.suspects.length = 0; this.steps.length = 0;
  }
}

/** Normalized residual of measurement i after the last solve; NaN for inactive or critical rows. */
export function normalizedResidual(p: WlsProblem, i: number, criticalTolerance = 1e-9): number {
  if (!p.active[i]) return NaN;
  const om = p.omega[i]!;
  if (!(om > criticalTolerance * p.sigma2[i]!)) return NaN;
  return p.residualAbs(i) / Math.sqrt(om);
}

/** Chi-square detection and LNR identification with iterative removal (see the file comment). */
export function badDataAnalysis(p: WlsProblem, opts: BadDataOptions = {}, report: BadDataReport = new BadDataReport()): BadDataReport {
  const alpha = opts.alpha ?? 0.05; const thr = opts.threshold ?? 3.0;
  const maxRemovals = opts.maxRemovals ?? Infinity; const tie = opts.tieTolerance ?? 1e-6; const crit = opts.criticalTolerance ?? 1e-9;
  report.reset();
  p.resetActive();
  for (let step = 0; ; step++) {
    if (!p.solve()) { report.outcome = 'unobservable'; return report; }
    const dof = p.components * (p.activeCount() - p.n);
    report.J = p.J; report.dof = dof;
    if (dof <= 0) {
      report.chi2 = NaN;
      report.outcome = step === 0 ? 'no-redundancy' : 'not-identifiable';
      if (step === 0) { report.J0 = p.J; report.dof0 = dof; report.chi20 = NaN; }
      return report;
    }
    const c = chi2Quantile(1 - alpha, dof);
    report.chi2 = c;
    if (step === 0) { report.J0 = p.J; report.dof0 = dof; report.chi20 = c; }
    if (p.J <= c) { report.outcome = step === 0 ? 'pass' : 'identified'; report.maxRN = 0; return report; }
    report.detected = true;
    // largest normalized residual over active, non-critical measurements
    let best = -1; let bestRN = -Infinity;
    for (let i = 0; i < p.m; i++) {
      const rn = normalizedResidual(p, i, crit);
      if (rn > bestRN) { bestRN = rn; best = i; }
    }
    report.maxRN = best >= 0 ? bestRN : 0;
    report.steps.push({ J: p.J, dof, chi2: c, removed: -1, rN: report.maxRN });
    if (best < 0) { report.outcome = 'not-identifiable'; return report; } // only critical measurements left
    for (let i = 0; i < p.m; i++) {
      if (i === best) continue;
      const rn = normalizedResidual(p, i, crit);
      if (rn >= bestRN - tie * bestRN) report.suspects.push(i);
    }
    if (report.suspects.length || bestRN <= thr || report.removed.length >= maxRemovals || p.components * (p.activeCount() - 1 - p.n) <= 0) {
      report.suspects.unshift(best);
      report.outcome = 'not-identifiable';
      return report;
    }
    report.steps[report.steps.length - 1]!.removed = best;
    report.removed.push(best); report.removedRN.push(bestRN);
    p.deactivate(best);
  }
}

/**
 * Linear WLS z = Hx + e for real (components 1) or complex (components 2, same real H for the real and
 * imaginary parts) measurements. Set H and σ, call prepare() once, then per cycle fill z and call
 * estimate() (or badDataAnalysis(this)).
 */
export class LinearWls implements WlsProblem {
  readonly m: number;
  readonly n: number;
  readonly components: 1 | 2;
  readonly H: Float64Array;
  readonly sigma2: Float64Array;
  readonly active: Uint8Array;
  readonly zRe: Float64Array; readonly zIm: Float64Array;
  readonly xRe: Float64Array; readonly xIm: Float64Array;
  readonly rRe: Float64Array; readonly rIm: Float64Array;
  J = 0;
  readonly #full: WlsCore;
  readonly #work: WlsCore;
  #fullOk = false;
  #nActive: number;
  /** Rows not excluded (setExcluded); resetActive() returns to this set. */
  readonly base: Uint8Array;
  #nBase: number;
  /** Work core factored for the current mask. */
  #workFresh = false;
  #cur: WlsCore;
  readonly #qRe: Float64Array; readonly #qIm: Float64Array;
  readonly #quick: WlsCore;
  #quickInit = false;

  constructor(m: number, n: number, components: 1 | 2 = 1) {
    this.m = m; this.n = n; this.components = components;
    this.#full = new WlsCore(m, n); this.#work = new WlsCore(m, n); this.#cur = this.#full;
    this.H = this.#full.H; this.sigma2 = this.#full.sigma2;
    this.active = new Uint8Array(m).fill(1); this.#nActive = m;
    this.base = new Uint8Array(m).fill(1); this.#nBase = m;
    this.zRe = new Float64Array(m); this.zIm = new Float64Array(m);
    this.xRe = new Float64Array(n); this.xIm = new Float64Array(n);
    this.rRe = new Float64Array(m); this.rIm = new Float64Array(m);
    this.#qRe = new Float64Array(n); this.#qIm = new Float64Array(n); this.#quick = new WlsCore(m, n);
  }

  /** Set σ for every measurement (length m). */
  setSigma(sigma: ArrayLike<number>): void {
    for (let i = 0; i < this.m; i++) this.sigma2[i] = sigma[i]! * sigma[i]!;
    this.#fullOk = false; this.#quickInit = false;
  }

  /** Factor the full model (after H or σ changed); false when unobservable. */
  prepare(): boolean {
    this.#fullOk = this.#full.factor();
    this.#workFresh = false; this.#quickInit = false;
    return this.#fullOk;
  }

  get omega(): Float64Array { return this.#cur.omega; }
  /** K of the current active set (n×m). */
  get gain(): Float64Array { return this.#cur.K; }
  activeCount(): number { return this.#nActive; }
  /** Back to the base set: every row that is not excluded. */
  resetActive(): void {
    if (this.#nActive === this.#nBase) return;
    this.active.set(this.base); this.#nActive = this.#nBase;
  }
  deactivate(i: number): void {
    if (this.active[i]) { this.active[i] = 0; this.#nActive--; }
  }
  /**
   * Exclude a row from every estimate until re-included (e.g. the channels of a stream that delivered no
   * phasor this cycle). The factorisation of a reduced set is kept and reused while the set is unchanged.
   */
  setExcluded(i: number, excluded: boolean): void {
    const v = excluded ? 0 : 1;
    if (this.base[i] === v) return;
    this.base[i] = v; this.#nBase += excluded ? -1 : 1;
    this.active.set(this.base); this.#nActive = this.#nBase;
  }

  /** x̂, r and J for the current z and active set. */
  solve(): boolean {
    let core: WlsCore;
    if (this.#nActive === this.m) {
      if (!this.#fullOk && !this.prepare()) return false;
      core = this.#full;
    } else {
      core = this.#work;
      if (!this.#workFresh || !sameMask(core.active, this.active)) {
        core.H.set(this.#full.H); core.sigma2.set(this.#full.sigma2); core.active.set(this.active);
        this.#workFresh = core.factor();
        if (!this.#workFresh) return false;
      }
    }
    this.#cur = core;
    const { m, n, H, K, sigma2 } = core;
    const cplx = this.components === 2;
    const { zRe, zIm, xRe, xIm, rRe, rIm, active } = this;
    for (let a = 0; a < n; a++) {
      let sr = 0; let si = 0; const o = a * m;
      for (let i = 0; i < m; i++) { const k = K[o + i]!; if (k !== 0) { sr += k * zRe[i]!; if (cplx) si += k * zIm[i]!; } }
      xRe[a] = sr; xIm[a] = si;
    }
    let J = 0;
    for (let i = 0; i < m; i++) {
      let hr = 0; let hi = 0; const o = i * n;
      for (let a = 0; a < n; a++) { const h = H[o + a]!; if (h !== 0) { hr += h * xRe[a]!; if (cplx) hi += h * xIm[a]!; } }
      const r = zRe[i]! - hr; const q = cplx ? zIm[i]! - hi : 0;
      rRe[i] = r; rIm[i] = q;
      if (active[i]) J += (r * r + q * q) / sigma2[i]!;
    }
    this.J = J;
    return true;
  }

  residualAbs(i: number): number { const r = this.rRe[i]!; const q = this.rIm[i]!; return Math.sqrt(r * r + q * q); }

  /**
   * J of the estimate using the rows where mask[i] = 1, without K or Ω (for hypothesis tests: one
   * factorisation and two solves on a separate core). Leaves the active set, x̂, r and the cached
   * factorisations untouched; NaN when unobservable.
   */
  quickJ(mask: Uint8Array): number {
    const core = this.#quick; const { m, n } = this;
    if (!this.#quickInit) { core.H.set(this.#full.H); core.sigma2.set(this.#full.sigma2); this.#quickInit = true; }
    core.active.set(mask);
    if (!core.factorG()) return NaN;
    const br = this.#qRe; const bi = this.#qIm; br.fill(0); bi.fill(0);
    const H = core.H; const s2 = core.sigma2; const act = mask; const cplx = this.components === 2;
    for (let i = 0; i < m; i++) {
      if (!act[i]) continue;
      const wr = this.zRe[i]! / s2[i]!; const wi = cplx ? this.zIm[i]! / s2[i]! : 0;
      for (let a = 0; a < n; a++) { const h = H[i * n + a]!; if (h !== 0) { br[a] = br[a]! + h * wr; bi[a] = bi[a]! + h * wi; } }
    }
    choleskySolve(core.L, n, br); if (cplx) choleskySolve(core.L, n, bi);
    let J = 0;
    for (let i = 0; i < m; i++) {
      if (!act[i]) continue;
      let hr = 0; let hi = 0;
      for (let a = 0; a < n; a++) { const h = H[i * n + a]!; if (h !== 0) { hr += h * br[a]!; hi += h * bi[a]!; } }
      const r = this.zRe[i]! - hr; const q = cplx ? this.zIm[i]! - hi : 0;
      J += (r * r + q * q) / s2[i]!;
    }
    return J;
  }
}

function sameMask(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A nonlinear measurement model for Gauss–Newton. */
export interface NonlinearModel {
  readonly m: number;
  readonly n: number;
  /** out[i] = hᵢ(x). */
  h(x: Float64Array, out: Float64Array): void;
  /** H (m×n row-major) = ∂h/∂x at x. */
  jacobian(x: Float64Array, H: Float64Array): void;
  /** Starting point (flat start). */
  initial(x: Float64Array): void;
}

/** Gauss–Newton WLS on a NonlinearModel (the AC cases). Not for the per-cycle hot path. */
export class GaussNewtonWls implements WlsProblem {
  readonly m: number;
  readonly n: number;
  readonly components = 1 as const;
  readonly model: NonlinearModel;
  readonly z: Float64Array;
  readonly x: Float64Array;
  readonly r: Float64Array;
  readonly sigma2: Float64Array;
  readonly active: Uint8Array;
  J = 0;
  iterations = 0;
  tolerance = 1e-10;
  maxIterations = 50;
  readonly #core: WlsCore;
  readonly #hx: Float64Array;
  #nActive: number;

  constructor(model: NonlinearModel, z: ArrayLike<number>, sigma: ArrayLike<number>) {
    this.model = model; this.m = model.m; this.n = model.n;
    this.#core = new WlsCore(this.m, this.n);
    this.sigma2 = this.#core.sigma2; this.active = this.#core.active; this.#nActive = this.m;
    this.z = Float64Array.from(z); this.x = new Float64Array(this.n); this.r = new Float64Array(this.m); this.#hx = new Float64Array(this.m);
    for (let i = 0; i < this.m; i++) this.sigma2[i] = sigma[i]! * sigma[i]!;
  }

  get omega(): Float64Array { return this.#core.omega; }
  activeCount(): number { return this.#nActive; }
  resetActive(): void { this.active.fill(1); this.#nActive = this.m; }
  deactivate(i: number): void { if (this.active[i]) { this.active[i] = 0; this.#nActive--; } }

  /** Gauss–Newton from the model's flat start; Ω at the solution. */
  solve(): boolean {
    const { m, n, x, r, z, model, active, sigma2 } = this;
    const core = this.#core; const hx = this.#hx;
    model.initial(x);
    let converged = false;
    for (this.iterations = 0; this.iterations < this.maxIterations; ) {
      model.h(x, hx);
      for (let i = 0; i < m; i++) r[i] = z[i]! - hx[i]!;
      model.jacobian(x, core.H);
      if (!core.factor()) return false;
      this.iterations++;
      let maxDx = 0;
      for (let a = 0; a < n; a++) {
        let s = 0;
        for (let i = 0; i < m; i++) if (active[i]) s += core.K[a * m + i]! * r[i]!;
        x[a] = x[a]! + s; maxDx = Math.max(maxDx, Math.abs(s));
      }
      if (maxDx < this.tolerance) { converged = true; break; }
    }
    if (!converged) return false;
    model.h(x, hx);
    model.jacobian(x, core.H);
    if (!core.factor()) return false;
    let J = 0;
    for (let i = 0; i < m; i++) { r[i] = z[i]! - hx[i]!; if (active[i]) J += (r[i]! * r[i]!) / sigma2[i]!; }
    this.J = J;
    return true;
  }

  residualAbs(i: number): number { return Math.abs(this.r[i]!); }
}
