// Every scenario's frames must really show what its ground truth says (read back with an independent parser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_OPTIONS, runSimulation } from '../../tools/sim/engine.ts';
import type { SimOptions } from '../../tools/sim/engine.ts';
import { SCENARIOS, findScenario } from '../../tools/sim/scenarios.ts';
import type { GroundTruth, MaliciousFrame } from '../../tools/sim/truth.ts';
import { blockMessage, keyContent } from '../../src/crypto/signed-frames.ts';
import { deriveKeyPair, signatureFromRaw, sm2Verify } from '../../src/crypto/sm2.ts';
import { sm3 } from '../../src/crypto/sm3.ts';
import { MemorySink, parseSv } from './frames.ts';
import type { CapturedFrame, ParsedFrame } from './frames.ts';

interface Run {
  raw: CapturedFrame[];
  frames: ParsedFrame[];
  truth: Omit<GroundTruth, 'capture'>;
  labels: Map<number, MaliciousFrame>;
  opts: SimOptions;
}

async function run(name: string, over: Partial<SimOptions> = {}): Promise<Run> {
  const sc = findScenario(name)!;
  const opts: SimOptions = { ...DEFAULT_OPTIONS, durationS: 2, sign: sc.defaultSign ?? null, ...over };
  const sink = new MemorySink();
  const res = await runSimulation(opts, sc, sink);
  assert.equal(res.frames, sink.frames.length);
  return {
    raw: sink.frames,
    frames: sink.frames.map((f) => parseSv(f.bytes)),
    truth: res.truth,
    labels: new Map(res.truth.malicious.map((m) => [m.frame, m])),
    opts,
  };
}

const streamOf = (r: Run, f: ParsedFrame) => r.truth.config.streams.find((s) => s.appId === f.appId)!;
const kclResidualA = (v: number[]) => Math.abs(v[0]! + v[1]! + v[2]! - v[3]!) / 1000;
const framesOf = (r: Run, name: string) => r.frames.map((f, i) => ({ f, n: i + 1 })).filter(({ f }) => streamOf(r, f)?.name === name);

/** Invariants every scenario's output must keep. */
function checkGeneric(r: Run): void {
  const total = r.frames.length;
  let prev = 0;
  for (const m of r.truth.malicious) {
    assert.ok(m.frame > prev && m.frame <= total, `labels ascending and in range (${m.frame})`);
    prev = m.frame;
  }
  let lastTs = -Infinity;
  for (const f of r.raw) {
    const t = (f.sec - r.opts.startEpochS) * 1e9 + f.nsec;
    assert.ok(t >= lastTs, 'timestamps never go back');
    lastTs = t;
  }
  for (const s of r.truth.config.streams) {
    let expected: number | undefined;
    for (const { f, n } of framesOf(r, s.name)) {
      const lab = r.labels.get(n);
      const smp = f.asdus[0]!.smpCnt;
      f.asdus.forEach((a, i) => assert.equal(a.smpCnt, (smp + i) % s.samplesPerSecond, 'consecutive ASDUs'));
      if (!lab) {
        assert.ok(s.acceptedSourceMacs.includes(f.src), `frame ${n}: genuine source`);
        assert.equal(f.reserved1, 0);
        assert.equal(f.asdus[0]!.svID, s.svID);
        assert.equal(f.asdus[0]!.confRev, s.confRev);
        if (expected !== undefined) assert.equal(smp, expected, `frame ${n} of ${s.name}: smpCnt continues`);
        expected = (smp + s.nofASDU) % s.samplesPerSecond;
      } else if (expected === undefined || smp === expected) {
        expected = (smp + s.nofASDU) % s.samplesPerSecond;
      } else if (['gap', 'smpcnt-jump', 'smpcnt-reorder'].includes(lab.reason)) {
        // the genuine counter moved on; a late (reordered) frame does not move it back
        const ahead = (smp + s.nofASDU - expected + s.samplesPerSecond) % s.samplesPerSecond;
        if (ahead < s.samplesPerSecond / 2) expected = (smp + s.nofASDU) % s.samplesPerSecond;
      }
    }
  }
}

test('normal: no labels, smpCnt wraps at smpRate per second, ASDU counters consecutive (8 ASDUs, 256/cycle)', async () => {
  const r = await run('normal', { samplesPerSecond: 12800, nofASDU: 8, durationS: 2.5 });
  checkGeneric(r);
  assert.equal(r.truth.malicious.length, 0);
  const mu1 = framesOf(r, 'MU1')
    .map(({ f }) => f.asdus.map((a) => a.smpCnt))
    .flat();
  assert.equal(mu1.length, 2.5 * 12800);
  mu1.forEach((c, k) => assert.equal(c, k % 12800));
  assert.equal(r.frames[0]!.asdus[0]!.smpRate, 256);
  // frames leave every 8 samples: 1600 frames/s
  const ts = r.raw.filter((_, i) => streamOf(r, r.frames[i]!).name === 'MU1').map((f) => (f.sec - r.opts.startEpochS) * 1e9 + f.nsec);
  assert.equal(ts[1]! - ts[0]!, 625_000);
  const ev = r.truth.genuineEvents.filter((e) => e.kind === 'load-step');
  assert.equal(ev.length, 2);
});

test('IEC 61869-9 rate 14400 at 50 Hz: smpRate = samples/s, smpMod 1; free-running smpSynch 0 with refrTm', async () => {
  const r = await run('normal', { samplesPerSecond: 14400, nofASDU: 6, durationS: 1, smpSynch: 0, refrTm: true });
  checkGeneric(r);
  const a = r.frames[0]!.asdus[0]!;
  assert.equal(a.smpRate, 14400);
  assert.equal(a.smpMod, 1);
  assert.equal(a.smpSynch, 0);
  assert.notEqual(a.smpCnt, 0, 'an unsynchronised counter is not aligned to the second');
  r.frames.forEach((f, i) => {
    const t = f.asdus[0]!.refrTm!;
    const cap = r.raw[i]!;
    // refrTm is the first sample's time; the frame leaves after its last sample plus the MU latency (< 1 ms)
    const lagNs = (cap.sec - t.seconds) * 1e9 + cap.nsec - (t.fraction * 1e9) / 16777216;
    assert.ok(lagNs > 0 && lagNs < 1e6, `frame ${i + 1}: lag ${lagNs} ns`);
    assert.equal(t.quality & 0x20, 0x20, 'not synchronised');
  });
});

test('determinism: the same seed gives identical bytes, another seed different noise', async () => {
  const a = await run('interleaved-injection', { durationS: 1 });
  const b = await run('interleaved-injection', { durationS: 1 });
  const c = await run('interleaved-injection', { durationS: 1, seed: 2 });
  assert.deepEqual(
    a.raw.map((f) => Buffer.from(f.bytes).toString('hex')),
    b.raw.map((f) => Buffer.from(f.bytes).toString('hex')),
  );
  assert.notDeepEqual(a.raw[5]!.bytes, c.raw[5]!.bytes);
});

test('unknown-source: labelled frames come from a MAC outside the accept list', async () => {
  const r = await run('unknown-source');
  checkGeneric(r);
  assert.ok(r.truth.malicious.length > 1000);
  for (const m of r.truth.malicious) {
    assert.equal(m.indicator, 'mac');
    assert.equal(m.reason, 'unknown-source');
    assert.ok(!streamOf(r, r.frames[m.frame - 1]!).acceptedSourceMacs.includes(r.frames[m.frame - 1]!.src));
  }
});

test('spoofed-mac: accepted MAC, duplicated smpCnt of the preceding genuine frame, trip-level currents', async () => {
  const r = await run('spoofed-mac');
  checkGeneric(r);
  for (const m of r.truth.malicious) {
    const f = r.frames[m.frame - 1]!;
    const s = streamOf(r, f);
    assert.equal(m.reason, 'smpcnt-duplicate');
    assert.ok(s.acceptedSourceMacs.includes(f.src));
    const prevGenuine = framesOf(r, s.name)
      .filter(({ n }) => n < m.frame && !r.labels.has(n))
      .at(-1)!.f;
    assert.equal(f.asdus[0]!.smpCnt, prevGenuine.asdus[0]!.smpCnt);
    assert.equal(f.asdus[0]!.values[0], Math.round(prevGenuine.asdus[0]!.values[0]! * 8));
  }
});

test('interleaved-injection: three bursts whose own smpCnt starts at 0', async () => {
  const r = await run('interleaved-injection');
  checkGeneric(r);
  const cnts = r.truth.malicious.map((m) => r.frames[m.frame - 1]!.asdus[0]!.smpCnt);
  assert.equal(cnts.filter((c) => c === 0).length, 3);
  for (let i = 1; i < cnts.length; i++) assert.ok(cnts[i] === 0 || cnts[i] === cnts[i - 1]! + 1);
  assert.ok(r.truth.malicious.every((m) => m.reason === 'interleaved-counter'));
});

test('value-modification: labelled frames break KCL during a real fault; the twin MU still sees the fault', async () => {
  const r = await run('value-modification');
  checkGeneric(r);
  assert.equal(r.truth.genuineEvents.filter((e) => e.kind === 'fault').length, 1);
  // the fault current (and so IN) grows from zero at inception and crosses zero twice a cycle: judge per
  // sample after the first cycle, by the share of samples with a gross violation
  const firstT = r.raw[r.truth.malicious[0]!.frame - 1]!;
  let gross = 0;
  let counted = 0;
  for (const m of r.truth.malicious) {
    const f = r.raw[m.frame - 1]!;
    if ((f.sec - firstT.sec) * 1e9 + f.nsec - firstT.nsec < 20e6) continue;
    counted++;
    if (kclResidualA(r.frames[m.frame - 1]!.asdus[0]!.values) > 100) gross++;
  }
  assert.ok(gross / counted > 0.9, `${gross}/${counted} labelled samples break KCL by > 100 A`);
  assert.ok(r.truth.malicious.length === 0.2 * 2 * 4000, 'every MU1 frame during the fault is labelled');
  for (const { f, n } of framesOf(r, 'MU1')) if (!r.labels.has(n)) assert.ok(kclResidualA(f.asdus[0]!.values) < 3);
  const fault = r.truth.genuineEvents.find((e) => e.kind === 'fault')!;
  const mu2Peak = Math.max(
    ...framesOf(r, 'MU2')
      .filter(({ n }) => n >= fault.fromFrame && n <= fault.toFrame)
      .map(({ f }) => Math.abs(f.asdus[0]!.values[0]!)),
  );
  assert.ok(mu2Peak / 1000 > r.truth.config.protection.overcurrentA * Math.SQRT2, 'MU2 shows the fault current');
});

test('deletion: the labelled smpCnt range is really missing from MU1 and nothing else is', async () => {
  const r = await run('deletion');
  checkGeneric(r);
  assert.equal(r.truth.deleted.length, 1);
  const d = r.truth.deleted[0]!;
  assert.equal(d.frames, 400); // 0.1 s at 4000 frames/s
  const mu1 = framesOf(r, 'MU1');
  assert.equal(mu1.filter(({ n }) => n > d.beforeFrame && n < d.afterFrame).length, 0, 'no MU1 frame inside the gap');
  assert.equal(((d.smpCntTo - d.smpCntFrom + 4000) % 4000) + 1, d.frames);
  assert.equal(mu1.length, 2 * 4000 - 400);
  const after = r.frames[d.afterFrame - 1]!;
  const before = r.frames[d.beforeFrame - 1]!;
  assert.equal(after.asdus[0]!.smpCnt, (d.smpCntTo + 1) % 4000);
  assert.equal(before.asdus[0]!.smpCnt, (d.smpCntFrom + 3999) % 4000);
  assert.deepEqual(
    r.truth.malicious.map((m) => [m.frame, m.reason]),
    [[d.afterFrame, 'gap']],
  );
});

test('replay: labelled frames are byte-identical to frames sent earlier', async () => {
  const r = await run('replay');
  checkGeneric(r);
  const seen = new Map<string, number>();
  r.raw.forEach((f, i) => {
    const k = Buffer.from(f.bytes).toString('hex');
    if (!seen.has(k)) seen.set(k, i + 1);
  });
  assert.ok(r.truth.malicious.length === 1000);
  for (const m of r.truth.malicious) assert.ok(seen.get(Buffer.from(r.raw[m.frame - 1]!.bytes).toString('hex'))! < m.frame);
});

test('smpcnt-anomalies: duplicates repeat, the jump skips 37, the reordered frame is late', async () => {
  const r = await run('smpcnt-anomalies');
  checkGeneric(r);
  const mu1 = framesOf(r, 'MU1');
  const idx = (n: number) => mu1.findIndex((x) => x.n === n);
  for (const m of r.truth.malicious) {
    const i = idx(m.frame);
    const c = mu1[i]!.f.asdus[0]!.smpCnt;
    const p = mu1[i - 1]!.f.asdus[0]!.smpCnt;
    if (m.reason === 'smpcnt-duplicate') assert.equal(c, p);
    else if (m.reason === 'smpcnt-jump') assert.equal(c, (p + 1 + 37) % 4000);
    else if (m.reason === 'smpcnt-reorder')
      assert.equal(c, m.note === 'arrives before its predecessor' ? (p + 2) % 4000 : (p + 3999) % 4000);
    else assert.fail(`unexpected reason ${m.reason}`);
  }
  assert.deepEqual(Object.keys(r.truth.summary).sort(), ['logic/smpcnt-duplicate', 'logic/smpcnt-jump', 'logic/smpcnt-reorder']);
});

test('config-mismatch: labelled frames carry the mismatching confRev / svID / datSet', async () => {
  const r = await run('config-mismatch');
  checkGeneric(r);
  const s = r.truth.config.streams[0]!;
  for (const m of r.truth.malicious) {
    const a = r.frames[m.frame - 1]!.asdus[0]!;
    if (m.reason === 'confrev-mismatch') assert.equal(a.confRev, s.confRev + 1);
    else if (m.reason === 'svid-mismatch') assert.notEqual(a.svID, s.svID);
    else {
      assert.equal(m.reason, 'datset-mismatch');
      assert.notEqual(a.datSet, s.datSet);
    }
  }
  for (const { f, n } of framesOf(r, 'MU1')) if (!r.labels.has(n)) assert.equal(f.asdus[0]!.datSet, s.datSet);
});

test('simulate-bit: exactly the labelled frames have Reserved 1 bit 15', async () => {
  const r = await run('simulate-bit');
  checkGeneric(r);
  r.frames.forEach((f, i) => assert.equal(f.reserved1 === 0x8000, r.labels.has(i + 1)));
});

test('flood: the MU1 stream runs at 10× its rate during the window', async () => {
  const r = await run('flood');
  checkGeneric(r);
  const first = r.truth.malicious[0]!.frame;
  const last = r.truth.malicious.at(-1)!.frame;
  const t = (n: number) => r.raw[n - 1]!.sec + r.raw[n - 1]!.nsec / 1e9;
  const inWin = framesOf(r, 'MU1').filter(({ n }) => n >= first && n <= last).length;
  const rate = inWin / (t(last) - t(first));
  assert.ok(rate > 9.5 * 4000 && rate < 10.5 * 4000, `rate ${rate}`);
});

test('fdi-kcl breaks IA+IB+IC = IN; fdi-stealthy keeps it but departs from the twin MU', async () => {
  const k = await run('fdi-kcl');
  checkGeneric(k);
  const big = k.truth.malicious.filter((m) => kclResidualA(k.frames[m.frame - 1]!.asdus[0]!.values) > 20).length;
  assert.ok(big / k.truth.malicious.length > 0.9, 'most labelled frames violate KCL clearly');
  const s = await run('fdi-stealthy');
  checkGeneric(s);
  for (const m of s.truth.malicious) assert.ok(kclResidualA(s.frames[m.frame - 1]!.asdus[0]!.values) < 3);
  // MU1 and MU2 measure the same bay: compare IA sample by sample (same smpCnt)
  const mu1 = framesOf(s, 'MU1').map(({ n }) => n);
  const mu2 = framesOf(s, 'MU2').map(({ f }) => f.asdus[0]!.values[0]!);
  let ratioSum = 0;
  let n = 0;
  for (const m of s.truth.malicious) {
    const a = s.frames[m.frame - 1]!.asdus[0]!;
    const b = mu2[mu1.indexOf(m.frame)]!;
    if (Math.abs(b) > 200_000) {
      ratioSum += a.values[0]! / b;
      n++;
    }
  }
  assert.ok(Math.abs(ratioSum / n - 1.5) < 0.01, `MU1/MU2 ratio ${ratioSum / n}`);
});

test('trip-without-fault: currents above the overcurrent setting with healthy voltages', async () => {
  const r = await run('trip-without-fault');
  checkGeneric(r);
  const peakA = Math.max(...r.truth.malicious.map((m) => Math.abs(r.frames[m.frame - 1]!.asdus[0]!.values[0]!))) / 1000;
  assert.ok(peakA > r.truth.config.protection.overcurrentA * Math.SQRT2);
  const minV = Math.max(...r.truth.malicious.map((m) => Math.abs(r.frames[m.frame - 1]!.asdus[0]!.values[4]!))) / 100;
  assert.ok(minV > 0.9 * r.truth.config.protection.nominalVoltageLN * Math.SQRT2, 'VA peak stays nominal');
});

test('real-fault: no labels; three fault events with fault-level current on both MUs of the bay', async () => {
  const r = await run('real-fault');
  checkGeneric(r);
  assert.equal(r.truth.malicious.length, 0);
  const faults = r.truth.genuineEvents.filter((e) => e.kind === 'fault');
  assert.equal(faults.length, 3);
  for (const e of faults) {
    assert.deepEqual(e.streams, ['MU1', 'MU2']);
    assert.ok(e.mustNotRaise.includes('attackMatch') && e.mayRaise.includes('trip'));
    const peak =
      Math.max(...r.frames.slice(e.fromFrame - 1, e.toFrame).map((f) => Math.max(...f.asdus[0]!.values.slice(0, 3).map(Math.abs)))) / 1000;
    assert.ok(peak > r.truth.config.protection.overcurrentA * Math.SQRT2, `${e.detail}: peak ${peak} A`);
  }
});

test('fault-replay: labelled MU1 values equal the recorded fault frames, with fresh counters', async () => {
  const r = await run('fault-replay');
  checkGeneric(r);
  const fault = r.truth.genuineEvents.find((e) => e.kind === 'fault')!;
  const recorded = new Set(
    framesOf(r, 'MU1')
      .filter(({ n }) => n >= fault.fromFrame - 200 && n <= fault.toFrame + 200)
      .map(({ f }) => Buffer.from(f.asdus[0]!.seqData).toString('hex')),
  );
  assert.equal(r.truth.malicious.length, 560);
  for (const m of r.truth.malicious) assert.ok(recorded.has(Buffer.from(r.frames[m.frame - 1]!.asdus[0]!.seqData).toString('hex')));
});

/** Block verifier written from signed-frames.md for the test. */
function verifyBlocks(r: Run, stream: string) {
  const s = r.truth.config.streams.find((x) => x.name === stream)!;
  const key = deriveKeyPair(`${r.opts.seed}:${stream}`);
  const results = new Map<number, boolean>(); // block-end frame → verified
  let digests: Uint8Array[] = [];
  let first = -1;
  for (const { f, n } of framesOf(r, stream)) {
    if (f.reserved2 === 0) continue;
    const t = Buffer.from(f.trailer);
    const mode = t[1]!;
    const keyId = t.readUInt16BE(2);
    const secCnt = t.readUInt32BE(4);
    const B = t.readUInt16BE(8);
    if (keyId !== s.signed!.keyId) continue;
    if (mode === 1) {
      if (!r.labels.has(n) && n % 25 !== 0) continue; // software verification is slow: labelled frames plus a sample
      results.set(
        n,
        sm2Verify(
          key.pub,
          keyContent({ appId: f.appId, svID: f.asdus[0]!.svID, secCnt, asdus: f.asdus }),
          signatureFromRaw(t.subarray(10)),
        ),
      );
      continue;
    }
    const blk = Math.floor((secCnt - 1) / B);
    if (first < 0 || Math.floor((first - 1) / B) !== blk) {
      digests = [];
      first = blk * B + 1;
    }
    digests.push(sm3(keyContent({ appId: f.appId, svID: f.asdus[0]!.svID, secCnt, asdus: f.asdus })));
    if (mode === 3) {
      results.set(n, digests.length === B && sm2Verify(key.pub, blockMessage(first, digests), signatureFromRaw(t.subarray(10))));
      first = -1;
    }
  }
  return results;
}

test('signature-faults (block mode): labelled block ends fail, all others verify; stripped and foreign frames as labelled', async () => {
  const r = await run('signature-faults');
  checkGeneric(r);
  const res = verifyBlocks(r, 'MU1');
  assert.ok(res.size > 50);
  for (const [n, ok] of res) {
    const lab = r.labels.get(n);
    assert.equal(ok, !(lab && lab.indicator === 'signature'), `block end frame ${n}`);
  }
  for (const m of r.truth.malicious) {
    const f = r.frames[m.frame - 1]!;
    if (m.reason === 'missing') assert.equal(f.reserved2, 0);
    if (m.reason === 'unknown-key') assert.equal(Buffer.from(f.trailer).readUInt16BE(2), 0x7777);
  }
  // MU2 is signed and untouched: every block verifies
  for (const ok of verifyBlocks(r, 'MU2').values()) assert.ok(ok);
});

test('signature-faults (per-frame mode) and a signed injection scenario', async () => {
  const r = await run('signature-faults', { durationS: 1, mus: 1, sign: { kind: 'frame' } });
  checkGeneric(r);
  const res = verifyBlocks(r, 'MU1');
  for (const [n, ok] of res) assert.equal(ok, r.labels.get(n)?.reason !== 'bad-signature', `frame ${n}`);
  assert.deepEqual(Object.keys(r.truth.summary).sort(), ['signature/bad-signature', 'signature/missing', 'signature/unknown-key']);
  const inj = await run('interleaved-injection', { durationS: 1, mus: 1, sign: { kind: 'block', blockLen: 80 } });
  for (const m of inj.truth.malicious) {
    assert.equal(m.indicator, 'signature');
    assert.equal(m.reason, 'missing');
    assert.deepEqual(m.also?.[0], { indicator: 'logic', reason: 'interleaved-counter' });
  }
});

test('every scenario runs and keeps the generic invariants (1 MU, 60 Hz, 2 VLAN tags)', async () => {
  for (const sc of SCENARIOS) {
    const r = await run(sc.name, {
      mus: 1,
      freq: 60,
      samplesPerSecond: 4800,
      durationS: 1,
      vlans: [
        { id: 10, priority: 5, tpid: 0x88a8 },
        { id: 20, priority: 4 },
      ],
    });
    checkGeneric(r);
    assert.deepEqual(
      r.frames[0]!.vlans.map((v) => v.id),
      [10, 20],
    );
    if (sc.name !== 'normal' && sc.name !== 'real-fault') assert.ok(r.truth.malicious.length > 0, `${sc.name} labels something`);
  }
});
