// The canonical JSON shape of one decoded ASDU (SPEC §4, `svde decode`), built from a native batch.
// Shared by the decode command and by evidence export so both describe a frame the same way.
import type { FrameBatch } from '../native/index.ts';

export interface AsduRecord {
  frame: number;
  asdu: number;
  ts: string;
  src: string;
  dst: string;
  vlanId?: number;
  vlanPriority?: number;
  innerVlanId?: number;
  innerVlanPriority?: number;
  appId: number;
  simulated: boolean;
  reserved2: number;
  svId: string;
  datSet?: string;
  smpCnt: number;
  confRev: number;
  refrTm?: string;
  smpSynch?: number;
  smpRate?: number;
  smpMod?: number;
  gmIdentity?: string;
  seqData: string;
  values?: number[];
  quality?: number[];
  security?: SecurityRecord;
  /** Decoder warnings of the frame: anomalies Wireshark tolerates (e.g. asdu-count-mismatch). */
  warnings?: string[];
}

export interface SecurityRecord {
  status: string;
  version: number;
  mode: number;
  keyId: number;
  secCnt: number;
  blockLen: number;
  signature?: string;
}

export interface FrameErrorRecord {
  frame: number;
  ts: string;
  error: string;
}

const NS_PER_S = 1_000_000_000n;

/** Epoch seconds with nine decimals, as tshark prints frame.time_epoch. */
export function epochString(tsNs: bigint): string {
  const neg = tsNs < 0n;
  const abs = neg ? -tsNs : tsNs;
  return `${neg ? '-' : ''}${abs / NS_PER_S}.${(abs % NS_PER_S).toString().padStart(9, '0')}`;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * IEC 61850-8-1 UtcTime (4 octets seconds, 3 octets fraction of a second, 1 octet quality) as ISO 8601
 * with nanoseconds. The fraction is truncated to whole nanoseconds, as Wireshark does.
 */
export function utcTimeIso(b: Uint8Array): string {
  if (b.length !== 8) throw new RangeError(`UtcTime must be 8 bytes, got ${b.length}`);
  const seconds = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
  const fraction = (b[4]! << 16) + (b[5]! << 8) + b[6]!;
  const nanos = Math.floor((fraction * 1e9) / 0x1000000);
  const iso = new Date(seconds * 1000).toISOString(); // yyyy-mm-ddThh:mm:ss.000Z
  return `${iso.slice(0, 19)}.${nanos.toString().padStart(9, '0')}Z`;
}

export function frameError(batch: FrameBatch, i: number): FrameErrorRecord | undefined {
  if (batch.ok(i)) return undefined;
  return { frame: batch.frameNo(i), ts: epochString(batch.tsNs(i)), error: batch.error(i) ?? 'malformed' };
}

/** All ASDUs of frame i of the batch, in frame order. The frame must have decoded (batch.ok(i)). */
export function asduRecords(batch: FrameBatch, i: number): AsduRecord[] {
  const out: AsduRecord[] = [];
  const frame = batch.frameNo(i);
  const ts = epochString(batch.tsNs(i));
  const src = batch.src(i);
  const dst = batch.dst(i);
  const vlans = batch.vlanCount(i);
  const trailer = batch.trailer(i);
  let security: SecurityRecord | undefined;
  if (trailer !== undefined) {
    security = {
      status: trailer.status,
      version: trailer.version,
      mode: trailer.mode,
      keyId: trailer.keyId,
      secCnt: trailer.secCnt,
      blockLen: trailer.blockLen,
    };
    if (trailer.signature !== undefined) security.signature = hex(trailer.signature);
  }
  const warnings = batch.warnings(i) !== 0 ? batch.warningNames(i) : undefined;
  const start = batch.asduStart(i);
  const n = batch.asduCount(i);
  for (let k = 0; k < n; k++) {
    const j = start + k;
    const r: AsduRecord = {
      frame,
      asdu: k,
      ts,
      src,
      dst,
      appId: batch.appId(i),
      simulated: batch.simulated(i),
      reserved2: batch.reserved2(i),
      svId: batch.svId(j),
      smpCnt: batch.smpCnt(j),
      confRev: batch.confRev(j),
      seqData: '',
    };
    if (vlans >= 1) {
      r.vlanId = batch.vlanId(i, 0);
      r.vlanPriority = batch.vlanPriority(i, 0);
    }
    if (vlans >= 2) {
      r.innerVlanId = batch.vlanId(i, 1);
      r.innerVlanPriority = batch.vlanPriority(i, 1);
    }
    const datSet = batch.datSet(j);
    if (datSet !== undefined) r.datSet = datSet;
    const refrTm = batch.refrTm(j);
    if (refrTm !== undefined) r.refrTm = utcTimeIso(refrTm);
    const smpSynch = batch.smpSynch(j);
    if (smpSynch !== undefined) r.smpSynch = smpSynch;
    const smpRate = batch.smpRate(j);
    if (smpRate !== undefined) r.smpRate = smpRate;
    const smpMod = batch.smpMod(j);
    if (smpMod !== undefined) r.smpMod = smpMod;
    const gm = batch.gmIdentity(j);
    if (gm !== undefined) r.gmIdentity = hex(gm);
    r.seqData = hex(batch.seqData(j));
    const values = batch.values(j);
    const quality = batch.quality(j);
    if (values !== undefined && quality !== undefined) {
      r.values = Array.from(values);
      r.quality = Array.from(quality);
    }
    if (security !== undefined) r.security = security;
    if (warnings !== undefined) r.warnings = warnings;
    out.push(r);
  }
  return out;
}
