// The detection pipeline: every decoded frame of a batch runs through the stages in order (grade 1 first);
// a stage may withhold a frame from the stages after it (MAC alarm → discard). Verdicts go to the alarm
// manager (episodes, indicators, νn) and to an optional verdict listener (evidence, evaluation).
import { STATUS_NOT_SV, STATUS_TRUNCATED_ETHERNET, type FrameBatch } from '../native/index.ts';
import { AlarmManager, type AlarmListener } from './alarms.ts';
import { IndicatorBoard } from './indicators.ts';
import type { Flag, FlagOptions, FrameContext, Stage } from './stage.ts';
import { macKey, type StreamRegistry } from './streams.ts';
import type { AlarmCategory, FrameVerdict } from '../model/indicators.ts';

export interface PipelineOptions {
  registry: StreamRegistry;
  stages: Stage[];
  onVerdict?: (v: FrameVerdict) => void;
  alarms?: AlarmListener;
  /** Quiet time that ends an alarm episode (default 1000 ms). */
  holdMs?: number;
}

export interface PipelineStats {
  frames: number;
  asdus: number;
  malformed: number;
  notSv: number;
  discarded: number;
  verdicts: number;
}

export class Pipeline {
  readonly board = new IndicatorBoard();
  readonly stats: PipelineStats = { frames: 0, asdus: 0, malformed: 0, notSv: 0, discarded: 0, verdicts: 0 };
  readonly alarms: AlarmManager;
  #registry: StreamRegistry;
  #stages: Stage[];
  #onVerdict: ((v: FrameVerdict) => void) | undefined;
  #ctx: FrameContext | undefined;
  #discard = false;
  #flag: Flag;

  constructor(opts: PipelineOptions) {
    this.#registry = opts.registry;
    this.#stages = opts.stages;
    this.#onVerdict = opts.onVerdict;
    this.alarms = new AlarmManager(this.board, opts.alarms, opts.holdMs);
    this.#flag = (indicator: AlarmCategory, reason: string, o?: FlagOptions): void => {
      const at = o?.at;
      let v: FrameVerdict;
      if (at !== undefined) {
        v = { frame: at.frame, tsNs: at.tsNs, indicator, reason, stream: at.stream, discard: false };
      } else {
        const ctx = this.#ctx!;
        const s = ctx.stream;
        v = {
          frame: ctx.frameNo,
          tsNs: ctx.tsNs,
          indicator,
          reason,
          stream: s !== undefined ? s.cfg.name : `0x${ctx.cols.appId[ctx.i]!.toString(16).padStart(4, '0')}`,
          discard: o?.discard === true,
        };
      }
      if (o?.detail !== undefined) v.detail = o.detail;
      if (v.discard) this.#discard = true;
      this.stats.verdicts++;
      this.alarms.onVerdict(v);
      this.#onVerdict?.(v);
    };
  }

  /**
   * Starts the stages afresh (new per-stream state), keeping the indicators and open alarm episodes —
   * e.g. after the publishers restarted and every counter began anew. Pending decisions are settled first.
   */
  replaceStages(stages: Stage[]): void {
    for (const stage of this.#stages) stage.finish?.(this.#flag);
    this.#stages = stages;
  }

  get nu(): 0 | 1 {
    return this.board.nu;
  }

  processBatch(batch: FrameBatch): void {
    const c = batch.cols;
    const ctx: FrameContext = this.#ctx ?? {
      batch,
      cols: c,
      i: 0,
      frameNo: 0,
      tsNs: 0n,
      t: 0,
      srcKey: 0,
      stream: undefined,
      svIdMatched: false,
    };
    this.#ctx = ctx;
    ctx.batch = batch;
    ctx.cols = c;
    for (let i = 0; i < batch.count; i++) {
      const st = c.status[i]!;
      if (st === STATUS_NOT_SV || st === STATUS_TRUNCATED_ETHERNET) {
        this.stats.notSv++;
        continue;
      }
      ctx.i = i;
      ctx.frameNo = c.frameNo[i]!;
      ctx.tsNs = c.tsNs[i]!;
      ctx.t = Number(ctx.tsNs);
      ctx.srcKey = macKey(c.raw, c.rawOff[i]! + 6);
      this.stats.frames++;
      if (st !== 0) {
        // A malformed SV frame on the process bus is a finding in itself (fuzzing, a broken or hostile
        // publisher); it is reported, counted and kept out of the value-based stages.
        ctx.stream = undefined;
        this.stats.malformed++;
        this.#flag('logic', 'malformed', { discard: true, detail: { status: batch.statusName(i) } });
        this.#discard = false;
        continue;
      }
      ctx.stream = this.#registry.lookup(c, i);
      ctx.svIdMatched = this.#registry.svIdMatched;
      this.stats.asdus += c.asduCount[i]!;
      this.#discard = false;
      const stages = this.#stages;
      for (let k = 0; k < stages.length; k++) {
        if (!stages[k]!.onFrame(ctx, this.#flag) || this.#discard) {
          this.stats.discarded++;
          for (let l = k + 1; l < stages.length; l++) stages[l]!.onWithheld?.(ctx, stages[k]!.name);
          break;
        }
      }
    }
    if (batch.count > 0) this.alarms.expire(c.tsNs[batch.count - 1]!);
  }

  /** End of input: close every alarm episode. */
  finish(): void {
    for (const stage of this.#stages) stage.finish?.(this.#flag);
    this.alarms.flush();
  }
}
