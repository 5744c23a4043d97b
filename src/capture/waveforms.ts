// The last cycles of every configured stream, scaled to engineering units, for the panel's live waveform
// and phasor diagram. Samples are copied into a per-stream ring as batches pass (a few stores per ASDU);
// phasors are computed only when someone asks (the panel polls a few times a second), never per sample.
import type { FrameBatch } from '../native/index.ts';
import { samplesPerCycle } from '../detect/cycles.ts';
import { StreamRegistry } from '../detect/streams.ts';
import { type ExpectedStream } from '../model/streams.ts';
import type { WaveformView } from '../model/device.ts';

const CYCLES = 2;

interface Tap {
  stream: ExpectedStream;
  spc: number;
  len: number;
  /** [c * len + slot] in physical units. */
  ring: Float64Array;
  scale: Float64Array;
  offset: Float64Array;
  /** Samples written so far (slot = written % len). */
  written: number;
  lastTsNs: bigint;
}

export class WaveformTap {
  readonly #registry: StreamRegistry;
  readonly #taps: Array<Tap | undefined>;
  readonly #byName = new Map<string, number>();

  constructor(streams: readonly ExpectedStream[]) {
    this.#registry = new StreamRegistry(streams);
    this.#taps = this.#registry.streams.map((e) => {
      const spc = samplesPerCycle(e);
      const ch = e.cfg.channels;
      if (spc === undefined || ch === undefined) return undefined;
      const len = spc * CYCLES;
      return {
        stream: e.cfg,
        spc,
        len,
        ring: new Float64Array(ch.length * len),
        written: 0,
        lastTsNs: 0n,
        scale: Float64Array.from(ch, (d) => d.scale),
        offset: Float64Array.from(ch, (d) => d.offset ?? 0),
      };
    });
    this.#registry.streams.forEach((e) => this.#byName.set(e.cfg.name, e.index));
  }

  onBatch(b: FrameBatch): void {
    const c = b.cols;
    for (let i = 0; i < b.count; i++) {
      if (c.status[i] !== 0) continue;
      const e = this.#registry.lookup(c, i);
      if (e === undefined || !this.#registry.svIdMatched) continue;
      const t = this.#taps[e.index];
      if (t === undefined) continue;
      const chans = t.scale.length;
      const j0 = c.asduStart[i]!;
      for (let k = 0; k < c.asduCount[i]!; k++) {
        const j = j0 + k;
        if (c.valueCount[j]! < chans) break;
        const base = c.valueStart[j]!;
        const slot = t.written % t.len;
        for (let ch = 0; ch < chans; ch++) t.ring[ch * t.len + slot] = c.values[base + ch]! * t.scale[ch]! + t.offset[ch]!;
        t.written++;
      }
      t.lastTsNs = c.tsNs[i]!;
    }
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }

  view(name: string): WaveformView | undefined {
    const idx = this.#byName.get(name);
    if (idx === undefined) return undefined;
    const t = this.#taps[idx];
    const s = this.#registry.streams[idx]!.cfg;
    if (t === undefined)
      return { stream: name, tsNs: '0', samplesPerSecond: s.samplesPerSecond, frequencyHz: null, channels: [], phasors: [] };
    const have = Math.min(t.written, t.len);
    const first = t.written - have;
    const descs = s.channels!;
    const channels = descs.map((d, ch) => {
      const samples = new Array<number>(have);
      for (let k = 0; k < have; k++) samples[k] = t.ring[ch * t.len + ((first + k) % t.len)]!;
      return { name: d.name, unit: unitOf(d.kind), samples };
    });
    const nominal = s.nominalHz ?? 50;
    const phasors =
      have < t.spc
        ? []
        : channels.map((c, ch) => {
            const [re, im] = dft(c.samples, have - t.spc, t.spc);
            return { channel: c.name, magnitude: Math.hypot(re, im), angleDeg: (Math.atan2(im, re) * 180) / Math.PI, unit: c.unit, ch };
          });
    // Frequency from the phase advance over one cycle of the strongest channel (as the phasor stage does).
    let frequencyHz: number | null = null;
    if (have >= 2 * t.spc && phasors.length > 0) {
      const best = phasors.reduce((a, p) => (p.magnitude > a.magnitude ? p : a));
      const samples = channels[best.ch]!.samples;
      const [r0, i0] = dft(samples, have - 2 * t.spc, t.spc);
      const [r1, i1] = dft(samples, have - t.spc, t.spc);
      if (Math.hypot(r0, i0) > 1e-9) {
        const dphi = Math.atan2(i1 * r0 - r1 * i0, r1 * r0 + i1 * i0);
        frequencyHz = nominal * (1 + dphi / (2 * Math.PI));
      }
    }
    return {
      stream: name,
      tsNs: t.lastTsNs.toString(),
      samplesPerSecond: s.samplesPerSecond,
      frequencyHz,
      channels,
      phasors: phasors.map(({ ch: _ch, ...p }) => p),
    };
  }
}

function unitOf(kind: string): string {
  return kind === 'current' ? 'A' : kind === 'voltage' ? 'V' : '';
}

/** RMS phasor of one cycle starting at `from` (angle reference: the window's first sample). */
function dft(x: readonly number[], from: number, n: number): [number, number] {
  let re = 0;
  let im = 0;
  for (let k = 0; k < n; k++) {
    const a = (2 * Math.PI * k) / n;
    re += x[from + k]! * Math.cos(a);
    im -= x[from + k]! * Math.sin(a);
  }
  const f = Math.SQRT2 / n;
  return [re * f, im * f];
}
