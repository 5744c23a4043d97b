// Offline reading through the addon, checked against tshark (the reference SV dissector).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCaptureFile } from '../../src/native/index.ts';
import type { FrameBatch } from '../../src/native/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const capturesDir = path.resolve(repoRoot, '../shared/captures');
const haveTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

function captureFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...captureFiles(p));
    else if (/\.(pcap|pcapng)$/.test(name)) out.push(p);
  }
  return out;
}

function epoch(ns: bigint): string {
  const s = ns / 1_000_000_000n;
  return `${s}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

function hexOf(b: Uint8Array | undefined): string | undefined {
  return b === undefined ? undefined : Buffer.from(b).toString('hex');
}

/** Everything the batch view exposes, one plain record per frame (for equality across batchings). */
function frameRecords(b: FrameBatch): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < b.count; i++) {
    const asdus: unknown[] = [];
    for (let j = b.asduStart(i); j < b.asduStart(i) + b.asduCount(i); j++) {
      assert.equal(b.asduFrame(j), i);
      asdus.push({
        svId: b.svId(j),
        datSet: b.datSet(j),
        smpCnt: b.smpCnt(j),
        confRev: b.confRev(j),
        refrTm: hexOf(b.refrTm(j)),
        smpSynch: b.smpSynch(j),
        smpRate: b.smpRate(j),
        smpMod: b.smpMod(j),
        gm: hexOf(b.gmIdentity(j)),
        seqData: hexOf(b.seqData(j)),
        values: b.values(j) && [...b.values(j)!],
        quality: b.quality(j) && [...b.quality(j)!],
      });
    }
    out.push({
      frameNo: b.frameNo(i),
      ts: b.tsNs(i),
      raw: hexOf(b.raw(i)),
      wireLen: b.wireLen(i),
      status: b.status(i),
      error: b.error(i),
      src: b.src(i),
      dst: b.dst(i),
      vlan: [b.vlanCount(i), b.vlanId(i, 0), b.vlanPriority(i, 0), b.vlanId(i, 1)],
      appId: b.appId(i),
      length: b.length(i),
      r1: b.reserved1(i),
      sim: b.simulated(i),
      r2: b.reserved2(i),
      noAsdu: b.noAsdu(i),
      trailer: b.trailer(i),
      asdus,
    });
  }
  return out;
}

function readAll(file: string, batchFrames?: number): { records: unknown[]; batches: number[] } {
  const records: unknown[] = [];
  const batches: number[] = [];
  for (const b of readCaptureFile(file, batchFrames === undefined ? {} : { batchFrames })) {
    batches.push(b.count);
    records.push(...frameRecords(b));
  }
  return { records, batches };
}

const files = captureFiles(capturesDir);

test('the shared captures are there', () => {
  assert.ok(files.length >= 6, `expected the shared captures under ${capturesDir}`);
});

for (const file of files) {
  const name = path.relative(capturesDir, file);
  test(`${name}: frame numbers, timestamps, smpCnt and addresses match tshark`, { skip: !haveTshark && 'tshark missing' }, () => {
    const out = execFileSync(
      'tshark',
      [
        '-n',
        '-r',
        file,
        '-T',
        'fields',
        '-E',
        'separator=/t',
        '-E',
        'occurrence=a',
        '-E',
        'aggregator=,',
        '-e',
        'frame.number',
        '-e',
        'frame.time_epoch',
        '-e',
        'sv.smpCnt',
        '-e',
        'eth.src',
        '-e',
        'eth.dst',
        '-e',
        'frame.len',
        '-e',
        'sv.appid',
        '-e',
        'sv.svID',
      ],
      { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const rows = out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t'));
    const ours: string[][] = [];
    for (const b of readCaptureFile(file)) {
      for (let i = 0; i < b.count; i++) {
        const smp: string[] = [];
        const svIds: string[] = [];
        for (let j = b.asduStart(i); j < b.asduStart(i) + b.asduCount(i); j++) {
          smp.push(String(b.smpCnt(j)));
          svIds.push(b.svId(j));
        }
        const sv = b.ok(i);
        ours.push([
          String(b.frameNo(i)),
          epoch(b.tsNs(i)),
          sv ? smp.join(',') : '',
          b.src(i),
          b.dst(i),
          String(b.wireLen(i)),
          sv ? `0x${b.appId(i).toString(16).padStart(4, '0')}` : '',
          sv ? svIds.join(',') : '',
        ]);
      }
    }
    assert.equal(ours.length, rows.length, 'frame count');
    assert.ok(
      ours.some((r) => r[2] !== ''),
      'at least one SV frame decoded',
    );
    for (let k = 0; k < rows.length; k++) assert.deepEqual(ours[k], rows[k], `frame ${k + 1}`);
  });
}

test('batch boundaries do not change the result (batchFrames 1, 7, default)', () => {
  for (const file of files) {
    const def = readAll(file);
    const one = readAll(file, 1);
    const seven = readAll(file, 7);
    assert.ok(one.batches.every((n) => n === 1));
    assert.ok(seven.batches.slice(0, -1).every((n) => n === 7));
    assert.equal(one.records.length, def.records.length);
    assert.deepEqual(one.records, def.records, path.basename(file));
    assert.deepEqual(seven.records, def.records, path.basename(file));
  }
});

test('pcapng is recognised by its magic number, whatever the file name', { skip: !haveTshark && 'editcap missing' }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'svde-native-'));
  try {
    const src = path.join(capturesDir, 'other/guseynov1_9-2LE_80frames.pcap');
    const ng = path.join(dir, 'converted.pcap'); // a pcapng file with a misleading name
    execFileSync('editcap', ['-F', 'pcapng', src, ng]);
    assert.deepEqual(readAll(ng).records, readAll(src).records);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing file gives a clear error', () => {
  const missing = path.join(os.tmpdir(), `svde-no-such-file-${process.pid}.pcap`);
  assert.throws(
    () => readCaptureFile(missing),
    (err: Error) => err.message.includes(missing) && /No such file/i.test(err.message),
  );
});

test('a file that is not a capture gives a clear error', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'svde-native-'));
  try {
    const bogus = path.join(dir, 'not-a-capture.pcap');
    writeFileSync(bogus, 'this is plain text, not a capture file\n');
    assert.throws(
      () => readCaptureFile(bogus),
      (err: Error) => err.message.includes(bogus) && /format/i.test(err.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a capture cut short mid-record yields the complete frames, then an error', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'svde-native-'));
  try {
    const src = path.join(capturesDir, 'other/guseynov1_9-2LE_80frames.pcap');
    const whole = execFileSync('cat', [src]);
    const cut = path.join(dir, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, whole.length - 20));
    let frames = 0;
    assert.throws(
      () => {
        for (const b of readCaptureFile(cut, { batchFrames: 1000 })) frames += b.count;
      },
      (err: Error) => err.message.includes(cut) && err.message.includes('after frame 79'),
    );
    assert.equal(frames, 79);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('opening and closing readers in a loop does not leak', async () => {
  const file = path.join(capturesDir, 'other/guseynov1_9-2LE_80frames.pcap');
  const round = async (): Promise<number> => {
    for (let k = 0; k < 1000; k++) {
      for (const b of readCaptureFile(file, { batchFrames: 16 })) void b.count;
    }
    // Native finalizers run from the event loop: let them.
    await new Promise((r) => setTimeout(r, 20));
    return process.memoryUsage().rss;
  };
  await round();
  const base = await round();
  let last = base;
  for (let r = 0; r < 3; r++) last = await round();
  // A leaked reader (pcap buffer, writer) or batch per iteration would add > 30 MB over 3000 readers.
  assert.ok(last - base < 16 << 20, `rss grew by ${((last - base) / 1e6).toFixed(1)} MB`);
});
