// γlj (SPEC §2 step 5): protocol logic per stream. smpCnt progression with wrap (duplicates, replays of
// old frames, gaps = deleted frames, counter jumps, reordering, a second counter interleaved with the
// genuine one = injection), the frame's fields against the configuration (svID, confRev, datSet, noASDU,
// simulate bit, smpSynch). Deviations are judged against time: a genuine stream's smpCnt advances with the
// capture clock, so a forward step that matches the elapsed time is a gap (frames missing), one that does
// not is a jump or a foreign counter. Capture loss (kernel drops) is not an attack: gaps while the capture
// reports drops are counted as `capture-loss` normal events, not alarmed.
import { AsduFlag } from '../../native/index.ts';
import type { FrameContext, Flag, FrameRef, Stage } from '../stage.ts';
import { bytesEqual, type StreamRegistry } from '../streams.ts';
import { StreamLogic, fnv, type LogicParams } from './logic-stream.ts';

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

export class LogicStage implements Stage {
  readonly name = 'logic';
  #state: StreamLogic[];
  #reorderFrames: number;
  #tolNs: number;
  #captureDrops = 0;
  /** Gaps explained by capture loss (normal events, not alarms). */
  captureLossGaps = 0;

  constructor(registry: StreamRegistry, opts: LogicOptions = {}) {
    this.#reorderFrames = opts.reorderFrames ?? 16;
    this.#tolNs = (opts.timeToleranceMs ?? 2) * 1e6;
    const tim = opts.timing === false ? undefined : opts.timing === true || opts.timing === undefined ? {} : opts.timing;
    const params: LogicParams = {
      timing: tim !== undefined,
      settleNs: (opts.settleMs ?? 50) * 1e6,
      earlyNs: (tim?.earlyMs ?? 2) * 1e6,
      lateNs: (tim?.lateMs ?? 25) * 1e6,
      jitterNs: (tim?.jitterMs ?? 3) * 1e6,
      jitterFrames: tim?.jitterFrames,
      tauNs: (tim?.baselineS ?? 1) * 1e9,
      reanchorNs: (tim?.reanchorS ?? 2) * 1e9,
    };
    this.#state = registry.streams.map((s) => new StreamLogic(s, params));
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
    if (cfg.confRev !== undefined && c.confRev[j0] !== cfg.confRev)
      ok = this.#bad(flag, 'confrev-mismatch', { confRev: c.confRev[j0]!, expected: cfg.confRev });
    if (s.datSetBytes !== undefined && (c.flags[j0]! & AsduFlag.datSet) !== 0) {
      const off = c.rawOff[i]! + c.datSetOff[j0]!;
      if (!bytesEqual(c.raw, off, c.datSetLen[j0]!, s.datSetBytes))
        ok = this.#bad(flag, 'datset-mismatch', { datSet: ctx.batch.datSet(j0) ?? '' });
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
    if (sc === st.next) st.accept(sc, ctx.t, 0);
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
      st.accept(sc, t, hash);
      st.arrival(sc, t, flag);
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
        st.accept(sc, t, hash);
        st.tOn = false; // capture loss is not a timing anomaly: start over
        return true;
      }
      if (d <= this.#reorderFrames * st.step) {
        // Small forward step: a reorder if the skipped values come late, else a gap (decided later).
        st.pending.push({ at: this.#ref(ctx), from: st.next, to: sc, deadline: t + st.settleNs });
      } else {
        flag('logic', 'gap', { detail: { smpCnt: sc, missing: d } });
      }
      st.accept(sc, t, hash);
      st.arrival(sc, t, flag);
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
      st.accept(sc, ctx.t, 0);
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
    for (let k = 0; k < st.pending.length;) {
      const p = st.pending[k]!;
      if (t < p.deadline) {
        k++;
        continue;
      }
      st.pending.splice(k, 1);
      flag('logic', 'gap', { at: p.at, detail: { missing: st.fwd(p.from, p.to) } });
    }
  }

  #ref(ctx: FrameContext): FrameRef {
    return { frame: ctx.frameNo, tsNs: ctx.tsNs, stream: ctx.stream!.cfg.name };
  }

  finish(flag: Flag): void {
    for (const st of this.#state) this.#settle(st, Infinity, flag);
  }
}

const SILENT_NS = 20e6;
