// Observed streams and capture health, per report interval: what the operator sees before any detection
// runs — which merging units publish (source MAC, APPID, svID), at what rate, their last smpCnt, decode
// errors, capture loss (kernel and queue drops, never confused with missing samples) and the
// arrival-to-JS latency of the frames. Works on the batch columns; no per-frame allocation.
import { LatencyHistogram } from './histogram.ts';
import { STATUS_NOT_SV, STATUS_TRUNCATED_ETHERNET, type FrameBatch } from '../native/index.ts';
import type { LiveCaptureStats } from '../native/index.ts';

export interface StreamReport {
  src: string;
  appId: number;
  svId: string;
  framesPerS: number;
  frames: number;
  lastSmpCnt: number;
  confRev: number;
  noAsdu: number;
  simulated: number;
  /** 802.1Q priority of the outer tag of the last frame; null when untagged. */
  vlanPriority: number | null;
}

export interface MonitorReport {
  t: string;
  scenario?: string;
  intervalS: number;
  framesPerS: number;
  frames: number;
  decodeErrors: number;
  /** Sources beyond the monitor's bound (1024 streams): their frames are counted here, not per stream. */
  overflowFrames?: number;
  streams: StreamReport[];
  capture?: Pick<LiveCaptureStats, 'received' | 'kernelDrops' | 'ifDrops' | 'queueDrops' | 'linkUp'>;
  latencyMs?: { p50: number; p99: number; max: number };
}

interface StreamState {
  src: string;
  appId: number;
  svId: string;
  frames: number;
  intervalFrames: number;
  lastSmpCnt: number;
  confRev: number;
  noAsdu: number;
  simulated: number;
  vlanPriority: number | null;
}

const MAX_STREAMS = 1024; // bounded state: a flood of random sources cannot grow memory without limit

export class StreamMonitor {
  #streams = new Map<number, Map<number, StreamState>>();
  #count = 0;
  #overflow = 0;
  #frames = 0;
  #intervalFrames = 0;
  #decodeErrors = 0;
  // A log-bucket histogram: constant memory and no sort at report time (the real-time thread reports).
  readonly #latency = new LatencyHistogram();
  #since = process.hrtime.bigint();
  #scenario: string | undefined;
  #captureStats: (() => LiveCaptureStats) | undefined;

  setScenario(name: string): void {
    this.#scenario = name;
  }

  attachCapture(stats: () => LiveCaptureStats): void {
    this.#captureStats = stats;
  }

  /** arrivalNs: CLOCK_REALTIME when JS received the batch (live), undefined offline. */
  onBatch(b: FrameBatch, arrivalNs: bigint | undefined): void {
    const c = b.cols;
    const raw = c.raw;
    for (let i = 0; i < b.count; i++) {
      if (c.status[i] !== 0) {
        if (c.status[i] !== STATUS_NOT_SV && c.status[i] !== STATUS_TRUNCATED_ETHERNET) this.#decodeErrors++;
        continue;
      }
      this.#frames++;
      this.#intervalFrames++;
      const o = c.rawOff[i]!;
      // Source MAC as a 48-bit number: an allocation-free map key.
      const srcKey =
        raw[o + 6]! * 2 ** 40 +
        raw[o + 7]! * 2 ** 32 +
        ((raw[o + 8]! << 24) >>> 0) +
        (raw[o + 9]! << 16) +
        (raw[o + 10]! << 8) +
        raw[o + 11]!;
      let byApp = this.#streams.get(srcKey);
      if (byApp === undefined) {
        byApp = new Map();
        this.#streams.set(srcKey, byApp);
      }
      const appId = c.appId[i]!;
      let s = byApp.get(appId);
      if (s === undefined) {
        if (this.#count >= MAX_STREAMS) {
          this.#overflow++;
          continue;
        }
        const j0 = c.asduStart[i]!;
        s = {
          src: b.src(i),
          appId,
          svId: c.asduCount[i]! > 0 ? b.svId(j0) : '',
          frames: 0,
          intervalFrames: 0,
          lastSmpCnt: 0,
          confRev: 0,
          noAsdu: 0,
          simulated: 0,
          vlanPriority: null,
        };
        byApp.set(appId, s);
        this.#count++;
      }
      s.frames++;
      s.intervalFrames++;
      const n = c.asduCount[i]!;
      if (n > 0) {
        const last = c.asduStart[i]! + n - 1;
        s.lastSmpCnt = c.smpCnt[last]!;
        s.confRev = c.confRev[last]!;
      }
      s.noAsdu = c.noAsdu[i]!;
      if ((c.reserved1[i]! & 0x8000) !== 0) s.simulated++;
      s.vlanPriority = c.vlanCount[i]! > 0 ? c.tci0[i]! >> 13 : null;
    }
    if (arrivalNs !== undefined) {
      for (let i = 0; i < b.count; i++) {
        const lat = Number(arrivalNs - c.tsNs[i]!);
        this.#latency.record(lat / 1000);
      }
    }
  }

  /** The report for the interval since the previous call; resets the interval counters. */
  report(): MonitorReport {
    const now = process.hrtime.bigint();
    const intervalS = Math.max(1e-3, Number(now - this.#since) / 1e9);
    this.#since = now;
    const streams: StreamReport[] = [];
    for (const byApp of this.#streams.values()) {
      for (const s of byApp.values()) {
        streams.push({
          src: s.src,
          appId: s.appId,
          svId: s.svId,
          framesPerS: Math.round(s.intervalFrames / intervalS),
          frames: s.frames,
          lastSmpCnt: s.lastSmpCnt,
          confRev: s.confRev,
          noAsdu: s.noAsdu,
          simulated: s.simulated,
          vlanPriority: s.vlanPriority,
        });
        s.intervalFrames = 0;
      }
    }
    streams.sort((a, b) => a.appId - b.appId || a.src.localeCompare(b.src));
    const r: MonitorReport = {
      t: new Date().toISOString(),
      intervalS: Math.round(intervalS * 1000) / 1000,
      framesPerS: Math.round(this.#intervalFrames / intervalS),
      frames: this.#frames,
      decodeErrors: this.#decodeErrors,
      streams,
    };
    if (this.#scenario !== undefined) r.scenario = this.#scenario;
    if (this.#overflow > 0) r.overflowFrames = this.#overflow;
    this.#intervalFrames = 0;
    if (this.#captureStats !== undefined) {
      const s = this.#captureStats();
      r.capture = { received: s.received, kernelDrops: s.kernelDrops, ifDrops: s.ifDrops, queueDrops: s.queueDrops, linkUp: s.linkUp };
    }
    if (this.#latency.count > 0) {
      const ms = (us: number | null): number => Math.round(us ?? 0) / 1e3;
      r.latencyMs = { p50: ms(this.#latency.quantile(0.5)), p99: ms(this.#latency.quantile(0.99)), max: ms(this.#latency.max) };
      this.#latency.reset();
    }
    return r;
  }

  static format(r: MonitorReport): string {
    const head = [
      r.t.slice(11, 19),
      r.scenario !== undefined ? `scenario ${r.scenario}` : undefined,
      `${r.framesPerS} frames/s`,
      `${r.streams.length} streams`,
      `decode errors ${r.decodeErrors}`,
      r.capture !== undefined
        ? `kernel drops ${r.capture.kernelDrops} queue drops ${r.capture.queueDrops}${r.capture.linkUp ? '' : ' LINK DOWN'}`
        : undefined,
      r.latencyMs !== undefined ? `latency p50 ${r.latencyMs.p50} ms p99 ${r.latencyMs.p99} ms max ${r.latencyMs.max} ms` : undefined,
    ].filter((x) => x !== undefined);
    const lines = [head.join(' | ')];
    for (const s of r.streams) {
      lines.push(
        `  ${s.src}  appId 0x${s.appId.toString(16).padStart(4, '0')}  ${s.svId.padEnd(22)} ${String(s.framesPerS).padStart(6)} f/s  smpCnt ${String(s.lastSmpCnt).padStart(5)}  confRev ${s.confRev}${s.simulated > 0 ? `  simulate-bit ×${s.simulated}` : ''}`,
      );
    }
    return lines.join('\n');
  }
}
