// The TS batch tables (src/native/layout.ts) against the addon's own, the refusal of an addon whose tables
// differ, the TS packer read back through BatchView, and the test batch builder against the addon decoding
// the very same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadNative, readCaptureFile, type FrameBatch } from '../../src/native/index.ts';
import { BatchView } from '../../src/native/batch.ts';
import { packBatch } from '../../src/native/batch-pack.ts';
import {
  BATCH_LAYOUT,
  STATUS_NAMES,
  WARNING_NAMES,
  bindingTablesDiffer,
  checkBindingTables,
  type BatchLayout,
  type BindingTables,
} from '../../src/native/layout.ts';
import { CaptureWriter } from '../../src/sv/pcap-writer.ts';
import { buildBatch, phsMeas, svFrame, type FrameSpec } from '../helpers/batch-builder.ts';

const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

test('the addon reports exactly the batch layout, status names and warning names of src/native/layout.ts', () => {
  const addon = loadNative();
  assert.deepEqual(plain(addon.batchLayout()), plain(BATCH_LAYOUT));
  assert.deepEqual(addon.statusNames(), [...STATUS_NAMES]);
  assert.deepEqual(addon.warningNames(), [...WARNING_NAMES]);
  assert.equal(bindingTablesDiffer(addon), undefined);
});

function doctored(change: (l: { layout: BatchLayout; status: string[]; warnings: string[] }) => void): BindingTables {
  const addon = loadNative();
  const t = { layout: plain(addon.batchLayout()) as BatchLayout, status: addon.statusNames(), warnings: addon.warningNames() };
  change(t);
  return { batchLayout: () => t.layout, statusNames: () => t.status, warningNames: () => t.warnings };
}

test('an addon whose tables differ is refused, naming the first difference', () => {
  type Mut = { -readonly [K in keyof BatchLayout]: BatchLayout[K] } & { columns: Array<{ name: string; type: string; section: string }> };
  const cases: Array<[string, (l: { layout: BatchLayout; status: string[]; warnings: string[] }) => void, string]> = [
    [
      'a column of another type',
      (t) => {
        (t.layout as Mut).columns[37]!.type = 'u16';
      },
      'batch column 37: the addon has smpCnt u16 (asdu), src/native/layout.ts has smpCnt u32 (asdu)',
    ],
    [
      'two columns swapped',
      (t) => {
        const c = (t.layout as Mut).columns;
        [c[12], c[13]] = [c[13]!, c[12]!];
      },
      'batch column 12: the addon has tci1 u16 (frame), src/native/layout.ts has tci0 u16 (frame)',
    ],
    [
      'a column more',
      (t) => {
        (t.layout as Mut).columns.push({ name: 'extra', type: 'u8', section: 'frame' });
      },
      `batch column ${BATCH_LAYOUT.columns.length}: the addon has extra u8 (frame), src/native/layout.ts has nothing`,
    ],
    [
      'a column less',
      (t) => {
        (t.layout as Mut).columns.pop();
      },
      `batch column ${BATCH_LAYOUT.columns.length - 1}: the addon has nothing, src/native/layout.ts has text u8 (text)`,
    ],
    [
      'another layout version',
      (t) => {
        (t.layout as Mut).version = 2;
      },
      'batch layout version: the addon has 2, src/native/layout.ts has 1',
    ],
    [
      'a renamed status',
      (t) => {
        t.status[2] = 'not-sampled-values';
      },
      "decoder status 2: the addon has 'not-sampled-values', src/native/layout.ts has 'not-sv'",
    ],
    [
      'a new warning bit',
      (t) => {
        t.warnings.push('new-warning');
      },
      `warning bit ${WARNING_NAMES.length}: the addon has 'new-warning', src/native/layout.ts has nothing`,
    ],
  ];
  for (const [what, change, diff] of cases) {
    const b = doctored(change);
    assert.equal(bindingTablesDiffer(b), diff, what);
    assert.throws(
      () => checkBindingTables(b),
      { message: `svde native addon does not match src/native (${diff}): rebuild it with npm install` },
      what,
    );
  }
});

test('packBatch lays out columns that BatchView reads back (no addon involved)', () => {
  const raw = Uint8Array.from({ length: 20 }, (_, k) => k);
  const buf = packBatch({
    frames: 2,
    asdus: 3,
    values: 1,
    raw,
    text: Uint8Array.from([0x68, 0x69]),
    columns: {
      tsNs: [5n, -7n],
      frameNo: [10, 11],
      capLen: [12, 8],
      rawOff: [0, 12],
      errorAsdu: [-1, 2],
      status: [0, 6],
      errTextOff: [0, 0],
      errTextLen: [0, 2],
      asduStart: [0, 2],
      asduCount: [2, 1],
      asduFrame: [0, 0, 1],
      smpCnt: [1, 2, 65535],
      confRev: [0xffffffff, 0, 1],
      values: [-3],
      quality: [0x2000],
    },
  });
  const b = new BatchView(buf);
  assert.equal(b.count, 2);
  assert.equal(b.asduTotal, 3);
  assert.deepEqual([b.tsNs(0), b.tsNs(1)], [5n, -7n]);
  assert.deepEqual([b.frameNo(1), b.errorAsdu(0), b.errorAsdu(1)], [11, -1, 2]);
  assert.deepEqual([b.smpCnt(2), b.confRev(0)], [65535, 0xffffffff]);
  assert.equal(b.dst(0), '00:01:02:03:04:05');
  assert.equal(b.src(0), '06:07:08:09:0a:0b');
  assert.deepEqual([...b.raw(1)], [12, 13, 14, 15, 16, 17, 18, 19]);
  assert.equal(b.statusName(1), 'bad-tag');
  assert.equal(b.error(1), 'hi');
  assert.equal(b.error(0), undefined);
  assert.deepEqual([...b.cols.values], [-3]);
  assert.deepEqual([...b.cols.quality], [0x2000]);
  assert.throws(
    () => packBatch({ frames: 2, asdus: 0, values: 0, raw, columns: { capLen: [1] } }),
    /column capLen has 1 values, its frame section 2/,
  );
  assert.throws(() => new BatchView(new ArrayBuffer(64)), /not a batch of layout version 1/);
});

const gm = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
const specs: FrameSpec[] = [
  { frame: svFrame({ smpCnt: 1, values: [100, -200, 300, 0, 1, 2, 3, 4] }) },
  { frame: svFrame({ smpCnt: 2, vlans: [{ id: 5, priority: 4 }], simulated: true }) },
  {
    frame: svFrame({
      vlans: [
        { id: 100, priority: 3, tpid: 0x88a8 },
        { id: 7, priority: 1, dei: true },
      ],
      appId: 0x4001,
    }),
  },
  {
    frame: svFrame({
      asdus: [
        {
          svID: 'MU2',
          datSet: 'IED/LLN0$PhsMeas1',
          smpCnt: 4000,
          confRev: 7,
          refrTm: { seconds: 1_700_000_000, fraction: 0x800000, quality: 0x0a },
          smpSynch: 2,
          smpRate: 4000,
          seqData: phsMeas([1, 2], [0, 0x4000]),
          smpMod: 1,
          gmIdentity: gm,
        },
        { svID: '', smpCnt: 4001, confRev: 7, seqData: new Uint8Array(5) },
        { svID: 'M\u00e9', smpCnt: 4002, confRev: 7, seqData: new Uint8Array(0) },
      ],
    }),
  },
  { frame: svFrame({ security: { version: 1, mode: 1, keyId: 3, secCnt: 77, blockLen: 1, signature: new Uint8Array(64).fill(9) } }) },
  { frame: svFrame({ security: { version: 1, mode: 2, keyId: 4, secCnt: 78, blockLen: 8 } }) },
  // GOOSE: not SV at all (the addon's error text is compared separately)
  { raw: Uint8Array.from([...new Uint8Array(12).fill(0xaa), 0x88, 0xb8, 0, 1, 0, 8, 0, 0, 0, 0]), status: 'not-sv' },
];

function columnsOf(b: FrameBatch, skip: ReadonlySet<string>): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const c of BATCH_LAYOUT.columns) {
    if (skip.has(c.name)) continue;
    out[c.name] = Array.from((b.cols as unknown as Record<string, ArrayLike<unknown>>)[c.name]!);
  }
  return out;
}

test('the test batch builder gives the columns the addon decodes from the same bytes', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'svde-layout-'));
  try {
    const built = new BatchView(buildBatch(specs));
    const file = path.join(dir, 'built.pcap');
    const w = new CaptureWriter(file, { format: 'pcap', resolution: 'ns' });
    for (let i = 0; i < built.count; i++) {
      const r = built.raw(i);
      const ts = built.tsNs(i);
      w.write(r, 0, r.length, Number(ts / 1_000_000_000n), Number(ts % 1_000_000_000n));
    }
    w.close();
    const decoded = [...readCaptureFile(file)];
    assert.equal(decoded.length, 1);
    const d = decoded[0]!;
    // The builder's error text is its status name, the decoder's a full sentence.
    const skip = new Set(['text', 'errTextLen', 'errorOffset']);
    assert.deepEqual(columnsOf(built, skip), columnsOf(d, skip));
    const goose = built.count - 1;
    assert.equal(d.statusName(goose), 'not-sv');
    assert.match(d.error(goose)!, /^not-sv/);
    assert.deepEqual(d.warningNames(3), ['empty-seqdata', 'svid-empty', 'svid-not-visible']);
    assert.deepEqual(built.warningNames(3), d.warningNames(3));
    assert.equal(built.datSet(3), 'IED/LLN0$PhsMeas1');
    assert.equal(built.trailer(4)?.secCnt, 77);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
