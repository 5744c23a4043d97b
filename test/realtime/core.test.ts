// The real-time core on its own thread, fed batches by this thread (the in-process path): the same alarms
// as the detection engine on this thread, evidence through the journal into a real store, every open
// episode ended at close, evidence dropped (counted) and no alarm lost when the consumer gives no credit,
// and a real-time thread that cannot start reported as fatal.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RealtimeCore, type RealtimeHandlers } from '../../src/realtime/host.ts';
import type { AlarmItem, EvidenceItem, RealtimeInit } from '../../src/realtime/protocol.ts';
import { DetectionEngine } from '../../src/detect/engine.ts';
import { seedEntries } from '../../src/detect/history/seed.ts';
import { readCaptureFile } from '../../src/native/index.ts';
import type { Alarm } from '../../src/model/indicators.ts';
import type { ExpectedStream } from '../../src/model/streams.ts';
import { EvidenceStore } from '../../src/store/store.ts';
import { AlarmJournal } from '../../src/app/journal.ts';
import { alarmRecordOf } from '../../src/app/device.ts';
import { expectedStreams, simulate } from '../detect/helpers.ts';

function initFor(streams: ExpectedStream[], extra: Partial<RealtimeInit> = {}): RealtimeInit {
  return {
    streams,
    signed: [],
    source: { kind: 'feed' },
    keys: [],
    library: seedEntries().map((e, k) => ({ ...e, id: k + 1 })),
    knobs: {},
    expireByWallClock: false,
    ...extra,
  };
}

function collect(): { h: RealtimeHandlers; alarms: AlarmItem[]; evidence: EvidenceItem[]; fatal: string[] } {
  const alarms: AlarmItem[] = [];
  const evidence: EvidenceItem[] = [];
  const fatal: string[] = [];
  return {
    alarms,
    evidence,
    fatal,
    h: { onAlarms: (i) => alarms.push(...i), onEvidence: (i) => evidence.push(...i), onFatal: (m) => fatal.push(m) },
  };
}

async function feedFile(core: RealtimeCore, file: string): Promise<void> {
  for (const b of readCaptureFile(file)) core.feed(b.buffer);
}

describe('real-time core', () => {
  let dir = '';
  let file = '';
  let streams: ExpectedStream[] = [];
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-rt-'));
    const sim = await simulate(dir, 'fault-replay', ['--mus', '2', '--duration', '3s']);
    file = sim.file;
    streams = expectedStreams(sim.truth);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('raises on its own thread what the engine raises on this one, and ends every episode at close', async () => {
    const here: Alarm[] = [];
    const engine = new DetectionEngine(streams, { onAlarm: (a) => here.push(a) });
    for (const b of readCaptureFile(file)) engine.onBatch(b);

    const c = collect();
    const core = new RealtimeCore(initFor(streams), c.h);
    const ready = await core.ready;
    assert.ok(ready.tid > 0);
    await feedFile(core, file);
    await core.close();
    assert.deepEqual(c.fatal, []);
    const raised = c.alarms.filter((i) => i.k === 'raise').map((i) => `${i.a.indicator}/${i.a.reason}/${i.a.stream}`);
    assert.deepEqual(
      raised,
      here.map((a) => `${a.indicator}/${a.reason}/${a.stream}`),
    );
    assert.ok(raised.includes('attackMatch/fault-replay/MU1'));
    const ended = new Set(c.alarms.filter((i) => i.k === 'end').map((i) => i.a.id));
    for (const i of c.alarms.filter((x) => x.k === 'raise')) assert.ok(ended.has(i.a.id), `alarm ${i.a.id} ended at close`);
    assert.ok(
      c.evidence.some((e) => e.k === 'chunk'),
      'evidence chunks',
    );
    assert.ok(
      c.evidence.some((e) => e.k === 'link'),
      'evidence links',
    );
  });

  it('writes through the journal into a real store: alarms with their evidence', async () => {
    const store = EvidenceStore.open({ path: path.join(dir, 'ev.db') });
    const journal = new AlarmJournal(store, alarmRecordOf);
    const core = new RealtimeCore(initFor(streams), {
      onAlarms: (i) => journal.onAlarms(i),
      onEvidence: (i) => journal.onEvidence(i),
      onFatal: (m) => assert.fail(m),
    });
    await core.ready;
    await feedFile(core, file);
    await core.close();
    store.flush();
    const page = store.listAlarms({ limit: 100 });
    assert.ok(page.total > 0);
    assert.equal(page.total, journal.counters.alarms);
    assert.ok(
      page.items.every((a) => a.ended),
      'every alarm ended',
    );
    const replay = page.items.find((a) => a.reason === 'fault-replay')!;
    assert.ok(store.evidenceFrames(replay.id).length > 0, 'frames kept around the alarm');
    assert.equal(journal.counters.evidenceMissing, 0);
    await store.close();
  });

  it('drops evidence (counted) and loses no alarm when the consumer returns no credit', async () => {
    const c = collect();
    const core = new RealtimeCore(initFor(streams, { evidenceCreditBytes: 1 }), c.h);
    await core.ready;
    await feedFile(core, file);
    await new Promise((r) => setTimeout(r, 1200));
    const lanes = core.last?.lanes;
    await core.close();
    assert.ok(lanes !== undefined && lanes.evidenceDropped > 0, `dropped ${lanes?.evidenceDropped}`);
    assert.equal(c.evidence.filter((e) => e.k === 'chunk').length, 0);
    assert.ok(c.alarms.some((i) => i.k === 'raise' && i.a.reason === 'fault-replay'));
  });

  it('reports a real-time thread that cannot start (no such interface) as fatal', async () => {
    const c = collect();
    const core = new RealtimeCore(initFor(streams, { source: { kind: 'live', iface: 'svde-no-such-if0' } }), c.h);
    await assert.rejects(core.ready, /svde-no-such-if0|No such device|real-time thread/);
    assert.equal(c.fatal.length, 1);
    await core.close().catch(() => undefined);
  });

  it('detects a real-time thread that dies while running: fatal once, and requests fail instead of hanging', async () => {
    const c = collect();
    const core = new RealtimeCore(initFor(streams), c.h);
    await core.ready;
    assert.deepEqual(c.fatal, []);
    // Not a batch: the thread's decoder refuses it with an exception that nothing on that thread catches.
    core.feed(new ArrayBuffer(4));
    for (let i = 0; i < 100 && c.fatal.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await assert.rejects(core.report(), /exited|not running/);
    // By now the thread has exited too: its error and its exit are one report.
    assert.equal(c.fatal.length, 1, 'the death is reported once');
    assert.match(c.fatal[0]!, /buffer too short|exited/);
    await core.close().catch(() => undefined);
  });
});
