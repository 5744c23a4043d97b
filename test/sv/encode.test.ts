// Encoder and capture writers checked against Wireshark's SV dissector (tshark) as the outside oracle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { EncodeError, encodeFrame } from '../../src/sv/encode.ts';
import { CaptureWriter } from '../../src/sv/pcap-writer.ts';
import type { SvFrame } from '../../src/sv/types.ts';

function haveTshark(): boolean {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const TSHARK = haveTshark();

function tsharkJson(file: string): Record<string, unknown>[] {
  const out = execFileSync('tshark', ['-n', '-r', file, '-o', 'sv.decode_data_as_phsmeas:TRUE', '-T', 'json', '--no-duplicate-keys'], {
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return (JSON.parse(out.toString()) as { _source: { layers: Record<string, unknown> } }[]).map((p) => p._source.layers);
}

const arr = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');

/** tshark prints refrTm as "Sep 21, 2026 14:13:20.500000000 UTC": compare seconds and nanoseconds. */
function refrTmMatches(s: string, seconds: number, fraction: number): boolean {
  const m = /^(.*\d\d:\d\d:\d\d)\.(\d{9}) UTC$/.exec(s);
  if (!m) return false;
  const sec = Date.parse(`${m[1]} UTC`) / 1000;
  const ns = Number(m[2]);
  return sec === seconds && Math.abs(ns - (fraction * 1e9) / 16777216) <= 1;
}

const alnum = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$/'.split('')),
  minLength: 1,
  maxLength: 200,
});

const frameArb: fc.Arbitrary<SvFrame> = fc
  .record({
    nVlan: fc.integer({ min: 0, max: 2 }),
    qinq: fc.boolean(),
    ids: fc.array(fc.integer({ min: 0, max: 4095 }), { minLength: 2, maxLength: 2 }),
    prios: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 2, maxLength: 2 }),
    appId: fc.integer({ min: 0, max: 0xffff }),
    simulated: fc.boolean(),
    svID: alnum,
    datSet: fc.option(alnum, { nil: undefined }),
    nAsdu: fc.constantFrom(1, 1, 2, 8),
    smpCnt: fc.integer({ min: 0, max: 0xffff }),
    confRev: fc.integer({ min: 0, max: 0xffffffff }),
    refr: fc.option(
      fc.record({
        seconds: fc.integer({ min: 0, max: 0xffffffff }),
        fraction: fc.integer({ min: 0, max: 0xffffff }),
        quality: fc.integer({ min: 0, max: 255 }),
      }),
      { nil: undefined },
    ),
    smpSynch: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    smpRate: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
    smpMod: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    gm: fc.option(fc.uint8Array({ minLength: 8, maxLength: 8 }), { nil: undefined }),
    nMeas: fc.integer({ min: 1, max: 12 }),
    values: fc.array(fc.integer({ min: -2147483648, max: 2147483647 }), { minLength: 12, maxLength: 12 }),
    quality: fc.array(fc.integer({ min: 0, max: 0x3fff }), { minLength: 12, maxLength: 12 }),
    sec: fc.option(
      fc.record({
        mode: fc.constantFrom(1, 2, 3) as fc.Arbitrary<1 | 2 | 3>,
        keyId: fc.integer({ min: 0, max: 0xffff }),
        secCnt: fc.integer({ min: 0, max: 0xffffffff }),
        sig: fc.uint8Array({ minLength: 64, maxLength: 64 }),
      }),
      { nil: undefined },
    ),
  })
  .map((r) => {
    const seqData = new Uint8Array(8 * r.nMeas);
    const dv = new DataView(seqData.buffer);
    for (let i = 0; i < r.nMeas; i++) {
      dv.setInt32(8 * i, r.values[i]!);
      dv.setUint32(8 * i + 4, r.quality[i]!);
    }
    const frame: SvFrame = {
      dst: '01:0c:cd:04:00:01',
      src: '02:53:56:00:00:01',
      appId: r.appId,
      simulated: r.simulated,
      vlans: Array.from({ length: r.nVlan }, (_, i) => ({
        id: r.ids[i]!,
        priority: r.prios[i]!,
        tpid: i === 0 && r.nVlan === 2 && r.qinq ? 0x88a8 : 0x8100,
      })),
      asdus: Array.from({ length: r.nAsdu }, (_, i) => ({
        svID: r.svID,
        smpCnt: (r.smpCnt + i) % 65536,
        confRev: r.confRev,
        seqData,
        ...(r.datSet !== undefined ? { datSet: r.datSet } : {}),
        ...(r.refr ? { refrTm: r.refr } : {}),
        ...(r.smpSynch !== undefined ? { smpSynch: r.smpSynch } : {}),
        ...(r.smpRate !== undefined ? { smpRate: r.smpRate } : {}),
        ...(r.smpMod !== undefined ? { smpMod: r.smpMod } : {}),
        ...(r.gm ? { gmIdentity: r.gm } : {}),
      })),
    };
    if (r.sec)
      frame.security = {
        version: 1,
        mode: r.sec.mode,
        keyId: r.sec.keyId,
        secCnt: r.sec.secCnt,
        blockLen: r.sec.mode === 1 ? 1 : 80,
        ...(r.sec.mode !== 2 ? { signature: r.sec.sig } : {}),
      };
    return frame;
  });

/** Fixed shapes the brief names explicitly, plus random ones. */
function shapes(): SvFrame[] {
  const seqData = new Uint8Array(64);
  const base = (n: number, svID: string): SvFrame['asdus'] =>
    Array.from({ length: n }, (_, i) => ({ svID, smpCnt: 3990 + i, confRev: 1, smpSynch: 2, smpRate: 80, seqData }));
  const fixed: SvFrame[] = [
    { dst: '01:0c:cd:04:00:01', src: '02:53:56:00:00:01', appId: 0x4000, asdus: base(1, 'MU01') },
    { dst: '01:0c:cd:04:00:01', src: '02:53:56:00:00:01', appId: 0x4001, vlans: [{ id: 123, priority: 4 }], asdus: base(8, 'MU01') },
    {
      dst: '01:0c:cd:04:00:01',
      src: '02:53:56:00:00:01',
      appId: 0x4002,
      vlans: [
        { id: 100, priority: 6, tpid: 0x88a8 },
        { id: 200, priority: 4 },
      ],
      asdus: base(8, 'L'.repeat(300)),
    },
    {
      dst: '01:0c:cd:04:00:01',
      src: '02:53:56:00:00:01',
      appId: 0x4003,
      vlans: [{ id: 5, priority: 1 }],
      asdus: base(1, 'S'),
      security: { version: 1, mode: 1, keyId: 7, secCnt: 42, blockLen: 1, signature: new Uint8Array(64).fill(0xab) },
    },
  ];
  return [...fixed, ...fc.sample(frameArb, { seed: 61850, numRuns: 150 })];
}

test('encoder round-trips through tshark for many frame shapes', { skip: !TSHARK && 'tshark not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'svde-enc-'));
  try {
    const frames = shapes();
    const file = join(dir, 'f.pcap');
    const w = new CaptureWriter(file, { format: 'pcap' });
    const enc = frames.map((f) => encodeFrame(f).bytes);
    enc.forEach((b, i) => w.write(b, 0, b.length, 1_790_000_000 + i, 0));
    w.close();
    const layers = tsharkJson(file);
    assert.equal(layers.length, frames.length);
    frames.forEach((f, i) => {
      const L = layers[i]!;
      const ctx = `frame ${i + 1}`;
      const sv = L['sv'] as Record<string, unknown>;
      assert.ok(sv, `${ctx}: no SV layer`);
      assert.equal(Number(sv['sv.appid']), f.appId, ctx);
      assert.equal(Number(sv['sv.reserve1']), f.simulated ? 0x8000 : 0, ctx);
      const trailerLen = f.security ? (f.security.mode === 2 ? 10 : 74) : 0;
      assert.equal(Number(sv['sv.reserve2']), trailerLen, ctx);
      // VLAN tags: 802.1ad outer tag is its own layer
      const vl = f.vlans ?? [];
      const tags: { id: number; priority: number }[] = [];
      const ad = L['ieee8021ad'] as Record<string, string> | undefined;
      if (ad) tags.push({ id: Number(ad['ieee8021ad.id']), priority: Number(ad['ieee8021ad.priority']) });
      for (const v of arr(L['vlan'] as Record<string, string> | Record<string, string>[] | undefined))
        tags.push({ id: Number(v['vlan.id']), priority: Number(v['vlan.priority']) });
      assert.deepEqual(
        tags,
        vl.map((v) => ({ id: v.id, priority: v.priority })),
        ctx,
      );
      const pdu = sv['sv.savPdu_element'] as Record<string, unknown>;
      assert.equal(Number(pdu['sv.noASDU']), f.asdus.length, ctx);
      const asdus = arr(
        (pdu['sv.seqASDU_tree'] as Record<string, unknown>)['sv.ASDU_element'] as Record<string, unknown> | Record<string, unknown>[],
      );
      assert.equal(asdus.length, f.asdus.length, ctx);
      f.asdus.forEach((a, j) => {
        const t = asdus[j]!;
        const c = `${ctx} asdu ${j}`;
        assert.equal(t['sv.svID'], a.svID, c);
        assert.equal(t['sv.datSet'], a.datSet, c);
        assert.equal(Number(t['sv.smpCnt']), a.smpCnt, c);
        assert.equal(Number(t['sv.confRev']), a.confRev, c);
        if (a.refrTm)
          assert.ok(refrTmMatches(t['sv.refrTm'] as string, a.refrTm.seconds, a.refrTm.fraction), `${c}: refrTm ${String(t['sv.refrTm'])}`);
        else assert.equal(t['sv.refrTm'], undefined, c);
        assert.equal(t['sv.smpSynch'] === undefined ? undefined : Number(t['sv.smpSynch']), a.smpSynch, c);
        assert.equal(t['sv.smpRate'] === undefined ? undefined : Number(t['sv.smpRate']), a.smpRate, c);
        assert.equal(t['sv.smpMod'] === undefined ? undefined : Number(t['sv.smpMod']), a.smpMod, c);
        if (a.gmIdentity) assert.equal(BigInt(t['sv.gmidentity'] as string), BigInt(`0x${Buffer.from(a.gmIdentity).toString('hex')}`), c);
        const pm = t['PhsMeas1'] as Record<string, unknown>;
        const dv = new DataView(a.seqData.buffer, a.seqData.byteOffset, a.seqData.byteLength);
        const n = a.seqData.length / 8;
        assert.deepEqual(
          arr(pm['sv.meas_value'] as string | string[]).map(Number),
          Array.from({ length: n }, (_, k) => dv.getInt32(8 * k)),
          c,
        );
        assert.deepEqual(
          arr(pm['sv.meas_quality'] as string | string[]).map(Number),
          Array.from({ length: n }, (_, k) => dv.getUint32(8 * k + 4)),
          c,
        );
      });
      // The security trailer travels past Length: tshark shows it as the Ethernet (or VLAN) trailer, and its
      // heuristics may split the last 4 bytes off as an FCS; join them back.
      const layer = (L['vlan'] ? arr(L['vlan'] as Record<string, string>[]).at(-1)! : L['eth']) as Record<string, string>;
      const pre = L['vlan'] ? 'vlan' : 'eth';
      let trailer = layer[`${pre}.trailer`] ?? '';
      const fcs = layer[`${pre}.fcs`] ?? (L['eth'] as Record<string, string>)['eth.fcs'];
      if (fcs) trailer = [trailer, ...(fcs.slice(2).match(/../g) ?? [])].filter(Boolean).join(':');
      const b = enc[i]!;
      assert.equal(trailer, trailerLen ? hex(b.subarray(b.length - trailerLen)) : '', ctx);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('long svID gives BER long-form lengths (0x81 / 0x82)', () => {
  const seqData = new Uint8Array(64);
  const mk = (svID: string, n: number) =>
    encodeFrame({
      dst: '01:0c:cd:04:00:01',
      src: '02:00:00:00:00:01',
      appId: 0x4000,
      asdus: Array.from({ length: n }, () => ({ svID, smpCnt: 0, confRev: 1, seqData })),
    }).bytes;
  const has = (b: Uint8Array, seq: number[]) => Buffer.from(b).indexOf(Buffer.from(seq)) >= 0;
  const o = 14; // no VLAN: APPID at 14, savPdu tag at 22
  const b1 = mk('A'.repeat(130), 1); // svID length 130 → 0x81 0x82; savPdu content 128..255 → 0x81
  assert.ok(has(b1, [0x80, 0x81, 130, 0x41]));
  assert.equal(b1[o + 8], 0x60);
  assert.equal(b1[o + 9], 0x81);
  const b2 = mk('A'.repeat(300), 2); // svID 300 → 0x82 0x01 0x2c; savPdu content > 255 → 0x82
  assert.ok(has(b2, [0x80, 0x82, 0x01, 0x2c, 0x41]));
  assert.equal(b2[o + 8], 0x60);
  assert.equal(b2[o + 9], 0x82);
  assert.equal((b2[o + 10]! << 8) | b2[o + 11]!, b2.length - (o + 12), 'savPdu length covers the rest of the frame');
  const b3 = mk('A'.repeat(5), 1);
  assert.ok(b3[o + 9]! < 0x80, 'short form for a small frame');
  assert.equal(b3[o + 9], b3.length - (o + 10));
});

test('encoder rejects out-of-range fields with EncodeError', () => {
  const a = { svID: 'X', smpCnt: 0, confRev: 1, seqData: new Uint8Array(8) };
  const f =
    (over: Partial<SvFrame>, asdu: object = {}) =>
    () =>
      encodeFrame({ dst: '01:0c:cd:04:00:01', src: '02:00:00:00:00:01', appId: 1, asdus: [{ ...a, ...asdu }], ...over });
  assert.throws(f({}, { smpCnt: 65536 }), EncodeError);
  assert.throws(
    f({
      vlans: [
        { id: 1, priority: 0 },
        { id: 2, priority: 0 },
        { id: 3, priority: 0 },
      ],
    }),
    EncodeError,
  );
  assert.throws(f({ vlans: [{ id: 4096, priority: 0 }] }), EncodeError);
  assert.throws(f({ dst: '01:0c:cd' }), EncodeError);
  assert.throws(f({ asdus: [] }), EncodeError);
  assert.throws(f({}, { gmIdentity: new Uint8Array(7) }), EncodeError);
});

test('pcap (µs, ns) and pcapng writers give tshark the exact timestamps', { skip: !TSHARK && 'tshark not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'svde-pcap-'));
  try {
    const { bytes } = encodeFrame({
      dst: '01:0c:cd:04:00:01',
      src: '02:00:00:00:00:01',
      appId: 0x4000,
      asdus: [{ svID: 'odd', smpCnt: 1, confRev: 1, seqData: new Uint8Array(3) }],
    });
    const stamps: [number, number][] = [
      [1_790_000_000, 0],
      [1_790_000_000, 123_456_789],
      [4_294_967_295, 999_999_999],
      [1, 1],
    ];
    for (const [format, resolution, magic] of [
      ['pcap', 'us', 'd4c3b2a1'],
      ['pcap', 'ns', '4d3cb2a1'],
      ['pcapng', 'ns', '0a0d0d0a'],
    ] as const) {
      const file = join(dir, `t.${format}`);
      const w = new CaptureWriter(file, { format, resolution, ifName: 'veth0' });
      for (const [s, n] of stamps) w.write(bytes, 0, bytes.length, s, n);
      w.close();
      assert.equal(readFileSync(file).subarray(0, 4).toString('hex'), magic, `${format}/${resolution} magic`);
      const out = execFileSync('tshark', ['-n', '-r', file, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'sv.svID'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      })
        .toString()
        .trim()
        .split('\n');
      assert.deepEqual(
        out,
        stamps.map(([s, n]) => {
          const ns = resolution === 'us' ? Math.floor(n / 1000) * 1000 : n;
          return `${s}.${String(ns).padStart(9, '0')}\t${bytes.length}\todd`;
        }),
        `${format}/${resolution}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
