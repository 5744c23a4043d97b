// Lays out columns in one buffer exactly as native BatchWriter::Pack does (layout.ts, native/README.md
// "Batch layout"): header words, column directory, every column 8-byte aligned. Pure TypeScript, for batches
// made without the addon (tests, replays); BatchView reads the result like a batch from the addon.
import { BATCH_LAYOUT, COLUMN_BYTES, HEADER_COLUMN_COUNT_WORD, SECTION_COUNT_WORD, type SectionName } from './layout.ts';
import type { BatchColumns } from './batch.ts';

export type ColumnName = keyof BatchColumns;

/** Column values by name; a column left out is all zeros. raw and text are given as bytes. */
export type ColumnValues = Partial<Record<Exclude<ColumnName, 'tsNs' | 'raw' | 'text'>, ArrayLike<number>>> & {
  tsNs?: ArrayLike<bigint>;
};

export interface BatchContent {
  frames: number;
  asdus: number;
  values: number;
  raw: Uint8Array;
  text?: Uint8Array;
  columns: ColumnValues;
}

const align8 = (n: number): number => (n + 7) & ~7;

type Ctor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => { set(a: ArrayLike<number> | ArrayLike<bigint>): void };
const ctors = {
  u8: Uint8Array,
  u16: Uint16Array,
  i16: Int16Array,
  u32: Uint32Array,
  i32: Int32Array,
  f64: Float64Array,
  i64: BigInt64Array,
} as unknown as Record<string, Ctor>;

/** One batch buffer holding `content`; throws when a column's length is not its section's count. */
export function packBatch(content: BatchContent): ArrayBuffer {
  const text = content.text ?? new Uint8Array(0);
  const counts: Record<SectionName, number> = {
    frame: content.frames,
    asdu: content.asdus,
    value: content.values,
    raw: content.raw.length,
    text: text.length,
  };
  const cols = BATCH_LAYOUT.columns;
  const given = content.columns as Record<string, ArrayLike<number> | ArrayLike<bigint> | undefined>;
  for (const name of Object.keys(given)) {
    if (!cols.some((c) => c.name === name)) throw new Error(`packBatch: no column '${name}' in the batch layout`);
  }
  const headerBytes = align8((BATCH_LAYOUT.headerFixedWords + cols.length) * 4);
  let total = headerBytes;
  const offsets = cols.map((c) => {
    const off = total;
    total += align8(counts[c.section] * COLUMN_BYTES[c.type]);
    return off;
  });
  const buffer = new ArrayBuffer(total);
  const head = new Uint32Array(buffer, 0, BATCH_LAYOUT.headerFixedWords + cols.length);
  head[0] = BATCH_LAYOUT.magic;
  head[1] = BATCH_LAYOUT.version;
  head[2] = headerBytes;
  head[3] = total;
  for (const s of Object.keys(SECTION_COUNT_WORD) as SectionName[]) head[SECTION_COUNT_WORD[s]] = counts[s];
  head[HEADER_COLUMN_COUNT_WORD] = cols.length;
  cols.forEach((c, k) => {
    head[BATCH_LAYOUT.headerFixedWords + k] = offsets[k]!;
    const values = c.name === 'raw' ? content.raw : c.name === 'text' ? text : given[c.name];
    if (values === undefined) return;
    if (values.length !== counts[c.section]) {
      throw new Error(`packBatch: column ${c.name} has ${values.length} values, its ${c.section} section ${counts[c.section]}`);
    }
    new ctors[c.type]!(buffer, offsets[k]!, counts[c.section]).set(values);
  });
  return buffer;
}
