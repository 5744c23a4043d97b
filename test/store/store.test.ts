// The evidence store on a real SQLite file: migrations from an old schema, paging and filters, durable
// acknowledgement, retention order (events, then counters, exported-and-old alarms only), the size bound
// with the degraded state, and precise errors for files that are not (our) databases.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { EvidenceStore, StoreError, packFrames } from '../../src/store/store.ts';
import { APPLICATION_ID, SCHEMA_VERSION, migrate } from '../../src/store/schema.ts';
import { alarm, T0 } from './helpers.ts';

const DAY = 86_400_000_000_000n;

describe('evidence store', () => {
  let dir = '';
  let n = 0;
  const file = (): string => path.join(dir, `s${n++}.db`);
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-store-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('commits queued alarms in batches; ids continue after reopening', () => {
    const f = file();
    let s = new EvidenceStore({ path: f, retentionEveryMs: 0, batchRows: 1000, batchMs: 10_000 });
    const ids = [1, 2, 3].map((k) => s.alarmRaised(alarm(k)));
    assert.deepEqual(ids, [1, 2, 3]);
    assert.equal(s.pending, 3, 'queued, not yet committed');
    s.alarmUpdated(2, { ...alarm(2), frames: 9, lastFrame: 99, lastTsNs: T0 + 5n }, true);
    s.close();
    s = new EvidenceStore({ path: f, retentionEveryMs: 0 });
    assert.equal(s.alarmRaised(alarm(4)), 4);
    const a2 = s.getAlarm(2)!;
    assert.equal(a2.frames, 9);
    assert.equal(a2.lastFrame, 99);
    assert.equal(a2.ended, true);
    assert.equal(a2.firstTsNs, (T0 + 2_000_000n).toString());
    assert.equal(s.getAlarm(1)!.ended, false);
    assert.equal(s.getAlarm(99), undefined);
    s.close();
  });

  for (const writer of ['inline', 'thread'] as const) {
    it(`batches by row count without waiting for the timer (${writer} writer)`, () => {
      const f = file();
      const s = new EvidenceStore({ path: f, retentionEveryMs: 0, batchRows: 10, batchMs: 60_000, writer });
      for (let k = 0; k < 25; k++) s.alarmRaised(alarm(k));
      if (writer === 'inline') assert.equal(s.pending, 5, 'two batches of 10 committed at once');
      assert.equal(s.flushMs.length, 2, 'two batches handed over without the timer');
      assert.equal(s.sync(), true);
      assert.equal(s.pending, 0);
      // Committed: another connection sees all 25.
      const db = new Database(f, { readonly: true });
      assert.equal((db.prepare('SELECT count(*) AS n FROM alarms').get() as { n: number }).n, 25);
      db.close();
      s.close();
    });
  }

  it('migrates a database of schema version 1 and keeps its rows', () => {
    const f = file();
    const db = new Database(f);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma('journal_mode = WAL');
    migrate(db, 1);
    db.prepare(
      "INSERT INTO alarms (id, indicator, grade, stream, reason, first_frame, last_frame, frames, first_ts, last_ts) VALUES (7, 'mac', 1, 'MU2', 'unknown-source', 5, 6, 2, ?, ?)",
    ).run(T0, T0 + 1n);
    db.prepare("INSERT INTO events (id, ts, kind, message) VALUES (3, ?, 'start', 'old')").run(T0);
    assert.equal(db.pragma('user_version', { simple: true }), 1);
    db.close();
    const s = new EvidenceStore({ path: f, retentionEveryMs: 0 });
    const a = s.getAlarm(7)!;
    assert.equal(a.indicator, 'mac');
    assert.equal(a.evidence, null, 'the column added by migration 2 is null for old rows');
    assert.equal(s.listEvents({}).items[0]!.message, 'old');
    assert.equal(s.alarmRaised(alarm(1)), 8);
    assert.equal(
      s.addLibraryEntry({ kind: 'fault', label: 'x', features: { a: 1 }, source: 'test', createdNs: T0 }),
      1,
      'migration 3 table',
    );
    s.close();
    const db2 = new Database(f);
    assert.equal(db2.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    db2.close();
  });

  it('pages alarms newest first with filters and a stable cursor', () => {
    const s = new EvidenceStore({ path: file(), retentionEveryMs: 0 });
    for (let k = 1; k <= 23; k++)
      s.alarmRaised(alarm(k, { indicator: k % 3 === 0 ? 'mac' : 'logic', stream: k % 2 === 0 ? 'MU2' : 'MU1' }));
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const p = s.listAlarms({ limit: 5, ...(cursor !== null ? { cursor } : {}) });
      assert.equal(p.total, 23);
      seen.push(...p.items.map((a) => a.id));
      cursor = p.next;
      pages++;
    } while (cursor !== null);
    assert.equal(pages, 5);
    assert.deepEqual(
      seen,
      Array.from({ length: 23 }, (_, k) => 23 - k),
    );
    const mac = s.listAlarms({ indicator: 'mac', limit: 500 });
    assert.deepEqual(
      mac.items.map((a) => a.id),
      [21, 18, 15, 12, 9, 6, 3],
    );
    assert.equal(mac.total, 7);
    const macMu2 = s.listAlarms({ indicator: 'mac', stream: 'MU2' });
    assert.deepEqual(
      macMu2.items.map((a) => a.id),
      [18, 12, 6],
    );
    assert.equal(s.listAlarms({ minGrade: 1 }).total, 7, 'grade 1 (packet) only');
    assert.equal(s.listAlarms({ minGrade: 2 }).total, 23);
    assert.deepEqual(
      s.listAlarms({ sinceNs: T0 + 20_000_000n }).items.map((a) => a.id),
      [23, 22, 21, 20],
    );
    assert.deepEqual(
      s.listAlarms({ untilNs: T0 + 2_000_000n }).items.map((a) => a.id),
      [2, 1],
    );
    s.alarmUpdated(5, alarm(5), true);
    assert.deepEqual(
      s.listAlarms({ ended: true }).items.map((a) => a.id),
      [5],
    );
    assert.throws(() => s.listAlarms({ limit: 0 }), /limit must be an integer 1 … 500/);
    assert.throws(() => s.listAlarms({ limit: 501 }), StoreError);
    assert.throws(() => s.listAlarms({ cursor: 'garbage!' }), /invalid cursor/);
    s.close();
  });

  it('pages events with a kind filter', () => {
    const s = new EvidenceStore({ path: file(), retentionEveryMs: 0 });
    for (let k = 0; k < 12; k++) s.event(k % 2 === 0 ? 'stream-lost' : 'start', `e${k}`, { k }, T0 + BigInt(k));
    const p = s.listEvents({ kind: 'start', limit: 4 });
    assert.equal(p.total, 6);
    assert.deepEqual(
      p.items.map((e) => e.message),
      ['e11', 'e9', 'e7', 'e5'],
    );
    const p2 = s.listEvents({ kind: 'start', limit: 4, cursor: p.next! });
    assert.deepEqual(
      p2.items.map((e) => e.message),
      ['e3', 'e1'],
    );
    assert.equal(p2.next, null);
    assert.deepEqual(p.items[0]!.detail, { k: 11 });
    assert.equal(s.listEvents({ sinceNs: T0 + 10n }).total, 2);
    s.close();
  });

  it('acknowledgement is committed before its promise resolves and only acknowledges open alarms', async () => {
    const f = file();
    const s = new EvidenceStore({ path: f, retentionEveryMs: 0, batchMs: 60_000 });
    for (let k = 1; k <= 4; k++) s.alarmRaised(alarm(k, { indicator: k <= 2 ? 'mac' : 'logic' }));
    assert.deepEqual(await s.acknowledge({ indicator: 'mac' }, 'op1', T0 + 100n), [1, 2], 'alarms still queued when it was asked');
    assert.deepEqual(await s.acknowledge({ ids: [2, 3] }, 'op2', T0 + 200n), [3], 'alarm 2 was already acknowledged');
    // Read through a second connection without closing the first: the rows are on disk.
    const db = new Database(f, { readonly: true });
    const rows = db.prepare('SELECT id, ack_by FROM alarms ORDER BY id').all() as Array<{ id: number; ack_by: string | null }>;
    assert.deepEqual(rows, [
      { id: 1, ack_by: 'op1' },
      { id: 2, ack_by: 'op1' },
      { id: 3, ack_by: 'op2' },
      { id: 4, ack_by: null },
    ]);
    db.close();
    assert.deepEqual(await s.acknowledge({ allOpen: true }, 'op3', T0 + 300n), [4]);
    assert.deepEqual(await s.acknowledge({ allOpen: true }, 'op3', T0 + 300n), []);
    assert.deepEqual(s.getAlarm(1)!.acknowledged, { by: 'op1', atNs: (T0 + 100n).toString() });
    assert.equal(s.listAlarms({ acknowledged: false }).total, 0);
    assert.equal(s.listEvents({ kind: 'acknowledge' }).total, 3);
    s.close();
  });

  it('evidence chunks are shared between alarms; frames come back in time order', () => {
    const s = new EvidenceStore({ path: file(), retentionEveryMs: 0 });
    const a = s.alarmRaised(alarm(1));
    const b = s.alarmRaised(alarm(2));
    const fr = (t: number): { tsNs: bigint; bytes: Uint8Array } => ({ tsNs: T0 + BigInt(t), bytes: Uint8Array.of(t, t + 1) });
    const c1 = s.addChunk('MU1', packFrames([fr(1), fr(2)]), 2, T0 + 1n, T0 + 2n);
    const c2 = s.addChunk('MU1', packFrames([fr(3)]), 1, T0 + 3n, T0 + 3n);
    s.linkEvidence(a, [c1], false);
    s.linkEvidence(a, [c2, c1], true);
    s.linkEvidence(b, [c2], true);
    assert.deepEqual(
      s.evidenceFrames(a).map((f) => Number(f.tsNs - T0)),
      [1, 2, 3],
    );
    assert.deepEqual(s.getAlarm(a)!.evidence, { frames: 3, fromNs: (T0 + 1n).toString(), toNs: (T0 + 3n).toString(), complete: true });
    assert.deepEqual(s.getAlarm(b)!.evidence, { frames: 1, fromNs: (T0 + 3n).toString(), toNs: (T0 + 3n).toString(), complete: true });
    assert.deepEqual(s.evidenceFrames(b)[0]!.bytes, Uint8Array.of(3, 4));
    s.saveStreamInfo('MU1', { samplesPerSecond: 4000, nominalHz: 50 });
    assert.deepEqual(s.streamInfo('MU1'), { samplesPerSecond: 4000, nominalHz: 50 });
    s.close();
  });

  it('estimates, counters and the library round-trip', () => {
    const s = new EvidenceStore({ path: file(), retentionEveryMs: 0 });
    s.saveLocalEstimate({
      id: 'e1',
      bus: 'B1',
      windowStartNs: T0.toString(),
      windowEndNs: (T0 + 20n).toString(),
      values: [{ name: 'VA', re: 1, im: 2, sigma: 0.1 }],
    });
    s.saveMasterEstimate(
      { id: 'e1', bus: 'B1', windowStartNs: T0.toString(), windowEndNs: (T0 + 20n).toString(), values: [{ name: 'VA', re: 1, im: 2.5 }] },
      { outcome: 'tamper', reason: 'VA differs', localId: 'e1', alarmId: 3 },
      T0 + 30n,
    );
    s.counterSample({ tsNs: (T0 + 1n).toString(), counts: { mac: 2, trip: 1 }, frames: 4000, lost: 0 });
    assert.equal(s.localEstimate('e1')!.values[0]!.im, 2);
    assert.equal(s.localEstimates(T0 + 10n).length, 1);
    const m = s.masterEstimates();
    assert.equal(m[0]!.outcome, 'tamper');
    assert.equal(m[0]!.alarmId, 3);
    assert.deepEqual(s.counters(T0)[0]!.counts, { mac: 2, trip: 1 });
    assert.equal(s.counters(T0 + 2n).length, 0);
    const id = s.addLibraryEntry({
      kind: 'attack',
      label: 'replay 2024',
      features: { rms: [1, 2, 3], nested: { ok: true } },
      source: 'alarm 5',
      createdNs: T0,
    });
    s.addLibraryEntry({ kind: 'fault', label: 'AB fault', features: [1], source: 'engineer', createdNs: T0 });
    assert.deepEqual(s.libraryEntries('attack'), [
      {
        id,
        kind: 'attack',
        label: 'replay 2024',
        features: { rms: [1, 2, 3], nested: { ok: true } },
        source: 'alarm 5',
        createdNs: T0.toString(),
      },
    ]);
    assert.equal(s.libraryEntries().length, 2);
    assert.throws(
      () => s.addLibraryEntry({ kind: 'other' as 'fault', label: '', features: 1, source: '', createdNs: 0n }),
      /'fault' or 'attack'/,
    );
    s.close();
  });

  it('retention by age: events and counters age out; alarms only when exported AND old', async () => {
    const now = T0 + 100n * DAY;
    const s = new EvidenceStore({ path: file(), retentionEveryMs: 0, alarmRetentionDays: 30, eventRetentionDays: 7, nowNs: () => now });
    const old = s.alarmRaised(alarm(1, { firstTsNs: T0, lastTsNs: T0 }));
    const oldExported = s.alarmRaised(alarm(2, { firstTsNs: T0, lastTsNs: T0 }));
    const youngExported = s.alarmRaised(alarm(3, { firstTsNs: now - DAY, lastTsNs: now - DAY }));
    s.addEvidence(oldExported, [{ tsNs: T0, bytes: new Uint8Array(100) }], true, 'MU1');
    s.addEvidence(old, [{ tsNs: T0, bytes: new Uint8Array(100) }], true, 'MU1');
    assert.equal(await s.markExported(oldExported), true);
    assert.equal(await s.markExported(youngExported), true);
    assert.equal(await s.markExported(999), false, 'no such alarm');
    s.event('start', 'old event', null, now - 8n * DAY);
    s.event('start', 'new event', null, now - DAY);
    s.counterSample({ tsNs: (now - 8n * DAY).toString(), counts: {}, frames: 1, lost: 0 });
    s.counterSample({ tsNs: (now - DAY).toString(), counts: {}, frames: 1, lost: 0 });
    const r = s.retention(now);
    assert.equal(r.events, 1);
    assert.equal(r.counters, 1);
    assert.equal(r.alarms, 1);
    assert.equal(r.chunks, 1, "the deleted alarm's evidence chunk went with it");
    assert.equal(s.getAlarm(oldExported), undefined);
    assert.ok(s.getAlarm(old), 'never delete an alarm that was not exported');
    assert.equal(s.evidenceFrames(old).length, 1);
    assert.ok(s.getAlarm(youngExported), 'exported but younger than the retention age');
    assert.deepEqual(
      s.listEvents({ kind: 'start' }).items.map((e) => e.message),
      ['new event'],
    );
    assert.equal(r.state, 'ok');
    s.close();
  });

  it('size bound: events go first, then counters; unexported alarms stay and the store reports degraded', () => {
    const now = T0;
    const limit = 600 * 1024;
    const s = new EvidenceStore({ path: file(), retentionEveryMs: 0, limitBytes: limit, nowNs: () => now });
    const msg = 'x'.repeat(400);
    for (let k = 0; k < 1500; k++) s.event('stream-lost', msg, null, now - BigInt(1500 - k));
    for (let k = 0; k < 200; k++) s.counterSample({ tsNs: (now - BigInt(200 - k)).toString(), counts: { mac: k }, frames: k, lost: 0 });
    let r = s.retention(now);
    assert.ok(r.events > 0, 'events trimmed');
    assert.equal(r.counters, 0, 'counters kept while deleting events was enough');
    assert.equal(r.state, 'ok');
    assert.ok(s.sizeBytes() <= limit, `size ${s.sizeBytes()} within ${limit}`);
    const left = s.listEvents({ kind: 'stream-lost', limit: 500 });
    assert.ok(left.total > 0 && left.total < 1500);
    assert.equal(left.items[0]!.tsNs, (now - 1n).toString(), 'the newest events are the ones kept');
    // Now fill it with unexported evidence: nothing may be deleted, the store says why it is over its limit.
    const big = new Uint8Array(64 * 1024);
    const ids: number[] = [];
    for (let k = 0; k < 12; k++) {
      const id = s.alarmRaised(alarm(k));
      ids.push(id);
      s.addEvidence(id, [{ tsNs: now, bytes: big }], true, 'MU1');
    }
    r = s.retention(now);
    assert.equal(r.alarms, 0);
    assert.equal(r.state, 'degraded');
    assert.match(
      r.reason!,
      /above the limit of 614400 bytes after retention: 12 alarm\(s\) not exported .* export evidence or raise the storage limit/,
    );
    assert.equal(s.listEvents({ kind: 'stream-lost' }).total, 0, 'all events went first');
    assert.equal(s.counters(0n).length, 0, 'then all counter samples');
    const h = s.health();
    assert.equal(h.state, 'degraded');
    assert.equal(h.reason, r.reason);
    for (const id of ids) assert.equal(s.evidenceFrames(id).length, 1, `alarm ${id} keeps its evidence`);
    assert.equal(s.listEvents({ kind: 'storage-state' }).total, 1);
    s.close();
  });

  it('size bound: after events and counters, the oldest local estimates go, then the oldest master estimates', () => {
    const now = T0;
    const limit = 600 * 1024;
    const s = new EvidenceStore({ path: file(), retentionEveryMs: 0, limitBytes: limit, nowNs: () => now });
    const vals = [{ name: 'V'.repeat(380), re: 1, im: 2, sigma: 0.1 }];
    for (let k = 0; k < 200; k++) {
      s.saveLocalEstimate({
        id: `L${k}`,
        bus: 'B1',
        windowStartNs: (now - BigInt(2000 - k)).toString(),
        windowEndNs: (now - BigInt(1999 - k)).toString(),
        values: vals,
      });
    }
    for (let k = 0; k < 1500; k++) {
      s.saveMasterEstimate(
        { bus: 'B1', windowStartNs: (now - 10n).toString(), windowEndNs: now.toString(), values: vals },
        'match',
        now - BigInt(1500 - k),
      );
    }
    s.event('stream-lost', 'one event', null, now - 5n);
    s.counterSample({ tsNs: (now - 5n).toString(), counts: {}, frames: 1, lost: 0 });
    const r = s.retention(now);
    assert.equal(r.events, 1, 'events first');
    assert.equal(r.counters, 1, 'then counters');
    assert.ok(r.estimates > 200, `then estimates: ${r.estimates}`);
    assert.equal(s.localEstimates(0n).length, 0, 'all local estimates (the oldest kind here) went before any master estimate');
    const left = s.masterEstimates(2000);
    assert.ok(left.length > 0 && left.length < 1500, `some master estimates kept: ${left.length}`);
    assert.equal(left[0]!.tsNs, (now - 1n).toString(), 'the newest master estimates are the ones kept');
    assert.equal(r.alarms, 0);
    assert.equal(r.state, 'ok', r.reason ?? '');
    assert.ok(s.sizeBytes() <= limit, `size ${s.sizeBytes()} within ${limit}`);
    assert.equal(s.listEvents({ kind: 'retention' }).items[0]?.detail?.['estimates'], r.estimates, 'the retention event counts them');
    s.close();
  });

  it('counters: at most 1000 samples by default and 10000 on request; truncation is reported with where to continue', () => {
    const s = new EvidenceStore({ path: file(), retentionEveryMs: 0 });
    for (let k = 0; k < 1200; k++) s.counterSample({ tsNs: (T0 + BigInt(k)).toString(), counts: { mac: 1 }, frames: k, lost: 0 });
    assert.equal(s.counters(T0).length, 1000, 'default cap');
    assert.equal(s.counters(T0, undefined, 10_000).length, 1200);
    const p1 = s.counterPage(T0, undefined, 500);
    assert.equal(p1.samples.length, 500);
    assert.equal(p1.truncated, true);
    assert.equal(p1.nextSinceNs, (T0 + 500n).toString(), 'the first sample left out');
    const p2 = s.counterPage(BigInt(p1.nextSinceNs!));
    assert.deepEqual([p2.samples.length, p2.truncated, p2.nextSinceNs], [700, false, null]);
    assert.equal(p2.samples[0]!.frames, 500, 'continues exactly where the first page stopped');
    const exact = s.counterPage(T0, T0 + 99n, 100);
    assert.deepEqual([exact.samples.length, exact.truncated], [100, false], 'exactly the limit is not truncated');
    assert.throws(() => s.counters(T0, undefined, 10_001), /limit must be an integer 1 … 10000, got 10001/);
    assert.throws(() => s.counters(T0, undefined, 0), /limit must be an integer/);
    s.close();
  });

  it('periodic retention runs on the writer thread and reports back (degraded with the reason)', async () => {
    const now = T0 + 100n * DAY;
    const s = new EvidenceStore({ path: file(), retentionEveryMs: 0, limitBytes: 300 * 1024, eventRetentionDays: 7, nowNs: () => now });
    s.event('start', 'old event', null, now - 8n * DAY);
    const big = new Uint8Array(64 * 1024);
    for (let k = 0; k < 6; k++) {
      const id = s.alarmRaised(alarm(k));
      s.addEvidence(id, [{ tsNs: now, bytes: big }], true, 'MU1');
    }
    s.runRetentionInBackground(now);
    for (let i = 0; i < 200 && s.lastRetention === null; i++) await new Promise((r) => setTimeout(r, 25));
    const rep = s.lastRetention!;
    assert.ok(rep, 'the writer thread reported');
    assert.equal(rep.events, 1);
    assert.equal(rep.state, 'degraded');
    assert.equal(s.health().state, 'degraded');
    assert.match(s.health().reason!, /6 alarm\(s\) not exported/);
    assert.deepEqual(
      s.listEvents({ kind: 'storage-state' }).items.map((e) => e.detail),
      [{ state: 'degraded' }],
    );
    assert.equal(s.listAlarms({}).total, 6);
    s.close();
  });

  it('a file that is not a database, a foreign database, a newer schema and a corrupt page give precise errors', () => {
    const junk = file();
    writeFileSync(junk, Buffer.from('this is not sqlite at all, just some text that is long enough to be a header'.repeat(20)));
    assert.throws(
      () => new EvidenceStore({ path: junk, retentionEveryMs: 0 }),
      (e: Error) => e instanceof StoreError && /not an SQLite database/.test(e.message),
    );

    const foreign = file();
    const db = new Database(foreign);
    db.exec('CREATE TABLE t (x)');
    db.close();
    assert.throws(
      () => new EvidenceStore({ path: foreign, retentionEveryMs: 0 }),
      /not an SVDE evidence store \(application_id 0x0, 1 tables/,
    );

    const newer = file();
    const db2 = new Database(newer);
    db2.pragma(`application_id = ${APPLICATION_ID}`);
    migrate(db2);
    db2.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db2.close();
    assert.throws(() => new EvidenceStore({ path: newer, retentionEveryMs: 0 }), /schema version \d+ is newer than this build understands/);

    // Our application_id, but a trigger that would run on our writes / a table missing.
    const hostile = file();
    const db3 = new Database(hostile);
    db3.pragma(`application_id = ${APPLICATION_ID}`);
    migrate(db3);
    db3.exec('CREATE TRIGGER wipe AFTER INSERT ON alarms BEGIN DELETE FROM alarms; END');
    db3.close();
    assert.throws(
      () => new EvidenceStore({ path: hostile, retentionEveryMs: 0 }),
      /unexpected trigger 'wipe' in the evidence store \(not created by svde\)/,
    );
    const gutted = file();
    const db4 = new Database(gutted);
    db4.pragma(`application_id = ${APPLICATION_ID}`);
    migrate(db4);
    db4.exec('DROP TABLE library');
    db4.close();
    assert.throws(() => new EvidenceStore({ path: gutted, retentionEveryMs: 0 }), /table\(s\) library missing/);

    // Valid header, garbage in the table pages.
    const corrupt = file();
    const s = new EvidenceStore({ path: corrupt, retentionEveryMs: 0 });
    for (let k = 0; k < 300; k++) s.event('start', 'y'.repeat(300), null, T0);
    s.close();
    const bytes = readFileSync(corrupt);
    const pageSize = bytes.readUInt16BE(16);
    for (let p = 2; p * pageSize < bytes.length; p++) bytes.fill(0x5a, p * pageSize, p * pageSize + 64);
    writeFileSync(corrupt, bytes);
    assert.throws(
      () => new EvidenceStore({ path: corrupt, retentionEveryMs: 0 }),
      (e: Error) => e instanceof StoreError && /corrupt|malformed/.test(e.message) && e.message.startsWith(corrupt),
    );

    assert.throws(
      () => new EvidenceStore({ path: path.join(dir, 'no/such/dir/x.db'), retentionEveryMs: 0 }),
      (e: Error) => e instanceof StoreError && /directory does not exist|cannot open/i.test(e.message),
    );
  });

  for (const writer of ['inline', 'thread'] as const) {
    it(`a row the database refuses does not stall the others (${writer} writer)`, async () => {
      const f = file();
      const a = new EvidenceStore({ path: f, retentionEveryMs: 0, writer });
      const b = new EvidenceStore({ path: f, retentionEveryMs: 0, writer }); // a second writer on the same file: same ids
      assert.equal(a.alarmRaised(alarm(1, { reason: 'from a' })), 1);
      assert.equal(a.sync(), true);
      assert.equal(b.alarmRaised(alarm(2, { reason: 'from b' })), 1, 'b allocated the id a already used');
      b.event('start', 'b event');
      assert.equal(b.sync(), true);
      await new Promise((r) => setTimeout(r, 50)); // the writer thread's report
      assert.equal(b.getAlarm(1)!.reason, 'from a');
      assert.equal(b.listEvents({}).items[0]!.message, 'b event', 'the rest of the batch is committed');
      assert.equal(b.droppedRows, 1);
      const h = b.health();
      assert.equal(h.state, 'degraded');
      assert.match(
        h.reason!,
        /1 row\(s\) refused by the database so far \(is another process writing this file\?\); first: alarm 1: UNIQUE constraint failed: alarms\.id/,
      );
      a.close();
      b.close();
    });
  }

  it('consistentReads false: lists read the committed state without waiting; getAlarm of a new id still waits', () => {
    const s = new EvidenceStore({ path: file(), retentionEveryMs: 0, consistentReads: false, batchMs: 60_000 });
    const id = s.alarmRaised(alarm(1));
    assert.equal(s.getAlarm(id)!.id, id, 'a specific new alarm is waited for');
    const id2 = s.alarmRaised(alarm(2));
    assert.ok(s.listAlarms({}).total >= 1);
    assert.equal(s.sync(), true);
    assert.deepEqual(
      s.listAlarms({}).items.map((a) => a.id),
      [id2, id],
    );
    assert.equal(s.getAlarm(99), undefined, 'an id never allocated is not waited for');
    s.close();
  });

  it('writes after close are refused with a clear error', () => {
    const s = new EvidenceStore({ path: file(), retentionEveryMs: 0 });
    s.close();
    assert.throws(() => s.alarmRaised(alarm(1)), /the store is closed/);
  });
});
