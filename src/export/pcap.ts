// Evidence frames → a classic pcap file in memory (nanosecond magic 0xa1b23c4d, Ethernet), which
// Wireshark/tshark open as is. Same record layout as src/sv/pcap-writer.ts, which writes to a file.
import type { EvidenceFrame } from '../model/records.ts';

const PCAP_MAGIC_NS = 0xa1b23c4d;
const NS = 1_000_000_000n;

export function pcapBytes(frames: readonly EvidenceFrame[], opts: { linkType?: number; snapLen?: number } = {}): Uint8Array {
  let size = 24;
  let snap = opts.snapLen ?? 65535;
  for (const f of frames) {
    size += 16 + f.bytes.length;
    if (f.bytes.length > snap) snap = f.bytes.length;
  }
  const b = Buffer.alloc(size);
  b.writeUInt32LE(PCAP_MAGIC_NS, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeInt32LE(0, 8);
  b.writeUInt32LE(0, 12);
  b.writeUInt32LE(snap, 16);
  b.writeUInt32LE(opts.linkType ?? 1, 20);
  let o = 24;
  for (const f of frames) {
    const ts = f.tsNs < 0n ? 0n : f.tsNs;
    b.writeUInt32LE(Number((ts / NS) & 0xffffffffn), o);
    b.writeUInt32LE(Number(ts % NS), o + 4);
    b.writeUInt32LE(f.bytes.length, o + 8);
    b.writeUInt32LE(f.bytes.length, o + 12);
    b.set(f.bytes, o + 16);
    o += 16 + f.bytes.length;
  }
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
