// Detection on live batches for `svde run`: the pipeline with every stage (rate, MAC, logic, attackMatch,
// and on the phasor cycles faultMatch, trip, badData), alarms collected for the operator's report, and a
// fresh start of the per-stream state after the whole bus fell silent (publishers restarted: every counter
// begins anew — not an attack on its own). What must outlive a restart is kept here: the history library,
// the fingerprints of recent events and the local estimates of the upstream check.
import type { FrameBatch } from '../native/index.ts';
import type { EstimateView, MasterEstimateInput, UpstreamResult } from '../model/estimates.ts';
import { Pipeline } from '../detect/pipeline.ts';
import type { Stage } from '../detect/stage.ts';
import { LogicStage, type LogicOptions } from '../detect/stages/logic.ts';
import { MacStage } from '../detect/stages/mac.ts';
import { RateStage, type RateOptions } from '../detect/stages/rate.ts';
import { TripStage } from '../detect/stages/trip.ts';
import { PhasorStage } from '../detect/cycles.ts';
import { BadDataStage, type CycleEstimate } from '../detect/stages/bad-data.ts';
import { AttackMatchStage } from '../detect/stages/attack-match.ts';
import { FaultMatchStage } from '../detect/stages/fault-match.ts';
import { FingerprintStore } from '../detect/history/fingerprints.ts';
import { MemoryFaultLibrary, type FaultLibrary } from '../detect/history/library.ts';
import { seedEntries } from '../detect/history/seed.ts';
import { checkMasterEstimate, LocalEstimateLog, type LocalEstimateLogOptions } from '../detect/upstream.ts';
import { SignatureStage } from '../detect/stages/signature.ts';
import { type SignatureVerifier, type SignedStream } from '../model/signature.ts';
import { StreamRegistry } from '../detect/streams.ts';
import { type ExpectedStream } from '../model/streams.ts';
import type { Alarm } from '../model/indicators.ts';
import type { IndicatorState } from '../detect/indicators.ts';

const RESTART_SILENCE_NS = 300_000_000n;

export interface DetectionReport {
  nu: 0 | 1;
  indicators: Record<string, IndicatorState>;
  /** Alarms raised since the previous report. */
  alarms: Array<{ id: number; indicator: string; grade: number; stream: string; reason: string; frame: number }>;
  restarts: number;
}

export interface LiveDetectionOptions {
  onAlarm?: (a: Alarm) => void;
  onAlarmEnd?: (a: Alarm) => void;
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
}

export class LiveDetection {
  readonly pipeline: Pipeline;
  readonly library: FaultLibrary;
  readonly estimates: LocalEstimateLog;
  readonly #fingerprints = new FingerprintStore();
  #registry: StreamRegistry;
  #lastTs = -1n;
  #restarts = 0;
  #recent: DetectionReport['alarms'] = [];
  #onAlarm: ((a: Alarm) => void) | undefined;
  #upstreamK: number | undefined;
  #estimateListeners: Array<(e: CycleEstimate) => void> = [];
  #logic: LogicStage | undefined;
  #drops = 0;
  #signature: SignatureStage | undefined;
  #verifier: SignatureVerifier | undefined;
  #signed: readonly SignedStream[];
  readonly #logicOptions: LogicOptions;
  readonly #rateOptions: RateOptions;

  /** `onAlarm` may be given alone (as before) or in the options. */
  constructor(streams: ExpectedStream[], onAlarmOrOpts?: ((a: Alarm) => void) | LiveDetectionOptions, more: LiveDetectionOptions = {}) {
    const opts = typeof onAlarmOrOpts === 'object' ? { ...more, ...onAlarmOrOpts } : more;
    this.#registry = new StreamRegistry(streams);
    this.#onAlarm = typeof onAlarmOrOpts === 'function' ? onAlarmOrOpts : opts.onAlarm;
    this.library = opts.library ?? new MemoryFaultLibrary(seedEntries());
    this.estimates = new LocalEstimateLog(opts.estimates);
    this.#upstreamK = opts.upstreamK;
    this.#verifier = opts.verifier;
    this.#signed = opts.signed ?? [];
    this.#logicOptions = opts.logic ?? {};
    this.#rateOptions = opts.rate ?? {};
    this.pipeline = new Pipeline({
      registry: this.#registry,
      stages: this.#stages(),
      alarms: {
        onAlarm: (a) => {
          if (this.#recent.length < 1000) this.#recent.push({ id: a.id, indicator: a.indicator, grade: a.grade, stream: a.stream, reason: a.reason, frame: a.firstFrame });
          this.#onAlarm?.(a);
        },
        ...(opts.onAlarmEnd !== undefined ? { onAlarmEnd: opts.onAlarmEnd } : {}),
      },
    });
  }

  /** Every cycle's local WLS estimate per bus (besides the built-in log `estimates`); the object is reused. */
  onEstimate(listener: (e: CycleEstimate) => void): void {
    this.#estimateListeners.push(listener);
  }

  /** The live capture's cumulative drops: gaps while they grow are capture loss, not deletion. */
  setCaptureDrops(total: number): void {
    this.#drops = total;
    this.#logic?.setCaptureDrops(total);
  }

  #stages(): Stage[] {
    const r = this.#registry;
    const attack = new AttackMatchStage(r, { store: this.#fingerprints });
    const fault = new FaultMatchStage(r, { attack, library: this.library });
    const badData = new BadDataStage(r, {
      onEstimate: (e) => {
        this.estimates.onEstimate(e);
        for (const l of this.#estimateListeners) l(e);
      },
    });
    const logic = new LogicStage(r, this.#logicOptions);
    logic.setCaptureDrops(this.#drops);
    this.#logic = logic;
    const stages: Stage[] = [new RateStage(r, this.#rateOptions), new MacStage()];
    this.#signature = this.#verifier !== undefined && this.#signed.length > 0 ? new SignatureStage(r, this.#signed, this.#verifier) : undefined;
    if (this.#signature !== undefined) stages.push(this.#signature);
    stages.push(logic, attack, new PhasorStage(r, [fault, new TripStage(r, { judge: fault }), badData]));
    return stages;
  }

  /** The configured stream a frame claims to belong to (its name, or `0x<APPID>` when unknown). */
  readonly streamOf = (b: FrameBatch, i: number): string => {
    const s = this.#registry.lookup(b.cols, i);
    return s !== undefined ? s.cfg.name : `0x${(b.cols.appId[i] ?? 0).toString(16).padStart(4, '0')}`;
  };

  /** Verified share of the signed frames since the stages (re)started, or null for an unsigned stream. */
  signatureCoverage(stream: string): number | null {
    if (this.#signature === undefined || !this.#signed.some((x) => x.stream === stream)) return null;
    return this.#signature.coverage;
  }

  onBatch(b: FrameBatch): void {
    if (b.count === 0) return;
    const first = b.tsNs(0);
    // Capture time that jumps back (a replayed file starting over) is a restart too.
    if (this.#lastTs >= 0n && (first - this.#lastTs > RESTART_SILENCE_NS || first < this.#lastTs)) {
      this.pipeline.replaceStages(this.#stages());
      this.#restarts++;
    }
    this.#lastTs = b.tsNs(b.count - 1);
    this.pipeline.processBatch(b);
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
    const r = checkMasterEstimate(this.estimates, input, this.#upstreamK !== undefined ? { k: this.#upstreamK } : {});
    if (r.verdict === undefined) return r.result;
    this.pipeline.alarms.onVerdict(r.verdict);
    const id = this.pipeline.board.snapshot()[r.verdict.indicator as 'upstreamForgery' | 'upstreamTamper'].lastAlarmId;
    return { ...r.result, alarmId: id ?? null };
  }

  report(): DetectionReport {
    const r: DetectionReport = { nu: this.pipeline.nu, indicators: this.pipeline.board.snapshot(), alarms: this.#recent, restarts: this.#restarts };
    this.#recent = [];
    return r;
  }
}
