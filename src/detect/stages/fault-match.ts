// γlsft (grade 3, SPEC §2 step 6): the samples meet the trigger conditions of a recorded primary fault
// (overcurrent, overvoltage, phase-ground, phase-phase, three-phase short circuit) and resemble it.
//
// Per stream, on the phasor stage's cycles: an event detector (../history/features.ts) triggers on a
// current or voltage step or a protection pickup; one full cycle later the event's features are compared
// (../history/similarity.ts) with the library's faults and attack models (../history/library.ts):
//   faultMatch/<class>         nearest fault within the threshold (class: phase-ground, phase-phase,
//                              three-phase, overcurrent, overvoltage) and no better attack model — a primary
//                              fault that looks like the ones on record (a normal event, graded 3);
//   attackMatch/attack-model   an attack model is within the threshold and nearer than any fault;
//   faultMatch/fault-replay    (the attackMatch stage: the values are a copy of a recorded event).
// The decision is also the plausibility the trip stage asks for (TripJudge): a trip-level event that
// matches no plausible fault — no fault entry, an attack model, or replayed values — makes the trip stage
// report trip-without-fault instead of a protection event (SPEC: "trip-level values that match no plausible
// fault are an attack signal").
import { samplesPerCycle, type CycleEvent, type CycleListener } from '../cycles.ts';
import { DECIDE, ENDED, EventDetector, TRIGGERED, type Features } from '../history/features.ts';
import type { FaultLibrary } from '../../model/library.ts';
import { MemoryFaultLibrary } from '../history/library.ts';
import { seedEntries } from '../history/seed.ts';
import { matches, MATCH_THRESHOLD, nearest, type Match } from '../history/similarity.ts';
import type { Flag, FrameContext } from '../stage.ts';
import type { StreamRegistry } from '../streams.ts';
import type { AttackMatchStage } from './attack-match.ts';

/** Plausibility of the current event of a stream, as the trip stage reads it. */
export const NO_EVENT = 0;
export const PENDING = 1;
export const PLAUSIBLE = 2;
export const IMPLAUSIBLE = 3;

export interface TripJudge {
  /** NO_EVENT, PENDING (decided within a cycle), PLAUSIBLE or IMPLAUSIBLE. */
  plausibility(streamIndex: number): number;
}

export interface HistoryEvent {
  stream: string;
  firstFrame: number;
  firstTsNs: bigint;
  features: Features;
  fault: { label: string; distance: number } | null;
  attack: { label: string; distance: number } | null;
  replay: boolean;
  plausible: boolean;
  tripLevel: boolean;
  durationMs?: number;
}

export interface FaultMatchOptions {
  /** Default: the built-in seed library (./history/seed.ts) in memory. */
  library?: FaultLibrary;
  /** The attackMatch stage (fingerprints of events, replays). */
  attack?: AttackMatchStage;
  /** Similarity threshold (default MATCH_THRESHOLD = 1.0). */
  threshold?: number;
  /** Events kept in `recent` (default 64). */
  keepEvents?: number;
  /** Add every plausible event that ended to the library as a fault entry (source 'learned:<stream>'). */
  learn?: boolean;
  onEvent?: (e: HistoryEvent) => void;
}

interface StreamState {
  det: EventDetector;
  name: string;
  overcurrentA: number;
  overvoltageV: number;
  plaus: number;
  firstFrame: number;
  firstTsNs: bigint;
  startT: number;
  event: HistoryEvent | undefined;
}

const fmt = (m: Match | undefined): { label: string; distance: number } | null =>
  m === undefined || !Number.isFinite(m.distance) ? null : { label: m.entry.label, distance: Math.round(m.distance * 100) / 100 };

export class FaultMatchStage implements CycleListener, TripJudge {
  readonly name = 'faultMatch';
  readonly library: FaultLibrary;
  readonly recent: HistoryEvent[] = [];
  /** Events decided so far. */
  eventCount = 0;
  readonly #st: Array<StreamState | undefined>;
  readonly #attack: AttackMatchStage | undefined;
  readonly #thr: number;
  readonly #keep: number;
  readonly #learn: boolean;
  readonly #onEvent: ((e: HistoryEvent) => void) | undefined;

  constructor(registry: StreamRegistry, opts: FaultMatchOptions = {}) {
    this.library = opts.library ?? new MemoryFaultLibrary(seedEntries());
    this.#attack = opts.attack;
    this.#thr = opts.threshold ?? MATCH_THRESHOLD;
    this.#keep = opts.keepEvents ?? 64;
    this.#learn = opts.learn === true;
    this.#onEvent = opts.onEvent;
    this.#st = registry.streams.map((s) => {
      const cfg = s.cfg;
      if (cfg.channels === undefined || samplesPerCycle(s) === undefined) return undefined;
      const oc = cfg.protection?.overcurrentA ?? Infinity;
      const ov = cfg.protection?.overvoltageV ?? Infinity;
      return {
        det: new EventDetector(cfg.channels, { overcurrentA: oc, overvoltageV: ov }),
        name: cfg.name,
        overcurrentA: oc,
        overvoltageV: ov,
        plaus: NO_EVENT,
        firstFrame: 0,
        firstTsNs: 0n,
        startT: 0,
        event: undefined,
      };
    });
  }

  plausibility(streamIndex: number): number {
    return this.#st[streamIndex]?.plaus ?? NO_EVENT;
  }

  onCycle(ev: CycleEvent, ctx: FrameContext, flag: Flag): void {
    const st = this.#st[ev.stream.index];
    if (st === undefined) return;
    const p = ev.phasors;
    if (p.cycles === 1 && (st.det.state !== 0 || st.plaus !== NO_EVENT)) {
      // the window restarted (gap, counter jump) inside an event: it cannot be judged further
      this.#attack?.eventEnded(ev.stream.index, ctx.t);
      st.plaus = NO_EVENT;
    }
    const r = st.det.onCycle(p.re, p.im, p.cycles === 1);
    if (r === TRIGGERED) {
      st.plaus = PENDING;
      st.firstFrame = ev.firstFrame;
      st.firstTsNs = ctx.tsNs;
      st.startT = ctx.t;
      st.event = undefined;
      this.#attack?.eventStarted(ev.stream.index, ctx.t, `${st.name} frame ${ev.firstFrame}`);
    } else if (r === DECIDE) {
      this.#decide(st, ev.stream.index, st.det.features(p.re, p.im, p.rms), ctx, flag);
    } else if (r === ENDED) {
      const e = st.event;
      if (e !== undefined) {
        e.durationMs = Math.round((ctx.t - st.startT) / 1e5) / 10;
        e.features['durationMs'] = e.durationMs;
        if (this.#learn && e.plausible && e.fault !== null) {
          const f = { ...e.features, class: this.#classOf(e.fault.label) };
          this.library.add({
            kind: 'fault',
            label: `learned ${e.stream} ${e.firstTsNs}`,
            features: f,
            source: `learned:${e.stream}`,
            createdNs: String(e.firstTsNs),
          });
        }
      }
      this.#attack?.eventEnded(ev.stream.index, ctx.t);
      st.plaus = NO_EVENT;
    }
  }

  #classOf(label: string): string {
    const e = this.library.entries('fault').find((x) => x.label === label);
    const c = e?.features['class'];
    return typeof c === 'string' ? c : 'primary-fault';
  }

  #decide(st: StreamState, index: number, f: Features, ctx: FrameContext, flag: Flag): void {
    const fm = nearest(f, this.library.entries('fault'));
    const am = nearest(f, this.library.entries('attack'));
    const replay = this.#attack?.replaying(index, ctx.t) ?? false;
    const faultOk = matches(fm, this.#thr);
    const attackOk = matches(am, this.#thr) && (!faultOk || am.distance < fm.distance);
    const plausible = faultOk && !attackOk && !replay;
    const tripLevel = st.det.peakI >= st.overcurrentA || st.det.peakV >= st.overvoltageV;
    const e: HistoryEvent = {
      stream: st.name,
      firstFrame: st.firstFrame,
      firstTsNs: st.firstTsNs,
      features: f,
      fault: fmt(fm),
      attack: fmt(am),
      replay,
      plausible,
      tripLevel,
    };
    st.event = e;
    st.plaus = plausible ? PLAUSIBLE : IMPLAUSIBLE;
    const phases = typeof f['phases'] === 'string' ? f['phases'] : '';
    if (plausible) {
      const cls = fm.entry.features['class'];
      flag('faultMatch', typeof cls === 'string' ? cls : 'primary-fault', {
        detail: { firstFrame: st.firstFrame, library: fm.entry.label, distance: e.fault!.distance, phases },
      });
    } else if (attackOk && !replay) {
      flag('attackMatch', 'attack-model', {
        detail: { firstFrame: st.firstFrame, library: am.entry.label, distance: e.attack!.distance, phases },
      });
    }
    this.eventCount++;
    this.recent.push(e);
    if (this.recent.length > this.#keep) this.recent.shift();
    this.#onEvent?.(e);
  }
}
