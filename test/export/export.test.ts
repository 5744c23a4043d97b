// Evidence export: the pcap opens in tshark with exactly the evidence frames; COMTRADE 2013 read back by an
// independent parser written from the standard's layout gives the decoder's samples scaled to A and V, the
// same in ASCII, BINARY and the single-file .cff, with every .cfg line checked field by field; and the
// `svde export` command end to end with its errors.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportComtrade, exportPcap, ExportError } from '../../src/export/index.ts';
import { comtradeTime } from '../../src/export/comtrade.ts';
import { pcapBytes as exportPcapBytes } from '../../src/export/pcap.ts';
import { readCaptureFile } from '../../src/native/index.ts';
import { EvidenceStore } from '../../src/store/store.ts';
import { epochString } from '../../src/sv/asdu-record.ts';
import { simulate } from '../detect/helpers.ts';
import { run } from '../evidence/helpers.ts';
import { tsharkFrames } from '../helpers/tshark.ts';
import { svde } from '../helpers/repo.ts';

// ---- an independent COMTRADE 2013 reader (IEEE C37.111-2013 clause 6 and 7) --------------------------

const REAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INT = /^[+-]?\d+$/;
const STAMP = /^(\d{2})\/(\d{2})\/(\d{4}),(\d{2}):(\d{2}):(\d{2}\.\d{6})$/;

interface Cfg {
  station: string;
  device: string;
  revYear: string;
  analog: Array<{
    n: number;
    id: string;
    ph: string;
    ccbm: string;
    uu: string;
    a: number;
    b: number;
    skew: number;
    min: number;
    max: number;
    primary: number;
    secondary: number;
    ps: string;
  }>;
  digital: Array<{ n: number; id: string; ph: string; ccbm: string; y: number }>;
  lf: number;
  rates: Array<{ samp: number; endsamp: number }>;
  start: string;
  trigger: string;
  ft: string;
  timemult: number;
  timeCode: string;
  localCode: string;
  tmq: string;
  leapsec: number;
}

/** Parses a .cfg, asserting every line's field count, order and format as the standard lays them out. */
function parseCfg(text: string): Cfg {
  assert.ok(text.endsWith('\r\n'), 'lines end with CR/LF');
  const lines = text.slice(0, -2).split('\r\n');
  assert.ok(
    lines.every((l) => !l.includes('\n') && !l.includes('\r')),
    'CR/LF only as line ends',
  );
  let k = 0;
  const next = (what: string, fields: number): string[] => {
    const l = lines[k++];
    assert.ok(l !== undefined, `missing line: ${what}`);
    const f = l.split(',');
    assert.equal(f.length, fields, `${what}: ${fields} fields in '${l}'`);
    return f;
  };
  const [station, device, revYear] = next('station_name,rec_dev_id,rev_year', 3) as [string, string, string];
  assert.equal(revYear, '2013');
  assert.ok(station.length <= 64 && device.length <= 64);
  const [tt, na, nd] = next('TT,##A,##D', 3) as [string, string, string];
  assert.match(tt, /^\d+$/);
  assert.match(na, /^\d+A$/);
  assert.match(nd, /^\d+D$/);
  const A = Number(na.slice(0, -1)),
    D = Number(nd.slice(0, -1));
  assert.equal(Number(tt), A + D);
  const analog: Cfg['analog'] = [];
  for (let i = 1; i <= A; i++) {
    const f = next('An,ch_id,ph,ccbm,uu,a,b,skew,min,max,primary,secondary,PS', 13);
    assert.equal(f[0], String(i), 'An counts 1 … A');
    assert.ok(f[1]!.length >= 1 && f[1]!.length <= 64, 'ch_id');
    assert.ok(f[2]!.length <= 2, 'ph at most 2 characters');
    assert.ok(f[3]!.length <= 64, 'ccbm');
    assert.ok(f[4]!.length >= 1 && f[4]!.length <= 32, 'uu');
    for (const j of [5, 6, 7, 10, 11]) assert.match(f[j]!, REAL, `field ${j + 1} of analog ${i} is a real number`);
    for (const j of [8, 9]) assert.match(f[j]!, REAL);
    assert.match(f[12]!, /^[PpSs]$/, 'PS');
    analog.push({
      n: i,
      id: f[1]!,
      ph: f[2]!,
      ccbm: f[3]!,
      uu: f[4]!,
      a: Number(f[5]),
      b: Number(f[6]),
      skew: Number(f[7]),
      min: Number(f[8]),
      max: Number(f[9]),
      primary: Number(f[10]),
      secondary: Number(f[11]),
      ps: f[12]!,
    });
  }
  const digital: Cfg['digital'] = [];
  for (let i = 1; i <= D; i++) {
    const f = next('Dn,ch_id,ph,ccbm,y', 5);
    assert.equal(f[0], String(i), 'Dn counts 1 … D');
    assert.match(f[4]!, /^[01]$/, 'y is 0 or 1');
    assert.ok(f[2]!.length <= 2);
    digital.push({ n: i, id: f[1]!, ph: f[2]!, ccbm: f[3]!, y: Number(f[4]) });
  }
  const [lf] = next('lf', 1) as [string];
  assert.match(lf, REAL);
  const [nrates] = next('nrates', 1) as [string];
  assert.match(nrates, INT);
  const rates: Cfg['rates'] = [];
  for (let i = 0; i < Math.max(1, Number(nrates)); i++) {
    const [samp, endsamp] = next('samp,endsamp', 2) as [string, string];
    assert.match(samp, REAL);
    assert.match(endsamp, INT);
    rates.push({ samp: Number(samp), endsamp: Number(endsamp) });
  }
  const stampLine = (what: string): string => {
    const l = lines[k++]!;
    assert.match(l, STAMP, `${what}: dd/mm/yyyy,hh:mm:ss.ssssss`);
    const m = STAMP.exec(l)!;
    assert.ok(
      Number(m[1]) >= 1 &&
        Number(m[1]) <= 31 &&
        Number(m[2]) >= 1 &&
        Number(m[2]) <= 12 &&
        Number(m[4]) <= 23 &&
        Number(m[5]) <= 59 &&
        Number(m[6]) < 60,
    );
    return l;
  };
  const start = stampLine('first data point');
  const trigger = stampLine('trigger point');
  const [ft] = next('ft', 1) as [string];
  assert.ok(['ASCII', 'BINARY', 'BINARY32', 'FLOAT32'].includes(ft.toUpperCase()), 'ft');
  const [tm] = next('timemult', 1) as [string];
  assert.match(tm, REAL);
  const [timeCode, localCode] = next('time_code,local_code', 2) as [string, string];
  const tcode = /^([+-]?\d{1,2}(h\d{2})?|x)$/;
  assert.match(timeCode, tcode);
  assert.match(localCode, tcode);
  const [tmq, leap] = next('tmq_code,leapsec', 2) as [string, string];
  assert.match(tmq, /^[0-9A-Fa-f]$/);
  assert.match(leap, /^[0-3]$/);
  assert.equal(k, lines.length, 'nothing after tmq_code,leapsec');
  return {
    station,
    device,
    revYear,
    analog,
    digital,
    lf: Number(lf),
    rates,
    start,
    trigger,
    ft: ft.toUpperCase(),
    timemult: Number(tm),
    timeCode,
    localCode,
    tmq,
    leapsec: Number(leap),
  };
}

interface DatRow {
  n: number;
  t: number;
  analog: number[];
  digital: number[];
}

function parseDat(cfg: Cfg, dat: Uint8Array): DatRow[] {
  const A = cfg.analog.length,
    D = cfg.digital.length;
  const rows: DatRow[] = [];
  if (cfg.ft === 'ASCII') {
    const text = Buffer.from(dat).toString('latin1');
    assert.ok(text.endsWith('\r\n'));
    for (const l of text.slice(0, -2).split('\r\n')) {
      const f = l.split(',');
      assert.equal(f.length, 2 + A + D, 'n,timestamp,A1…Ak,D1…Dm');
      assert.ok(f.every((x) => INT.test(x)));
      rows.push({ n: Number(f[0]), t: Number(f[1]), analog: f.slice(2, 2 + A).map(Number), digital: f.slice(2 + A).map(Number) });
    }
  } else {
    assert.ok(cfg.ft === 'BINARY' || cfg.ft === 'BINARY32');
    const w = cfg.ft === 'BINARY' ? 2 : 4;
    const words = Math.ceil(D / 16);
    const rec = 4 + 4 + w * A + 2 * words;
    assert.equal(dat.length % rec, 0, 'whole records');
    const b = Buffer.from(dat.buffer, dat.byteOffset, dat.byteLength);
    for (let o = 0; o < b.length; o += rec) {
      const analog: number[] = [];
      for (let i = 0; i < A; i++) analog.push(w === 2 ? b.readInt16LE(o + 8 + 2 * i) : b.readInt32LE(o + 8 + 4 * i));
      const digital: number[] = [];
      for (let i = 0; i < D; i++) digital.push((b.readUInt16LE(o + 8 + w * A + 2 * Math.floor(i / 16)) >> (i % 16)) & 1);
      rows.push({ n: b.readUInt32LE(o), t: b.readUInt32LE(o + 4), analog, digital });
    }
  }
  return rows;
}

/** Splits a .cff into its sections; the binary data section's byte count must match. */
function parseCff(cff: Uint8Array): { cfg: string; dat: Uint8Array; ft: string } {
  const text = Buffer.from(cff).toString('latin1');
  const cfgAt = text.indexOf('--- file type: CFG ---\r\n');
  assert.equal(cfgAt, 0);
  const inf = text.indexOf('--- file type: INF ---\r\n');
  const hdr = text.indexOf('--- file type: HDR ---\r\n');
  const datM = /--- file type: DAT (ASCII|BINARY|BINARY32)(?:: (\d+))? ---\r\n/.exec(text)!;
  assert.ok(inf > 0 && hdr > inf && datM.index > hdr, 'sections in the order CFG, INF, HDR, DAT');
  const cfg = text.slice('--- file type: CFG ---\r\n'.length, inf);
  const start = datM.index + datM[0].length;
  const dat = cff.subarray(start);
  if (datM[1] !== 'ASCII') assert.equal(Number(datM[2]), dat.length, 'byte count of the binary data section');
  return { cfg, dat, ft: datM[1]! };
}

// ---- tests ------------------------------------------------------------------------------------------

describe('evidence export', () => {
  let dir = '';
  let db = '';
  let alarmId = 0;
  let triggerNs = 0n;
  let regularId = 0;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-export-'));
    const sim = await simulate(dir, 'unknown-source', ['--mus', '2', '--duration', '4s']);
    db = path.join(dir, 'evidence.db');
    const store = new EvidenceStore({ path: db, retentionEveryMs: 0 });
    const { alarms } = run(sim.file, sim.truth, store);
    alarmId = alarms[0]!.id;
    triggerNs = alarms[0]!.a.firstTsNs;
    // An alarm on the genuine MU2 with 1 s of its frames as evidence (regular sampling).
    const mu2: Array<{ tsNs: bigint; bytes: Uint8Array }> = [];
    for (const b of readCaptureFile(sim.file))
      for (let i = 0; i < b.count; i++) {
        if (b.appId(i) === sim.truth.config.streams[1]!.appId && b.tsNs(i) >= triggerNs && b.tsNs(i) < triggerNs + 1_000_000_000n)
          mu2.push({ tsNs: b.tsNs(i), bytes: new Uint8Array(b.raw(i)) });
      }
    // One alarm without evidence (as an upstream alarm has none).
    store.alarmRaised({
      id: 9,
      indicator: 'upstreamTamper',
      grade: 4,
      stream: 'B1',
      reason: 'estimate-differs',
      firstFrame: 0,
      lastFrame: 0,
      frames: 1,
      firstTsNs: triggerNs,
      lastTsNs: triggerNs,
    });
    regularId = store.alarmRaised({
      id: 10,
      indicator: 'logic',
      grade: 2,
      stream: 'MU2',
      reason: 'test',
      firstFrame: 0,
      lastFrame: 0,
      frames: 1,
      firstTsNs: triggerNs,
      lastTsNs: triggerNs,
    });
    store.addEvidence(regularId, mu2, true, 'MU2');
    store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('pcap: tshark reads exactly the evidence frames, with their capture times', () => {
    const store = new EvidenceStore({ path: db, retentionEveryMs: 0 });
    const frames = store.evidenceFrames(alarmId);
    const bytes = exportPcap(store, alarmId)!;
    assert.equal(exportPcap(store, 999), undefined);
    assert.throws(
      () => exportPcap(store, 2),
      (e: Error) => e instanceof ExportError && /alarm 2 has no evidence frames/.test(e.message),
    );
    store.close();
    const file = path.join(dir, 'ev.pcap');
    writeFileSync(file, bytes);
    const ts = tsharkFrames(file);
    assert.equal(ts.length, frames.length);
    assert.ok(ts.every((f) => !f.malformed));
    assert.deepEqual(
      ts.map((f) => f.ts),
      frames.map((f) => epochString(f.tsNs)),
    );
    // Byte for byte what was captured, as our decoder reads it back.
    const back: string[] = [];
    for (const b of readCaptureFile(file)) for (let i = 0; i < b.count; i++) back.push(Buffer.from(b.raw(i)).toString('hex'));
    assert.deepEqual(
      back,
      frames.map((f) => Buffer.from(f.bytes).toString('hex')),
    );
    assert.ok(
      ts.every((f) => f.asdus[0]!.svId === ts[0]!.asdus[0]!.svId),
      'one stream',
    );
  });

  it("COMTRADE 2013: every .cfg line has the standard's layout; ASCII, BINARY and .cff give the decoder's samples scaled", () => {
    const store = new EvidenceStore({ path: db, retentionEveryMs: 0 });
    const frames = store.evidenceFrames(alarmId);
    const info = store.streamInfo('MU1')!;
    const ascii = exportComtrade(store, alarmId, { format: 'ascii' })!;
    const binary = exportComtrade(store, alarmId, { format: 'binary' })!;
    assert.equal(exportComtrade(store, 999, { format: 'ascii' }), undefined);
    assert.throws(() => exportComtrade(store, 2, { format: 'ascii' }), /alarm 2 has no evidence frames/);
    assert.throws(
      () => exportComtrade(store, alarmId, { format: 'ascii', channels: ['IX'] }),
      /no channel 'IX' in stream MU1 \(channels: IA, IB/,
    );
    store.close();

    // Reference: the decoder's samples of the evidence frames, scaled with the stream's channel table.
    const file = path.join(dir, 'ref.pcap');
    writeFileSync(file, exportPcapBytes(frames));
    const ref: Array<{ values: number[]; quality: number[] }> = [];
    for (const b of readCaptureFile(file))
      for (let i = 0; i < b.count; i++) {
        for (let k = 0; k < b.asduCount(i); k++) {
          const j = b.asduStart(i) + k;
          ref.push({ values: Array.from(b.values(j)!, (v, ch) => v * info.channels![ch]!.scale), quality: Array.from(b.quality(j)!) });
        }
      }
    assert.ok(ref.length > 4000, `${ref.length} samples`);

    const decoded: DatRow[][] = [];
    for (const rec of [ascii, binary]) {
      const cfg = parseCfg(rec.cfg);
      assert.equal(cfg.analog.length, 8);
      assert.equal(cfg.digital.length, 8);
      assert.deepEqual(
        cfg.analog.map((c) => c.id),
        ['IA', 'IB', 'IC', 'IN', 'VA', 'VB', 'VC', 'VN'],
      );
      assert.deepEqual(
        cfg.analog.map((c) => c.uu),
        ['A', 'A', 'A', 'A', 'V', 'V', 'V', 'V'],
      );
      assert.deepEqual(
        cfg.analog.map((c) => c.ph),
        ['A', 'B', 'C', 'N', 'A', 'B', 'C', 'N'],
      );
      assert.ok(cfg.analog.every((c) => c.ccbm === 'MU1' && c.ps === 'P' && c.skew === 0));
      assert.equal(cfg.lf, 50);
      // The rogue publisher doubles MU1's frames after the trigger: no fixed rate, the time stamps rule.
      assert.deepEqual(cfg.rates, [{ samp: 0, endsamp: ref.length }]);
      assert.ok(info.samplesPerSecond! > 0);
      assert.equal(cfg.trigger, comtradeTime(triggerNs));
      assert.equal(cfg.start, comtradeTime(frames[0]!.tsNs), 'one ASDU per frame: the first sample is the first frame');
      assert.equal(cfg.timemult, 1);
      assert.equal(cfg.leapsec, 0);
      const rows = parseDat(cfg, rec.dat);
      assert.equal(rows.length, ref.length);
      rows.forEach((r, n) => {
        assert.equal(r.n, n + 1);
        if (n > 0) assert.ok(r.t >= rows[n - 1]!.t, 'time stamps never decrease');
        r.analog.forEach((x, ch) => {
          const c = cfg.analog[ch]!;
          assert.ok(x >= c.min && x <= c.max, 'within the declared range');
          const phys = c.a * x + c.b;
          const want = ref[n]!.values[ch]!;
          assert.ok(Math.abs(phys - want) <= c.a / 2 + 1e-9, `sample ${n + 1} ${c.id}: ${phys} vs ${want}`);
        });
        r.digital.forEach((d, ch) => assert.equal(d, (ref[n]!.quality[ch]! & 3) !== 0 ? 1 : 0));
      });
      // The last sample is ~2 s after the first (pre + post window) in µs.
      assert.ok(rows[rows.length - 1]!.t >= 2_000_000 && rows[rows.length - 1]!.t < 2_500_000);
      decoded.push(rows);
    }
    assert.deepEqual(
      decoded[0]!.map((r) => r.analog),
      decoded[1]!.map((r) => r.analog),
      'ASCII and BINARY give the same samples',
    );
    assert.equal(parseCfg(ascii.cfg).ft, 'ASCII');
    assert.equal(parseCfg(binary.cfg).ft, 'BINARY');

    for (const rec of [ascii, binary]) {
      const cff = parseCff(rec.cff);
      assert.equal(cff.cfg, rec.cfg);
      assert.deepEqual(Buffer.from(cff.dat), Buffer.from(rec.dat));
    }
  });

  it('COMTRADE of a regular stream declares its fixed sample rate', () => {
    const store = new EvidenceStore({ path: db, retentionEveryMs: 0 });
    const rec = exportComtrade(store, regularId, { format: 'ascii' })!;
    store.close();
    const cfg = parseCfg(rec.cfg);
    const rows = parseDat(cfg, rec.dat);
    assert.deepEqual(cfg.rates, [{ samp: 4000, endsamp: rows.length }]);
    assert.ok(rows.length >= 3990 && rows.length <= 4010, `${rows.length} samples in 1 s`);
    assert.ok(Math.abs(rows[rows.length - 1]!.t - (rows.length - 1) * 250) <= 500, 'time stamps follow the rate');
    assert.equal(cfg.analog[0]!.ccbm, 'MU2');
  });

  it("COMTRADE BINARY32 keeps every raw value: a·x + b is the decoder's value exactly", () => {
    const store = new EvidenceStore({ path: db, retentionEveryMs: 0 });
    const frames = store.evidenceFrames(alarmId);
    const rec = exportComtrade(store, alarmId, { format: 'binary32' })!;
    const scales = store.streamInfo('MU1')!.channels!.map((c) => c.scale);
    store.close();
    const cfg = parseCfg(rec.cfg);
    assert.equal(cfg.ft, 'BINARY32');
    assert.deepEqual(
      cfg.analog.map((c) => c.a),
      scales,
    );
    const rows = parseDat(cfg, rec.dat);
    const file = path.join(dir, 'ref32.pcap');
    writeFileSync(file, exportPcapBytes(frames));
    let n = 0;
    for (const b of readCaptureFile(file))
      for (let i = 0; i < b.count; i++) {
        for (let k = 0; k < b.asduCount(i); k++, n++) assert.deepEqual(rows[n]!.analog, Array.from(b.values(b.asduStart(i) + k)!));
      }
    assert.equal(n, rows.length);
    assert.match(Buffer.from(rec.cff).toString('latin1'), /--- file type: DAT BINARY32: \d+ ---\r\n/);
  });

  it('COMTRADE with a channel subset', () => {
    const store = new EvidenceStore({ path: db, retentionEveryMs: 0 });
    const rec = exportComtrade(store, alarmId, { format: 'binary', channels: ['VA', 'IA'] })!;
    store.close();
    const cfg = parseCfg(rec.cfg);
    assert.deepEqual(
      cfg.analog.map((c) => c.id),
      ['VA', 'IA'],
    );
    assert.equal(parseDat(cfg, rec.dat)[0]!.analog.length, 2);
  });

  it('svde export end to end: --list, pcap, comtrade, comtrade-binary, --cff, and precise errors', async () => {
    const list = await svde(['export', '--db', db, '--list']);
    assert.equal(list.code, 0, list.stderr);
    const alarms = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: number; exported: boolean; evidence: unknown });
    assert.deepEqual(
      alarms.map((a) => a.id),
      [regularId, 2, alarmId],
    );
    assert.equal(alarms[2]!.exported, false);

    const pcap = path.join(dir, 'cli.pcap');
    let r = await svde(['export', '--db', db, '--alarm', String(alarmId), '--format', 'pcap', '--out', pcap]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(tsharkFrames(pcap).length, (alarms[2]!.evidence as { frames: number }).frames);

    const base = path.join(dir, 'cli-rec');
    r = await svde(['export', '--db', db, '--alarm', String(alarmId), '--format', 'comtrade', '--out', `${base}.cfg`]);
    assert.equal(r.code, 0, r.stderr);
    const cfgA = parseCfg(readFileSync(`${base}.cfg`, 'latin1'));
    assert.equal(cfgA.ft, 'ASCII');
    const rowsA = parseDat(cfgA, readFileSync(`${base}.dat`));
    r = await svde(['export', '--db', db, '--alarm', String(alarmId), '--format', 'comtrade-binary', '--out', `${base}-bin`]);
    assert.equal(r.code, 0, r.stderr);
    const cfgB = parseCfg(readFileSync(`${base}-bin.cfg`, 'latin1'));
    assert.deepEqual(
      parseDat(cfgB, readFileSync(`${base}-bin.dat`)).map((x) => x.analog),
      rowsA.map((x) => x.analog),
    );
    r = await svde(['export', '--db', db, '--alarm', String(alarmId), '--format', 'comtrade-binary32', '--out', `${base}-b32`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parseDat(parseCfg(readFileSync(`${base}-b32.cfg`, 'latin1')), readFileSync(`${base}-b32.dat`)).length, rowsA.length);
    r = await svde(['export', '--db', db, '--alarm', String(alarmId), '--format', 'comtrade-binary', '--cff', '--out', `${base}-one`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parseCff(readFileSync(`${base}-one.cff`)).ft, 'BINARY');

    const after = await svde(['export', '--db', db, '--list']);
    assert.equal(
      (JSON.parse(after.stdout.trim().split('\n')[2]!) as { exported: boolean }).exported,
      true,
      'exported alarms are marked (retention may now age them out)',
    );

    const cases: Array<[string[], number, RegExp]> = [
      [['--db', db, '--alarm', '77', '--format', 'pcap', '--out', pcap], 2, /no alarm 77 in /],
      [['--db', db, '--alarm', '2', '--format', 'pcap', '--out', pcap], 1, /alarm 2 has no evidence frames/],
      [['--db', db, '--alarm', 'x1', '--format', 'pcap', '--out', pcap], 2, /--alarm must be a positive integer, got 'x1'/],
      [['--db', db, '--alarm', '1', '--format', 'wav', '--out', pcap], 2, /unknown --format 'wav'/],
      [['--db', db, '--alarm', '1', '--format', 'pcap'], 2, /--out PATH is required/],
      [['--alarm', '1'], 2, /--db FILE is required/],
      [['--db', path.join(dir, 'nope.db'), '--list'], 1, /nope\.db: no such file/],
      [['--db', pcap, '--list'], 1, /not an SQLite database/],
      [['--db', db, '--alarm', String(alarmId), '--format', 'comtrade', '--channels', 'IQ', '--out', base], 2, /no channel 'IQ'/],
      [['--bogus'], 2, /Unknown option '--bogus'/],
    ];
    for (const [args, code, msg] of cases) {
      const x = await svde(['export', ...args]);
      assert.equal(x.code, code, `${args.join(' ')}: ${x.stderr}`);
      assert.match(x.stderr, msg);
      assert.match(x.stderr, /^svde export: /);
    }
    assert.equal(existsSync(path.join(dir, 'nope.db')), false, 'a missing store is not created');
  });
});
