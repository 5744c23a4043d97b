import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chi2Cdf, chi2Quantile } from '../../../src/detect/estimation/chi2.ts';

// scipy.stats.chi2.ppf values from ../shared/reference/state-estimation.md
const TABLE: [number, number, number][] = [
  [0.95, 1, 3.841458820694124],
  [0.99, 1, 6.6348966010212145],
  [0.95, 2, 5.991464547107979],
  [0.95, 3, 7.814727903251179],
  [0.99, 3, 11.344866730144373],
];

test('chi-square quantiles match the scipy table to 1e-9', () => {
  for (const [p, k, want] of TABLE)
    assert.ok(Math.abs(chi2Quantile(p, k) - want) < 1e-9, `χ²_${p}(${k}) = ${chi2Quantile(p, k)} ≠ ${want}`);
});

test('closed forms: dof 2 and dof 4 CDF, dof 2 quantile', () => {
  for (const x of [0.1, 1, 3, 7.5, 20, 60]) assert.ok(Math.abs(chi2Cdf(x, 2) - (1 - Math.exp(-x / 2))) < 1e-14);
  // dof 2 quantile in closed form: −2 ln(1 − p)
  for (const p of [0.5, 0.9, 0.95, 0.99, 0.999]) assert.ok(Math.abs(chi2Quantile(p, 2) + 2 * Math.log(1 - p)) < 1e-10);
  // dof 4: CDF = 1 − e^{−x/2}(1 + x/2)
  for (const x of [0.5, 4, 13]) assert.ok(Math.abs(chi2Cdf(x, 4) - (1 - Math.exp(-x / 2) * (1 + x / 2))) < 1e-14);
});

test('quantile inverts the CDF for many dof (incl. large)', () => {
  for (const k of [1, 2, 5, 10, 19, 40, 97, 200])
    for (const p of [0.9, 0.95, 0.99]) {
      const x = chi2Quantile(p, k);
      assert.ok(Math.abs(chi2Cdf(x, k) - p) < 1e-12, `k=${k} p=${p}`);
    }
});
