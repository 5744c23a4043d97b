// Weighted-least-squares state estimation.
//
//   z = h(x) + e,  W = R⁻¹ = diag(1/σᵢ²)
//   linear:    x̂ = (HᵀWH)⁻¹HᵀWz = K z
//   nonlinear: Gauss–Newton, Δx = (HᵀWH)⁻¹HᵀW(z − h(x)), H = ∂h/∂x at x, until max|Δx| < tol
//   r = z − h(x̂),  J = rᵀWr,  Ω = R − H(HᵀWH)⁻¹Hᵀ,  r_N,i = |rᵢ| / √Ω_ii
//
// Bad data (chi-square detection, LNR identification, removal): bad-data.ts, re-exported here.
//
// Hot path (LinearWls): the gain K and diag Ω of the full measurement set are computed once per model; a
// clean cycle costs one matrix–vector product K·z and the residuals (O(m·n)), no allocation. Removals
// refactor a working copy (O(m·n² + n³)) only on the cycles that failed the chi-square test.
import { cholesky, choleskySolve } from './linalg.ts';
import type { WlsProblem } from './bad-data.ts';

export { BadDataReport, badDataAnalysis, normalizedResidual } from './bad-data.ts';
export type { WlsProblem, BadDataOptions, BadDataOutcome, BadDataStep } from './bad-data.ts';

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
    this.m = m;
    this.n = n;
    this.H = new Float64Array(m * n);
    this.sigma2 = new Float64Array(m).fill(1);
    this.active = new Uint8Array(m).fill(1);
    this.G = new Float64Array(n * n);
    this.L = new Float64Array(n * n);
    this.K = new Float64Array(n * m);
    this.omega = new Float64Array(m);
    this.#col = new Float64Array(n);
  }

  /** Form and factor HᵀWH over the active rows (no K, no Ω); false when unobservable. */
  factorG(): boolean {
    const { m, n, H, G, L, active, sigma2 } = this;
    G.fill(0);
    for (let i = 0; i < m; i++) {
      if (!active[i]) continue;
      const w = 1 / sigma2[i]!;
      const o = i * n;
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
      if (!active[i]) {
        for (let a = 0; a < n; a++) K[a * m + i] = 0;
        omega[i] = 0;
        continue;
      }
      const w = 1 / sigma2[i]!;
      const o = i * n;
      for (let a = 0; a < n; a++) col[a] = H[o + a]! * w;
      choleskySolve(L, n, col);
      let hk = 0;
      for (let a = 0; a < n; a++) {
        K[a * m + i] = col[a]!;
        hk += H[o + a]! * col[a]!;
      }
      omega[i] = sigma2[i]! * (1 - hk);
    }
    return true;
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
  readonly zRe: Float64Array;
  readonly zIm: Float64Array;
  readonly xRe: Float64Array;
  readonly xIm: Float64Array;
  readonly rRe: Float64Array;
  readonly rIm: Float64Array;
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
  readonly #qRe: Float64Array;
  readonly #qIm: Float64Array;
  readonly #quick: WlsCore;
  #quickInit = false;

  constructor(m: number, n: number, components: 1 | 2 = 1) {
    this.m = m;
    this.n = n;
    this.components = components;
    this.#full = new WlsCore(m, n);
    this.#work = new WlsCore(m, n);
    this.#cur = this.#full;
    this.H = this.#full.H;
    this.sigma2 = this.#full.sigma2;
    this.active = new Uint8Array(m).fill(1);
    this.#nActive = m;
    this.base = new Uint8Array(m).fill(1);
    this.#nBase = m;
    this.zRe = new Float64Array(m);
    this.zIm = new Float64Array(m);
    this.xRe = new Float64Array(n);
    this.xIm = new Float64Array(n);
    this.rRe = new Float64Array(m);
    this.rIm = new Float64Array(m);
    this.#qRe = new Float64Array(n);
    this.#qIm = new Float64Array(n);
    this.#quick = new WlsCore(m, n);
  }

  /** Set σ for every measurement (length m). */
  setSigma(sigma: ArrayLike<number>): void {
    for (let i = 0; i < this.m; i++) this.sigma2[i] = sigma[i]! * sigma[i]!;
    this.#fullOk = false;
    this.#quickInit = false;
  }

  /** Factor the full model (after H or σ changed); false when unobservable. */
  prepare(): boolean {
    this.#fullOk = this.#full.factor();
    this.#workFresh = false;
    this.#quickInit = false;
    return this.#fullOk;
  }

  get omega(): Float64Array {
    return this.#cur.omega;
  }
  /** K of the current active set (n×m). */
  get gain(): Float64Array {
    return this.#cur.K;
  }
  activeCount(): number {
    return this.#nActive;
  }
  /** Back to the base set: every row that is not excluded. */
  resetActive(): void {
    if (this.#nActive === this.#nBase) return;
    this.active.set(this.base);
    this.#nActive = this.#nBase;
  }
  deactivate(i: number): void {
    if (this.active[i]) {
      this.active[i] = 0;
      this.#nActive--;
    }
  }
  /**
   * Exclude a row from every estimate until re-included (e.g. the channels of a stream that delivered no
   * phasor this cycle). The factorisation of a reduced set is kept and reused while the set is unchanged.
   */
  setExcluded(i: number, excluded: boolean): void {
    const v = excluded ? 0 : 1;
    if (this.base[i] === v) return;
    this.base[i] = v;
    this.#nBase += excluded ? -1 : 1;
    this.active.set(this.base);
    this.#nActive = this.#nBase;
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
        core.H.set(this.#full.H);
        core.sigma2.set(this.#full.sigma2);
        core.active.set(this.active);
        this.#workFresh = core.factor();
        if (!this.#workFresh) return false;
      }
    }
    this.#cur = core;
    const { m, n, H, K, sigma2 } = core;
    const cplx = this.components === 2;
    const { zRe, zIm, xRe, xIm, rRe, rIm, active } = this;
    for (let a = 0; a < n; a++) {
      let sr = 0;
      let si = 0;
      const o = a * m;
      for (let i = 0; i < m; i++) {
        const k = K[o + i]!;
        if (k !== 0) {
          sr += k * zRe[i]!;
          if (cplx) si += k * zIm[i]!;
        }
      }
      xRe[a] = sr;
      xIm[a] = si;
    }
    let J = 0;
    for (let i = 0; i < m; i++) {
      let hr = 0;
      let hi = 0;
      const o = i * n;
      for (let a = 0; a < n; a++) {
        const h = H[o + a]!;
        if (h !== 0) {
          hr += h * xRe[a]!;
          if (cplx) hi += h * xIm[a]!;
        }
      }
      const r = zRe[i]! - hr;
      const q = cplx ? zIm[i]! - hi : 0;
      rRe[i] = r;
      rIm[i] = q;
      if (active[i]) J += (r * r + q * q) / sigma2[i]!;
    }
    this.J = J;
    return true;
  }

  residualAbs(i: number): number {
    const r = this.rRe[i]!;
    const q = this.rIm[i]!;
    return Math.sqrt(r * r + q * q);
  }

  /**
   * J of the estimate using the rows where mask[i] = 1, without K or Ω (for hypothesis tests: one
   * factorisation and two solves on a separate core). Leaves the active set, x̂, r and the cached
   * factorisations untouched; NaN when unobservable.
   */
  quickJ(mask: Uint8Array): number {
    const core = this.#quick;
    const { m, n } = this;
    if (!this.#quickInit) {
      core.H.set(this.#full.H);
      core.sigma2.set(this.#full.sigma2);
      this.#quickInit = true;
    }
    core.active.set(mask);
    if (!core.factorG()) return NaN;
    const br = this.#qRe;
    const bi = this.#qIm;
    br.fill(0);
    bi.fill(0);
    const H = core.H;
    const s2 = core.sigma2;
    const act = mask;
    const cplx = this.components === 2;
    for (let i = 0; i < m; i++) {
      if (!act[i]) continue;
      const wr = this.zRe[i]! / s2[i]!;
      const wi = cplx ? this.zIm[i]! / s2[i]! : 0;
      for (let a = 0; a < n; a++) {
        const h = H[i * n + a]!;
        if (h !== 0) {
          br[a] = br[a]! + h * wr;
          bi[a] = bi[a]! + h * wi;
        }
      }
    }
    choleskySolve(core.L, n, br);
    if (cplx) choleskySolve(core.L, n, bi);
    let J = 0;
    for (let i = 0; i < m; i++) {
      if (!act[i]) continue;
      let hr = 0;
      let hi = 0;
      for (let a = 0; a < n; a++) {
        const h = H[i * n + a]!;
        if (h !== 0) {
          hr += h * br[a]!;
          hi += h * bi[a]!;
        }
      }
      const r = this.zRe[i]! - hr;
      const q = cplx ? this.zIm[i]! - hi : 0;
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
    this.model = model;
    this.m = model.m;
    this.n = model.n;
    this.#core = new WlsCore(this.m, this.n);
    this.sigma2 = this.#core.sigma2;
    this.active = this.#core.active;
    this.#nActive = this.m;
    this.z = Float64Array.from(z);
    this.x = new Float64Array(this.n);
    this.r = new Float64Array(this.m);
    this.#hx = new Float64Array(this.m);
    for (let i = 0; i < this.m; i++) this.sigma2[i] = sigma[i]! * sigma[i]!;
  }

  get omega(): Float64Array {
    return this.#core.omega;
  }
  activeCount(): number {
    return this.#nActive;
  }
  resetActive(): void {
    this.active.fill(1);
    this.#nActive = this.m;
  }
  deactivate(i: number): void {
    if (this.active[i]) {
      this.active[i] = 0;
      this.#nActive--;
    }
  }

  /** Gauss–Newton from the model's flat start; Ω at the solution. */
  solve(): boolean {
    const { m, n, x, r, z, model, active, sigma2 } = this;
    const core = this.#core;
    const hx = this.#hx;
    model.initial(x);
    let converged = false;
    for (this.iterations = 0; this.iterations < this.maxIterations;) {
      model.h(x, hx);
      for (let i = 0; i < m; i++) r[i] = z[i]! - hx[i]!;
      model.jacobian(x, core.H);
      if (!core.factor()) return false;
      this.iterations++;
      let maxDx = 0;
      for (let a = 0; a < n; a++) {
        let s = 0;
        for (let i = 0; i < m; i++) if (active[i]) s += core.K[a * m + i]! * r[i]!;
        x[a] = x[a]! + s;
        maxDx = Math.max(maxDx, Math.abs(s));
      }
      if (maxDx < this.tolerance) {
        converged = true;
        break;
      }
    }
    if (!converged) return false;
    model.h(x, hx);
    model.jacobian(x, core.H);
    if (!core.factor()) return false;
    let J = 0;
    for (let i = 0; i < m; i++) {
      r[i] = z[i]! - hx[i]!;
      if (active[i]) J += (r[i]! * r[i]!) / sigma2[i]!;
    }
    this.J = J;
    return true;
  }

  residualAbs(i: number): number {
    return Math.abs(this.r[i]!);
  }
}
