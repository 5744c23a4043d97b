// Streaming writers for classic pcap (microsecond or nanosecond magic) and pcapng (SHB, one IDB with
// if_tsresol = 9, EPBs). Records are packed into a large reused buffer and flushed with writeSync, so
// millions of frames cost little more than the bytes themselves. Little-endian files.
import { closeSync, openSync, writeSync } from 'node:fs';

export type CaptureFormat = 'pcap' | 'pcapng';

export interface CaptureWriterOptions {
  format: CaptureFormat;
  /** Classic pcap only: 'ns' writes the nanosecond magic 0xa1b23c4d (default), 'us' the microsecond one. */
  resolution?: 'us' | 'ns';
  /** Link type, default 1 (Ethernet). */
  linkType?: number;
  snapLen?: number;
  /** pcapng interface name (if_name option). */
  ifName?: string;
  /** Flush threshold in bytes. */
  bufferSize?: number;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Sink of frames with capture timestamps (seconds + nanoseconds). */
export interface FrameSink {
  write(data: Uint8Array, offset: number, length: number, sec: number, nsec: number): void;
  close(): void | Promise<void>;
}

export class CaptureWriter implements FrameSink {
  readonly format: CaptureFormat;
  readonly resolution: 'us' | 'ns';
  #fd: number;
  #buf: Buffer;
  #pos = 0;
  #closed = false;
  framesWritten = 0;

  constructor(path: string, opts: CaptureWriterOptions) {
    this.format = opts.format;
    this.resolution = opts.format === 'pcapng' ? 'ns' : (opts.resolution ?? 'ns');
    this.#buf = Buffer.allocUnsafe(Math.max(opts.bufferSize ?? 4 << 20, 1 << 17));
    this.#fd = openSync(path, 'w');
    const link = opts.linkType ?? 1;
    const snap = opts.snapLen ?? 65535;
    if (this.format === 'pcap') {
      const b = this.#buf;
      b.writeUInt32LE(this.resolution === 'ns' ? PCAP_MAGIC_NS : PCAP_MAGIC_US, 0);
      b.writeUInt16LE(2, 4);
      b.writeUInt16LE(4, 6);
      b.writeInt32LE(0, 8);
      b.writeUInt32LE(0, 12);
      b.writeUInt32LE(snap, 16);
      b.writeUInt32LE(link, 20);
      this.#pos = 24;
    } else {
      this.#writeShb();
      this.#writeIdb(link, snap, opts.ifName);
    }
  }

  #writeShb(): void {
    const b = this.#buf;
    let o = this.#pos;
    const len = 28;
    b.writeUInt32LE(BT_SHB, o);
    b.writeUInt32LE(len, o + 4);
    b.writeUInt32LE(BYTE_ORDER_MAGIC, o + 8);
    b.writeUInt16LE(1, o + 12);
    b.writeUInt16LE(0, o + 14);
    b.writeInt32LE(-1, o + 16);
    b.writeInt32LE(-1, o + 20); // section length unknown (streaming)
    b.writeUInt32LE(len, o + 24);
    o += len;
    this.#pos = o;
  }

  #writeIdb(link: number, snap: number, ifName?: string): void {
    const b = this.#buf;
    const start = this.#pos;
    let o = start + 8;
    b.writeUInt16LE(link, o);
    b.writeUInt16LE(0, o + 2);
    b.writeUInt32LE(snap, o + 4);
    o += 8;
    if (ifName) {
      const name = Buffer.from(ifName, 'utf8');
      b.writeUInt16LE(2, o);
      b.writeUInt16LE(name.length, o + 2);
      o += 4;
      name.copy(b, o);
      o += name.length;
      while ((o - start) % 4) b[o++] = 0;
    }
    b.writeUInt16LE(9, o);
    b.writeUInt16LE(1, o + 2);
    b[o + 4] = 9;
    b[o + 5] = 0;
    b[o + 6] = 0;
    b[o + 7] = 0;
    o += 8; // if_tsresol = 10^-9
    b.writeUInt32LE(0, o);
    o += 4; // opt_endofopt
    const len = o + 4 - start;
    b.writeUInt32LE(BT_IDB, start);
    b.writeUInt32LE(len, start + 4);
    b.writeUInt32LE(len, o);
    this.#pos = o + 4;
  }

  #flush(): void {
    let done = 0;
    while (done < this.#pos) done += writeSync(this.#fd, this.#buf, done, this.#pos - done);
    this.#pos = 0;
  }

  /** Append one frame captured at sec + nsec (nsec 0..999 999 999). */
  write(data: Uint8Array, offset: number, length: number, sec: number, nsec: number): void {
    if (this.#closed) throw new Error('capture writer is closed');
    const need = length + 40;
    if (this.#pos + need > this.#buf.length) {
      this.#flush();
      if (need > this.#buf.length) this.#buf = Buffer.allocUnsafe(need * 2);
    }
    const b = this.#buf;
    let o = this.#pos;
    if (this.format === 'pcap') {
      b.writeUInt32LE(sec >>> 0, o);
      b.writeUInt32LE(this.resolution === 'ns' ? nsec : Math.floor(nsec / 1000), o + 4);
      b.writeUInt32LE(length, o + 8);
      b.writeUInt32LE(length, o + 12);
      o += 16;
      b.set(data.subarray(offset, offset + length), o);
      o += length;
    } else {
      const padded = (length + 3) & ~3;
      const total = 32 + padded;
      // 64-bit timestamp in ns = sec * 1e9 + nsec, split into 32-bit halves without BigInt and without
      // ever forming a double above 2^53 (sec = a * 2^16 + b).
      const a = Math.floor(sec / 65536);
      const x = a * 1e9;
      let hi = Math.floor(x / 65536);
      let lo = (x % 65536) * 65536 + (sec - a * 65536) * 1e9 + nsec;
      const carry = Math.floor(lo / 4294967296);
      hi += carry;
      lo -= carry * 4294967296;
      b.writeUInt32LE(BT_EPB, o);
      b.writeUInt32LE(total, o + 4);
      b.writeUInt32LE(0, o + 8);
      b.writeUInt32LE(hi >>> 0, o + 12);
      b.writeUInt32LE(lo >>> 0, o + 16);
      b.writeUInt32LE(length, o + 20);
      b.writeUInt32LE(length, o + 24);
      o += 28;
      b.set(data.subarray(offset, offset + length), o);
      o += length;
      for (let i = length; i < padded; i++) b[o++] = 0;
      b.writeUInt32LE(total, o);
      o += 4;
    }
    this.#pos = o;
    this.framesWritten++;
  }

  close(): void {
    if (this.#closed) return;
    this.#flush();
    closeSync(this.#fd);
    this.#closed = true;
  }
}

export function formatFromPath(path: string): CaptureFormat {
  return path.toLowerCase().endsWith('.pcapng') ? 'pcapng' : 'pcap';
}
