// Similarity of an event's features (./features.ts) to a library entry (./library.ts).
//
//   d(x, e) = √( Σ_k w_k·((x_k − e_k)/s_k)² / Σ_k w_k )   over the numeric features k present in both
//
// with a per-feature scale s_k (the spread that still counts as "the same kind of event") and weight w_k.
// String features are categorical: every one present in both must be equal (an entry may say '*'), else
// there is no match (d = Infinity); entries and events sharing no numeric feature never match.
// An event matches an entry when d ≤ MATCH_THRESHOLD (1.0: on average within one scale per feature).
import type { Features } from './features.ts';
import type { LibraryEntry } from '../../model/library.ts';

export const FEATURE_SCALES: Readonly<Record<string, { scale: number; weight: number }>> = Object.freeze({
  iMult: { scale: 1.2, weight: 0.5 },
  vSag: { scale: 0.25, weight: 1 },
  vHealthy: { scale: 0.2, weight: 1 },
  vMax: { scale: 0.12, weight: 1 },
  faultAngleDeg: { scale: 15, weight: 2 },
  zeroSeq: { scale: 0.25, weight: 1 },
  dc: { scale: 0.35, weight: 0.5 },
});

export const MATCH_THRESHOLD = 1.0;

export function distance(x: Features, e: Features): number {
  let num = 0;
  let den = 0;
  for (const k in e) {
    const ev = e[k]!;
    const xv = x[k];
    if (xv === undefined) continue;
    if (typeof ev === 'string') {
      if (ev !== '*' && ev !== xv) return Infinity;
      continue;
    }
    const sc = FEATURE_SCALES[k];
    if (sc === undefined || typeof xv !== 'number') continue;
    const z = (xv - ev) / sc.scale;
    num += sc.weight * z * z;
    den += sc.weight;
  }
  return den > 0 ? Math.sqrt(num / den) : Infinity;
}

export interface Match {
  entry: LibraryEntry;
  distance: number;
}

/** The nearest entry (Infinity distance when none is comparable), or undefined for an empty list. */
export function nearest(x: Features, entries: readonly LibraryEntry[]): Match | undefined {
  let best: Match | undefined;
  for (const e of entries) {
    const d = distance(x, e.features);
    if (best === undefined || d < best.distance) best = { entry: e, distance: d };
  }
  return best;
}

export function matches(m: Match | undefined, threshold = MATCH_THRESHOLD): m is Match {
  return m !== undefined && m.distance <= threshold;
}
