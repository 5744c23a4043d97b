// The batch layout, decoder status names and warning names as plain tables, mirroring native/batch.h
// (SVDE_BATCH_COLUMNS, kBatchMagic, kBatchVersion, kHeaderFixedWords) and native/sv_decode.h (Status,
// Warning). Pure TypeScript: detection reads batches through these tables without the addon. When the
// addon is loaded, loadNative() compares its own tables with these once (checkBindingTables) and refuses
// it at the first difference, so the two cannot drift apart silently.

export type ColumnType = 'u8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f64' | 'i64';
export type SectionName = 'frame' | 'asdu' | 'value' | 'raw' | 'text';

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  readonly section: SectionName;
}

export interface BatchLayout {
  readonly magic: number;
  readonly version: number;
  readonly headerFixedWords: number;
  readonly columns: readonly ColumnSpec[];
}

/** Bytes per element of each column type. */
export const COLUMN_BYTES: Readonly<Record<ColumnType, number>> = Object.freeze({
  u8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f64: 8,
  i64: 8,
});

/** Header word holding each section's element count (native/batch.h: frames, asdus, values, rawBytes, textBytes). */
export const SECTION_COUNT_WORD: Readonly<Record<SectionName, number>> = Object.freeze({
  frame: 4,
  asdu: 5,
  value: 6,
  raw: 7,
  text: 8,
});
/** Header word holding the column count; the column directory follows the fixed words. */
export const HEADER_COLUMN_COUNT_WORD = 9;

const F = 'frame',
  A = 'asdu',
  V = 'value';
// Directory order = SVDE_BATCH_COLUMNS order (8-byte columns first).
const columnTable: ReadonlyArray<readonly [string, ColumnType, SectionName]> = [
  ['tsNs', 'i64', F],
  ['frameNo', 'f64', F],
  ['capLen', 'u32', F],
  ['wireLen', 'u32', F],
  ['rawOff', 'u32', F],
  ['errorOffset', 'u32', F],
  ['warnings', 'u32', F],
  ['asduStart', 'u32', F],
  ['secCnt', 'u32', F],
  ['errTextOff', 'u32', F],
  ['errTextLen', 'u32', F],
  ['errorAsdu', 'i16', F],
  ['tci0', 'u16', F],
  ['tci1', 'u16', F],
  ['tpid0', 'u16', F],
  ['tpid1', 'u16', F],
  ['svOffset', 'u16', F],
  ['appId', 'u16', F],
  ['length', 'u16', F],
  ['reserved1', 'u16', F],
  ['reserved2', 'u16', F],
  ['noAsdu', 'u16', F],
  ['asduCount', 'u16', F],
  ['padding', 'u16', F],
  ['trailerOff', 'u16', F],
  ['trailerLen', 'u16', F],
  ['keyId', 'u16', F],
  ['blockLen', 'u16', F],
  ['sigOff', 'u16', F],
  ['sigLen', 'u16', F],
  ['status', 'u8', F],
  ['trailerStatus', 'u8', F],
  ['trailerPresent', 'u8', F],
  ['trailerVersion', 'u8', F],
  ['trailerMode', 'u8', F],
  ['vlanCount', 'u8', F],
  ['asduFrame', 'u32', A],
  ['smpCnt', 'u32', A],
  ['confRev', 'u32', A],
  ['smpSynch', 'u32', A],
  ['smpRate', 'u32', A],
  ['smpMod', 'u32', A],
  ['valueStart', 'u32', A],
  ['valueCount', 'u32', A],
  ['flags', 'u16', A],
  ['svIdOff', 'u16', A],
  ['svIdLen', 'u16', A],
  ['datSetOff', 'u16', A],
  ['datSetLen', 'u16', A],
  ['refrTmOff', 'u16', A],
  ['refrTmLen', 'u16', A],
  ['seqDataOff', 'u16', A],
  ['seqDataLen', 'u16', A],
  ['gmIdentityOff', 'u16', A],
  ['gmIdentityLen', 'u16', A],
  ['values', 'i32', V],
  ['quality', 'u32', V],
  ['raw', 'u8', 'raw'],
  ['text', 'u8', 'text'],
];

/** Layout version 1 of native/README.md "Batch layout". */
export const BATCH_LAYOUT: BatchLayout = Object.freeze({
  magic: 0x31425653, // "SVB1" little-endian
  version: 1,
  headerFixedWords: 10,
  columns: Object.freeze(columnTable.map(([name, type, section]) => Object.freeze({ name, type, section }))),
});

/** Decoder status names by numeric status (native/sv_decode.h enum Status; index = status, 0 = 'ok'). */
export const STATUS_NAMES: readonly string[] = Object.freeze([
  'ok',
  'truncated-ethernet',
  'not-sv',
  'too-many-vlan-tags',
  'truncated-header',
  'bad-length',
  'bad-tag',
  'bad-ber-length',
  'missing-field',
  'bad-field-length',
  'value-out-of-range',
  'asdu-count-mismatch',
  'bad-string',
  'trailing-garbage',
  'bad-security-trailer',
]);

/** Names of the decoder's warning bits (native/sv_decode.h enum Warning), by bit number. */
export const WARNING_NAMES: readonly string[] = Object.freeze([
  'security-field',
  'empty-seqdata',
  'padding-nonzero',
  'asdu-count-mismatch',
  'zero-asdu-count',
  'length-beyond-capture',
  'svid-empty',
  'svid-not-visible',
  'datset-not-visible',
  'extra-vlan-tags',
]);

/** Presence bits of optional ASDU fields (native/sv_decode.h AsduFlags). */
export const AsduFlag = {
  datSet: 1 << 0,
  refrTm: 1 << 1,
  smpSynch: 1 << 2,
  smpRate: 1 << 3,
  smpMod: 1 << 4,
  gmIdentity: 1 << 5,
} as const;

function statusOf(name: string): number {
  const s = STATUS_NAMES.indexOf(name);
  if (s < 0) throw new Error(`internal: no decoder status '${name}'`);
  return s;
}
/** Status of a frame that is not SV at all (another EtherType), e.g. GOOSE read from a file. */
export const STATUS_NOT_SV: number = statusOf('not-sv');
/** Status of a frame too short to tell whether it is SV. */
export const STATUS_TRUNCATED_ETHERNET: number = statusOf('truncated-ethernet');

/** What the addon reports about its own tables (the part of the binding the check reads). */
export interface BindingTables {
  batchLayout(): BatchLayout;
  statusNames(): readonly string[];
  warningNames(): readonly string[];
}

function nameList(a: readonly string[], b: readonly string[], what: string): string | undefined {
  const n = Math.max(a.length, b.length);
  for (let k = 0; k < n; k++) {
    if (a[k] !== b[k]) {
      const show = (v: string | undefined): string => (v === undefined ? 'nothing' : `'${v}'`);
      return `${what} ${k}: the addon has ${show(a[k])}, src/native/layout.ts has ${show(b[k])}`;
    }
  }
  return undefined;
}

/** The first difference between the addon's tables and the ones here, described; undefined when they agree. */
export function bindingTablesDiffer(b: BindingTables): string | undefined {
  const got = b.batchLayout();
  const want = BATCH_LAYOUT;
  for (const key of ['magic', 'version', 'headerFixedWords'] as const) {
    if (got[key] !== want[key]) return `batch layout ${key}: the addon has ${got[key]}, src/native/layout.ts has ${want[key]}`;
  }
  const n = Math.max(got.columns.length, want.columns.length);
  for (let k = 0; k < n; k++) {
    const g = got.columns[k];
    const w = want.columns[k];
    const show = (c: ColumnSpec | undefined): string => (c === undefined ? 'nothing' : `${c.name} ${c.type} (${c.section})`);
    if (g?.name !== w?.name || g?.type !== w?.type || g?.section !== w?.section) {
      return `batch column ${k}: the addon has ${show(g)}, src/native/layout.ts has ${show(w)}`;
    }
  }
  return nameList(b.statusNames(), STATUS_NAMES, 'decoder status') ?? nameList(b.warningNames(), WARNING_NAMES, 'warning bit');
}

/** Throws when the addon's batch layout, status names or warning names differ from the tables here. */
export function checkBindingTables(b: BindingTables): void {
  const diff = bindingTablesDiffer(b);
  if (diff !== undefined) {
    throw new Error(`svde native addon does not match src/native (${diff}): rebuild it with npm install`);
  }
}
