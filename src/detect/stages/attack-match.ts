// γlsit (grade 3, SPEC §2 step 6): samples that match a recorded attack model. Two mechanisms:
//   fault-replay  frame by frame: the sample values of the frame (seqData hash) equal those of a frame recorded
//                 around an earlier event (../history/fingerprints.ts) — a recorded fault replayed with fresh
//                 smpCnt and timestamps. A verdict needs `minRun` consecutive matching frames of which at
//                 least one was recorded inside the event (not only before its trigger), and the recording
//                 must be at least `minAgeMs` old (a redundant MU carrying identical values at the same
//                 moment is no replay). The frames of the run are flagged retroactively; the first verdict of
//                 an episode also raises faultMatch/fault-replay (the replay does match a recorded primary
//                 fault — the one it was recorded from).
//   attack-model  per event: the event's features match an attack entry of the library (decided by the
//                 faultMatch stage, which owns the event features; see fault-match.ts).
// The fingerprints of an event are recorded while the faultMatch stage reports it in progress: the frames of
// the `preCycles` cycles before its trigger, every frame of the event, and `postMs` after it.
import { fnv1a, FingerprintStore, type FingerprintOptions } from '../history/fingerprints.ts';
import type { Flag, FrameContext, Stage } from '../stage.ts';
import type { StreamRegistry } from '../streams.ts';

export interface AttackMatchOptions {
  /** Consecutive matching frames before a replay verdict (default 4). */
  minRun?: number;
  /** A recording younger than this is not replayed but concurrent (default 200 ms). */
  minAgeMs?: number;
  /** Cycles of frames before the trigger kept with an event (default 2). */
  preCycles?: number;
  /** Frames recorded after an event ends, ms (default 40). */
  postMs?: number;
  fingerprints?: FingerprintOptions;
  /** A store that outlives this stage (live detection starts its stages afresh after a restart). */
  store?: FingerprintStore;
}

interface StreamFp {
  ringHash: Uint32Array;
  ringFrame: Float64Array;
  ringTs: BigInt64Array;
  pos: number;
  n: number;
  slot: number;
  recordUntil: number;
  run: number;
  runEvent: boolean;
  replaying: boolean;
  replayUntil: number;
}

export class AttackMatchStage implements Stage {
  readonly name = 'attackMatch';
  readonly store: FingerprintStore;
  readonly #st: StreamFp[];
  readonly #names: string[];
  readonly #minRun: number;
  readonly #minAgeNs: number;
  readonly #postNs: number;
  /** Replayed frames flagged so far. */
  replayFrames = 0;

  constructor(registry: StreamRegistry, opts: AttackMatchOptions = {}) {
    this.store = opts.store ?? new FingerprintStore(opts.fingerprints);
    this.#minRun = Math.max(1, opts.minRun ?? 4);
    this.#minAgeNs = (opts.minAgeMs ?? 200) * 1e6;
    this.#postNs = (opts.postMs ?? 40) * 1e6;
    const pre = opts.preCycles ?? 2;
    this.#names = registry.streams.map((s) => s.cfg.name);
    this.#st = registry.streams.map((s) => {
      const framesPerCycle = s.cfg.framesPerSecond / (s.cfg.nominalHz ?? 50);
      const R = Math.max(this.#minRun + 1, Math.ceil(pre * framesPerCycle) + 1);
      return {
        ringHash: new Uint32Array(R),
        ringFrame: new Float64Array(R),
        ringTs: new BigInt64Array(R),
        pos: 0,
        n: 0,
        slot: -1,
        recordUntil: -Infinity,
        run: 0,
        runEvent: false,
        replaying: false,
        replayUntil: -Infinity,
      };
    });
  }

  onFrame(ctx: FrameContext, flag: Flag): boolean {
    const s = ctx.stream;
    if (s === undefined) return true;
    const st = this.#st[s.index]!;
    const c = ctx.cols;
    const i = ctx.i;
    const j0 = c.asduStart[i]!;
    const h = fnv1a(c.raw, c.rawOff[i]! + c.seqDataOff[j0]!, c.seqDataLen[j0]!);
    const R = st.ringHash.length;
    st.ringHash[st.pos] = h;
    st.ringFrame[st.pos] = ctx.frameNo;
    st.ringTs[st.pos] = ctx.tsNs;
    st.pos = (st.pos + 1) % R;
    if (st.n < R) st.n++;
    const look = this.store.lookup(h);
    if (look >= 0 && ctx.t - this.store.startT[look >> 1]! >= this.#minAgeNs) {
      st.run++;
      if ((look & 1) === 1) st.runEvent = true;
      if (st.run >= this.#minRun && st.runEvent) this.#replay(st, look >> 1, ctx, flag);
      return true;
    }
    st.run = 0;
    st.runEvent = false;
    st.replaying = false;
    if (st.slot >= 0) {
      if (ctx.t <= st.recordUntil) this.store.add(st.slot, h, true);
      else st.slot = -1;
    }
    return true;
  }

  #replay(st: StreamFp, slot: number, ctx: FrameContext, flag: Flag): void {
    const stream = this.#names[ctx.stream!.index]!;
    const detail = { recordedStream: this.#names[this.store.stream[slot]!] ?? '', recorded: this.store.label[slot]! };
    if (!st.replaying) {
      st.replaying = true;
      // the run so far (still in the ring), oldest first
      const R = st.ringHash.length;
      const back = Math.min(st.run, st.n) - 1;
      for (let b = back; b >= 1; b--) {
        const k = (st.pos - 1 - b + 2 * R) % R;
        const at = { frame: st.ringFrame[k]!, tsNs: st.ringTs[k]!, stream };
        if (b === back) flag('faultMatch', 'fault-replay', { at, detail });
        flag('attackMatch', 'fault-replay', { at, detail });
        this.replayFrames++;
      }
      if (back < 1) flag('faultMatch', 'fault-replay', { detail });
    }
    flag('attackMatch', 'fault-replay', { detail });
    this.replayFrames++;
    st.replayUntil = ctx.t + 500e6;
  }

  /** The faultMatch stage saw an event begin on stream `index` at capture time t (ns). */
  eventStarted(index: number, t: number, label: string): void {
    const st = this.#st[index];
    if (st === undefined || st.replaying) return;
    st.slot = this.store.begin(index, t, label);
    st.recordUntil = Infinity;
    const R = st.ringHash.length;
    for (let b = st.n - 1; b >= 0; b--) this.store.add(st.slot, st.ringHash[(st.pos - 1 - b + 2 * R) % R]!, false);
  }

  /** The event on stream `index` ended at t: record `postMs` more. */
  eventEnded(index: number, t: number): void {
    const st = this.#st[index];
    if (st !== undefined && st.slot >= 0) st.recordUntil = t + this.#postNs;
  }

  /** Whether stream `index` carried replayed values within the last half second before t. */
  replaying(index: number, t: number): boolean {
    const st = this.#st[index];
    return st !== undefined && t <= st.replayUntil;
  }
}
