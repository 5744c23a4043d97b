// Per-stream state of the protocol-logic stage (logic.ts): the smpCnt bookkeeping (last accepted values,
// fingerprints, pending decisions, a second counter) and the arrival timing (offset baseline, jitter ring).
// Fixed-size typed arrays, allocated once per stream: nothing here allocates per frame.
import type { Flag, FrameRef } from '../stage.ts';
import type { StreamEntry } from '../streams.ts';

/** Thresholds resolved once from LogicOptions; per stream they are raised to the stream's frame period. */
export interface LogicParams {
  /** Arrival timing on. */
  timing: boolean;
  settleNs: number;
  earlyNs: number;
  lateNs: number;
  jitterNs: number;
  /** Jitter window in frames; undefined: one cycle of the stream. */
  jitterFrames: number | undefined;
  tauNs: number;
  reanchorNs: number;
}

/** A small forward step: the frame that skipped [from, to) (modulo wrap), decided when they come or not. */
interface Pending {
  at: FrameRef;
  from: number;
  to: number;
  deadline: number;
}

export class StreamLogic {
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
  readonly framePeriodNs: number;
  pending: Pending[] = [];
  lastSmpSynch = -1;
  dropsSeen = 0; // capture drop counter at this stream's previous frame (drops hit every stream)
  readonly settleNs: number;
  readonly timing: boolean;
  readonly tauNs: number;
  readonly reanchorNs: number;
  // arrival timing (see TimingOptions in logic.ts)
  tOn = false;
  tLastSc = 0;
  tLastT = 0;
  tS = 0; // samples since the timing started
  tT0 = 0;
  tBase = 0;
  tJitter = false;
  readonly tRing: Float64Array;
  tAnomSince = NaN;
  readonly tEarlyNs: number;
  readonly tLateNs: number;
  readonly tJitterNs: number;
  tPos = 0;
  tN = 0;
  tSum = 0;
  tSum2 = 0;

  constructor(s: StreamEntry, p: LogicParams) {
    this.wrap = s.cfg.smpCntWrap ?? s.cfg.samplesPerSecond;
    this.step = s.cfg.smpCntStep ?? s.cfg.nofASDU;
    this.samplesPerNs = (s.cfg.framesPerSecond * this.step) / 1e9;
    this.seenAt = new Float64Array(this.wrap).fill(-Infinity);
    this.hashAt = new Uint32Array(this.wrap);
    this.framePeriodNs = this.step / this.samplesPerNs;
    this.settleNs = Math.max(p.settleNs, 4 * this.framePeriodNs);
    this.timing = p.timing;
    this.tauNs = p.tauNs;
    this.reanchorNs = p.reanchorNs;
    this.tEarlyNs = Math.max(p.earlyNs, 2 * this.framePeriodNs);
    this.tLateNs = Math.max(p.lateNs, 4 * this.framePeriodNs);
    this.tJitterNs = Math.max(p.jitterNs, this.framePeriodNs / 2);
    const perCycle = Math.round(s.cfg.framesPerSecond / (s.cfg.nominalHz ?? 50));
    this.tRing = new Float64Array(Math.max(16, p.jitterFrames ?? perCycle));
  }

  fwd(a: number, b: number): number {
    return (((b - a) % this.wrap) + this.wrap) % this.wrap;
  }

  /** Takes smpCnt sc (capture time t, values fingerprint hash) as the stream's latest in-sequence frame. */
  accept(sc: number, t: number, hash: number): void {
    this.serial += this.step;
    this.seenAt[sc] = this.serial;
    this.hashAt[sc] = hash;
    this.next = (sc + this.step) % this.wrap;
    this.lastS = sc;
    this.lastT = t;
  }

  /** Arrival timing of an in-sequence frame (sample counter sc at capture time t). */
  arrival(sc: number, t: number, flag: Flag): void {
    if (!this.timing) return;
    if (!this.tOn || t - this.tLastT > 5e8 || t < this.tLastT) {
      this.tOn = true;
      this.tS = 0;
      this.tT0 = t;
      this.tBase = 0;
      this.tLastSc = sc;
      this.tLastT = t;
      this.tAnomSince = NaN;
      this.tJitter = false;
      this.tPos = 0;
      this.tN = 0;
      this.tSum = 0;
      this.tSum2 = 0;
      return;
    }
    this.tS += this.fwd(this.tLastSc, sc);
    const o = t - this.tT0 - this.tS / this.samplesPerNs;
    const dt = t - this.tLastT;
    this.tLastSc = sc;
    this.tLastT = t;
    const dev = o - this.tBase;
    const early = dev < -this.tEarlyNs;
    if (early || dev > this.tLateNs) {
      flag('logic', early ? 'arrival-early' : 'arrival-late', {
        detail: early ? { smpCnt: sc, earlyUs: Math.round(-dev / 1e3) } : { smpCnt: sc, lateUs: Math.round(dev / 1e3) },
      });
      // anomalous frames do not move the baseline; a shift that lasts is taken as the new normal
      if (Number.isNaN(this.tAnomSince)) this.tAnomSince = t;
      else if (t - this.tAnomSince > this.reanchorNs) this.tOn = false;
    } else {
      this.tAnomSince = NaN;
      this.tBase += dev * Math.min(1, dt / this.tauNs);
    }
    const late = dev;
    // standard deviation of o over the last frames (running sums over a ring; o relative to the baseline
    // keeps the sums small)
    const R = this.tRing.length;
    const x = late / 1e6;
    if (this.tN === R) {
      const old = this.tRing[this.tPos]!;
      this.tSum -= old;
      this.tSum2 -= old * old;
    } else this.tN++;
    this.tRing[this.tPos] = x;
    this.tSum += x;
    this.tSum2 += x * x;
    this.tPos = this.tPos + 1 === R ? 0 : this.tPos + 1;
    if (this.tN === R) {
      const mean = this.tSum / R;
      const sd = Math.sqrt(Math.max(0, this.tSum2 / R - mean * mean)) * 1e6;
      if (!this.tJitter && sd > this.tJitterNs) {
        this.tJitter = true;
        flag('logic', 'jitter-burst', { detail: { smpCnt: sc, sdUs: Math.round(sd / 1e3), frames: R } });
      } else if (this.tJitter && sd < this.tJitterNs / 2) this.tJitter = false;
    }
  }
}

/** FNV-1a of a byte range: a cheap fingerprint of a frame's sample values. */
export function fnv(raw: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < len; k++) h = Math.imul(h ^ raw[off + k]!, 0x01000193);
  return h >>> 0;
}
