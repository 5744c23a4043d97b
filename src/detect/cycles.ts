// One full-cycle DFT per stream for every value-based check: the `phasor` stage pushes each ASDU's values
// into the stream's StreamPhasors and, at every completed cycle, hands the same phasors to its listeners
// (trip, badData, …) — the samples are transformed once, whatever number of checks read them.
import { StreamPhasors } from './phasor.ts';
import type { Flag, FrameContext, Stage } from './stage.ts';
import type { StreamEntry, StreamRegistry } from './streams.ts';

/** A stream completed a cycle; the event object is reused: copy what must outlive the call. */
export interface CycleEvent {
  stream: StreamEntry;
  phasors: StreamPhasors;
  /** floor(smpCnt / samplesPerCycle) of the cycle's last sample. */
  cycle: number;
  /** First frame of the cycle (for evidence and evaluation). */
  firstFrame: number;
}

export interface CycleListener {
  readonly name: string;
  onCycle(ev: CycleEvent, ctx: FrameContext, flag: Flag): void;
  finish?(flag: Flag): void;
}

interface Source {
  phasors: StreamPhasors;
  spc: number;
  firstFrame: number;
}

/** Samples per nominal cycle of a stream, or undefined when the phasor checks cannot run on it. */
export function samplesPerCycle(s: StreamEntry): number | undefined {
  const cfg = s.cfg;
  if (cfg.channels === undefined) return undefined;
  const spc = cfg.samplesPerSecond / (cfg.nominalHz ?? 50);
  return Number.isInteger(spc) && spc >= 4 ? spc : undefined;
}

export class PhasorStage implements Stage {
  readonly name = 'phasor';
  readonly #sources: Array<Source | undefined>;
  readonly #listeners: readonly CycleListener[];
  readonly #ev: CycleEvent;

  constructor(registry: StreamRegistry, listeners: readonly CycleListener[]) {
    this.#listeners = listeners;
    this.#sources = registry.streams.map((s) => {
      const spc = samplesPerCycle(s);
      if (spc === undefined) return undefined;
      const cfg = s.cfg;
      return {
        phasors: new StreamPhasors(cfg.channels!, {
          samplesPerCycle: spc,
          nominalHz: cfg.nominalHz ?? 50,
          wrap: cfg.smpCntWrap ?? cfg.samplesPerSecond,
        }),
        spc,
        firstFrame: 0,
      };
    });
    const first = registry.streams[0];
    this.#ev = { stream: first!, phasors: undefined as unknown as StreamPhasors, cycle: 0, firstFrame: 0 };
  }

  onFrame(ctx: FrameContext, flag: Flag): boolean {
    const s = ctx.stream;
    if (s === undefined) return true;
    const src = this.#sources[s.index];
    if (src === undefined) return true;
    const c = ctx.cols;
    const j0 = c.asduStart[ctx.i]!;
    const n = c.asduCount[ctx.i]!;
    if (src.firstFrame === 0) src.firstFrame = ctx.frameNo;
    for (let k = 0; k < n; k++) {
      const j = j0 + k;
      if (c.valueCount[j]! < src.phasors.channels) return true;
      const smp = c.smpCnt[j]!;
      if (src.phasors.pushRaw(c.values, c.valueStart[j]!, smp)) {
        const ev = this.#ev;
        ev.stream = s;
        ev.phasors = src.phasors;
        ev.cycle = Math.floor(smp / src.spc);
        ev.firstFrame = src.firstFrame;
        for (const l of this.#listeners) l.onCycle(ev, ctx, flag);
        src.firstFrame = ctx.frameNo;
      }
    }
    return true;
  }

  finish(flag: Flag): void {
    for (const l of this.#listeners) l.finish?.(flag);
  }
}
