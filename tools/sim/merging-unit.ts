// A merging unit: samples its bay's primary quantities at fs, quantises them per its channel set,
// and publishes SV frames of nofASDU consecutive samples. The frame is encoded once as a template; per
// frame only smpCnt, refrTm, seqData and the security trailer are patched in place.
import { encodeFrameInto, encodedFrameLength, patchU16, patchU32, readU16, writeUtcTime } from '../../src/sv/encode.ts';
import type { FrameLayout, SvAsdu, SvFrame, VlanTag } from '../../src/sv/types.ts';
import { FrameSigner } from '../../src/crypto/signed-frames.ts';
import type { SignMode } from '../../src/crypto/signed-frames.ts';
import type { Sm2KeyPair } from '../../src/crypto/sm2.ts';
import type { ChannelSet } from '../../src/model/channels.ts';
import { QUALITY } from '../../src/model/channels.ts';
import type { BaySignal } from './waveforms.ts';
import { Rng } from './rng.ts';

export interface MuSigning {
  key: Sm2KeyPair;
  keyId: number;
  mode: SignMode;
  signerId?: string;
  firstSecCnt?: number;
}

export interface MergingUnitConfig {
  name: string;
  svID: string;
  appId: number;
  dst: string;
  src: string;
  vlans: VlanTag[];
  confRev: number;
  datSet?: string;
  /** Sampling rate, samples per second; smpCnt counts 0 … samplesPerSecond − 1 and wraps. */
  samplesPerSecond: number;
  nofASDU: number;
  smpSynch: number;
  /** smpRate field as sent (omitted when undefined). */
  smpRate?: number;
  smpMod?: number;
  refrTm: boolean;
  gmIdentity?: Uint8Array;
  channels: ChannelSet;
  /** RMS noise added per sample, A and V. */
  noise: { currentA: number; voltageV: number };
  /** Delay from the last sample of a frame to its departure, ns. */
  latencyNs: number;
  /** smpCnt of global sample index k is (k + smpCntOffset) mod samplesPerSecond. */
  smpCntOffset: number;
  signing?: MuSigning;
  bay: BaySignal;
  seed: number;
  /** Epoch seconds of sample index 0 (for refrTm). */
  epochS: number;
}

interface Template {
  buf: Uint8Array;
  layout: FrameLayout;
}

/** The frame just produced. `buf` is reused by the next produce(): copy it to keep it. */
export interface ProducedFrame {
  buf: Uint8Array;
  length: number;
  layout: FrameLayout;
  /** Departure time, ns after the simulation start. */
  relNs: number;
  /** 0-based frame index of this MU. */
  index: number;
  /** Global sample index of the first ASDU. */
  firstSample: number;
  /** secCnt when signed, else -1. */
  secCnt: number;
}

export class MergingUnit {
  readonly cfg: MergingUnitConfig;
  readonly signer: FrameSigner | null;
  #templates = new Map<number, Template>(); // by trailer mode (0 = unsigned)
  #rng: Rng;
  #phys = new Float64Array(8);
  #map: Int32Array;
  #inv: Float64Array;
  #sigma: Float64Array;
  /** Quality word per channel; scenarios may change it. */
  quality: Uint32Array;
  /** Scenarios may shift the counter (e.g. a jump); applies from the next frame. */
  smpCntOffset: number;
  #index = 0;

  constructor(cfg: MergingUnitConfig) {
    this.cfg = cfg;
    this.smpCntOffset = cfg.smpCntOffset;
    this.#rng = new Rng(cfg.seed);
    const n = cfg.channels.channels.length;
    this.#map = new Int32Array(n);
    this.#inv = new Float64Array(n);
    this.#sigma = new Float64Array(n);
    this.quality = new Uint32Array(n);
    cfg.channels.channels.forEach((c, i) => {
      this.#map[i] = (c.kind === 'current' ? 0 : 4) + 'ABCN'.indexOf(c.phase);
      this.#inv[i] = 1 / c.scale;
      this.#sigma[i] = c.kind === 'current' ? cfg.noise.currentA : cfg.noise.voltageV;
      this.quality[i] = c.derived ? QUALITY.derived : 0;
    });
    this.signer = cfg.signing
      ? new FrameSigner(cfg.signing.key, cfg.signing.keyId, cfg.signing.mode, {
          ...(cfg.signing.signerId !== undefined ? { id: cfg.signing.signerId } : {}),
          ...(cfg.signing.firstSecCnt !== undefined ? { firstSecCnt: cfg.signing.firstSecCnt } : {}),
        })
      : null;
  }

  get frameRate(): number {
    return this.cfg.samplesPerSecond / this.cfg.nofASDU;
  }
  get nextIndex(): number {
    return this.#index;
  }

  /** Departure time of frame j, ns after the start (exact integer arithmetic). */
  departureNs(j: number): number {
    const k = j * this.cfg.nofASDU + this.cfg.nofASDU - 1;
    const fs = this.cfg.samplesPerSecond;
    const sec = Math.floor(k / fs);
    return sec * 1e9 + Math.floor(((k - sec * fs) * 1e9) / fs) + this.cfg.latencyNs;
  }

  /** The frame as an object (fields of the frame just produced), for scenarios that re-encode variants. */
  frameObject(f: ProducedFrame): SvFrame {
    const asdus: SvAsdu[] = f.layout.asdus.map((a) => {
      const asdu: SvAsdu = {
        svID: this.cfg.svID,
        smpCnt: readU16(f.buf, a.smpCnt),
        confRev: this.cfg.confRev,
        seqData: f.buf.slice(a.seqData, a.seqData + a.seqDataLength),
      };
      if (this.cfg.datSet !== undefined) asdu.datSet = this.cfg.datSet;
      if (a.refrTm >= 0) {
        const b = f.buf;
        const o = a.refrTm;
        asdu.refrTm = {
          seconds: ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0,
          fraction: (b[o + 4]! << 16) | (b[o + 5]! << 8) | b[o + 6]!,
          quality: b[o + 7]!,
        };
      }
      asdu.smpSynch = this.cfg.smpSynch;
      if (this.cfg.smpRate !== undefined) asdu.smpRate = this.cfg.smpRate;
      if (this.cfg.smpMod !== undefined) asdu.smpMod = this.cfg.smpMod;
      if (this.cfg.gmIdentity) asdu.gmIdentity = this.cfg.gmIdentity;
      return asdu;
    });
    const frame: SvFrame = { dst: this.cfg.dst, src: this.cfg.src, vlans: this.cfg.vlans, appId: this.cfg.appId, asdus };
    if (f.layout.trailer >= 0) {
      const b = f.buf;
      const t = f.layout.trailer;
      const mode = b[t + 1]! as 1 | 2 | 3;
      frame.security = {
        version: b[t]!,
        mode,
        keyId: readU16(b, t + 2),
        secCnt: ((b[t + 4]! << 24) | (b[t + 5]! << 16) | (b[t + 6]! << 8) | b[t + 7]!) >>> 0,
        blockLen: readU16(b, t + 8),
      };
      if (f.layout.signature >= 0) frame.security.signature = b.slice(f.layout.signature, f.layout.signature + 64);
    }
    return frame;
  }

  #template(mode: number): Template {
    let t = this.#templates.get(mode);
    if (t) return t;
    const c = this.cfg;
    const asdus: SvAsdu[] = [];
    for (let i = 0; i < c.nofASDU; i++) {
      const a: SvAsdu = {
        svID: c.svID,
        smpCnt: 0,
        confRev: c.confRev,
        seqData: new Uint8Array(8 * c.channels.channels.length),
        smpSynch: c.smpSynch,
      };
      if (c.datSet !== undefined) a.datSet = c.datSet;
      if (c.refrTm) a.refrTm = { seconds: 0, fraction: 0, quality: 0 };
      if (c.smpRate !== undefined) a.smpRate = c.smpRate;
      if (c.smpMod !== undefined) a.smpMod = c.smpMod;
      if (c.gmIdentity) a.gmIdentity = c.gmIdentity;
      asdus.push(a);
    }
    const frame: SvFrame = { dst: c.dst, src: c.src, vlans: c.vlans, appId: c.appId, asdus };
    if (mode !== 0 && this.signer)
      frame.security = { version: 1, mode: mode as 1 | 2 | 3, keyId: this.signer.keyId, secCnt: 0, blockLen: this.signer.blockLen };
    const buf = new Uint8Array(encodedFrameLength(frame));
    t = { buf, layout: encodeFrameInto(frame, buf, 0) };
    this.#templates.set(mode, t);
    return t;
  }

  /** Produce the next frame (sample values, counters, signature). */
  produce(): ProducedFrame {
    const c = this.cfg;
    const j = this.#index++;
    const mode = this.signer ? this.signer.modeOfNext() : 0;
    const t = this.#template(mode);
    const buf = t.buf;
    const layout = t.layout;
    const fs = c.samplesPerSecond;
    const first = j * c.nofASDU;
    const n = this.#map.length;
    for (let a = 0; a < c.nofASDU; a++) {
      const k = first + a;
      const al = layout.asdus[a]!;
      patchU16(buf, al.smpCnt, (((k + this.smpCntOffset) % fs) + fs) % fs);
      if (al.refrTm >= 0) {
        const sec = Math.floor(k / fs);
        const frac = Math.floor(((k - sec * fs) * 16777216) / fs);
        writeUtcTime(buf, al.refrTm, { seconds: c.epochS + sec, fraction: frac, quality: c.smpSynch > 0 ? 0x0a : 0x2a });
      }
      c.bay.sample(k, this.#phys);
      let o = al.seqData;
      for (let i = 0; i < n; i++) {
        const phys = this.#phys[this.#map[i]!]! + this.#sigma[i]! * this.#rng.normal();
        let raw = Math.round(phys * this.#inv[i]!);
        if (raw > 2147483647) raw = 2147483647;
        else if (raw < -2147483648) raw = -2147483648;
        patchU32(buf, o, raw | 0);
        patchU32(buf, o + 4, this.quality[i]!);
        o += 8;
      }
    }
    let secCnt = -1;
    if (this.signer) secCnt = this.signer.sign(buf, layout);
    return { buf, length: layout.length, layout, relNs: this.departureNs(j), index: j, firstSample: first, secCnt };
  }
}
