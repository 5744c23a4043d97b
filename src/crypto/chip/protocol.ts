// Serial protocol of the SM2 crypto chip (docs/chip-protocol.md): framing, CRC-16, a resynchronising
// parser and the payload codecs of every command. Pure: no I/O, no timers, shared by driver and emulator.
import { SvdeError } from '../../model/errors.ts';

export const SOF = 0xa5;
export const HEADER_LEN = 6; // SOF, LEN_H, LEN_L, HCHK, SEQ, CMD
export const TRAILER_LEN = 2; // CRC-16
export const MAX_PAYLOAD = 4096;
export const MAX_FRAME = HEADER_LEN + MAX_PAYLOAD + TRAILER_LEN;
export const PROTOCOL_VERSION = 1;
/** Sequence number of unsolicited frames (BOOT); requests use 1..255. */
export const SEQ_UNSOLICITED = 0;

export const Cmd = {
  INFO: 0x01,
  SELFTEST: 0x02,
  LOAD_KEY: 0x03,
  VERIFY: 0x04,
  VERIFY_BATCH: 0x05,
  SIGN: 0x06,
  RANDOM: 0x07,
  RESET: 0x08,
  CLEAR_KEY: 0x09,
  /** Emulator only, accepted only when started with --test-control: fault injection. */
  TEST_CONTROL: 0x7e,
  /** Unsolicited, chip → host, seq 0: the chip has (re)booted and its key slots are empty. */
  BOOT: 0xff,
} as const;
export type CmdCode = (typeof Cmd)[keyof typeof Cmd];
export const RESPONSE_BIT = 0x80;

export const Status = {
  OK: 0x00,
  ERR_UNKNOWN_CMD: 0x01,
  ERR_BAD_LENGTH: 0x02,
  ERR_BAD_SLOT: 0x03,
  ERR_SLOT_EMPTY: 0x04,
  ERR_BAD_KEY: 0x05,
  ERR_BAD_PARAM: 0x06,
  ERR_BUSY: 0x07,
  ERR_SELFTEST: 0x08,
  ERR_INTERNAL: 0x09,
  ERR_DENIED: 0x0a,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];
export const statusName = (s: number): string =>
  Object.entries(Status).find(([, v]) => v === s)?.[0] ?? `STATUS_0x${s.toString(16).padStart(2, '0')}`;

export const Verdict = { INVALID: 0x00, VALID: 0x01 } as const;

export const SLOT_COUNT = 16;
export const MAX_BATCH = 32;
export const VERIFY_ITEM_LEN = 1 + 32 + 32 + 32;
export const VERIFY_RESULT_LEN = 1 + 1 + 32; // status, verdict, x1'

export interface Frame {
  seq: number;
  cmd: number;
  payload: Uint8Array;
}

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor); check("123456789") = 0x29B1. */
const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

export function crc16(data: Uint8Array, start = 0, end = data.length, init = 0xffff): number {
  let c = init;
  for (let i = start; i < end; i++) c = ((c << 8) & 0xffff) ^ CRC_TABLE[((c >>> 8) ^ data[i]!) & 0xff]!;
  return c;
}

/** Header check byte: protects LEN so a garbage SOF rarely makes the parser wait for a long bogus frame. */
export const headerCheck = (lenH: number, lenL: number): number => (lenH ^ lenL ^ 0x5a) & 0xff;

export function encodeFrame(f: Frame): Uint8Array {
  const n = f.payload.length;
  if (n > MAX_PAYLOAD) throw new RangeError(`payload ${n} > ${MAX_PAYLOAD}`);
  if (!Number.isInteger(f.seq) || f.seq < 0 || f.seq > 255) throw new RangeError('seq must be 0..255');
  if (!Number.isInteger(f.cmd) || f.cmd < 0 || f.cmd > 255) throw new RangeError('cmd must be 0..255');
  const out = new Uint8Array(HEADER_LEN + n + TRAILER_LEN);
  out[0] = SOF;
  out[1] = n >>> 8;
  out[2] = n & 0xff;
  out[3] = headerCheck(out[1], out[2]);
  out[4] = f.seq;
  out[5] = f.cmd;
  out.set(f.payload, HEADER_LEN);
  const c = crc16(out, 1, HEADER_LEN + n);
  out[HEADER_LEN + n] = c >>> 8;
  out[HEADER_LEN + n + 1] = c & 0xff;
  return out;
}

export interface ParserStats {
  frames: number;
  crcErrors: number;
  headerErrors: number;
  garbageBytes: number;
}

/**
 * Resynchronising frame parser. Bytes before an SOF are garbage; a header whose check byte or length is wrong,
 * or a frame whose CRC is wrong, costs only its SOF byte: scanning restarts at the next byte, so a real frame
 * hidden behind a false start is still found. Never throws, buffers at most one maximal frame.
 */
export class FrameParser {
  private buf = new Uint8Array(2 * MAX_FRAME);
  private start = 0;
  private end = 0;
  readonly stats: ParserStats = { frames: 0, crcErrors: 0, headerErrors: 0, garbageBytes: 0 };

  /** Bytes held for a frame not yet complete. */
  get pending(): number {
    return this.end - this.start;
  }

  push(chunk: Uint8Array): Frame[] {
    const out: Frame[] = [];
    let off = 0;
    while (off < chunk.length) {
      this.compact();
      const n = Math.min(chunk.length - off, this.buf.length - this.end);
      this.buf.set(chunk.subarray(off, off + n), this.end);
      this.end += n;
      off += n;
      this.scan(out);
    }
    return out;
  }

  /** Give up on a partial frame (the driver calls this after an inter-byte silence): drop its SOF, rescan the rest. */
  dropPartial(): Frame[] {
    const out: Frame[] = [];
    if (this.pending === 0) return out;
    this.start++;
    this.stats.garbageBytes++;
    this.scan(out);
    return out;
  }

  reset(): void {
    this.stats.garbageBytes += this.pending;
    this.start = this.end = 0;
  }

  private compact(): void {
    if (this.start === 0) return;
    this.buf.copyWithin(0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
  }

  private scan(out: Frame[]): void {
    const b = this.buf;
    for (;;) {
      let i = this.start;
      while (i < this.end && b[i] !== SOF) i++;
      this.stats.garbageBytes += i - this.start;
      this.start = i;
      if (this.end - i < 4) return;
      const len = (b[i + 1]! << 8) | b[i + 2]!;
      if (b[i + 3] !== headerCheck(b[i + 1]!, b[i + 2]!) || len > MAX_PAYLOAD) {
        this.stats.headerErrors++;
        this.stats.garbageBytes++;
        this.start = i + 1;
        continue;
      }
      const total = HEADER_LEN + len + TRAILER_LEN;
      if (this.end - i < total) return;
      const c = crc16(b, i + 1, i + HEADER_LEN + len);
      if (((b[i + HEADER_LEN + len]! << 8) | b[i + HEADER_LEN + len + 1]!) !== c) {
        this.stats.crcErrors++;
        this.stats.garbageBytes++;
        this.start = i + 1;
        continue;
      }
      out.push({ seq: b[i + 4]!, cmd: b[i + 5]!, payload: b.slice(i + HEADER_LEN, i + HEADER_LEN + len) });
      this.stats.frames++;
      this.start = i + total;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Payload codecs. Integers big-endian; scalars and coordinates 32 bytes.

export class ProtocolError extends SvdeError {
  readonly code = 'PROTOCOL';
}

export function bigTo32(v: bigint): Uint8Array {
  if (v < 0n || v >= 1n << 256n) throw new RangeError('value does not fit 32 bytes');
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
export function bigFrom(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}
const u16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const putU16 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
};
const putU32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
};
function need(p: Uint8Array, n: number, what: string): void {
  if (p.length !== n) throw new ProtocolError(`${what}: ${p.length} bytes, expected ${n}`);
}

export interface VerifyItem {
  slot: number;
  e: Uint8Array;
  r: bigint;
  s: bigint;
}
export interface VerifyResult {
  status: number;
  verdict: number;
  x1: bigint;
}
export interface PublicPoint {
  x: bigint;
  y: bigint;
}

export interface ChipInfo {
  protocolVersion: number;
  firmwareVersion: number;
  bootCount: number;
  bootId: number;
  slots: number;
  maxBatch: number;
  maxPayload: number;
  serial: Uint8Array; // 8 bytes
  deviceKey: PublicPoint;
  flags: number; // bit0 emulator, bit1 test control enabled
}
export const INFO_LEN = 1 + 2 + 4 + 4 + 1 + 1 + 2 + 8 + 64 + 1;
export const InfoFlag = { EMULATOR: 1, TEST_CONTROL: 2 } as const;

export function encodeInfo(i: ChipInfo): Uint8Array {
  const p = new Uint8Array(INFO_LEN);
  p[0] = i.protocolVersion;
  putU16(p, 1, i.firmwareVersion);
  putU32(p, 3, i.bootCount);
  putU32(p, 7, i.bootId);
  p[11] = i.slots;
  p[12] = i.maxBatch;
  putU16(p, 13, i.maxPayload);
  p.set(i.serial.subarray(0, 8), 15);
  p.set(bigTo32(i.deviceKey.x), 23);
  p.set(bigTo32(i.deviceKey.y), 55);
  p[87] = i.flags;
  return p;
}
export function decodeInfo(p: Uint8Array): ChipInfo {
  need(p, INFO_LEN, 'INFO');
  return {
    protocolVersion: p[0]!,
    firmwareVersion: u16(p, 1),
    bootCount: u32(p, 3),
    bootId: u32(p, 7),
    slots: p[11]!,
    maxBatch: p[12]!,
    maxPayload: u16(p, 13),
    serial: p.slice(15, 23),
    deviceKey: { x: bigFrom(p.subarray(23, 55)), y: bigFrom(p.subarray(55, 87)) },
    flags: p[87]!,
  };
}

export function encodeLoadKey(slot: number, key: PublicPoint): Uint8Array {
  const p = new Uint8Array(65);
  p[0] = slot;
  p.set(bigTo32(key.x), 1);
  p.set(bigTo32(key.y), 33);
  return p;
}
export function decodeLoadKey(p: Uint8Array): { slot: number; key: PublicPoint } {
  need(p, 65, 'LOAD_KEY');
  return { slot: p[0]!, key: { x: bigFrom(p.subarray(1, 33)), y: bigFrom(p.subarray(33, 65)) } };
}

function putVerifyItem(p: Uint8Array, o: number, it: VerifyItem): void {
  if (it.e.length !== 32) throw new RangeError('e must be 32 bytes');
  p[o] = it.slot;
  p.set(it.e, o + 1);
  p.set(bigTo32(it.r), o + 33);
  p.set(bigTo32(it.s), o + 65);
}
function getVerifyItem(p: Uint8Array, o: number): VerifyItem {
  return { slot: p[o]!, e: p.slice(o + 1, o + 33), r: bigFrom(p.subarray(o + 33, o + 65)), s: bigFrom(p.subarray(o + 65, o + 97)) };
}
export function encodeVerify(it: VerifyItem): Uint8Array {
  const p = new Uint8Array(VERIFY_ITEM_LEN);
  putVerifyItem(p, 0, it);
  return p;
}
export function decodeVerify(p: Uint8Array): VerifyItem {
  need(p, VERIFY_ITEM_LEN, 'VERIFY');
  return getVerifyItem(p, 0);
}
export function encodeVerifyBatch(items: readonly VerifyItem[]): Uint8Array {
  if (items.length < 1 || items.length > MAX_BATCH) throw new RangeError(`batch of 1..${MAX_BATCH}`);
  const p = new Uint8Array(1 + items.length * VERIFY_ITEM_LEN);
  p[0] = items.length;
  items.forEach((it, k) => putVerifyItem(p, 1 + k * VERIFY_ITEM_LEN, it));
  return p;
}
export function decodeVerifyBatch(p: Uint8Array): VerifyItem[] {
  const n = p[0] ?? 0;
  if (n < 1 || n > MAX_BATCH) throw new ProtocolError(`VERIFY_BATCH count ${n}`);
  need(p, 1 + n * VERIFY_ITEM_LEN, 'VERIFY_BATCH');
  return Array.from({ length: n }, (_, k) => getVerifyItem(p, 1 + k * VERIFY_ITEM_LEN));
}

/** VERIFY answer data (after the status byte): verdict, x1' of (x1', y1') = [s]G + [r+s]P. */
export function encodeVerifyResult(v: { verdict: number; x1: bigint }): Uint8Array {
  const p = new Uint8Array(33);
  p[0] = v.verdict;
  p.set(bigTo32(v.x1), 1);
  return p;
}
export function decodeVerifyResult(p: Uint8Array): { verdict: number; x1: bigint } {
  need(p, 33, 'VERIFY result');
  return { verdict: p[0]!, x1: bigFrom(p.subarray(1, 33)) };
}
export function encodeVerifyBatchResult(rs: readonly VerifyResult[]): Uint8Array {
  const p = new Uint8Array(1 + rs.length * VERIFY_RESULT_LEN);
  p[0] = rs.length;
  rs.forEach((r, k) => {
    const o = 1 + k * VERIFY_RESULT_LEN;
    p[o] = r.status;
    p[o + 1] = r.verdict;
    p.set(bigTo32(r.x1), o + 2);
  });
  return p;
}
export function decodeVerifyBatchResult(p: Uint8Array): VerifyResult[] {
  const n = p[0] ?? 0;
  need(p, 1 + n * VERIFY_RESULT_LEN, 'VERIFY_BATCH result');
  return Array.from({ length: n }, (_, k) => {
    const o = 1 + k * VERIFY_RESULT_LEN;
    return { status: p[o]!, verdict: p[o + 1]!, x1: bigFrom(p.subarray(o + 2, o + 34)) };
  });
}

export function encodeSignature(r: bigint, s: bigint): Uint8Array {
  const p = new Uint8Array(64);
  p.set(bigTo32(r), 0);
  p.set(bigTo32(s), 32);
  return p;
}
export function decodeSignature(p: Uint8Array): { r: bigint; s: bigint } {
  need(p, 64, 'SIGN result');
  return { r: bigFrom(p.subarray(0, 32)), s: bigFrom(p.subarray(32)) };
}

export function encodeBoot(bootCount: number, bootId: number): Uint8Array {
  const p = new Uint8Array(8);
  putU32(p, 0, bootCount);
  putU32(p, 4, bootId);
  return p;
}
export function decodeBoot(p: Uint8Array): { bootCount: number; bootId: number } {
  need(p, 8, 'BOOT');
  return { bootCount: u32(p, 0), bootId: u32(p, 4) };
}

/** A response payload: status byte then command-specific data. */
export function responsePayload(status: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const p = new Uint8Array(1 + data.length);
  p[0] = status;
  p.set(data, 1);
  return p;
}

/** Bytes on the wire at 8N1: 10 bit times per byte. */
export const wireSeconds = (bytes: number, baud: number): number => (bytes * 10) / baud;
