// γlj (SPEC §2 step 5): protocol logic per stream. smpCnt progression with wrap (duplicates, replays of
// old frames, gaps = deleted frames, counter jumps, reordering, a second counter interleaved with the
// genuine one = injection), the frame's fields against the configuration (svID, confRev, datSet, noASDU,
// simulate bit, smpSynch). Deviations are judged against time: a genuine stream's smpCnt advances with the
// capture clock, so a forward step that matches the elapsed time is a gap (frames missing), one that does
// not is a jump or a foreign counter. Capture loss (kernel drops) is not an attack: gaps while the capture
// reports drops are counted as `capture-loss` normal events, not alarmed.
import { AsduFlag } from '../../native/index.ts';
import type { FrameContext, Flag, FrameRef, Stage } from '../stage.ts';
import { bytesEqual, type StreamEntry, type StreamRegistry } from '../streams.ts';

export interface LogicOptions {
  /** Late frames up to this many frames behind are reordering, copies this recent duplicates (default 16). */
  reorderFrames?: number;
  /** Tolerance of the time check, ms (default 2) — at least 4 frame periods. */
  timeToleranceMs?: number;
  /** A pending decision (reorder, second counter) is settled after this long, ms (default 50; at least
   *  four frame periods of the stream). */
  settleMs?: number;
  /** Arrival timing (inter-arrival anomalies); false turns the check off. */
  timing?: boolean | TimingOptions;
}

/**
 * Arrival timing of a stream. Each in-sequence frame has an arrival offset o = t − S·Ts (capture time minus
 * its sample clock: S counts the samples since the timing started, Ts the configured sample period) — the
 * publisher's latency plus jitter, constant for a genuine stream. The baseline b is a slow average of o
 * of the frames that are not anomalous (time constant `baselineS`, default 1 s), so a publisher whose clock
 * runs slightly off the nominal rate (software publishers: 0.4 % measured on a public capture) only shifts b.
 * With P the frame period:
 *   arrival-early  o < b − max(earlyMs, 2P): the frame came before its samples could exist at the stream's
 *                  rate (frames sent faster than the rate with a valid counter: an accelerated replay);
 *   arrival-late   o > b + max(lateMs, 4P): frames held back (a delay attack slowing protection);
 *   jitter-burst   the standard deviation of o over the last `jitterFrames` frames (default one cycle, at
 *                  least 16) exceeds max(jitterMs, P/2): frames held and released in bursts; once per
 *                  episode (re-armed below half the threshold).
 * Anomalous frames do not move b; a shift lasting longer than `reanchorS` (default 2 s) restarts the timing
 * from the new offset, so one episode gives a bounded number of verdicts. Not timing anomalies: capture loss (the capture's drop counter grew: the timing
 * restarts), gaps (the sample clock counts the missing samples), counter jumps (restart), silences longer
 * than half a second (restart: the smpCnt wrap makes the elapsed samples ambiguous).
 */
export interface TimingOptions {
  earlyMs?: number;
  lateMs?: number;
  jitterMs?: number;
  jitterFrames?: number;
  baselineS?: number;
  /** Anomalous for longer than this (s, default 2): the timing starts over from the new offset. */
  reanchorS?: number;
}

/** A small forward step: the frame that skipped [from, to) (modulo wrap), decided when they come or not. */
interface Pending {
  at: FrameRef;
  from: number;
  to: number;
  deadline: number;
}

class StreamLogic {
  readonly wrap: number;
  readonly step: number;
  readonly samplesPerNs: number;
  next = -1; // expected smpCnt of the next in-sequence frame
  lastS = 0;
  lastT = 0;
  serial = 0; // in-sequence samples accepted so far
  readonly seenAt: Float64Array; // serial at which each smpCnt value was last accepted
  readonly hashAt: Uint32Array; // fingerprint of the values of that frame
  altNext = -1; // a second counter: expected next smpCnt
  altMainSerial = 0; // main serial when the second counter was last judged
  altPending: FrameRef[] = []; // its frames not judged yet
  altDeadline = 0;
  framePeriodNs = 0;
  pending: Pending[] = [];
  lastSmpSynch = -1;
  dropsSeen = 0; // capture drop counter at this stream's previous frame (drops hit every stream)
  settleNs = 0;
  // arrival timing (see TimingOptions)
  tOn = false;
  tLastSc = 0;
  tLastT = 0;
  tS = 0; // samples since the timing started
  tT0 = 0;
  tBase = 0;
  tJitter = false;
  tRing: Float64Array = new Float64Array(16);
  tAnomSince = NaN;
  tEarlyNs = 0;
  tLateNs = 0;
  tJitterNs = 0;
  tPos = 0;
  tN = 0;
  tSum = 0;
  tSum2 = 0;

  constructor(s: StreamEntry) {
    this.wrap = s.cfg.smpCntWrap ?? s.cfg.samplesPerSecond;
    this.step = s.cfg.smpCntStep ?? s.cfg.nofASDU;
    this.samplesPerNs = (s.cfg.framesPerSecond * this.step) / 1e9;
    this.seenAt = new Float64Array(this.wrap).fill(-Infinity);
    this.hashAt = new Uint32Array(this.wrap);
  }

  fwd(a: number, b: number): number {
    return (((b - a) % this.wrap) + this.wrap) % this.wrap;
  }
}

/** FNV-1a of a byte range: a cheap fingerprint of a frame's sample values. */
function fnv(raw: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < len; k++) h = Math.imul(h ^ raw[off + k]!, 0x01000193);
  return h >>> 0;
}

export class LogicStage implements Stage {
  readonly name = 'logic';
  #state: StreamLogic[];
  #reorderFrames: number;
  #tolNs: number;
  #captureDrops = 0;
  /** Gaps explained by capture loss (normal events, not alarms). */
  captureLossGaps = 0;

  constructor(registry: StreamRegistry, opts: LogicOptions = {}) {
    this.#state = registry.streams.map((s) => new StreamLogic(s));
    this.#reorderFrames = opts.reorderFrames ?? 16;
    this.#tolNs = (opts.timeToleranceMs ?? 2) * 1e6;
    const settleNs = (opts.settleMs ?? 50) * 1e6;
    const tim = opts.timing === false ? undefined : opts.timing === true || opts.timing === undefined ? {} : opts.timing;
    this.#timing = tim !== undefined;
    const earlyNs = (tim?.earlyMs ?? 2) * 1e6;
    const lateNs = (tim?.lateMs ?? 25) * 1e6;
    const jitterNs = (tim?.jitterMs ?? 3) * 1e6;
    this.#tauNs = (tim?.baselineS ?? 1) * 1e9;
    this.#reanchorNs = (tim?.reanchorS ?? 2) * 1e9;
    registry.streams.forEach((s, k) => {
      const st = this.#state[k]!;
      st.framePeriodNs = st.step / st.samplesPerNs;
      st.settleNs = Math.max(settleNs, 4 * st.framePeriodNs);
      st.tEarlyNs = Math.max(earlyNs, 2 * st.framePeriodNs);
      st.tLateNs = Math.max(lateNs, 4 * st.framePeriodNs);
      st.tJitterNs = Math.max(jitterNs, st.framePeriodNs / 2);
      const perCycle = Math.round(s.cfg.framesPerSecond / (s.cfg.nominalHz ?? 50));
      st.tRing = new Float64Array(Math.max(16, tim?.jitterFrames ?? perCycle));
    });
  }

  readonly #timing: boolean;
  readonly #tauNs: number;
  readonly #reanchorNs: number;

  /** Arrival timing of an in-sequence frame (sample counter sc at capture time t). */
  #arrival(st: StreamLogic, sc: number, t: number, flag: Flag): void {
    if (!this.#timing) return;
    if (!st.tOn || t - st.tLastT > 5e8 || t < st.tLastT) {
      st.tOn = true; st.tS = 0; st.tT0 = t; st.tBase = 0; st.tLastSc = sc; st.tLastT = t;
      st.tAnomSince = NaN; st.tJitter = false; st.tPos = 0; st.tN = 0; st.tSum = 0; st.tSum2 = 0;
      return;
    }
    st.tS += st.fwd(st.tLastSc, sc);
    const o = t - st.tT0 - st.tS / st.samplesPerNs;
    const dt = t - st.tLastT;
    st.tLastSc = sc; st.tLastT = t;
    const dev = o - st.tBase;
    const early = dev < -st.tEarlyNs;
    if (early || dev > st.tLateNs) {
      flag('logic', early ? 'arrival-early' : 'arrival-late', { detail: early ? { smpCnt: sc, earlyUs: Math.round(-dev / 1e3) } : { smpCnt: sc, lateUs: Math.round(dev / 1e3) } });
      // anomalous frames do not move the baseline; a shift that lasts is taken as the new normal
      if (Number.isNaN(st.tAnomSince)) st.tAnomSince = t;
      else if (t - st.tAnomSince > this.#reanchorNs) st.tOn = false;
    } else {
      st.tAnomSince = NaN;
      st.tBase += dev * Math.min(1, dt / this.#tauNs);
    }
    const late = dev;
    // standard deviation of o over the last frames (running sums over a ring; o relative to the baseline
    // keeps the sums small)
    const R = st.tRing.length;
    const x = late / 1e6;
    if (st.tN === R) { const old = st.tRing[st.tPos]!; st.tSum -= old; st.tSum2 -= old * old; } else st.tN++;
    st.tRing[st.tPos] = x; st.tSum += x; st.tSum2 += x * x;
    st.tPos = st.tPos + 1 === R ? 0 : st.tPos + 1;
    if (st.tN === R) {
      const mean = st.tSum / R;
      const sd = Math.sqrt(Math.max(0, st.tSum2 / R - mean * mean)) * 1e6;
      if (!st.tJitter && sd > st.tJitterNs) {
        st.tJitter = true;
        flag('logic', 'jitter-burst', { detail: { smpCnt: sc, sdUs: Math.round(sd / 1e3), frames: R } });
      } else if (st.tJitter && sd < st.tJitterNs / 2) st.tJitter = false;
    }
  }

  /** The live capture's cumulative kernel + queue drops; gaps while this grows are capture loss. */
  setCaptureDrops(total: number): void {
    this.#captureDrops = total;
  }

  onFrame(ctx: FrameContext, flag: Flag): boolean {
    const s = ctx.stream;
    if (s === undefined) return true;
    const c = ctx.cols;
    const i = ctx.i;
    const cfg = s.cfg;
    let ok = true;
    const j0 = c.asduStart[i]!;
    if (!ctx.svIdMatched) ok = this.#bad(flag, 'svid-mismatch');
    if (cfg.confRev !== undefined && c.confRev[j0] !== cfg.confRev) ok = this.#bad(flag, 'confrev-mismatch', { confRev: c.confRev[j0]!, expected: cfg.confRev });
    if (s.datSetBytes !== undefined && (c.flags[j0]! & AsduFlag.datSet) !== 0) {
      const off = c.rawOff[i]! + c.datSetOff[j0]!;
      if (!bytesEqual(c.raw, off, c.datSetLen[j0]!, s.datSetBytes)) ok = this.#bad(flag, 'datset-mismatch', { datSet: ctx.batch.datSet(j0) ?? '' });
    }
    if (c.noAsdu[i] !== cfg.nofASDU) ok = this.#bad(flag, 'noasdu-mismatch', { noASDU: c.noAsdu[i]!, expected: cfg.nofASDU });
    if ((c.reserved1[i]! & 0x8000) !== 0 && cfg.testMode !== true) ok = this.#bad(flag, 'simulate-bit');
    const st = this.#state[s.index]!;
    if ((c.flags[j0]! & AsduFlag.smpSynch) !== 0) {
      const sync = c.smpSynch[j0]!;
      if (st.lastSmpSynch > 0 && sync === 0) flag('logic', 'smpsynch-lost', { detail: { smpSynch: sync, before: st.lastSmpSynch } });
      st.lastSmpSynch = sync;
    }
    if (!this.#sequence(ctx, st, flag)) ok = false;
    return ok;
  }

  #bad(flag: Flag, reason: string, detail?: Record<string, number | string>): false {
    if (detail === undefined) flag('logic', reason, { discard: true });
    else flag('logic', reason, { discard: true, detail });
    return false;
  }

  /**
   * A frame the signature stage withheld (no trailer, unknown key) that sits exactly where the stream's
   * next frame belongs: the counter runs on, so the frames after it are no gap. Frames withheld by the MAC
   * check never move the counter (they are someone else's).
   */
  onWithheld(ctx: FrameContext, by: string): void {
    const s = ctx.stream;
    if (by !== 'signature' || s === undefined) return;
    const st = this.#state[s.index]!;
    const sc = ctx.cols.smpCnt[ctx.cols.asduStart[ctx.i]!]! % st.wrap;
    if (sc === st.next) this.#accept(st, sc, ctx.t, 0);
  }

  /** smpCnt progression; false when the frame is out of sequence (withheld from value-based stages). */
  #sequence(ctx: FrameContext, st: StreamLogic, flag: Flag): boolean {
    const c = ctx.cols;
    const i = ctx.i;
    const j0 = c.asduStart[i]!;
    const sc = c.smpCnt[j0]! % st.wrap;
    const t = ctx.t;
    this.#settle(st, t, flag);
    const hash = fnv(c.raw, c.rawOff[i]! + c.seqDataOff[j0]!, c.seqDataLen[j0]!);
    const dropsGrew = this.#captureDrops > st.dropsSeen;
    st.dropsSeen = this.#captureDrops;

    if (st.next < 0 || sc === st.next) {
      this.#accept(st, sc, t, hash);
      this.#arrival(st, sc, t, flag);
      if (st.altPending.length > 0) {
        // The genuine counter goes on while a second one waits: the second one is injected.
        this.#flagAlt(st, flag);
        st.altMainSerial = st.serial;
      }
      return true;
    }
    const age = st.serial - st.seenAt[sc]!;
    if (age <= this.#reorderFrames * st.step) {
      // Accepted a moment ago: the same frame again, or a copy racing it.
      flag('logic', 'smpcnt-duplicate', { discard: true, detail: { smpCnt: sc } });
      return false;
    }
    if (st.hashAt[sc] === hash && age < st.wrap) {
      // The very values this smpCnt carried earlier (less than one counter cycle ago): an old frame re-sent.
      flag('logic', 'replay', { discard: true, detail: { smpCnt: sc } });
      return false;
    }
    if (st.altNext >= 0 && sc === st.altNext) {
      st.altNext = (sc + st.step) % st.wrap;
      return this.#altFrame(st, ctx, flag);
    }
    const back = st.fwd(sc, st.next);
    if (back > 0 && back <= this.#reorderFrames * st.step) {
      // Late: a value skipped a moment ago arrives now.
      if (this.#resolveEarly(st, sc, flag, ctx)) {
        flag('logic', 'smpcnt-reorder', { discard: true, detail: { smpCnt: sc, late: back } });
        return false;
      }
    }
    const d = st.fwd(st.next, sc);
    const predicted = st.samplesPerNs * (t - st.lastT) - st.step; // samples expected since `next`
    const timeOk = d < st.wrap / 2 && Math.abs(d - predicted) <= Math.max(4 * st.step, this.#tolNs * st.samplesPerNs);
    if (timeOk) {
      if (dropsGrew) {
        this.captureLossGaps++;
        this.#accept(st, sc, t, hash);
        st.tOn = false; // capture loss is not a timing anomaly: start over
        return true;
      }
      if (d <= this.#reorderFrames * st.step) {
        // Small forward step: a reorder if the skipped values come late, else a gap (decided later).
        st.pending.push({ at: this.#ref(ctx), from: st.next, to: sc, deadline: t + st.settleNs });
      } else {
        flag('logic', 'gap', { detail: { smpCnt: sc, missing: d } });
      }
      this.#accept(st, sc, t, hash);
      this.#arrival(st, sc, t, flag);
      return true;
    }
    // A counter that does not follow the genuine one in time: start (or restart) a second counter and
    // decide once it shows whether the genuine counter goes on (injection) or stopped (the counter jumped).
    this.#settleAlt(st, flag);
    st.altNext = (sc + st.step) % st.wrap;
    st.altMainSerial = st.serial;
    st.altPending.push(this.#ref(ctx));
    st.altDeadline = t + st.settleNs;
    return false;
  }

  #altFrame(st: StreamLogic, ctx: FrameContext, flag: Flag): boolean {
    if (st.serial > st.altMainSerial) {
      // The genuine counter went on meanwhile: both counters are alive, the second one is injected.
      this.#flagAlt(st, flag);
      flag('logic', 'interleaved-counter', { discard: true, detail: { smpCnt: ctx.cols.smpCnt[ctx.cols.asduStart[ctx.i]!]! } });
      st.altMainSerial = st.serial;
      st.altDeadline = ctx.t + st.settleNs;
      return false;
    }
    // Silent for longer than capture and publisher jitter can explain (20 ms: a late sender on a busy
    // host delays a burst of frames by several milliseconds).
    if (ctx.t - st.lastT > Math.max(4 * st.framePeriodNs, SILENT_NS)) {
      // The genuine counter fell silent and the new one goes on: the stream's counter jumped. One verdict
      // on the first frame of the new counter; from here on it is the stream's counter.
      const first = st.altPending[0];
      if (first !== undefined) flag('logic', 'smpcnt-jump', { at: first });
      st.altPending = [];
      st.altNext = -1;
      const sc = ctx.cols.smpCnt[ctx.cols.asduStart[ctx.i]!]! % st.wrap;
      this.#accept(st, sc, ctx.t, 0);
      st.tOn = false; // a new counter: its timing starts over
      return true;
    }
    // Not decided yet (two foreign frames in a row can happen when both publishers run at the same rate).
    st.altPending.push(this.#ref(ctx));
    st.altDeadline = ctx.t + st.settleNs;
    return false;
  }

  /** Judges the waiting frames of the second counter as injected. */
  #flagAlt(st: StreamLogic, flag: Flag): void {
    for (const at of st.altPending) flag('logic', 'interleaved-counter', { discard: true, at });
    st.altPending = [];
  }

  /** A second counter whose time is up: injected if the genuine one moved, else a lone counter jump. */
  #settleAlt(st: StreamLogic, flag: Flag): void {
    if (st.altPending.length === 0) return;
    if (st.serial > st.altMainSerial) this.#flagAlt(st, flag);
    else {
      flag('logic', 'smpcnt-jump', { at: st.altPending[0]! });
      st.altPending = [];
    }
    st.altNext = -1;
  }

  /** A late value: if it fills an earlier small forward step, both frames were reordered. */
  #resolveEarly(st: StreamLogic, sc: number, flag: Flag, _ctx: FrameContext): boolean {
    for (let k = 0; k < st.pending.length; k++) {
      const p = st.pending[k]!;
      const span = st.fwd(p.from, p.to);
      if (st.fwd(p.from, sc) < span) {
        flag('logic', 'smpcnt-reorder', { at: p.at, detail: { note: 'arrived before its predecessor' } });
        st.pending.splice(k, 1);
        return true;
      }
    }
    return false;
  }

  /** Pending decisions whose time is up: skipped values never came (gap); a lone foreign frame (jump). */
  #settle(st: StreamLogic, t: number, flag: Flag): void {
    if (st.altPending.length > 0 && t >= st.altDeadline) this.#settleAlt(st, flag);
    if (st.pending.length === 0) return;
    for (let k = 0; k < st.pending.length; ) {
      const p = st.pending[k]!;
      if (t < p.deadline) {
        k++;
        continue;
      }
      st.pending.splice(k, 1);
      flag('logic', 'gap', { at: p.at, detail: { missing: st.fwd(p.from, p.to) } });
    }
  }

  #accept(st: StreamLogic, sc: number, t: number, hash: number): void {
    st.serial += st.step;
    st.seenAt[sc] = st.serial;
    st.hashAt[sc] = hash;
    st.next = (sc + st.step) % st.wrap;
    st.lastS = sc;
    st.lastT = t;
  }

  #ref(ctx: FrameContext): FrameRef {
    return { frame: ctx.frameNo, tsNs: ctx.tsNs, stream: ctx.stream!.cfg.name };
  }

  finish(flag: Flag): void {
    for (const st of this.#state) this.#settle(st, Infinity, flag);
  }
}

const SILENT_NS = 20e6;
