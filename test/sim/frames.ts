// Test helpers: an in-memory frame sink and a small SV parser written independently of src/sv/encode.ts
// (walks the BER structure generically), so simulator tests do not read frames with the code that wrote them.
import type { AsyncFrameSink } from '../../tools/sim/engine.ts';

export interface CapturedFrame {
  bytes: Uint8Array;
  sec: number;
  nsec: number;
}

export class MemorySink implements AsyncFrameSink {
  frames: CapturedFrame[] = [];
  write(data: Uint8Array, offset: number, length: number, sec: number, nsec: number): void {
    this.frames.push({ bytes: data.slice(offset, offset + length), sec, nsec });
  }
  close(): void {}
}

export interface ParsedAsdu {
  svID: string;
  datSet?: string;
  refrTm?: { seconds: number; fraction: number; quality: number };
  smpCnt: number;
  confRev: number;
  smpSynch?: number;
  smpRate?: number;
  smpMod?: number;
  seqData: Uint8Array;
  values: number[];
  quality: number[];
}
export interface ParsedFrame {
  dst: string;
  src: string;
  vlans: { tpid: number; id: number; priority: number }[];
  appId: number;
  length: number;
  reserved1: number;
  reserved2: number;
  noASDU: number;
  asdus: ParsedAsdu[];
  trailer: Uint8Array;
}

const mac = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');

function tlv(b: Uint8Array, o: number): { tag: number; len: number; start: number; end: number } {
  const tag = b[o]!;
  let len = b[o + 1]!;
  let start = o + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[o + 2 + i]!;
    start = o + 2 + n;
  }
  return { tag, len, start, end: start + len };
}

const uint = (b: Uint8Array) => b.reduce((a, x) => a * 256 + x, 0);

export function parseSv(b: Uint8Array): ParsedFrame {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 12;
  const vlans: ParsedFrame['vlans'] = [];
  while (dv.getUint16(o) === 0x8100 || dv.getUint16(o) === 0x88a8) {
    const tci = dv.getUint16(o + 2);
    vlans.push({ tpid: dv.getUint16(o), id: tci & 0xfff, priority: tci >> 13 });
    o += 4;
  }
  if (dv.getUint16(o) !== 0x88ba) throw new Error('not SV');
  o += 2;
  const appId = dv.getUint16(o);
  const length = dv.getUint16(o + 2);
  const reserved1 = dv.getUint16(o + 4);
  const reserved2 = dv.getUint16(o + 6);
  const pdu = tlv(b, o + 8);
  const end = o + length;
  let p = pdu.start;
  let noASDU = 0;
  const asdus: ParsedAsdu[] = [];
  while (p < pdu.end) {
    const t = tlv(b, p);
    if (t.tag === 0x80) noASDU = uint(b.subarray(t.start, t.end));
    if (t.tag === 0xa2) {
      let q = t.start;
      while (q < t.end) {
        const a = tlv(b, q);
        const asdu: Partial<ParsedAsdu> = {};
        let r = a.start;
        while (r < a.end) {
          const f = tlv(b, r);
          const v = b.subarray(f.start, f.end);
          switch (f.tag) {
            case 0x80:
              asdu.svID = new TextDecoder().decode(v);
              break;
            case 0x81:
              asdu.datSet = new TextDecoder().decode(v);
              break;
            case 0x82:
              asdu.smpCnt = uint(v);
              break;
            case 0x83:
              asdu.confRev = uint(v);
              break;
            case 0x84:
              asdu.refrTm = { seconds: uint(v.subarray(0, 4)), fraction: uint(v.subarray(4, 7)), quality: v[7]! };
              break;
            case 0x85:
              asdu.smpSynch = uint(v);
              break;
            case 0x86:
              asdu.smpRate = uint(v);
              break;
            case 0x87:
              asdu.seqData = v.slice();
              break;
            case 0x88:
              asdu.smpMod = uint(v);
              break;
          }
          r = f.end;
        }
        const sd = asdu.seqData!;
        const sdv = new DataView(sd.buffer, sd.byteOffset, sd.byteLength);
        asdu.values = [];
        asdu.quality = [];
        for (let i = 0; i + 8 <= sd.length; i += 8) {
          asdu.values.push(sdv.getInt32(i));
          asdu.quality.push(sdv.getUint32(i + 4));
        }
        asdus.push(asdu as ParsedAsdu);
        q = a.end;
      }
    }
    p = t.end;
  }
  return {
    dst: mac(b.subarray(0, 6)),
    src: mac(b.subarray(6, 12)),
    vlans,
    appId,
    length,
    reserved1,
    reserved2,
    noASDU,
    asdus,
    trailer: b.slice(end),
  };
}
