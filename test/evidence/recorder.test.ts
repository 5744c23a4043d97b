// Forensic evidence around an alarm from a simulated capture: the offending stream's raw frames from ≥ 1 s
// before the alarm's first frame to ≥ 1 s after, nothing of other streams, the pre-trigger part on disk at
// once; the ring stays within its memory bound and evicts the oldest frames; alarms of one stream share
// chunks; the recording cap holds in a storm.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { StreamRegistry } from '../../src/detect/streams.ts';
import type { Alarm } from '../../src/model/indicators.ts';
import { EvidenceRecorder, registryStreamOf, type EvidenceSink } from '../../src/evidence/recorder.ts';
import { PreTriggerRing } from '../../src/evidence/ring.ts';
import { readCaptureFile } from '../../src/native/index.ts';
import { EvidenceStore } from '../../src/store/store.ts';
import type { GroundTruth } from '../../tools/sim/truth.ts';
import { expectedStreams, simulate } from '../detect/helpers.ts';
import { captureFrames, run, type Captured } from './helpers.ts';

describe('evidence recorder', () => {
  let dir = '';
  let sim: { file: string; truth: GroundTruth };
  let frames: Captured[];
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-evidence-'));
    sim = await simulate(dir, 'unknown-source', ['--mus', '2', '--duration', '4s']);
    frames = captureFrames(sim.file, new StreamRegistry(expectedStreams(sim.truth)));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps the offending stream's frames from ≥ 1 s before to ≥ 1 s after the alarm, and only those", () => {
    const store = new EvidenceStore({ path: path.join(dir, 'a.db'), retentionEveryMs: 0 });
    const { alarms, recorder } = run(sim.file, sim.truth, store);
    assert.equal(alarms.length, 1);
    const { id, a } = alarms[0]!;
    assert.equal(a.stream, 'MU1');
    const ev = store.evidenceFrames(id);
    const rec = store.getAlarm(id)!;
    assert.equal(rec.evidence!.complete, true);
    assert.equal(rec.evidence!.frames, ev.length);
    const trigger = a.firstTsNs;
    const want = frames.filter((f) => f.stream === 'MU1' && f.tsNs >= trigger - 1_000_000_000n && f.tsNs <= trigger + 1_000_000_000n);
    const got = new Set(ev.map((f) => `${f.tsNs}/${Buffer.from(f.bytes).toString('hex')}`));
    const lost = want.filter((f) => !got.has(`${f.tsNs}/${f.hex}`));
    assert.equal(lost.length, 0, `${lost.length} of ${want.length} frames of the window are missing`);
    assert.ok(ev[0]!.tsNs <= trigger - 1_000_000_000n && ev[ev.length - 1]!.tsNs >= trigger + 1_000_000_000n, 'at least the whole window');
    assert.ok(ev[ev.length - 1]!.tsNs <= trigger + 1_200_000_000n, 'and not much more (segment granularity)');
    // Only MU1 frames, all of MU1 between the first and last evidence frame, in capture order.
    const span = frames.filter((f) => f.stream === 'MU1' && f.tsNs >= ev[0]!.tsNs && f.tsNs <= ev[ev.length - 1]!.tsNs);
    assert.deepEqual(
      ev.map((f) => `${f.tsNs}/${Buffer.from(f.bytes).toString('hex')}`),
      span.map((f) => `${f.tsNs}/${f.hex}`),
    );
    assert.ok(
      ev.some((f) => Buffer.from(f.bytes).subarray(6, 12).toString('hex') !== Buffer.from(ev[0]!.bytes).subarray(6, 12).toString('hex')),
      'the rogue frames are in it',
    );
    assert.equal(recorder.stats().truncated, 0);
    assert.deepEqual(store.streamInfo('MU1')!.samplesPerSecond, sim.truth.config.streams[0]!.samplesPerSecond);
    store.close();
  });

  it('writes the pre-trigger part at once (complete = false), before the window has passed', () => {
    const store = new EvidenceStore({ path: path.join(dir, 'b.db'), retentionEveryMs: 0 });
    const streams = expectedStreams(sim.truth);
    const registry = new StreamRegistry(streams);
    const recorder = new EvidenceRecorder({ store });
    const streamOf = registryStreamOf(registry);
    const trigger = frames.filter((f) => f.stream === 'MU1')[Math.floor(frames.length / 4)]!.tsNs;
    let id = 0;
    for (const b of readCaptureFile(sim.file, { batchFrames: 32 })) {
      recorder.onBatch(b, streamOf);
      if (id === 0 && b.tsNs(b.count - 1) >= trigger) {
        const a: Alarm = {
          id: 1,
          indicator: 'logic',
          grade: 2,
          stream: 'MU1',
          reason: 'test',
          firstFrame: 1,
          lastFrame: 1,
          frames: 1,
          firstTsNs: trigger,
          lastTsNs: trigger,
        };
        id = store.alarmRaised(a);
        recorder.onAlarm(id, a);
        assert.equal(store.sync(), true, JSON.stringify(store.health()));
        // What a crash now would leave on disk: the pre-trigger part, marked incomplete.
        const db = new Database(path.join(dir, 'b.db'), { readonly: true });
        const row = db.prepare('SELECT ev_frames, ev_from, ev_complete FROM alarms WHERE id = ?').safeIntegers(true).get(id) as {
          ev_frames: bigint;
          ev_from: bigint;
          ev_complete: bigint;
        };
        db.close();
        assert.equal(row.ev_complete, 0n);
        assert.ok(row.ev_frames > 1000n, `pre-trigger frames on disk: ${row.ev_frames}`);
        assert.ok(row.ev_from <= trigger - 1_000_000_000n);
      }
    }
    recorder.close();
    assert.equal(store.getAlarm(id)!.evidence!.complete, true);
    store.close();
  });

  it('the ring stays within its memory bound, evicts the oldest frames first, and evidence starts where the ring did', () => {
    const store = new EvidenceStore({ path: path.join(dir, 'c.db'), retentionEveryMs: 0 });
    const cap = 256 * 1024;
    const { alarms, recorder, maxRingBytes } = run(sim.file, sim.truth, store, { ringBytes: cap, segmentBytes: 16 * 1024 });
    const st = recorder.stats();
    assert.ok(maxRingBytes <= cap, `ring peaked at ${maxRingBytes} bytes, cap ${cap}`);
    assert.ok(st.evictedFrames > 0);
    const { id, a } = alarms[0]!;
    const ev = store.evidenceFrames(id);
    // 256 KiB hold well under 1 s of two streams: the pre-trigger part is what the ring still had.
    assert.ok(ev[0]!.tsNs > a.firstTsNs - 1_000_000_000n, 'the bound cut the pre-trigger part');
    assert.ok(ev[0]!.tsNs < a.firstTsNs, 'yet some frames before the alarm are kept');
    assert.ok(ev[ev.length - 1]!.tsNs >= a.firstTsNs + 1_000_000_000n, 'the post-trigger part is written as it seals, never evicted first');
    assert.equal(store.getAlarm(id)!.evidence!.complete, true);
    // The frames kept are a contiguous run of MU1 frames (eviction drops whole segments from the old end).
    const span = frames.filter((f) => f.stream === 'MU1' && f.tsNs >= ev[0]!.tsNs && f.tsNs <= ev[ev.length - 1]!.tsNs);
    assert.equal(ev.length, span.length);
    store.close();
  });

  it('alarm storm: alarms of one stream share chunks; beyond maxActive only the pre-trigger part is kept', () => {
    const chunks: number[] = [];
    const links = new Map<number, { chunks: Set<number>; complete: boolean }>();
    const events: string[] = [];
    const sink: EvidenceSink = {
      addChunk: (_s, _d, fr, fromNs, toNs) => {
        const id = chunks.length + 1;
        chunks.push(fr);
        return { id, frames: fr, fromNs, toNs };
      },
      linkEvidence: (alarmId, cs, complete) => {
        const l = links.get(alarmId) ?? { chunks: new Set<number>(), complete: false };
        for (const c of cs) l.chunks.add(c.id);
        l.complete ||= complete;
        links.set(alarmId, l);
      },
      event: (kind) => {
        events.push(kind);
        return 0;
      },
    };
    const registry = new StreamRegistry(expectedStreams(sim.truth));
    const recorder = new EvidenceRecorder({ store: sink, maxActive: 4 });
    const streamOf = registryStreamOf(registry);
    const mu1 = frames.filter((f) => f.stream === 'MU1');
    const trigger = mu1[Math.floor(mu1.length / 2)]!.tsNs;
    let raised = false;
    for (const b of readCaptureFile(sim.file, { batchFrames: 32 })) {
      recorder.onBatch(b, streamOf);
      if (!raised && b.tsNs(b.count - 1) >= trigger) {
        raised = true;
        for (let k = 1; k <= 10; k++) {
          recorder.onAlarm(k, {
            id: k,
            indicator: 'logic',
            grade: 2,
            stream: 'MU1',
            reason: `r${k}`,
            firstFrame: 1,
            lastFrame: 1,
            frames: 1,
            firstTsNs: trigger,
            lastTsNs: trigger,
          });
        }
      }
    }
    recorder.close();
    const st = recorder.stats();
    assert.equal(st.truncated, 6);
    assert.equal(events.filter((e) => e === 'evidence-truncated').length, 6);
    const full = [1, 2, 3, 4].map((k) => links.get(k)!);
    assert.ok(full.every((l) => l.complete));
    assert.ok(
      full.every((l) => l.chunks.size === full[0]!.chunks.size),
      'the same chunks for the same stream and time',
    );
    const union = new Set(full.flatMap((l) => [...l.chunks]));
    assert.equal(union.size, full[0]!.chunks.size);
    assert.equal(chunks.length, union.size, 'each chunk written once');
    for (let k = 5; k <= 10; k++) {
      const l = links.get(k)!;
      assert.equal(l.complete, false);
      assert.ok(l.chunks.size > 0 && l.chunks.size < full[0]!.chunks.size);
    }
  });

  it('ring: rejects a cap below two segments; a jumbo frame gets a segment of its own', () => {
    assert.throws(() => new PreTriggerRing({ capBytes: 1000, segmentBytes: 1024 }), /at least two segments/);
    const ring = new PreTriggerRing({ capBytes: 8192, segmentBytes: 1024 });
    const big = Buffer.alloc(3000, 7);
    const ts = new Uint8Array(new BigInt64Array([123n]).buffer);
    ring.push('S', big, 0, 3000, ts, 0);
    ring.push('S', big, 0, 10, ts, 0);
    assert.deepEqual(
      ring.framesOf('S').map((f) => f.bytes.length),
      [3000, 10],
    );
    assert.equal(ring.framesOf('S')[0]!.tsNs, 123n);
    for (let k = 0; k < 100; k++) ring.push('T', big, 0, 500, ts, 0);
    assert.ok(ring.stats().bytes <= 8192);
    assert.deepEqual(ring.framesOf('S'), [], "the oldest stream's frames went first");
  });
});
