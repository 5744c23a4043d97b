// The simulation engine: builds bays and merging units from the options, lets the scenario adjust the
// plan, then merges the MUs' frames in time order into a sink (pcap/pcapng writer or the live sender).
// Scenarios see every genuine frame before it is written and may pass it, modify it, drop it, or
// schedule extra frames (injected, replayed, flooded); every such frame carries its ground-truth label.
import { CHANNEL_SETS, LE_4I4U } from '../../src/model/channels.ts';
import type { ChannelSet } from '../../src/model/channels.ts';
import { DEFAULT_BAY, BaySignal } from './waveforms.ts';
import type { BayParams } from './waveforms.ts';
import { MergingUnit } from './merging-unit.ts';
import type { MergingUnitConfig, ProducedFrame } from './merging-unit.ts';
import { Rng } from './rng.ts';
import { deriveKeyPair, SM2_DEFAULT_ID } from '../../src/crypto/sm2.ts';
import type { Sm2KeyPair } from '../../src/crypto/sm2.ts';
import type { SignMode } from '../../src/crypto/signed-frames.ts';
import type { VlanTag } from '../../src/sv/types.ts';
import { readEncodedTrailer } from '../../src/sv/encode.ts';
import { epochString } from '../../src/sv/asdu-record.ts';
import type { DeletedRange, GenuineEvent, GroundTruth, MaliciousFrame, TruthIndicator, TruthStream, Verdict } from './truth.ts';

export interface SimOptions {
  durationS: number;
  mus: number;
  freq: number;
  samplesPerSecond: number;
  nofASDU: number;
  vlans: VlanTag[];
  sign: SignMode | null;
  /**
   * secCnt continues from the clock (frames since the epoch, block-aligned) instead of starting at 1, as a
   * publisher that keeps its counter across restarts would: a demo restarts the simulator per scenario.
   */
  secCntFromClock?: boolean;
  /** With `sign`: only these MUs (1-based) sign; default all. */
  signMus?: readonly number[];
  seed: number;
  /** Seed of the signing keys when they must outlive one run (a demo that restarts the publisher per scenario); default `seed`. */
  keySeed?: number;
  /** Epoch seconds of the first sample (a whole second, so smpCnt 0 falls on the second). */
  startEpochS: number;
  channelSet: ChannelSet;
  /** smpSynch sent by every MU: 0 none (free-running counters with a random phase), 1 local, 2 global. */
  smpSynch: number;
  /** Send refrTm (the sample's UtcTime) in every ASDU. */
  refrTm: boolean;
}

export const DEFAULT_OPTIONS: SimOptions = {
  durationS: 10,
  mus: 2,
  freq: 50,
  samplesPerSecond: 4000,
  nofASDU: 1,
  vlans: [{ id: 123, priority: 4 }],
  sign: null,
  seed: 1,
  startEpochS: 1_790_000_000,
  channelSet: LE_4I4U,
  smpSynch: 2,
  refrTm: false,
};

export { CHANNEL_SETS };

/** A genuine physical event declared by a scenario; the engine finds its frame range. */
export interface PlannedEvent {
  kind: GenuineEvent['kind'];
  detail: string;
  bay: number;
  startS: number;
  endS: number;
  mayRaise: TruthIndicator[];
}

export interface SimPlan {
  opts: SimOptions;
  bays: { name: string; params: BayParams }[];
  mus: (Omit<MergingUnitConfig, 'bay' | 'signing' | 'seed' | 'epochS'> & { bayIndex: number; signed: boolean })[];
  events: PlannedEvent[];
  rng: Rng;
}

export type FrameKind =
  /** Built by the attacker (no valid trailer on a signed stream). */
  | 'injected'
  /** A genuine frame altered in the key content (breaks its signature). */
  | 'modified'
  /** A genuine frame altered outside the key content (signature still valid). */
  | 'modified-outside-kc'
  /** An unchanged copy of a genuine frame sent again or out of order. */
  | 'resent';

export interface Scenario {
  name: string;
  description: string;
  /** Signing mode forced when the user did not ask for one (the signature scenarios). */
  defaultSign?: SignMode;
  minMus?: number;
  prepare?(plan: SimPlan): void;
  /** Called for every genuine frame; without it the frame is emitted unchanged. */
  onFrame?(ctx: SimContext, mu: MergingUnit, f: ProducedFrame): void;
}

export interface AsyncFrameSink {
  write(data: Uint8Array, offset: number, length: number, sec: number, nsec: number): void;
  /** True when the sink wants `flush()` awaited before more frames (live output backpressure). */
  readonly wantsFlush?: boolean;
  flush?(): Promise<void>;
  close(): void | Promise<void>;
}

interface Pending {
  relNs: number;
  seq: number;
  bytes: Uint8Array;
  label: PendingLabel | null;
  mu: MergingUnit | null;
}
interface PendingLabel {
  stream: string;
  verdict: Verdict;
  also: Verdict[];
  note?: string;
}

export class SimContext {
  readonly plan: SimPlan;
  readonly mus: MergingUnit[];
  readonly rng: Rng;
  #sink: AsyncFrameSink;
  #pending: Pending[] = [];
  #seq = 0;
  frameNo = 0;
  #lastRelNs = 0;
  readonly malicious: MaliciousFrame[] = [];
  readonly deleted: DeletedRange[] = [];
  #events: { ev: PlannedEvent; from: number; to: number; fromNs: number; toNs: number }[];
  /** Per block-signed MU, indexes of blocks that lost or altered a genuine frame: their block end fails. */
  #broken = new Map<MergingUnit, Set<number>>();
  /** Last frame number written per MU (genuine or not). */
  readonly lastFrameOf = new Map<MergingUnit, number>();

  constructor(plan: SimPlan, mus: MergingUnit[], sink: AsyncFrameSink) {
    this.plan = plan;
    this.mus = mus;
    this.rng = plan.rng;
    this.#sink = sink;
    this.#events = plan.events.map((ev) => ({ ev, from: 0, to: 0, fromNs: 0, toNs: 0 }));
  }

  get durationS(): number {
    return this.plan.opts.durationS;
  }

  /** Sample time (s) of a produced frame's first ASDU. */
  timeS(mu: MergingUnit, f: ProducedFrame): number {
    return f.firstSample / mu.cfg.samplesPerSecond;
  }

  /** Frame period of an MU in ns. */
  periodNs(mu: MergingUnit): number {
    return 1e9 / mu.frameRate;
  }

  /**
   * A verdict for a frame of `mu`'s stream, adjusted for signing: on a signed stream an attacker's own
   * frame has no valid trailer (signature/missing) and an altered genuine frame fails verification
   * (signature/bad-signature); the stream-level verdict then stays acceptable as `also`.
   */
  label(mu: MergingUnit, kind: FrameKind, indicator: TruthIndicator, reason: string, also: Verdict[] = [], note?: string): PendingLabel {
    let verdict: Verdict = { indicator, reason };
    const extra = [...also];
    if (mu.signer) {
      if (kind === 'injected') {
        extra.unshift(verdict);
        verdict = { indicator: 'signature', reason: 'missing' };
      } else if (kind === 'modified') {
        extra.unshift(verdict);
        verdict = { indicator: 'signature', reason: 'bad-signature' };
      } else if (kind === 'resent') extra.push({ indicator: 'logic', reason: 'replay' });
    }
    const l: PendingLabel = { stream: mu.cfg.name, verdict, also: extra };
    if (note !== undefined) l.note = note;
    return l;
  }

  /** Emit a frame now (it is the next in time). */
  emit(mu: MergingUnit | null, bytes: Uint8Array, length: number, relNs: number, label: PendingLabel | null = null): void {
    this.#flushUntil(relNs);
    this.#write(mu, bytes, length, relNs, label);
  }

  /** Emit the produced genuine frame (possibly modified in place by the scenario). */
  emitFrame(mu: MergingUnit, f: ProducedFrame, label: PendingLabel | null = null): void {
    if (label && label.verdict.indicator === 'signature') this.breakBlock(mu, f.secCnt);
    this.emit(mu, f.buf, f.length, f.relNs, label);
  }

  /** A genuine frame with this secCnt was altered, dropped, stripped or reordered: its block cannot verify. */
  breakBlock(mu: MergingUnit, secCnt: number): void {
    const s = mu.signer;
    if (!s || s.mode.kind !== 'block' || secCnt < 1) return;
    let set = this.#broken.get(mu);
    if (!set) {
      set = new Set();
      this.#broken.set(mu, set);
    }
    set.add(Math.floor((secCnt - 1) / s.blockLen));
  }

  /** Schedule a frame for later (bytes are copied). */
  schedule(mu: MergingUnit | null, bytes: Uint8Array, length: number, relNs: number, label: PendingLabel | null = null): void {
    const p: Pending = { relNs, seq: this.#seq++, bytes: bytes.slice(0, length), label, mu };
    // insertion keeping (relNs, seq) order; the queue is short except while flooding
    const q = this.#pending;
    let lo = 0;
    let hi = q.length;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      if (q[m]!.relNs <= relNs) lo = m + 1;
      else hi = m;
    }
    q.splice(lo, 0, p);
  }

  /** A genuine frame of `mu` that the attacker suppressed. */
  markDeleted(mu: MergingUnit, f: ProducedFrame): void {
    this.breakBlock(mu, f.secCnt);
    const smp = (f.buf[f.layout.asdus[0]!.smpCnt]! << 8) | f.buf[f.layout.asdus[0]!.smpCnt + 1]!;
    const last = f.layout.asdus[f.layout.asdus.length - 1]!;
    const smpLast = (f.buf[last.smpCnt]! << 8) | f.buf[last.smpCnt + 1]!;
    const prev = this.deleted[this.deleted.length - 1];
    const before = this.lastFrameOf.get(mu) ?? 0;
    if (prev && prev.stream === mu.cfg.name && prev.afterFrame === 0 && prev.beforeFrame === before) {
      prev.smpCntTo = smpLast;
      prev.frames++;
    } else {
      this.deleted.push({ stream: mu.cfg.name, smpCntFrom: smp, smpCntTo: smpLast, frames: 1, beforeFrame: before, afterFrame: 0 });
    }
  }

  #flushUntil(relNs: number): void {
    const q = this.#pending;
    let i = 0;
    while (i < q.length && q[i]!.relNs <= relNs) {
      const p = q[i++]!;
      this.#write(p.mu, p.bytes, p.bytes.length, p.relNs, p.label);
    }
    if (i) q.splice(0, i);
  }

  flushAll(): void {
    this.#flushUntil(Infinity);
  }

  #write(mu: MergingUnit | null, bytes: Uint8Array, length: number, relNs: number, label: PendingLabel | null): void {
    if (relNs < this.#lastRelNs) relNs = this.#lastRelNs; // captures are time-ordered
    this.#lastRelNs = relNs;
    const sec = Math.floor(relNs / 1e9);
    this.#sink.write(bytes, 0, length, this.plan.opts.startEpochS + sec, relNs - sec * 1e9);
    const n = ++this.frameNo;
    if (label) {
      const m: MaliciousFrame = { frame: n, stream: label.stream, indicator: label.verdict.indicator, reason: label.verdict.reason };
      if (label.also.length) m.also = label.also;
      if (label.note !== undefined) m.note = label.note;
      this.malicious.push(m);
    }
    if (mu) {
      this.lastFrameOf.set(mu, n);
      const d = this.deleted[this.deleted.length - 1];
      if (d && d.afterFrame === 0 && d.stream === mu.cfg.name) d.afterFrame = n;
      // A broken block's end frame fails verification even if that frame itself is intact.
      const broken = this.#broken.get(mu);
      if (broken && broken.size) {
        const t = readEncodedTrailer(bytes, length);
        if (t && t.mode === 3 && t.keyId === mu.signer!.keyId) {
          const idx = Math.floor((t.secCnt - 1) / mu.signer!.blockLen);
          if (broken.delete(idx) && !label) {
            this.malicious.push({
              frame: n,
              stream: mu.cfg.name,
              indicator: 'signature',
              reason: 'bad-signature',
              note: 'block end of a block with altered, missing or reordered frames',
            });
          }
        }
      }
      const tNs = relNs;
      for (const e of this.#events) {
        if (this.plan.mus[this.mus.indexOf(mu)]?.bayIndex !== e.ev.bay) continue;
        if (tNs >= e.ev.startS * 1e9 && tNs < e.ev.endS * 1e9 + 1e9 / mu.frameRate) {
          if (!e.from) {
            e.from = n;
            e.fromNs = tNs;
          }
          e.to = n;
          e.toNs = tNs;
        }
      }
    }
  }

  #epoch(relNs: number): string {
    return epochString(BigInt(this.plan.opts.startEpochS) * 1_000_000_000n + BigInt(Math.round(relNs)));
  }

  async maybeFlushSink(): Promise<void> {
    if (this.#sink.wantsFlush && this.#sink.flush) await this.#sink.flush();
  }

  genuineEvents(): GenuineEvent[] {
    const attack: TruthIndicator[] = ['mac', 'signature', 'logic', 'rate', 'badData', 'faultMatch', 'attackMatch', 'trip'];
    return this.#events
      .filter((e) => e.from > 0)
      .map((e) => ({
        kind: e.ev.kind,
        detail: e.ev.detail,
        streams: this.plan.mus.filter((m) => m.bayIndex === e.ev.bay).map((m) => m.name),
        fromFrame: e.from,
        toFrame: e.to,
        fromTs: this.#epoch(e.fromNs),
        toTs: this.#epoch(e.toNs),
        mustNotRaise: attack.filter((i) => !e.ev.mayRaise.includes(i)),
        mayRaise: e.ev.mayRaise,
      }));
  }
}

/** Build the default plan: ceil(mus/2) bays, MUs in redundant pairs (main 1 / main 2) per bay. */
export function buildPlan(opts: SimOptions): SimPlan {
  const rng = new Rng(opts.seed);
  const nBays = Math.ceil(opts.mus / 2);
  const bays = Array.from({ length: nBays }, (_, b) => {
    const load = 300 + rng.int(0, 300);
    return {
      name: `BAY${b + 1}`,
      params: { ...DEFAULT_BAY, freq: opts.freq, loadA: load, loadAngleDeg: 15 + rng.int(0, 20), loadSteps: [], faults: [] } as BayParams,
    };
  });
  const spc = opts.samplesPerSecond / opts.freq;
  // 9-2LE convention: smpRate = samples per nominal period (80/256), smpMod omitted; otherwise (IEC 61869-9
  // rates such as 4800/14400 at 50 Hz) smpRate = samples per second with smpMod = samplesPerSecond.
  const leStyle = spc === 80 || spc === 256;
  const mus: SimPlan['mus'] = Array.from({ length: opts.mus }, (_, i) => {
    const n = i + 1;
    const hex = n.toString(16).padStart(2, '0');
    const m: SimPlan['mus'][number] = {
      name: `MU${n}`,
      svID: `SVDE_MU${String(n).padStart(2, '0')}`,
      appId: 0x4000 + n,
      dst: `01:0c:cd:04:00:${hex}`,
      src: `02:53:56:00:00:${hex}`,
      vlans: opts.vlans,
      confRev: 1,
      samplesPerSecond: opts.samplesPerSecond,
      nofASDU: opts.nofASDU,
      smpSynch: opts.smpSynch,
      smpRate: leStyle ? spc : opts.samplesPerSecond,
      refrTm: opts.refrTm,
      channels: opts.channelSet,
      noise: { currentA: 0.2, voltageV: 20 },
      // an unsynchronised MU's counter is not aligned to the second
      latencyNs: 30_000 + 7_000 * i,
      smpCntOffset: opts.smpSynch === 0 ? rng.int(0, opts.samplesPerSecond - 1) : 0,
      bayIndex: Math.floor(i / 2),
      signed: opts.sign !== null && (opts.signMus === undefined || opts.signMus.includes(n)),
    };
    if (!leStyle) m.smpMod = 1;
    return m;
  });
  // Background load changes on every bay (genuine, must not raise anything).
  const events: PlannedEvent[] = [];
  bays.forEach((b, bi) => {
    const at1 = opts.durationS * 0.15;
    const at2 = opts.durationS * 0.85;
    b.params.loadSteps.push({ atS: at1, currentA: b.params.loadA * 1.3 }, { atS: at2, currentA: b.params.loadA * 0.9 });
    events.push({ kind: 'load-step', detail: `load +30 % at ${at1.toFixed(3)} s`, bay: bi, startS: at1, endS: at1 + 0.1, mayRaise: [] });
    events.push({ kind: 'load-step', detail: `load to 90 % at ${at2.toFixed(3)} s`, bay: bi, startS: at2, endS: at2 + 0.1, mayRaise: [] });
  });
  return { opts, bays, mus, events, rng };
}

export interface SimResult {
  frames: number;
  truth: Omit<GroundTruth, 'capture'> & { capture?: GroundTruth['capture'] };
  keys: { keyId: number; key: Sm2KeyPair; streams: string[] }[];
}

export async function runSimulation(opts: SimOptions, scenario: Scenario, sink: AsyncFrameSink): Promise<SimResult> {
  const plan = buildPlan(opts);
  scenario.prepare?.(plan);
  const keys: SimResult['keys'] = [];
  const bays = plan.bays.map((b) => new BaySignal(b.params, opts.samplesPerSecond));
  const mus = plan.mus.map((m, i) => {
    const cfg: MergingUnitConfig = { ...m, bay: bays[m.bayIndex]!, seed: (opts.seed * 7919 + i * 104729) >>> 0, epochS: opts.startEpochS };
    if (m.signed && opts.sign) {
      const key = deriveKeyPair(`${opts.keySeed ?? opts.seed}:${m.name}`);
      keys.push({ keyId: i + 1, key, streams: [m.name] });
      cfg.signing = { key, keyId: i + 1, mode: opts.sign };
      if (opts.secCntFromClock === true) {
        const block = opts.sign.kind === 'block' ? opts.sign.blockLen : 1;
        const frames = Math.floor((opts.startEpochS * opts.samplesPerSecond) / opts.nofASDU) % 0xfe000000;
        cfg.signing.firstSecCnt = 1 + block * Math.floor(frames / block);
      }
    }
    return new MergingUnit(cfg);
  });
  const ctx = new SimContext(plan, mus, sink);
  const endNs = opts.durationS * 1e9;
  // next departure per MU; linear scan is cheaper than a heap for a handful of MUs
  const next = mus.map((mu) => mu.departureNs(0));
  const frameLimit = mus.map((mu) => Math.floor(opts.durationS * mu.frameRate));
  for (;;) {
    let best = -1;
    let bestNs = Infinity;
    for (let i = 0; i < mus.length; i++) {
      if (mus[i]!.nextIndex < frameLimit[i]! && next[i]! < bestNs) {
        bestNs = next[i]!;
        best = i;
      }
    }
    if (best < 0 || bestNs > endNs + 1e9) break;
    const mu = mus[best]!;
    const f = mu.produce();
    next[best] = mu.departureNs(mu.nextIndex);
    if (scenario.onFrame) scenario.onFrame(ctx, mu, f);
    else ctx.emitFrame(mu, f);
    if (sink.wantsFlush) await ctx.maybeFlushSink();
  }
  ctx.flushAll();
  await ctx.maybeFlushSink();

  const streams: TruthStream[] = plan.mus.map((m, i) => ({
    name: m.name,
    svID: m.svID,
    appId: m.appId,
    dstMac: m.dst,
    srcMac: m.src,
    acceptedSourceMacs: [m.src],
    vlan: m.vlans.map((v) => ({ id: v.id, priority: v.priority })),
    confRev: m.confRev,
    datSet: m.datSet ?? null,
    smpRate: m.smpRate ?? null,
    smpMod: m.smpMod ?? null,
    samplesPerSecond: m.samplesPerSecond,
    nofASDU: m.nofASDU,
    framesPerSecond: m.samplesPerSecond / m.nofASDU,
    smpSynch: m.smpSynch,
    bay: plan.bays[m.bayIndex]!.name,
    channels: m.channels.channels.map((c) => ({
      name: c.name,
      kind: c.kind,
      phase: c.phase,
      scale: c.scale,
      ...(c.derived ? { derived: true } : {}),
    })),
    signed: mus[i]!.signer ? { keyId: mus[i]!.signer!.keyId, mode: opts.sign!.kind, blockLen: mus[i]!.signer!.blockLen } : null,
  }));
  const maxLoad = Math.max(...plan.bays.map((b) => b.params.loadA));
  const summary: Record<string, number> = {};
  for (const m of ctx.malicious) summary[`${m.indicator}/${m.reason}`] = (summary[`${m.indicator}/${m.reason}`] ?? 0) + 1;
  const truth: SimResult['truth'] = {
    format: 'svde-sim-truth/1',
    scenario: scenario.name,
    description: scenario.description,
    seed: opts.seed,
    start: new Date(opts.startEpochS * 1000).toISOString(),
    durationS: opts.durationS,
    config: {
      streams,
      keys: keys.map((k) => ({ keyId: k.keyId, file: `${k.keyId}.pem`, signerId: SM2_DEFAULT_ID, streams: k.streams })),
      protection: {
        overcurrentA: Math.round(maxLoad * 2.5),
        overvoltageV: Math.round(DEFAULT_BAY.voltageLN * 1.2),
        undervoltageV: Math.round(DEFAULT_BAY.voltageLN * 0.7),
        nominalCurrentA: maxLoad,
        nominalVoltageLN: Math.round(DEFAULT_BAY.voltageLN),
      },
      bays: plan.bays.map((b, bi) => ({ name: b.name, streams: plan.mus.filter((m) => m.bayIndex === bi).map((m) => m.name) })),
      rateTolerance: 0.1,
    },
    malicious: ctx.malicious,
    deleted: ctx.deleted,
    genuineEvents: ctx.genuineEvents(),
    summary,
  };
  return { frames: ctx.frameNo, truth, keys };
}
