// Commissioning "learn" mode (and `svde analyze --baseline`): from traffic known to be clean, propose the
// expected streams — per APPID + svID the source MACs seen, confRev, datSet, noASDU, the frame rate, how
// smpCnt advances (per ASDU or per frame) and where it wraps. A proposal for the engineer to approve, not
// a configuration that applies itself. `observed()` also reports what commissioning reviews (`svde learn`):
// frames per source MAC, the VLAN tags and destination MACs seen, and counters that repeat (not clean traffic).
import { STATUS_NOT_SV, STATUS_TRUNCATED_ETHERNET, type FrameBatch } from '../native/index.ts';
import type { ExpectedStream } from '../model/streams.ts';

interface Observed {
  appId: number;
  svID: string;
  sources: Set<string>;
  confRevs: Map<number, number>;
  datSets: Map<string | null, number>;
  noAsdus: Map<number, number>;
  frames: number;
  firstNs: bigint;
  lastNs: bigint;
  maxSmpCnt: number;
  sharedSmpCnt: number; // frames whose ASDUs all carry the same smpCnt
  multiAsdu: number; // frames with more than one ASDU
  keyIds: Map<number, number>; // keyIds of signed frames
  sourceFrames: Map<string, number>;
  vlans: Map<string, number>; // "id:priority" of the outer tag, or "" untagged
  dstMacs: Map<string, number>;
  lastSmpCnt: number; // first smpCnt of the stream's previous frame, -1 before the first
  repeats: number; // frames whose first smpCnt equals the previous frame's
}

/** One stream (APPID + svID) as seen on the wire. */
export interface ObservedStream {
  appId: number;
  svID: string;
  frames: number;
  /** Frames per source MAC, most frames first. */
  sources: { mac: string; frames: number }[];
  /** Outer 802.1Q tags (null: untagged), most frames first. */
  vlans: { vlan: { id: number; priority: number } | null; frames: number }[];
  dstMacs: { mac: string; frames: number }[];
  confRev: number;
  datSet: string | null;
  nofASDU: number;
  /** Over the span from the first to the last frame (0 for a single frame). */
  framesPerSecond: number;
  /** Frames whose first smpCnt repeated the previous frame's: a second publisher or a replay. */
  repeatedCounters: number;
  firstNs: bigint;
  lastNs: bigint;
}

const byCount = <K>(m: Map<K, number>): [K, number][] => [...m].sort((a, b) => b[1] - a[1]);

const MAX_STREAMS = 4096;

function mostCommon<K>(m: Map<K, number>): K {
  let best: K | undefined;
  let n = -1;
  for (const [k, c] of m) if (c > n) [best, n] = [k, c];
  return best as K;
}

export class StreamLearner {
  #seen = new Map<string, Observed>();
  /** Frames not learnt from: malformed, or beyond the stream table's bound. */
  skipped = 0;

  add(b: FrameBatch, untilNs?: bigint): void {
    const c = b.cols;
    for (let i = 0; i < b.count; i++) {
      const st = c.status[i]!;
      if (st === STATUS_NOT_SV || st === STATUS_TRUNCATED_ETHERNET) continue;
      const ts = c.tsNs[i]!;
      if (untilNs !== undefined && ts > untilNs) continue;
      if (st !== 0 || c.asduCount[i] === 0) {
        this.skipped++;
        continue;
      }
      const j0 = c.asduStart[i]!;
      const svID = b.svId(j0);
      const key = `${c.appId[i]}\u0000${svID}`;
      let o = this.#seen.get(key);
      if (o === undefined) {
        if (this.#seen.size >= MAX_STREAMS) {
          this.skipped++;
          continue;
        }
        o = {
          appId: c.appId[i]!,
          svID,
          sources: new Set(),
          confRevs: new Map(),
          datSets: new Map(),
          noAsdus: new Map(),
          frames: 0,
          firstNs: ts,
          lastNs: ts,
          maxSmpCnt: 0,
          sharedSmpCnt: 0,
          multiAsdu: 0,
          keyIds: new Map(),
          sourceFrames: new Map(),
          vlans: new Map(),
          dstMacs: new Map(),
          lastSmpCnt: -1,
          repeats: 0,
        };
        this.#seen.set(key, o);
      }
      const src = b.src(i);
      o.sources.add(src);
      o.sourceFrames.set(src, (o.sourceFrames.get(src) ?? 0) + 1);
      const vlan = b.vlanCount(i) > 0 ? `${b.vlanId(i, 0)}:${b.vlanPriority(i, 0)}` : '';
      o.vlans.set(vlan, (o.vlans.get(vlan) ?? 0) + 1);
      const dst = b.dst(i);
      o.dstMacs.set(dst, (o.dstMacs.get(dst) ?? 0) + 1);
      if (c.smpCnt[j0] === o.lastSmpCnt) o.repeats++;
      o.lastSmpCnt = c.smpCnt[j0]!;
      o.confRevs.set(c.confRev[j0]!, (o.confRevs.get(c.confRev[j0]!) ?? 0) + 1);
      const ds = b.datSet(j0) ?? null;
      o.datSets.set(ds, (o.datSets.get(ds) ?? 0) + 1);
      o.noAsdus.set(c.noAsdu[i]!, (o.noAsdus.get(c.noAsdu[i]!) ?? 0) + 1);
      o.frames++;
      if (c.trailerPresent[i] === 1 && c.trailerStatus[i] === 0) o.keyIds.set(c.keyId[i]!, (o.keyIds.get(c.keyId[i]!) ?? 0) + 1);
      if (ts < o.firstNs) o.firstNs = ts;
      if (ts > o.lastNs) o.lastNs = ts;
      const n = c.asduCount[i]!;
      for (let k = 0; k < n; k++) o.maxSmpCnt = Math.max(o.maxSmpCnt, c.smpCnt[j0 + k]!);
      if (n > 1) {
        o.multiAsdu++;
        if (c.smpCnt[j0 + n - 1] === c.smpCnt[j0]) o.sharedSmpCnt++;
      }
    }
  }

  /** keyId most of a learnt stream's frames were signed with (by ExpectedStream.name), if any. */
  signingKeys(): Map<string, number> {
    const out = new Map<string, number>();
    for (const o of this.#seen.values()) if (o.keyIds.size > 0) out.set(o.svID, mostCommon(o.keyIds));
    return out;
  }

  /** Every stream seen (however few its frames), by APPID then svID. */
  observed(): ObservedStream[] {
    const out: ObservedStream[] = [];
    for (const o of this.#seen.values()) {
      const spanS = Number(o.lastNs - o.firstNs) / 1e9;
      out.push({
        appId: o.appId,
        svID: o.svID,
        frames: o.frames,
        sources: byCount(o.sourceFrames).map(([mac, frames]) => ({ mac, frames })),
        vlans: byCount(o.vlans).map(([v, frames]) => {
          if (v === '') return { vlan: null, frames };
          const [id, priority] = v.split(':').map(Number) as [number, number];
          return { vlan: { id, priority }, frames };
        }),
        dstMacs: byCount(o.dstMacs).map(([mac, frames]) => ({ mac, frames })),
        confRev: mostCommon(o.confRevs),
        datSet: mostCommon(o.datSets),
        nofASDU: mostCommon(o.noAsdus),
        framesPerSecond: spanS > 0 ? Math.round(((o.frames - 1) / spanS) * 100) / 100 : 0,
        repeatedCounters: o.repeats,
        firstNs: o.firstNs,
        lastNs: o.lastNs,
      });
    }
    return out.sort((a, b) => a.appId - b.appId || a.svID.localeCompare(b.svID));
  }

  /** The proposed stream table. Streams seen for less than `minFrames` frames are left out. */
  propose(minFrames = 10): ExpectedStream[] {
    const out: ExpectedStream[] = [];
    for (const o of this.#seen.values()) {
      if (o.frames < minFrames) continue;
      const spanS = Number(o.lastNs - o.firstNs) / 1e9;
      const fps = spanS > 0 ? (o.frames - 1) / spanS : 0;
      const nofASDU = mostCommon(o.noAsdus);
      // ASDUs that repeat the frame's smpCnt carry different quantities of one sample.
      const step = o.multiAsdu > 0 && o.sharedSmpCnt * 2 > o.multiAsdu ? 1 : nofASDU;
      const samplesPerSecond = Math.round(fps * step);
      // A counter that passed the samples of one second does not reset each second: it wraps at 2^16.
      const wrap = o.maxSmpCnt >= samplesPerSecond * 1.05 ? 65536 : standardRate(samplesPerSecond);
      const datSet = mostCommon(o.datSets);
      out.push({
        name: o.svID,
        svID: o.svID,
        appId: o.appId,
        acceptedSourceMacs: [...o.sources].sort(),
        confRev: mostCommon(o.confRevs),
        datSet,
        samplesPerSecond: wrap === 65536 ? samplesPerSecond : wrap,
        nofASDU,
        framesPerSecond: wrap === 65536 ? Math.round(fps * 100) / 100 : wrap / step,
        smpCntWrap: wrap,
        smpCntStep: step,
      });
    }
    return out.sort((a, b) => a.appId - b.appId || a.svID.localeCompare(b.svID));
  }
}

const RATES = [960, 1200, 2400, 4000, 4800, 12800, 14400, 15360];

/** Snap a measured sample rate to the standard one within 2 % (capture timing jitter), else keep it. */
function standardRate(measured: number): number {
  for (const r of RATES) if (Math.abs(measured - r) <= r * 0.02) return r;
  return measured;
}
