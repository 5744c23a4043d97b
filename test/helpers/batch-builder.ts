// Batches for tests, built in TypeScript from explicit field values: each SV frame is encoded with the
// project's encoder (src/sv/encode.ts), its fields are located in the encoded bytes, and the columns are
// packed in the exact native batch layout (src/native/batch-pack.ts). Detection can so be unit-tested
// without the addon; test/native/layout.test.ts checks that the addon decodes the same bytes into the
// same columns.
import { BatchView } from '../../src/native/batch.ts';
import { packBatch } from '../../src/native/batch-pack.ts';
import { AsduFlag, STATUS_NAMES, WARNING_NAMES } from '../../src/native/layout.ts';
import { encodeFrame } from '../../src/sv/encode.ts';
import type { SvAsdu, SvFrame } from '../../src/sv/types.ts';

export interface FrameSpec {
  /** An SV frame, encoded as the simulator would. */
  frame?: SvFrame;
  /** Or the frame's bytes as they are (e.g. a GOOSE frame): then only MACs, capLen and `status` are set. */
  raw?: Uint8Array;
  /** Capture time, ns since the epoch (default: the previous frame's + 250 µs, the first 1.7e18). */
  tsNs?: bigint;
  /** Default: the previous frame's + 1 (the first 1). */
  frameNo?: number;
  /** Decoder status, a number or its name (default 'ok' for `frame`, 'not-sv' for `raw`). */
  status?: number | string;
  /** DescribeError text of a failed frame (default '<status name>'). */
  error?: string;
  errorOffset?: number;
  /** ASDU the error concerns (default -1). */
  errorAsdu?: number;
  /** Warning bits (by name or mask) added to those the builder infers (svID/datSet/seqData checks). */
  warnings?: number | readonly string[];
  /** Trailer status name or number (default 'ok'). */
  trailerStatus?: number | string;
}

function statusNumber(s: number | string): number {
  if (typeof s === 'number') return s;
  const n = STATUS_NAMES.indexOf(s);
  if (n < 0) throw new Error(`no decoder status '${s}'`);
  return n;
}

function warningMask(w: number | readonly string[] | undefined): number {
  if (w === undefined) return 0;
  if (typeof w === 'number') return w;
  let m = 0;
  for (const name of w) {
    const b = WARNING_NAMES.indexOf(name);
    if (b < 0) throw new Error(`no warning '${name}'`);
    m |= 1 << b;
  }
  return m >>> 0;
}

const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const be32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const beN = (b: Uint8Array, o: number, n: number): number => {
  let v = 0;
  for (let k = 0; k < n; k++) v = v * 256 + b[o + k]!;
  return v;
};

/** A TLV of the encoder's output: tag, value offset and length (definite short or long form). */
function tlv(b: Uint8Array, o: number): { tag: number; off: number; len: number; end: number } {
  const tag = b[o]!;
  let len = b[o + 1]!;
  let off = o + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = beN(b, off, n);
    off += n;
  }
  return { tag, off, len, end: off + len };
}

const visible = (b: Uint8Array, off: number, len: number): boolean => {
  for (let k = 0; k < len; k++) if (b[off + k]! < 0x20 || b[off + k]! > 0x7e) return false;
  return true;
};

type Cols = Record<string, number[]>;
const FRAME_COLS = [
  'frameNo',
  'capLen',
  'wireLen',
  'rawOff',
  'errorOffset',
  'warnings',
  'asduStart',
  'secCnt',
  'errTextOff',
  'errTextLen',
  'errorAsdu',
  'tci0',
  'tci1',
  'tpid0',
  'tpid1',
  'svOffset',
  'appId',
  'length',
  'reserved1',
  'reserved2',
  'noAsdu',
  'asduCount',
  'padding',
  'trailerOff',
  'trailerLen',
  'keyId',
  'blockLen',
  'sigOff',
  'sigLen',
  'status',
  'trailerStatus',
  'trailerPresent',
  'trailerVersion',
  'trailerMode',
  'vlanCount',
] as const;
const ASDU_COLS = [
  'asduFrame',
  'smpCnt',
  'confRev',
  'smpSynch',
  'smpRate',
  'smpMod',
  'valueStart',
  'valueCount',
  'flags',
  'svIdOff',
  'svIdLen',
  'datSetOff',
  'datSetLen',
  'refrTmOff',
  'refrTmLen',
  'seqDataOff',
  'seqDataLen',
  'gmIdentityOff',
  'gmIdentityLen',
] as const;

/** One batch buffer in the native layout holding `frames`. */
export function buildBatch(frames: readonly FrameSpec[]): ArrayBuffer {
  const cols: Cols = {};
  for (const c of [...FRAME_COLS, ...ASDU_COLS, 'values', 'quality']) cols[c] = [];
  const tsNs: bigint[] = [];
  const rawParts: Uint8Array[] = [];
  let rawLen = 0;
  const text: number[] = [];
  let ts = 1_700_000_000_000_000_000n - 250_000n;
  let frameNo = 0;
  const asduCols = (): number => cols['asduFrame']!.length;

  frames.forEach((spec, i) => {
    if ((spec.frame === undefined) === (spec.raw === undefined)) throw new Error(`frame ${i}: give exactly one of frame and raw`);
    const bytes = spec.frame !== undefined ? encodeFrame(spec.frame).bytes : spec.raw!;
    ts = spec.tsNs ?? ts + 250_000n;
    frameNo = spec.frameNo ?? frameNo + 1;
    const f: Record<string, number> = Object.fromEntries(FRAME_COLS.map((c) => [c, 0]));
    f['frameNo'] = frameNo;
    f['capLen'] = bytes.length;
    f['wireLen'] = bytes.length;
    f['rawOff'] = rawLen;
    f['asduStart'] = asduCols();
    f['errorAsdu'] = spec.errorAsdu ?? -1;
    f['errorOffset'] = spec.errorOffset ?? 0;
    let warnings = warningMask(spec.warnings);
    const status = statusNumber(spec.status ?? (spec.frame !== undefined ? 'ok' : 'not-sv'));
    f['status'] = status;
    f['trailerStatus'] = statusNumber(spec.trailerStatus ?? 0);
    const asdus: Array<Record<string, number>> = [];
    const values: Array<[number, number]> = [];
    if (spec.frame !== undefined) {
      let o = 12;
      const tags = spec.frame.vlans ?? [];
      tags.forEach((_, k) => {
        f[`tpid${k}`] = be16(bytes, o);
        f[`tci${k}`] = be16(bytes, o + 2);
        o += 4;
      });
      f['vlanCount'] = tags.length;
      o += 2;
      f['svOffset'] = o;
      f['appId'] = be16(bytes, o);
      f['length'] = be16(bytes, o + 2);
      f['reserved1'] = be16(bytes, o + 4);
      f['reserved2'] = be16(bytes, o + 6);
      const pdu = tlv(bytes, o + 8);
      const no = tlv(bytes, pdu.off);
      f['noAsdu'] = beN(bytes, no.off, no.len);
      const seq = tlv(bytes, no.end);
      for (let p = seq.off; p < seq.end;) {
        const asdu = tlv(bytes, p);
        const a: Record<string, number> = Object.fromEntries(ASDU_COLS.map((c) => [c, 0]));
        a['asduFrame'] = i;
        for (let q = asdu.off; q < asdu.end;) {
          const t = tlv(bytes, q);
          switch (t.tag) {
            case 0x80:
              a['svIdOff'] = t.off;
              a['svIdLen'] = t.len;
              break;
            case 0x81:
              a['datSetOff'] = t.off;
              a['datSetLen'] = t.len;
              a['flags']! |= AsduFlag.datSet;
              break;
            case 0x82:
              a['smpCnt'] = beN(bytes, t.off, t.len);
              break;
            case 0x83:
              a['confRev'] = beN(bytes, t.off, t.len);
              break;
            case 0x84:
              a['refrTmOff'] = t.off;
              a['refrTmLen'] = t.len;
              a['flags']! |= AsduFlag.refrTm;
              break;
            case 0x85:
              a['smpSynch'] = beN(bytes, t.off, t.len);
              a['flags']! |= AsduFlag.smpSynch;
              break;
            case 0x86:
              a['smpRate'] = beN(bytes, t.off, t.len);
              a['flags']! |= AsduFlag.smpRate;
              break;
            case 0x87:
              a['seqDataOff'] = t.off;
              a['seqDataLen'] = t.len;
              break;
            case 0x88:
              a['smpMod'] = beN(bytes, t.off, t.len);
              a['flags']! |= AsduFlag.smpMod;
              break;
            case 0x89:
              a['gmIdentityOff'] = t.off;
              a['gmIdentityLen'] = t.len;
              a['flags']! |= AsduFlag.gmIdentity;
              break;
            default:
              throw new Error(`frame ${i}: unexpected ASDU tag 0x${t.tag.toString(16)}`);
          }
          q = t.end;
        }
        if (a['svIdLen'] === 0) warnings |= 1 << WARNING_NAMES.indexOf('svid-empty');
        else if (!visible(bytes, a['svIdOff']!, a['svIdLen']!)) warnings |= 1 << WARNING_NAMES.indexOf('svid-not-visible');
        if ((a['flags']! & AsduFlag.datSet) !== 0 && !visible(bytes, a['datSetOff']!, a['datSetLen']!)) {
          warnings |= 1 << WARNING_NAMES.indexOf('datset-not-visible');
        }
        if (a['seqDataLen'] === 0) warnings |= 1 << WARNING_NAMES.indexOf('empty-seqdata');
        a['valueStart'] = cols['values']!.length + values.length;
        if (a['seqDataLen']! > 0 && a['seqDataLen']! % 8 === 0) {
          a['valueCount'] = a['seqDataLen']! / 8;
          for (let v = a['seqDataOff']!; v < a['seqDataOff']! + a['seqDataLen']!; v += 8)
            values.push([be32(bytes, v) | 0, be32(bytes, v + 4)]);
        }
        asdus.push(a);
        p = asdu.end;
      }
      const apduEnd = o + f['length']!;
      const sec = spec.frame.security;
      if (sec !== undefined && f['trailerStatus'] === 0) {
        f['trailerPresent'] = 1;
        f['trailerOff'] = apduEnd;
        f['trailerLen'] = f['reserved2']!;
        f['trailerVersion'] = bytes[apduEnd]!;
        f['trailerMode'] = bytes[apduEnd + 1]!;
        f['keyId'] = be16(bytes, apduEnd + 2);
        f['secCnt'] = be32(bytes, apduEnd + 4);
        f['blockLen'] = be16(bytes, apduEnd + 8);
        if (sec.mode !== 2) {
          f['sigOff'] = apduEnd + 10;
          f['sigLen'] = 64;
        }
      }
      f['padding'] = bytes.length - apduEnd - (f['trailerPresent'] ? f['trailerLen']! : 0);
    }
    const statusName = STATUS_NAMES[status] ?? `status-${status}`;
    // Frames that are not SV at all carry no ASDUs (native BatchWriter::Append).
    const notSv = statusName === 'not-sv' || statusName === 'truncated-ethernet' || statusName === 'too-many-vlan-tags';
    const kept = notSv ? [] : asdus;
    f['asduCount'] = kept.length;
    f['warnings'] = warnings >>> 0;
    f['errTextOff'] = text.length;
    if (status !== 0) {
      const msg = spec.error ?? statusName;
      for (let k = 0; k < msg.length; k++) text.push(msg.charCodeAt(k) & 0x7f);
      f['errTextLen'] = msg.length;
    }
    for (const c of FRAME_COLS) cols[c]!.push(f[c]!);
    for (const a of kept) for (const c of ASDU_COLS) cols[c]!.push(a[c]!);
    if (!notSv)
      for (const [v, q] of values) {
        cols['values']!.push(v);
        cols['quality']!.push(q);
      }
    tsNs.push(ts);
    rawParts.push(bytes);
    rawLen += bytes.length;
  });

  const raw = new Uint8Array(rawLen);
  let at = 0;
  for (const p of rawParts) {
    raw.set(p, at);
    at += p.length;
  }
  return packBatch({
    frames: frames.length,
    asdus: asduCols(),
    values: cols['values']!.length,
    raw,
    text: Uint8Array.from(text),
    columns: { ...cols, tsNs },
  });
}

/** buildBatch as a FrameBatch. */
export function batchOf(frames: readonly FrameSpec[]): BatchView {
  return new BatchView(buildBatch(frames));
}

/** 9-2LE seqData: INT32 value + UINT32 quality per channel, big-endian. */
export function phsMeas(values: readonly number[], quality: readonly number[] = []): Uint8Array {
  const b = new Uint8Array(values.length * 8);
  const dv = new DataView(b.buffer);
  values.forEach((v, k) => {
    dv.setInt32(k * 8, v);
    dv.setUint32(k * 8 + 4, quality[k] ?? 0);
  });
  return b;
}

/** A 9-2LE frame (one ASDU unless `asdus` is given), for the common case. */
export function svFrame(
  o: Partial<SvFrame> & { smpCnt?: number; svID?: string; confRev?: number; values?: readonly number[] } = {},
): SvFrame {
  const asdu: SvAsdu = {
    svID: o.svID ?? 'MU1',
    smpCnt: o.smpCnt ?? 0,
    confRev: o.confRev ?? 1,
    smpSynch: 1,
    seqData: phsMeas(o.values ?? [0, 0, 0, 0, 0, 0, 0, 0]),
  };
  const f: SvFrame = {
    dst: o.dst ?? '01:0c:cd:04:00:01',
    src: o.src ?? '00:11:22:33:44:01',
    appId: o.appId ?? 0x4000,
    asdus: o.asdus ?? [asdu],
  };
  if (o.vlans !== undefined) f.vlans = o.vlans;
  if (o.simulated !== undefined) f.simulated = o.simulated;
  if (o.reserved1 !== undefined) f.reserved1 = o.reserved1;
  if (o.reserved2 !== undefined) f.reserved2 = o.reserved2;
  if (o.security !== undefined) f.security = o.security;
  return f;
}
