// Detection on live batches for `svde run`: the pipeline with the stages built so far (rate, MAC, logic,
// trip), alarms collected for the operator's report, and a fresh start of the per-stream state after the
// whole bus fell silent (publishers restarted: every counter begins anew — not an attack on its own).
import type { FrameBatch } from '../native/index.ts';
import { Pipeline } from '../detect/pipeline.ts';
import type { Stage } from '../detect/stage.ts';
import { LogicStage } from '../detect/stages/logic.ts';
import { MacStage } from '../detect/stages/mac.ts';
import { RateStage } from '../detect/stages/rate.ts';
import { TripStage } from '../detect/stages/trip.ts';
import { PhasorStage } from '../detect/cycles.ts';
import { BadDataStage } from '../detect/stages/bad-data.ts';
import { StreamRegistry, type ExpectedStream } from '../detect/streams.ts';
import type { Alarm } from '../detect/types.ts';
import type { IndicatorState } from '../detect/indicators.ts';

const RESTART_SILENCE_NS = 300_000_000n;

export interface DetectionReport {
  nu: 0 | 1;
  indicators: Record<string, IndicatorState>;
  /** Alarms raised since the previous report. */
  alarms: Array<{ id: number; indicator: string; grade: number; stream: string; reason: string; frame: number }>;
  restarts: number;
}

export class LiveDetection {
  readonly pipeline: Pipeline;
  #registry: StreamRegistry;
  #lastTs = -1n;
  #restarts = 0;
  #recent: DetectionReport['alarms'] = [];
  #onAlarm: ((a: Alarm) => void) | undefined;

  constructor(streams: ExpectedStream[], onAlarm?: (a: Alarm) => void) {
    this.#registry = new StreamRegistry(streams);
    this.#onAlarm = onAlarm;
    this.pipeline = new Pipeline({
      registry: this.#registry,
      stages: this.#stages(),
      alarms: {
        onAlarm: (a) => {
          if (this.#recent.length < 1000) this.#recent.push({ id: a.id, indicator: a.indicator, grade: a.grade, stream: a.stream, reason: a.reason, frame: a.firstFrame });
          this.#onAlarm?.(a);
        },
      },
    });
  }

  #stages(): Stage[] {
    const r = this.#registry;
    return [new RateStage(r), new MacStage(), new LogicStage(r), new PhasorStage(r, [new TripStage(r), new BadDataStage(r)])];
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

  report(): DetectionReport {
    const r: DetectionReport = { nu: this.pipeline.nu, indicators: this.pipeline.board.snapshot(), alarms: this.#recent, restarts: this.#restarts };
    this.#recent = [];
    return r;
  }
}
