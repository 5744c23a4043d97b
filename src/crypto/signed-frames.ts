// Key content (KC) and block digests of signed SV frames, exactly per the shared spec signed-frames.md:
//   KC = APPID (2) ‖ svID bytes ‖ secCnt (4) ‖ per ASDU: smpCnt (2) ‖ confRev (4) ‖ smpSynch (1) ‖
//        the first 4 bytes (the value) of every 8-byte value/quality quantity of its seqData.
//   mode 1: M = KC;  modes 2/3: d_k = SM3(KC_k), M = secCnt of the first frame (4) ‖ B (2) ‖ d_1 ‖ … ‖ d_B.
// svID is the first ASDU's (all ASDUs of a stream carry the same svID); an absent smpSynch counts as 0.
import { sm3 } from './sm3.ts';
import { sm2SignWithZ, sm2Z, signatureToRaw } from './sm2.ts';
import type { Sm2KeyPair } from './sm2.ts';
import { patchSignature, patchU32, readU16 } from '../sv/encode.ts';
import type { FrameLayout } from '../sv/types.ts';
import type { FrameBatch } from '../native/index.ts';

/** Size of one quantity in seqData (INT32 value + UINT32 quality); only its first 4 bytes are signed. */
export const QUANTITY_SIZE = 8;

export interface KcAsdu {
  smpCnt: number;
  confRev: number;
  smpSynch?: number;
  seqData: Uint8Array;
}
export interface KcInput {
  appId: number;
  svID: Uint8Array | string;
  secCnt: number;
  asdus: KcAsdu[];
}

export function keyContent(f: KcInput): Uint8Array {
  const svID = typeof f.svID === 'string' ? new TextEncoder().encode(f.svID) : f.svID;
  let len = 2 + svID.length + 4;
  for (const a of f.asdus) len += 7 + Math.floor(a.seqData.length / QUANTITY_SIZE) * 4;
  const out = new Uint8Array(len);
  let o = 0;
  out[o++] = f.appId >>> 8;
  out[o++] = f.appId & 0xff;
  out.set(svID, o);
  o += svID.length;
  patchU32(out, o, f.secCnt);
  o += 4;
  for (const a of f.asdus) {
    out[o++] = a.smpCnt >>> 8;
    out[o++] = a.smpCnt & 0xff;
    patchU32(out, o, a.confRev);
    o += 4;
    out[o++] = (a.smpSynch ?? 0) & 0xff;
    const n = Math.floor(a.seqData.length / QUANTITY_SIZE);
    for (let q = 0; q < n; q++) {
      out.set(a.seqData.subarray(q * QUANTITY_SIZE, q * QUANTITY_SIZE + 4), o);
      o += 4;
    }
  }
  return out;
}

/** KC read straight out of an encoded frame (secCnt taken from its trailer). */
export function keyContentOfEncoded(buf: Uint8Array, layout: FrameLayout): Uint8Array {
  if (layout.secCnt < 0) throw new Error('frame has no security trailer');
  const first = layout.asdus[0]!;
  const secCnt =
    ((buf[layout.secCnt]! << 24) | (buf[layout.secCnt + 1]! << 16) | (buf[layout.secCnt + 2]! << 8) | buf[layout.secCnt + 3]!) >>> 0;
  return keyContent({
    appId: readU16(buf, layout.appId),
    svID: buf.subarray(first.svID, first.svID + first.svIDLength),
    secCnt,
    asdus: layout.asdus.map((a) => ({
      smpCnt: readU16(buf, a.smpCnt),
      confRev: ((buf[a.confRev]! << 24) | (buf[a.confRev + 1]! << 16) | (buf[a.confRev + 2]! << 8) | buf[a.confRev + 3]!) >>> 0,
      smpSynch: a.smpSynch >= 0 ? buf[a.smpSynch]! : 0,
      seqData: buf.subarray(a.seqData, a.seqData + a.seqDataLength),
    })),
  });
}

/** KC of frame i of a decoded batch (secCnt from its trailer): what the appliance verifies. */
export function keyContentOfBatch(b: FrameBatch, i: number): Uint8Array {
  const j0 = b.asduStart(i);
  const n = b.asduCount(i);
  const asdus: KcAsdu[] = [];
  for (let k = 0; k < n; k++) {
    const j = j0 + k;
    const sync = b.smpSynch(j);
    asdus.push({ smpCnt: b.smpCnt(j), confRev: b.confRev(j), smpSynch: sync ?? 0, seqData: b.seqData(j) });
  }
  const c = b.cols;
  const svOff = c.rawOff[i]! + c.svIdOff[j0]!;
  return keyContent({ appId: b.appId(i), svID: c.raw.subarray(svOff, svOff + c.svIdLen[j0]!), secCnt: c.secCnt[i]!, asdus });
}

/** M of a block: secCnt of its first frame ‖ B ‖ d_1 ‖ … ‖ d_B. */
export function blockMessage(firstSecCnt: number, digests: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(6 + 32 * digests.length);
  patchU32(out, 0, firstSecCnt);
  out[4] = digests.length >>> 8;
  out[5] = digests.length & 0xff;
  digests.forEach((d, i) => out.set(d, 6 + 32 * i));
  return out;
}

export type SignMode = { kind: 'frame' } | { kind: 'block'; blockLen: number };

/**
 * The merging unit's signer: assigns secCnt, computes KC from the already-encoded frame, and writes the
 * signature in place. Frames must pass through it in transmission order. In block mode the caller
 * must have encoded the trailer with mode 2 (10 bytes) for members and mode 3 (74 bytes) for the block end;
 * `modeOfNext()` says which template to use for the next frame.
 */
export class FrameSigner {
  readonly mode: SignMode;
  readonly keyId: number;
  #key: Sm2KeyPair;
  #z: Uint8Array;
  #secCnt: number;
  #digests: Uint8Array[] = [];
  #blockStart = 0;

  constructor(key: Sm2KeyPair, keyId: number, mode: SignMode, opts: { id?: string; firstSecCnt?: number } = {}) {
    this.#key = key;
    this.keyId = keyId;
    this.mode = mode;
    this.#z = sm2Z(key.pub, opts.id);
    this.#secCnt = opts.firstSecCnt ?? 1;
  }

  /** Trailer mode the next frame must carry. */
  modeOfNext(): 1 | 2 | 3 {
    if (this.mode.kind === 'frame') return 1;
    return this.#digests.length === this.mode.blockLen - 1 ? 3 : 2;
  }

  get blockLen(): number {
    return this.mode.kind === 'frame' ? 1 : this.mode.blockLen;
  }

  /** Patch secCnt and (modes 1/3) the signature of an encoded frame. Returns the secCnt used. */
  sign(buf: Uint8Array, layout: FrameLayout): number {
    const secCnt = this.#secCnt++;
    patchU32(buf, layout.secCnt, secCnt);
    const kc = keyContentOfEncoded(buf, layout);
    if (this.mode.kind === 'frame') {
      patchSignature(buf, layout, signatureToRaw(sm2SignWithZ(this.#key.d, this.#z, kc)));
      return secCnt;
    }
    if (this.#digests.length === 0) this.#blockStart = secCnt;
    this.#digests.push(sm3(kc));
    if (this.#digests.length === this.mode.blockLen) {
      const m = blockMessage(this.#blockStart, this.#digests);
      patchSignature(buf, layout, signatureToRaw(sm2SignWithZ(this.#key.d, this.#z, m)));
      this.#digests = [];
    }
    return secCnt;
  }
}
