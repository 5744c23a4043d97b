// Bad-data analysis on a weighted-least-squares estimate (the estimators are in wls.ts).
//
//   r = z − h(x̂),  J = rᵀWr,  Ω = R − H(HᵀWH)⁻¹Hᵀ,  r_N,i = |rᵢ| / √Ω_ii
//
// Chi-square test J > χ²_{1−α}(k·(m_active − n)) (k = 1 for real, 2 for complex measurements), then
// largest-normalized-residual (LNR) identification: the measurement with the largest r_N is removed if
// r_N > threshold, the state re-estimated, and the test repeated. The outcome is "not-identifiable"
// (detected but not identifiable) when
//   - the largest r_N is tied with another one (m − n = 1 makes all r_N equal; measurements whose residuals
//     are fully correlated form a group that no residual test can split),
//   - every remaining measurement is critical (Ω_ii ≈ 0: its error is invisible in the residuals),
//   - the largest r_N is below the threshold although J fails,
//   - removal would exhaust the redundancy or the removal budget.
import { chi2Quantile } from './chi2.ts';

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

export interface BadDataStep {
  J: number;
  dof: number;
  chi2: number;
  removed: number;
  rN: number;
}

/** Reusable report (reset by every analysis; no allocation on clean runs). */
export class BadDataReport {
  outcome: BadDataOutcome = 'pass';
  /** J > χ² on the first estimate. */
  detected = false;
  /** J, dof and threshold of the first estimate (all measurements). */
  J0 = 0;
  dof0 = 0;
  chi20 = 0;
  /** J, dof and threshold of the last estimate. */
  J = 0;
  dof = 0;
  chi2 = 0;
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
    this.outcome = 'pass';
    this.detected = false;
    this.J0 = this.dof0 = this.chi20 = this.J = this.dof = this.chi2 = this.maxRN = 0;
    this.removed.length = 0;
    this.removedRN.length = 0;
    this.suspects.length = 0;
    this.steps.length = 0;
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
  const alpha = opts.alpha ?? 0.05;
  const thr = opts.threshold ?? 3.0;
  const maxRemovals = opts.maxRemovals ?? Infinity;
  const tie = opts.tieTolerance ?? 1e-6;
  const crit = opts.criticalTolerance ?? 1e-9;
  report.reset();
  p.resetActive();
  for (let step = 0; ; step++) {
    if (!p.solve()) {
      report.outcome = 'unobservable';
      return report;
    }
    const dof = p.components * (p.activeCount() - p.n);
    report.J = p.J;
    report.dof = dof;
    if (dof <= 0) {
      report.chi2 = NaN;
      report.outcome = step === 0 ? 'no-redundancy' : 'not-identifiable';
      if (step === 0) {
        report.J0 = p.J;
        report.dof0 = dof;
        report.chi20 = NaN;
      }
      return report;
    }
    const c = chi2Quantile(1 - alpha, dof);
    report.chi2 = c;
    if (step === 0) {
      report.J0 = p.J;
      report.dof0 = dof;
      report.chi20 = c;
    }
    if (p.J <= c) {
      report.outcome = step === 0 ? 'pass' : 'identified';
      report.maxRN = 0;
      return report;
    }
    report.detected = true;
    // largest normalized residual over active, non-critical measurements
    let best = -1;
    let bestRN = -Infinity;
    for (let i = 0; i < p.m; i++) {
      const rn = normalizedResidual(p, i, crit);
      if (rn > bestRN) {
        bestRN = rn;
        best = i;
      }
    }
    report.maxRN = best >= 0 ? bestRN : 0;
    report.steps.push({ J: p.J, dof, chi2: c, removed: -1, rN: report.maxRN });
    if (best < 0) {
      report.outcome = 'not-identifiable';
      return report;
    } // only critical measurements left
    for (let i = 0; i < p.m; i++) {
      if (i === best) continue;
      const rn = normalizedResidual(p, i, crit);
      if (rn >= bestRN - tie * bestRN) report.suspects.push(i);
    }
    if (
      report.suspects.length ||
      bestRN <= thr ||
      report.removed.length >= maxRemovals ||
      p.components * (p.activeCount() - 1 - p.n) <= 0
    ) {
      report.suspects.unshift(best);
      report.outcome = 'not-identifiable';
      return report;
    }
    report.steps[report.steps.length - 1]!.removed = best;
    report.removed.push(best);
    report.removedRN.push(bestRN);
    p.deactivate(best);
  }
}
