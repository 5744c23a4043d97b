// The only TypeScript code that writes SV frame bytes (Ethernet, VLAN tags, SV header, BER savPdu,
// security trailer). The simulator encodes a template once per stream and then patches the per-frame
// fields in place through the returned FrameLayout (see patch* below).
import { SvdeError } from '../model/errors.ts';
import { RESERVED1_SIMULATE, SECURITY_VERSION, SV_ETHERTYPE, TPID_8021Q, securityTrailerLength } from './types.ts';
import type { AsduLayout, FrameLayout, SecurityTrailer, SvAsdu, SvFrame, UtcTime } from './types.ts';

// savPdu / ASDU tags (IEC 61850-9-2 Table 14 and Ed2.1 gmIdentity).
const TAG_SAVPDU = 0x60;
const TAG_NOASDU = 0x80;
const TAG_SEQASDU = 0xa2;
const TAG_ASDU = 0x30;
const TAG_SVID = 0x80;
const TAG_DATSET = 0x81;
const TAG_SMPCNT = 0x82;
const TAG_CONFREV = 0x83;
const TAG_REFRTM = 0x84;
const TAG_SMPSYNCH = 0x85;
const TAG_SMPRATE = 0x86;
const TAG_SEQDATA = 0x87;
const TAG_SMPMOD = 0x88;
const TAG_GMIDENTITY = 0x89;

export class EncodeError extends SvdeError {
  readonly code = 'ENCODE';
  override name = 'EncodeError';
}

/** Parse "01:0c:cd:04:00:01" (or '-' separated) into 6 bytes. */
export function parseMac(mac: string | Uint8Array): Uint8Array {
  if (typeof mac !== 'string') {
    if (mac.length !== 6) throw new EncodeError(`MAC address must be 6 bytes, got ${mac.length}`);
    return mac;
  }
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new EncodeError(`invalid MAC address "${mac}" (expected six hex pairs like 01:0c:cd:04:00:01)`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Bytes a BER length field takes (short form < 128, else 0x81/0x82 long form). */
export function berLengthSize(len: number): number {
  if (len < 0x80) return 1;
  if (len < 0x100) return 2;
  if (len < 0x10000) return 3;
  throw new EncodeError(`BER length ${len} too large for an SV frame`);
}

function writeBerLength(buf: Uint8Array, off: number, len: number): number {
  if (len < 0x80) {
    buf[off] = len;
    return off + 1;
  }
  if (len < 0x100) {
    buf[off] = 0x81;
    buf[off + 1] = len;
    return off + 2;
  }
  buf[off] = 0x82;
  buf[off + 1] = len >>> 8;
  buf[off + 2] = len & 0xff;
  return off + 3;
}

function tlvSize(contentLen: number): number {
  return 1 + berLengthSize(contentLen) + contentLen;
}

const utf8 = new TextEncoder();

function checkRange(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new EncodeError(`${name} must be an integer 0..${max}, got ${v}`);
}

interface AsduPlan {
  svID: Uint8Array;
  datSet: Uint8Array | null;
  content: number;
  asdu: SvAsdu;
}

function planAsdu(a: SvAsdu): AsduPlan {
  checkRange('smpCnt', a.smpCnt, 0xffff);
  checkRange('confRev', a.confRev, 0xffffffff);
  if (a.smpSynch !== undefined) checkRange('smpSynch', a.smpSynch, 0xff);
  if (a.smpRate !== undefined) checkRange('smpRate', a.smpRate, 0xffff);
  if (a.smpMod !== undefined) checkRange('smpMod', a.smpMod, 0xffff);
  if (a.gmIdentity !== undefined && a.gmIdentity.length !== 8) throw new EncodeError('gmIdentity must be 8 bytes');
  const svID = utf8.encode(a.svID);
  const datSet = a.datSet === undefined ? null : utf8.encode(a.datSet);
  let content = tlvSize(svID.length);
  if (datSet) content += tlvSize(datSet.length);
  content += tlvSize(2) + tlvSize(4);
  if (a.refrTm) content += tlvSize(8);
  if (a.smpSynch !== undefined) content += tlvSize(1);
  if (a.smpRate !== undefined) content += tlvSize(2);
  content += tlvSize(a.seqData.length);
  if (a.smpMod !== undefined) content += tlvSize(2);
  if (a.gmIdentity) content += tlvSize(8);
  return { svID, datSet, content, asdu: a };
}

/** Encoded size of a frame, so callers can preallocate. */
export function encodedFrameLength(frame: SvFrame): number {
  return encodePlan(frame).total;
}

function encodePlan(frame: SvFrame) {
  if (frame.asdus.length < 1 || frame.asdus.length > 255) throw new EncodeError(`noASDU must be 1..255, got ${frame.asdus.length}`);
  checkRange('appId', frame.appId, 0xffff);
  const vlans = frame.vlans ?? [];
  if (vlans.length > 2) throw new EncodeError('at most 2 VLAN tags');
  for (const v of vlans) {
    checkRange('VLAN id', v.id, 4095);
    checkRange('VLAN priority', v.priority, 7);
  }
  const plans = frame.asdus.map(planAsdu);
  const seqContent = plans.reduce((s, p) => s + tlvSize(p.content), 0);
  const pduContent = tlvSize(1) + tlvSize(seqContent);
  const apdu = tlvSize(pduContent);
  const svLength = 8 + apdu;
  if (svLength > 0xffff) throw new EncodeError('SV Length exceeds 65535');
  const trailerLen = frame.security ? securityTrailerLength(frame.security.mode) : 0;
  const total = 12 + vlans.length * 4 + 2 + svLength + trailerLen;
  return { plans, seqContent, pduContent, svLength, trailerLen, total, vlans };
}

/** Write UtcTime (8 bytes) at off. */
export function writeUtcTime(buf: Uint8Array, off: number, t: UtcTime): void {
  const s = t.seconds >>> 0;
  buf[off] = s >>> 24;
  buf[off + 1] = (s >>> 16) & 0xff;
  buf[off + 2] = (s >>> 8) & 0xff;
  buf[off + 3] = s & 0xff;
  const f = t.fraction & 0xffffff;
  buf[off + 4] = f >>> 16;
  buf[off + 5] = (f >>> 8) & 0xff;
  buf[off + 6] = f & 0xff;
  buf[off + 7] = t.quality & 0xff;
}

function writeU(buf: Uint8Array, off: number, v: number, bytes: number): void {
  for (let i = bytes - 1; i >= 0; i--) {
    buf[off + i] = v & 0xff;
    v = Math.floor(v / 256);
  }
}

/**
 * Encode `frame` into `buf` at `offset` (buf must have encodedFrameLength(frame) bytes free).
 * Returns the layout; its offsets are absolute indexes into `buf`.
 */
export function encodeFrameInto(frame: SvFrame, buf: Uint8Array, offset = 0): FrameLayout {
  const { plans, seqContent, pduContent, svLength, trailerLen, total, vlans } = encodePlan(frame);
  if (buf.length - offset < total) throw new EncodeError(`buffer too small: need ${total} bytes`);
  let o = offset;
  buf.set(parseMac(frame.dst), o);
  o += 6;
  buf.set(parseMac(frame.src), o);
  o += 6;
  for (const v of vlans) {
    writeU(buf, o, v.tpid ?? TPID_8021Q, 2);
    const tci = (v.priority << 13) | (v.dei ? 0x1000 : 0) | v.id;
    writeU(buf, o + 2, tci, 2);
    o += 4;
  }
  writeU(buf, o, SV_ETHERTYPE, 2);
  o += 2;
  const appIdOff = o;
  writeU(buf, o, frame.appId, 2);
  writeU(buf, o + 2, svLength, 2);
  const r1 = ((frame.reserved1 ?? 0) | (frame.simulated ? RESERVED1_SIMULATE : 0)) & 0xffff;
  writeU(buf, o + 4, r1, 2);
  writeU(buf, o + 6, frame.reserved2 ?? trailerLen, 2);
  o += 8;
  buf[o++] = TAG_SAVPDU;
  o = writeBerLength(buf, o, pduContent);
  buf[o++] = TAG_NOASDU;
  buf[o++] = 1;
  buf[o++] = plans.length;
  buf[o++] = TAG_SEQASDU;
  o = writeBerLength(buf, o, seqContent);
  const asdus: AsduLayout[] = [];
  for (const p of plans) {
    const a = p.asdu;
    buf[o++] = TAG_ASDU;
    o = writeBerLength(buf, o, p.content);
    buf[o++] = TAG_SVID;
    o = writeBerLength(buf, o, p.svID.length);
    const svIDOff = o;
    buf.set(p.svID, o);
    o += p.svID.length;
    if (p.datSet) {
      buf[o++] = TAG_DATSET;
      o = writeBerLength(buf, o, p.datSet.length);
      buf.set(p.datSet, o);
      o += p.datSet.length;
    }
    buf[o++] = TAG_SMPCNT;
    buf[o++] = 2;
    const smpCntOff = o;
    writeU(buf, o, a.smpCnt, 2);
    o += 2;
    buf[o++] = TAG_CONFREV;
    buf[o++] = 4;
    const confRevOff = o;
    writeU(buf, o, a.confRev, 4);
    o += 4;
    let refrOff = -1;
    if (a.refrTm) {
      buf[o++] = TAG_REFRTM;
      buf[o++] = 8;
      refrOff = o;
      writeUtcTime(buf, o, a.refrTm);
      o += 8;
    }
    let synchOff = -1;
    if (a.smpSynch !== undefined) {
      buf[o++] = TAG_SMPSYNCH;
      buf[o++] = 1;
      synchOff = o;
      buf[o++] = a.smpSynch;
    }
    if (a.smpRate !== undefined) {
      buf[o++] = TAG_SMPRATE;
      buf[o++] = 2;
      writeU(buf, o, a.smpRate, 2);
      o += 2;
    }
    buf[o++] = TAG_SEQDATA;
    o = writeBerLength(buf, o, a.seqData.length);
    const seqOff = o;
    buf.set(a.seqData, o);
    o += a.seqData.length;
    if (a.smpMod !== undefined) {
      buf[o++] = TAG_SMPMOD;
      buf[o++] = 2;
      writeU(buf, o, a.smpMod, 2);
      o += 2;
    }
    if (a.gmIdentity) {
      buf[o++] = TAG_GMIDENTITY;
      buf[o++] = 8;
      buf.set(a.gmIdentity, o);
      o += 8;
    }
    asdus.push({
      smpCnt: smpCntOff,
      confRev: confRevOff,
      refrTm: refrOff,
      smpSynch: synchOff,
      seqData: seqOff,
      seqDataLength: a.seqData.length,
      svID: svIDOff,
      svIDLength: p.svID.length,
    });
  }
  let trailer = -1;
  let secCnt = -1;
  let signature = -1;
  if (frame.security) {
    trailer = o;
    const s = frame.security;
    writeSecurityHeader(buf, o, s);
    secCnt = o + 4;
    o += 10;
    if (s.mode !== 2) {
      signature = o;
      if (s.signature) {
        if (s.signature.length !== 64) throw new EncodeError('signature must be 64 bytes (r ‖ s)');
        buf.set(s.signature, o);
      } else buf.fill(0, o, o + 64);
      o += 64;
    }
  }
  if (o - offset !== total) throw new EncodeError(`internal: encoded ${o - offset} bytes, planned ${total}`);
  return { length: total, appId: appIdOff, reserved1: appIdOff + 4, reserved2: appIdOff + 6, asdus, trailer, secCnt, signature };
}

function writeSecurityHeader(buf: Uint8Array, o: number, s: SecurityTrailer): void {
  checkRange('keyId', s.keyId, 0xffff);
  checkRange('secCnt', s.secCnt, 0xffffffff);
  checkRange('blockLen', s.blockLen, 0xffff);
  buf[o] = s.version ?? SECURITY_VERSION;
  buf[o + 1] = s.mode;
  writeU(buf, o + 2, s.keyId, 2);
  writeU(buf, o + 4, s.secCnt, 4);
  writeU(buf, o + 8, s.blockLen, 2);
}

/** Encode a frame into a new buffer. */
export function encodeFrame(frame: SvFrame): { bytes: Uint8Array; layout: FrameLayout } {
  const bytes = new Uint8Array(encodedFrameLength(frame));
  const layout = encodeFrameInto(frame, bytes, 0);
  return { bytes, layout };
}

// ---- in-place patching of a frame encoded with encodeFrameInto (offsets from its layout) ----

/**
 * The SVDE security trailer of a frame this encoder wrote (Reserved 2 = its length), or null when the
 * frame is unsigned. Walks 0–2 VLAN tags to the SV header; trusts the frame (use the native decoder for
 * frames from the wire).
 */
export function readEncodedTrailer(b: Uint8Array, length: number): { mode: number; keyId: number; secCnt: number } | null {
  let o = 12;
  for (let tags = 0; tags < 2 && o + 4 <= length && [0x8100, 0x88a8].includes(readU16(b, o)); tags++) o += 4;
  if (o + 10 > length || readU16(b, o) !== 0x88ba) return null;
  const r2 = readU16(b, o + 8);
  if (r2 < 10 || r2 > length) return null;
  const t = length - r2;
  return { mode: b[t + 1]!, keyId: readU16(b, t + 2), secCnt: readU32(b, t + 4) };
}

export function patchU16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 8) & 0xff;
  buf[off + 1] = v & 0xff;
}

export function patchU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 24) & 0xff;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

export function readU16(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

export function readI32(buf: Uint8Array, off: number): number {
  return (buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
}

/** Write 9-2LE style value/quality pairs (INT32 + UINT32 each) into a seqData region. */
export function patchPhsMeas(buf: Uint8Array, seqDataOff: number, values: ArrayLike<number>, quality: ArrayLike<number>): void {
  let o = seqDataOff;
  for (let i = 0; i < values.length; i++) {
    patchU32(buf, o, values[i]! | 0);
    patchU32(buf, o + 4, quality[i]! >>> 0);
    o += 8;
  }
}

/** Replace an ASDU's whole seqData (same length) in place. */
export function patchSeqData(buf: Uint8Array, asdu: AsduLayout, data: Uint8Array): void {
  if (data.length !== asdu.seqDataLength) throw new EncodeError(`seqData must stay ${asdu.seqDataLength} bytes, got ${data.length}`);
  buf.set(data, asdu.seqData);
}

/** Write the 64-byte r ‖ s into a frame's security trailer (modes 1 and 3). */
export function patchSignature(buf: Uint8Array, layout: FrameLayout, rs: Uint8Array): void {
  if (layout.signature < 0) throw new EncodeError('frame has no signature field (trailer mode 2 or unsigned)');
  if (rs.length !== 64) throw new EncodeError('signature must be 64 bytes (r ‖ s)');
  buf.set(rs, layout.signature);
}

export function setSimulateBit(buf: Uint8Array, layout: FrameLayout, on: boolean): void {
  const r1 = readU16(buf, layout.reserved1);
  patchU16(buf, layout.reserved1, on ? r1 | RESERVED1_SIMULATE : r1 & ~RESERVED1_SIMULATE);
}
