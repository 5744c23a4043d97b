// Upstream check (grade 4, SPEC §2 "Upstream check"): the appliance keeps its own state estimates per bus and
// window and publishes them; the master station sends back the estimates it computed from the data it
// received. No matching local record → upstreamForgery (γSVfk); a value that differs from the local one by
// more than the tolerance → upstreamTamper (γSVtp); else a match (a normal event).
//
// Windows: the badData stage's per-cycle WLS estimates (CycleEstimate) are averaged per bus over fixed
// windows of `windowMs` (default 1000 ms) aligned to capture time; a window is closed (and listed) when the
// first estimate of the next window arrives, or on flush(). At most `maxWindows` windows are kept (oldest
// dropped first).
// Ids: the first 16 hex digits of HMAC-SHA256(secret, "<bus>|<windowStartNs>") — stable for a window (the
// master may refer to it) but not guessable without the appliance's secret (random per process unless
// configured), so a forger cannot name a window the appliance did not publish.
// Tolerance: per value, |x_master − x_local| (complex) ≤ k·σ, σ the state's standard deviation from the
// diagonal of the estimate's covariance (HᵀWH)⁻¹ (per cycle; not reduced by averaging over the window,
// because the master's estimate of the same window comes from the same samples by its own method, so the
// two differ by method, not by independent noise), k = 4 by default.
import { SvdeError } from '../model/errors.ts';
import { createHmac, randomBytes } from 'node:crypto';
import type { EstimateView, MasterEstimateInput, UpstreamResult } from '../model/estimates.ts';
import type { CycleEstimate } from './stages/bad-data.ts';
import type { FrameVerdict } from '../model/indicators.ts';

export interface LocalEstimateLogOptions {
  windowMs?: number;
  maxWindows?: number;
  /** Secret for the window ids (default: 32 random bytes per process). */
  secret?: string | Uint8Array;
}

interface OpenWindow {
  bus: string;
  start: bigint;
  names: readonly string[];
  sumRe: Float64Array;
  sumIm: Float64Array;
  sigma: Float64Array;
  n: number;
  lastTs: bigint;
}

export class LocalEstimateLog {
  readonly windowNs: bigint;
  readonly maxWindows: number;
  readonly #secret: string | Uint8Array;
  readonly #open = new Map<string, OpenWindow>();
  readonly #closed = new Map<string, EstimateView>();
  readonly #byWindow = new Map<string, string>();

  constructor(opts: LocalEstimateLogOptions = {}) {
    const ms = opts.windowMs ?? 1000;
    if (!(ms >= 1) || !Number.isFinite(ms)) throw new RangeError(`windowMs must be ≥ 1, got ${ms}`);
    this.windowNs = BigInt(Math.round(ms * 1e6));
    this.maxWindows = opts.maxWindows ?? 3600;
    this.#secret = opts.secret ?? randomBytes(32);
  }

  /** The id of the window of `bus` starting at `startNs`. */
  idOf(bus: string, startNs: bigint): string {
    return createHmac('sha256', this.#secret).update(`${bus}|${startNs}`).digest('hex').slice(0, 16);
  }

  /** One cycle's estimate (the badData stage's onEstimate). Allocates only when a window opens. */
  onEstimate(e: CycleEstimate): void {
    const start = e.tsNs - (e.tsNs % this.windowNs);
    let w = this.#open.get(e.bus);
    if (w !== undefined && w.start !== start) {
      this.#close(w);
      w = undefined;
    }
    if (w === undefined) {
      w = {
        bus: e.bus,
        start,
        names: e.names,
        sumRe: new Float64Array(e.re.length),
        sumIm: new Float64Array(e.re.length),
        sigma: Float64Array.from(e.sigma),
        n: 0,
        lastTs: e.tsNs,
      };
      this.#open.set(e.bus, w);
    }
    for (let k = 0; k < e.re.length; k++) {
      w.sumRe[k] = w.sumRe[k]! + e.re[k]!;
      w.sumIm[k] = w.sumIm[k]! + e.im[k]!;
    }
    w.n++;
    w.lastTs = e.tsNs;
  }

  /** Alias of onEstimate. */
  add(e: CycleEstimate): void {
    this.onEstimate(e);
  }

  /**
   * checkMasterEstimate against this log, flattened: the UpstreamResult fields (alarmId left to the caller)
   * and the verdict for the alarm manager when the outcome is forgery or tamper.
   */
  check(input: MasterEstimateInput, opts: UpstreamCheckOptions = {}): Omit<UpstreamResult, 'alarmId'> & { verdict?: FrameVerdict } {
    const r = checkMasterEstimate(this, input, opts);
    return {
      outcome: r.result.outcome,
      reason: r.result.reason,
      localId: r.result.localId,
      ...(r.verdict !== undefined ? { verdict: r.verdict } : {}),
    };
  }

  /** Close every open window (end of a capture, shutdown). */
  flush(): void {
    for (const w of this.#open.values()) this.#close(w);
    this.#open.clear();
  }

  #close(w: OpenWindow): void {
    if (w.n === 0) return;
    const id = this.idOf(w.bus, w.start);
    const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;
    const view: EstimateView = {
      id,
      bus: w.bus,
      windowStartNs: String(w.start),
      windowEndNs: String(w.start + this.windowNs),
      values: w.names.map((name, k) => ({ name, re: r6(w.sumRe[k]! / w.n), im: r6(w.sumIm[k]! / w.n), sigma: r6(w.sigma[k]!) })),
    };
    this.#closed.set(id, view);
    this.#byWindow.set(`${w.bus}|${w.start}`, id);
    while (this.#closed.size > this.maxWindows) {
      const [oldId, old] = this.#closed.entries().next().value as [string, EstimateView];
      this.#closed.delete(oldId);
      this.#byWindow.delete(`${old.bus}|${old.windowStartNs}`);
    }
  }

  /** Closed windows, oldest first, optionally only those starting at or after `sinceNs`. */
  list(sinceNs?: bigint): EstimateView[] {
    const out: EstimateView[] = [];
    for (const v of this.#closed.values()) if (sinceNs === undefined || BigInt(v.windowStartNs) >= sinceNs) out.push(v);
    return out;
  }

  get(id: string): EstimateView | undefined {
    return this.#closed.get(id);
  }

  find(bus: string, windowStartNs: string): EstimateView | undefined {
    const id = this.#byWindow.get(`${bus}|${windowStartNs}`);
    return id === undefined ? undefined : this.#closed.get(id);
  }

  get size(): number {
    return this.#closed.size;
  }
}

export class UpstreamInputError extends SvdeError {
  readonly code = 'UPSTREAM_INPUT';
}

export interface UpstreamCheckOptions {
  /** Tolerance in standard deviations (default 4). */
  k?: number;
}

export interface UpstreamCheck {
  /** alarmId is null: the caller fills it after handing `verdict` to the alarm manager. */
  result: UpstreamResult;
  /** For forgery and tamper: the verdict for the AlarmManager (stream = the bus). */
  verdict?: FrameVerdict;
}

const DEC = /^(0|[1-9][0-9]{0,19})$/;

/** Validates the shape of a master-station estimate; throws UpstreamInputError with the bad field. */
export function validateMasterEstimate(input: unknown): MasterEstimateInput {
  const o = input as Partial<MasterEstimateInput> | null;
  if (o === null || typeof o !== 'object') throw new UpstreamInputError('estimate must be an object');
  if (o.id !== undefined && (typeof o.id !== 'string' || o.id.length > 64))
    throw new UpstreamInputError('id must be a string of at most 64 characters');
  if (typeof o.bus !== 'string' || o.bus.length === 0 || o.bus.length > 256) throw new UpstreamInputError('bus must be a non-empty string');
  for (const f of ['windowStartNs', 'windowEndNs'] as const)
    if (typeof o[f] !== 'string' || !DEC.test(o[f])) throw new UpstreamInputError(`${f} must be a decimal string of nanoseconds`);
  if (!Array.isArray(o.values) || o.values.length === 0 || o.values.length > 1024)
    throw new UpstreamInputError('values must be a non-empty array (at most 1024)');
  o.values.forEach((v, i) => {
    if (v === null || typeof v !== 'object' || typeof v.name !== 'string')
      throw new UpstreamInputError(`values[${i}].name must be a string`);
    if (typeof v.re !== 'number' || !Number.isFinite(v.re)) throw new UpstreamInputError(`values[${i}].re must be a finite number`);
    if (typeof v.im !== 'number' || !Number.isFinite(v.im)) throw new UpstreamInputError(`values[${i}].im must be a finite number`);
  });
  return o as MasterEstimateInput;
}

/**
 * Compare a master-station estimate with the local record. Reason codes:
 *   upstreamForgery: no-local-record (unknown id, or no window of that bus starting then),
 *                    window-mismatch (the id names another bus or window), unknown-quantity (a value the
 *                    local estimate does not have);
 *   upstreamTamper:  value-differs (|Δ| > k·σ for at least one value; detail names the worst);
 *   match:           within-tolerance.
 */
export function checkMasterEstimate(log: LocalEstimateLog, input: MasterEstimateInput, opts: UpstreamCheckOptions = {}): UpstreamCheck {
  const m = validateMasterEstimate(input);
  const k = opts.k ?? 4;
  const forgery = (reason: string, local: EstimateView | undefined, detail: Record<string, string | number> = {}): UpstreamCheck => ({
    result: { outcome: 'forgery', reason, localId: local?.id ?? null, alarmId: null },
    verdict: {
      frame: 0,
      tsNs: BigInt(m.windowStartNs),
      indicator: 'upstreamForgery',
      reason,
      stream: m.bus,
      discard: false,
      detail: { windowStartNs: m.windowStartNs, ...(m.id !== undefined ? { id: m.id } : {}), ...detail },
    },
  });
  const local = m.id !== undefined ? log.get(m.id) : log.find(m.bus, m.windowStartNs);
  if (local === undefined) return forgery('no-local-record', undefined);
  if (local.bus !== m.bus || local.windowStartNs !== m.windowStartNs || local.windowEndNs !== m.windowEndNs)
    return forgery('window-mismatch', local);
  let worst: { name: string; diff: number; tol: number; ratio: number } | undefined;
  for (const v of m.values) {
    const l = local.values.find((x) => x.name === v.name);
    if (l === undefined) return forgery('unknown-quantity', local, { name: v.name });
    const diff = Math.hypot(v.re - l.re, v.im - l.im);
    const tol = k * l.sigma;
    const ratio = tol > 0 ? diff / tol : diff > 0 ? Infinity : 0;
    if (worst === undefined || ratio > worst.ratio) worst = { name: v.name, diff, tol, ratio };
  }
  if (worst !== undefined && worst.ratio > 1) {
    return {
      result: { outcome: 'tamper', reason: 'value-differs', localId: local.id, alarmId: null },
      verdict: {
        frame: 0,
        tsNs: BigInt(m.windowStartNs),
        indicator: 'upstreamTamper',
        reason: 'value-differs',
        stream: m.bus,
        discard: false,
        detail: {
          id: local.id,
          name: worst.name,
          difference: Math.round(worst.diff * 1000) / 1000,
          tolerance: Math.round(worst.tol * 1000) / 1000,
        },
      },
    };
  }
  return { result: { outcome: 'match', reason: 'within-tolerance', localId: local.id, alarmId: null } };
}
