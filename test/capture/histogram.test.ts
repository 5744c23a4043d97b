// The latency histogram: exact below 64 µs, within 1/32 relative above, constant memory, mergeable.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HISTOGRAM_BUCKETS, LatencyHistogram } from '../../src/capture/histogram.ts';

describe('latency histogram', () => {
  it('is empty at first', () => {
    const h = new LatencyHistogram();
    assert.deepEqual(h.summary(), { count: 0, p50: null, p99: null, p999: null, max: null });
  });

  it('is exact below 64 µs and reports the exact max', () => {
    const h = new LatencyHistogram();
    for (let v = 0; v < 64; v++) h.record(v);
    assert.equal(h.quantile(0.5), 31);
    assert.equal(h.quantile(1), 63);
    h.record(123_456.7);
    assert.equal(h.max, 123_456);
  });

  it('quantiles stay within 1/32 below the true value, for any sample', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 ** 34 }), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (xs, q) => {
          const h = new LatencyHistogram();
          for (const x of xs) h.record(x);
          const sorted = xs.slice().sort((a, b) => a - b);
          const truth = sorted[Math.max(0, Math.ceil(q * xs.length) - 1)]!;
          const got = h.quantile(q)!;
          return got <= truth && got >= truth * (1 - 1 / 32) - 1;
        },
      ),
    );
  });

  it('merges, copies across a boundary and refuses a foreign bucket count', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 0; i < 100; i++) a.record(10);
    for (let i = 0; i < 100; i++) b.record(5000);
    a.merge(b);
    assert.equal(a.count, 200);
    assert.ok(a.quantile(0.99)! >= 5000 * (1 - 1 / 32));
    const c = LatencyHistogram.from(structuredClone(a.copy()));
    assert.deepEqual(c.summary(), a.summary());
    assert.equal(a.counts.length, HISTOGRAM_BUCKETS);
    assert.throws(() => new LatencyHistogram(new Float64Array(10)), /buckets/);
  });
});
