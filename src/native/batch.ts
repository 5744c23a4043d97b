// Typed-array views on one native batch (layout: native/README.md, tables: layout.ts). No copies: raw(),
// seqData(), values() … are subarrays of the batch's single ArrayBuffer. Pure TypeScript: a batch from the
// addon and one packed in TS (batch-pack.ts) read the same.
import {
  AsduFlag,
  BATCH_LAYOUT,
  HEADER_COLUMN_COUNT_WORD,
  SECTION_COUNT_WORD,
  STATUS_NAMES,
  WARNING_NAMES,
  type ColumnType,
} from './layout.ts';

export { AsduFlag, STATUS_NOT_SV, STATUS_TRUNCATED_ETHERNET, WARNING_NAMES } from './layout.ts';
/** Decoder status names by numeric status (index = status; 0 = 'ok'). */
export const statusNames: readonly string[] = STATUS_NAMES;

export interface BatchColumns {
  // per frame
  readonly tsNs: BigInt64Array;
  readonly frameNo: Float64Array;
  readonly capLen: Uint32Array;
  readonly wireLen: Uint32Array;
  readonly rawOff: Uint32Array;
  readonly errorOffset: Uint32Array;
  readonly warnings: Uint32Array;
  readonly asduStart: Uint32Array;
  readonly secCnt: Uint32Array;
  readonly errTextOff: Uint32Array;
  readonly errTextLen: Uint32Array;
  readonly errorAsdu: Int16Array;
  readonly tci0: Uint16Array;
  readonly tci1: Uint16Array;
  readonly tpid0: Uint16Array;
  readonly tpid1: Uint16Array;
  readonly svOffset: Uint16Array;
  readonly appId: Uint16Array;
  readonly length: Uint16Array;
  readonly reserved1: Uint16Array;
  readonly reserved2: Uint16Array;
  readonly noAsdu: Uint16Array;
  readonly asduCount: Uint16Array;
  readonly padding: Uint16Array;
  readonly trailerOff: Uint16Array;
  readonly trailerLen: Uint16Array;
  readonly keyId: Uint16Array;
  readonly blockLen: Uint16Array;
  readonly sigOff: Uint16Array;
  readonly sigLen: Uint16Array;
  readonly status: Uint8Array;
  readonly trailerStatus: Uint8Array;
  readonly trailerPresent: Uint8Array;
  readonly trailerVersion: Uint8Array;
  readonly trailerMode: Uint8Array;
  readonly vlanCount: Uint8Array;
  // per ASDU (global index within the batch)
  readonly asduFrame: Uint32Array;
  readonly smpCnt: Uint32Array;
  readonly confRev: Uint32Array;
  readonly smpSynch: Uint32Array;
  readonly smpRate: Uint32Array;
  readonly smpMod: Uint32Array;
  readonly valueStart: Uint32Array;
  readonly valueCount: Uint32Array;
  readonly flags: Uint16Array;
  readonly svIdOff: Uint16Array;
  readonly svIdLen: Uint16Array;
  readonly datSetOff: Uint16Array;
  readonly datSetLen: Uint16Array;
  readonly refrTmOff: Uint16Array;
  readonly refrTmLen: Uint16Array;
  readonly seqDataOff: Uint16Array;
  readonly seqDataLen: Uint16Array;
  readonly gmIdentityOff: Uint16Array;
  readonly gmIdentityLen: Uint16Array;
  // per value (9-2LE value/quality pairs of seqData)
  readonly values: Int32Array;
  readonly quality: Uint32Array;
  // bytes
  readonly raw: Uint8Array;
  readonly text: Uint8Array;
}

export interface TrailerInfo {
  /** decoder status name of the trailer ('ok' when well formed). */
  status: string;
  version: number;
  mode: number;
  keyId: number;
  secCnt: number;
  blockLen: number;
  signature?: Uint8Array;
}

export interface FrameBatch {
  readonly count: number;
  readonly asduTotal: number;
  /** The underlying columns, read-only by contract, for hot paths. */
  readonly cols: BatchColumns;
  readonly buffer: ArrayBuffer;
  frameNo(i: number): number;
  tsNs(i: number): bigint;
  raw(i: number): Uint8Array;
  capLen(i: number): number;
  wireLen(i: number): number;
  ok(i: number): boolean;
  status(i: number): number;
  statusName(i: number): string;
  error(i: number): string | undefined;
  errorOffset(i: number): number;
  errorAsdu(i: number): number;
  warnings(i: number): number;
  /** Names of the decoder's warning bits set for frame i (anomalies Wireshark tolerates). */
  warningNames(i: number): string[];
  src(i: number): string;
  dst(i: number): string;
  vlanCount(i: number): number;
  vlanId(i: number, k: number): number;
  vlanPriority(i: number, k: number): number;
  appId(i: number): number;
  length(i: number): number;
  reserved1(i: number): number;
  simulated(i: number): boolean;
  reserved2(i: number): number;
  noAsdu(i: number): number;
  asduStart(i: number): number;
  asduCount(i: number): number;
  padding(i: number): number;
  trailer(i: number): TrailerInfo | undefined;
  asduFrame(j: number): number;
  svId(j: number): string;
  datSet(j: number): string | undefined;
  smpCnt(j: number): number;
  confRev(j: number): number;
  refrTm(j: number): Uint8Array | undefined;
  smpSynch(j: number): number | undefined;
  smpRate(j: number): number | undefined;
  smpMod(j: number): number | undefined;
  gmIdentity(j: number): Uint8Array | undefined;
  seqData(j: number): Uint8Array;
  values(j: number): Int32Array | undefined;
  quality(j: number): Uint32Array | undefined;
}

type TypedArrayCtor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => ArrayBufferView;
const ctors: Record<ColumnType, TypedArrayCtor> = {
  u8: Uint8Array,
  u16: Uint16Array,
  i16: Int16Array,
  u32: Uint32Array,
  i32: Int32Array,
  f64: Float64Array,
  i64: BigInt64Array,
};

const layout = BATCH_LAYOUT;
const sectionIndex = { frame: 0, asdu: 1, value: 2, raw: 3, text: 4 } as const;
const H_FRAMES = SECTION_COUNT_WORD.frame;
const H_COLS = HEADER_COLUMN_COUNT_WORD;

const hex: string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function macAt(raw: Uint8Array, off: number): string {
  return `${hex[raw[off]!]}:${hex[raw[off + 1]!]}:${hex[raw[off + 2]!]}:${hex[raw[off + 3]!]}:${hex[raw[off + 4]!]}:${hex[raw[off + 5]!]}`;
}

/**
 * A VisibleString as Wireshark 4.0 shows it (the reference for `svde decode`): stops at 0x00, each octet
 * >= 0x80 becomes U+FFFD. The raw octets stay in the frame for evidence and byte-exact comparisons.
 */
function visibleString(bytes: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let k = 0; k < len; k++) {
    const b = bytes[off + k]!;
    if (b === 0) break;
    s += b < 0x80 ? String.fromCharCode(b) : '\uFFFD';
  }
  return s;
}

function ascii(bytes: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let k = 0; k < len; k++) s += String.fromCharCode(bytes[off + k]!);
  return s;
}

/** Holds the batch's column views; one getter per column (defined below from the layout). */
class LazyColumns {
  readonly buffer: ArrayBuffer;
  readonly dir: Uint32Array;
  readonly counts: number[];
  readonly views: Array<ArrayBufferView | undefined>;
  constructor(buffer: ArrayBuffer, dir: Uint32Array, counts: number[]) {
    this.buffer = buffer;
    this.dir = dir;
    this.counts = counts;
    this.views = new Array<ArrayBufferView | undefined>(layout.columns.length);
  }
}
layout.columns.forEach((c, k) => {
  const ctor = ctors[c.type];
  const section = sectionIndex[c.section];
  Object.defineProperty(LazyColumns.prototype, c.name, {
    enumerable: true,
    get(this: LazyColumns): ArrayBufferView {
      let v = this.views[k];
      if (v === undefined) {
        v = new ctor(this.buffer, this.dir[k]!, this.counts[section]!);
        this.views[k] = v;
      }
      return v;
    },
  });
});

export class BatchView implements FrameBatch {
  readonly count: number;
  readonly asduTotal: number;
  readonly cols: BatchColumns;
  readonly buffer: ArrayBuffer;

  constructor(buffer: ArrayBuffer) {
    const fixed = layout.headerFixedWords;
    if (buffer.byteLength < fixed * 4) throw new Error('svde batch: buffer too short');
    const head = new Uint32Array(buffer, 0, fixed);
    if (head[0] !== layout.magic || head[1] !== layout.version || head[H_COLS] !== layout.columns.length) {
      throw new Error(
        `svde batch: not a batch of layout version ${layout.version} (magic 0x${(head[0] ?? 0).toString(16)}, version ${head[1]}, ${head[H_COLS]} columns)`,
      );
    }
    const dir = new Uint32Array(buffer, fixed * 4, layout.columns.length);
    const counts = [head[H_FRAMES]!, head[H_FRAMES + 1]!, head[H_FRAMES + 2]!, head[H_FRAMES + 3]!, head[H_FRAMES + 4]!];
    // Column views are made on first use: a batch handler typically reads a handful of them.
    const cols = new LazyColumns(buffer, dir, counts);
    this.buffer = buffer;
    this.cols = cols as unknown as BatchColumns;
    this.count = counts[0]!;
    this.asduTotal = counts[1]!;
  }

  frameNo(i: number): number {
    return this.cols.frameNo[i]!;
  }
  tsNs(i: number): bigint {
    return this.cols.tsNs[i]!;
  }
  raw(i: number): Uint8Array {
    const off = this.cols.rawOff[i]!;
    return this.cols.raw.subarray(off, off + this.cols.capLen[i]!);
  }
  capLen(i: number): number {
    return this.cols.capLen[i]!;
  }
  wireLen(i: number): number {
    return this.cols.wireLen[i]!;
  }
  ok(i: number): boolean {
    return this.cols.status[i] === 0;
  }
  status(i: number): number {
    return this.cols.status[i]!;
  }
  statusName(i: number): string {
    return statusNames[this.cols.status[i]!] ?? `status-${this.cols.status[i]}`;
  }
  error(i: number): string | undefined {
    if (this.cols.status[i] === 0) return undefined;
    return ascii(this.cols.text, this.cols.errTextOff[i]!, this.cols.errTextLen[i]!);
  }
  errorOffset(i: number): number {
    return this.cols.errorOffset[i]!;
  }
  errorAsdu(i: number): number {
    return this.cols.errorAsdu[i]!;
  }
  warnings(i: number): number {
    return this.cols.warnings[i]!;
  }
  warningNames(i: number): string[] {
    const w = this.cols.warnings[i]!;
    const out: string[] = [];
    for (let b = 0; w >>> b !== 0; b++) if (((w >>> b) & 1) !== 0) out.push(WARNING_NAMES[b] ?? `bit-${b}`);
    return out;
  }
  dst(i: number): string {
    return this.cols.capLen[i]! >= 6 ? macAt(this.cols.raw, this.cols.rawOff[i]!) : '';
  }
  src(i: number): string {
    return this.cols.capLen[i]! >= 12 ? macAt(this.cols.raw, this.cols.rawOff[i]! + 6) : '';
  }
  vlanCount(i: number): number {
    return this.cols.vlanCount[i]!;
  }
  private tci(i: number, k: number): number | undefined {
    if (k >= this.cols.vlanCount[i]!) return undefined;
    return k === 0 ? this.cols.tci0[i]! : this.cols.tci1[i]!;
  }
  /** VLAN ID of tag k (0 = outer); -1 when the frame has no such tag. */
  vlanId(i: number, k: number): number {
    const t = this.tci(i, k);
    return t === undefined ? -1 : t & 0x0fff;
  }
  /** PCP of tag k (0 = outer); -1 when the frame has no such tag. */
  vlanPriority(i: number, k: number): number {
    const t = this.tci(i, k);
    return t === undefined ? -1 : t >> 13;
  }
  appId(i: number): number {
    return this.cols.appId[i]!;
  }
  length(i: number): number {
    return this.cols.length[i]!;
  }
  reserved1(i: number): number {
    return this.cols.reserved1[i]!;
  }
  simulated(i: number): boolean {
    return (this.cols.reserved1[i]! & 0x8000) !== 0;
  }
  reserved2(i: number): number {
    return this.cols.reserved2[i]!;
  }
  noAsdu(i: number): number {
    return this.cols.noAsdu[i]!;
  }
  asduStart(i: number): number {
    return this.cols.asduStart[i]!;
  }
  asduCount(i: number): number {
    return this.cols.asduCount[i]!;
  }
  padding(i: number): number {
    return this.cols.padding[i]!;
  }
  trailer(i: number): TrailerInfo | undefined {
    const c = this.cols;
    const st = c.trailerStatus[i]!;
    if (c.trailerPresent[i] === 0 && st === 0) return undefined;
    const info: TrailerInfo = {
      status: statusNames[st] ?? `status-${st}`,
      version: c.trailerVersion[i]!,
      mode: c.trailerMode[i]!,
      keyId: c.keyId[i]!,
      secCnt: c.secCnt[i]!,
      blockLen: c.blockLen[i]!,
    };
    if (c.sigLen[i]! > 0) {
      const base = c.rawOff[i]! + c.sigOff[i]!;
      info.signature = c.raw.subarray(base, base + c.sigLen[i]!);
    }
    return info;
  }

  asduFrame(j: number): number {
    return this.cols.asduFrame[j]!;
  }
  private bytesOf(j: number, off: Uint16Array, len: Uint16Array): Uint8Array {
    const base = this.cols.rawOff[this.cols.asduFrame[j]!]! + off[j]!;
    return this.cols.raw.subarray(base, base + len[j]!);
  }
  private has(j: number, flag: number): boolean {
    return (this.cols.flags[j]! & flag) !== 0;
  }
  svId(j: number): string {
    const base = this.cols.rawOff[this.cols.asduFrame[j]!]! + this.cols.svIdOff[j]!;
    return visibleString(this.cols.raw, base, this.cols.svIdLen[j]!);
  }
  datSet(j: number): string | undefined {
    if (!this.has(j, AsduFlag.datSet)) return undefined;
    const base = this.cols.rawOff[this.cols.asduFrame[j]!]! + this.cols.datSetOff[j]!;
    return visibleString(this.cols.raw, base, this.cols.datSetLen[j]!);
  }
  smpCnt(j: number): number {
    return this.cols.smpCnt[j]!;
  }
  confRev(j: number): number {
    return this.cols.confRev[j]!;
  }
  refrTm(j: number): Uint8Array | undefined {
    return this.has(j, AsduFlag.refrTm) ? this.bytesOf(j, this.cols.refrTmOff, this.cols.refrTmLen) : undefined;
  }
  smpSynch(j: number): number | undefined {
    return this.has(j, AsduFlag.smpSynch) ? this.cols.smpSynch[j]! : undefined;
  }
  smpRate(j: number): number | undefined {
    return this.has(j, AsduFlag.smpRate) ? this.cols.smpRate[j]! : undefined;
  }
  smpMod(j: number): number | undefined {
    return this.has(j, AsduFlag.smpMod) ? this.cols.smpMod[j]! : undefined;
  }
  gmIdentity(j: number): Uint8Array | undefined {
    return this.has(j, AsduFlag.gmIdentity) ? this.bytesOf(j, this.cols.gmIdentityOff, this.cols.gmIdentityLen) : undefined;
  }
  seqData(j: number): Uint8Array {
    return this.bytesOf(j, this.cols.seqDataOff, this.cols.seqDataLen);
  }
  values(j: number): Int32Array | undefined {
    const n = this.cols.valueCount[j]!;
    if (n === 0) return undefined;
    const s = this.cols.valueStart[j]!;
    return this.cols.values.subarray(s, s + n);
  }
  quality(j: number): Uint32Array | undefined {
    const n = this.cols.valueCount[j]!;
    if (n === 0) return undefined;
    const s = this.cols.valueStart[j]!;
    return this.cols.quality.subarray(s, s + n);
  }
}
