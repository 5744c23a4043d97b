// The detection engine: the one place that builds the grade 1–3 stage graph, for live operation (the
// real-time thread) and offline analysis alike — rate, MAC, signature (when streams are signed), logic,
// attackMatch, then per cycle faultMatch, trip (50/51/59, judged by faultMatch) and badData — plus grade 4,
// the upstream check, when a master station sends its estimates.
//
// Live, the per-stream state starts afresh after the whole bus fell silent (publishers restarted: every
// counter begins anew — not an attack on its own). What must outlive a restart is kept here: the history
// library, the fingerprints of recent events and the local estimates of the upstream check.
import type { FrameBatch } from '../native/index.ts';
import type { EstimateView, MasterEstimateInput, UpstreamResult } from '../model/estimates.ts';
import type { SignatureVerifier, SignedStream } from '../model/signature.ts';
import type { ExpectedStream } from '../model/streams.ts';
import type { Alarm, FrameVerdict } from '../model/indicators.ts';
import { Pipeline } from './pipeline.ts';
import type { Stage } from './stage.ts';
import { LogicStage, type LogicOptions } from './stages/logic.ts';
import { MacStage } from './stages/mac.ts';
import { RateStage, type RateOptions } from './stages/rate.ts';
import { TripStage } from './stages/trip.ts';
import { PhasorStage } from './cycles.ts';
import { BadDataStage, type BadDataStageOptions, type CycleEstimate } from './stages/bad-data.ts';
import { AttackMatchStage } from './stages/attack-match.ts';
import { FaultMatchStage } from './stages/fault-match.ts';
import { FingerprintStore } from './history/fingerprints.ts';
import { MemoryFaultLibrary } from './history/library.ts';
import { type FaultLibrary } from '../model/library.ts';
import { seedEntries } from './history/seed.ts';
import { checkMasterEstimate, LocalEstimateLog, type LocalEstimateLogOptions } from './upstream.ts';
import { SignatureStage } from './stages/signature.ts';
import { StreamRegistry } from './streams.ts';
import type { IndicatorState } from './indicators.ts';

export interface StageOptions {
  rate?: RateOptions;
  logic?: LogicOptions;
  badData?: BadDataStageOptions;
  /** Signed streams and the verifier of their signatures; no signature stage without any. */
  signed?: readonly SignedStream[];
  verifier?: SignatureVerifier;
  /** The fault/attack library faultMatch judges events against (default: the built-in seed library). */
  library?: FaultLibrary;
  /** Fingerprints of recent events (attackMatch); the engine keeps one across restarts. */
  fingerprints?: FingerprintStore;
  /** Leave a stage out (cost measurements): badData, or the history stages faultMatch + attackMatch. */
  without?: 'badData' | 'history';
}

export interface EngineStages {
  /** In pipeline order. */
  stages: Stage[];
  /** Present when streams are signed: drain() it before Pipeline.finish(). */
  signature?: SignatureStage;
  logic: LogicStage;
  attackMatch?: AttackMatchStage;
  faultMatch?: FaultMatchStage;
}

/** The stage graph, in grade order. */
export function buildStages(registry: StreamRegistry, opts: StageOptions = {}): EngineStages {
  const logic = new LogicStage(registry, opts.logic ?? {});
  const out: EngineStages = { stages: [new RateStage(registry, opts.rate ?? {}), new MacStage()], logic };
  if (opts.signed !== undefined && opts.signed.length > 0) {
    if (opts.verifier === undefined) throw new Error('signed streams need a signature verifier');
    out.signature = new SignatureStage(registry, opts.signed, opts.verifier);
    out.stages.push(out.signature);
  }
  const badData = opts.without === 'badData' ? [] : [new BadDataStage(registry, opts.badData ?? {})];
  if (opts.without === 'history') {
    out.stages.push(logic, new PhasorStage(registry, [new TripStage(registry), ...badData]));
    return out;
  }
  out.attackMatch = new AttackMatchStage(registry, opts.fingerprints !== undefined ? { store: opts.fingerprints } : {});
  out.faultMatch = new FaultMatchStage(registry, {
    attack: out.attackMatch,
    ...(opts.library !== undefined ? { library: opts.library } : {}),
  });
  out.stages.push(
    logic,
    out.attackMatch,
    new PhasorStage(registry, [out.faultMatch, new TripStage(registry, { judge: out.faultMatch }), ...badData]),
  );
  return out;
}

const RESTART_SILENCE_NS = 300_000_000n;

export interface DetectionReport {
  nu: 0 | 1;
  indicators: Record<string, IndicatorState>;
  /** Alarms raised since the previous report. */
  alarms: Array<{ id: number; indicator: string; grade: number; stream: string; reason: string; frame: number }>;
  restarts: number;
}

export interface DetectionEngineOptions {
  onAlarm?: (a: Alarm) => void;
  onAlarmEnd?: (a: Alarm) => void;
  /** Every verdict (offline analysis and tests; the live path leaves it out). */
  onVerdict?: (v: FrameVerdict) => void;
  /** Signature verification (grade 1) of the streams in `signed`. */
  verifier?: SignatureVerifier;
  signed?: readonly SignedStream[];
  /** The fault/attack library (the appliance passes its SQLite-backed one); default: the seed library in memory. */
  library?: FaultLibrary;
  /** Local estimate windows for the upstream check. */
  estimates?: LocalEstimateLogOptions;
  /** Tolerance of the upstream check in standard deviations (default 4). */
  upstreamK?: number;
  /** Protocol-logic options (e.g. arrival-timing tolerances for publishers with software jitter). */
  logic?: LogicOptions;
  /** Frame-rate options (e.g. the burst slack allowed to a software publisher). */
  rate?: RateOptions;
  badData?: BadDataStageOptions;
  /** Start the per-stream state afresh after the bus was silent this long or time ran back (live: on). */
  restartOnSilence?: boolean;
}

export class DetectionEngine {
  readonly pipeline: Pipeline;
  readonly library: FaultLibrary;
  readonly estimates: LocalEstimateLog;
  readonly #fingerprints = new FingerprintStore();
  readonly #registry: StreamRegistry;
  readonly #opts: DetectionEngineOptions;
  #lastTs = -1n;
  #restarts = 0;
  #recent: DetectionReport['alarms'] = [];
  #estimateListeners: Array<(e: CycleEstimate) => void> = [];
  #built: EngineStages | undefined;
  #drops = 0;

  /** `onAlarm` may be given alone or in the options. */
  constructor(streams: ExpectedStream[], onAlarmOrOpts?: ((a: Alarm) => void) | DetectionEngineOptions, more: DetectionEngineOptions = {}) {
    const opts =
      typeof onAlarmOrOpts === 'object'
        ? { ...more, ...onAlarmOrOpts }
        : { ...more, ...(onAlarmOrOpts !== undefined ? { onAlarm: onAlarmOrOpts } : {}) };
    this.#opts = opts;
    this.#registry = new StreamRegistry(streams);
    this.library = opts.library ?? new MemoryFaultLibrary(seedEntries());
    this.estimates = new LocalEstimateLog(opts.estimates);
    this.pipeline = new Pipeline({
      registry: this.#registry,
      stages: this.#stages(),
      ...(opts.onVerdict !== undefined ? { onVerdict: opts.onVerdict } : {}),
      alarms: {
        onAlarm: (a) => {
          if (this.#recent.length < 1000)
            this.#recent.push({
              id: a.id,
              indicator: a.indicator,
              grade: a.grade,
              stream: a.stream,
              reason: a.reason,
              frame: a.firstFrame,
            });
          this.#opts.onAlarm?.(a);
        },
        ...(opts.onAlarmEnd !== undefined ? { onAlarmEnd: opts.onAlarmEnd } : {}),
      },
    });
  }

  get registry(): StreamRegistry {
    return this.#registry;
  }

  /** The stages now running (they are rebuilt at a restart). */
  get stages(): EngineStages {
    return this.#built!;
  }

  /** Every cycle's local WLS estimate per bus (besides the built-in log `estimates`); the object is reused. */
  onEstimate(listener: (e: CycleEstimate) => void): void {
    this.#estimateListeners.push(listener);
  }

  /** The live capture's cumulative drops: gaps while they grow are capture loss, not deletion. */
  setCaptureDrops(total: number): void {
    this.#drops = total;
    this.#built?.logic.setCaptureDrops(total);
  }

  #stages(): Stage[] {
    const o = this.#opts;
    const userEstimate = o.badData?.onEstimate;
    this.#built = buildStages(this.#registry, {
      ...(o.rate !== undefined ? { rate: o.rate } : {}),
      ...(o.logic !== undefined ? { logic: o.logic } : {}),
      badData: {
        ...o.badData,
        onEstimate: (e) => {
          this.estimates.onEstimate(e);
          userEstimate?.(e);
          for (const l of this.#estimateListeners) l(e);
        },
      },
      ...(o.signed !== undefined && o.signed.length > 0 && o.verifier !== undefined ? { signed: o.signed, verifier: o.verifier } : {}),
      library: this.library,
      fingerprints: this.#fingerprints,
    });
    this.#built.logic.setCaptureDrops(this.#drops);
    return this.#built.stages;
  }

  /** The configured stream a frame claims to belong to (its name, or `0x<APPID>` when unknown). */
  readonly streamOf = (b: FrameBatch, i: number): string => {
    const s = this.#registry.lookup(b.cols, i);
    return s !== undefined ? s.cfg.name : `0x${(b.cols.appId[i] ?? 0).toString(16).padStart(4, '0')}`;
  };

  /** Verified share of the signed frames since the stages (re)started, or null for an unsigned stream. */
  signatureCoverage(stream: string): number | null {
    const sig = this.#built?.signature;
    if (sig === undefined || !(this.#opts.signed ?? []).some((x) => x.stream === stream)) return null;
    return sig.coverage;
  }

  onBatch(b: FrameBatch): void {
    if (b.count === 0) return;
    const first = b.tsNs(0);
    // Capture time that jumps back (a replayed file starting over) is a restart too.
    if (
      this.#opts.restartOnSilence !== false &&
      this.#lastTs >= 0n &&
      (first - this.#lastTs > RESTART_SILENCE_NS || first < this.#lastTs)
    ) {
      this.pipeline.replaceStages(this.#stages());
      this.#restarts++;
    }
    this.#lastTs = b.tsNs(b.count - 1);
    this.pipeline.processBatch(b);
  }

  /** End of an offline capture: pending signatures verified, then every stage's end-of-input verdicts. */
  async finish(): Promise<void> {
    await this.#built?.signature?.drain();
    this.pipeline.finish();
  }

  /** Closed local estimate windows (oldest first). */
  localEstimates(sinceNs?: bigint): EstimateView[] {
    return this.estimates.list(sinceNs);
  }

  /**
   * A master station's estimate: compared with the local record; forgery and tamper raise their indicator
   * through the alarm manager (alarmId: the alarm of that episode). Throws UpstreamInputError on bad input.
   */
  submitMasterEstimate(input: MasterEstimateInput): UpstreamResult {
    const r = checkMasterEstimate(this.estimates, input, this.#opts.upstreamK !== undefined ? { k: this.#opts.upstreamK } : {});
    if (r.verdict === undefined) return r.result;
    this.pipeline.alarms.onVerdict(r.verdict);
    const id = this.pipeline.board.snapshot()[r.verdict.indicator as 'upstreamForgery' | 'upstreamTamper'].lastAlarmId;
    return { ...r.result, alarmId: id ?? null };
  }

  report(): DetectionReport {
    const r: DetectionReport = {
      nu: this.pipeline.nu,
      indicators: this.pipeline.board.snapshot(),
      alarms: this.#recent,
      restarts: this.#restarts,
    };
    this.#recent = [];
    return r;
  }
}
