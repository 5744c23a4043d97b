// After a crash the appliance forgets nothing: recoverAtStart() ends the alarms left open (saying why) and
// reports per indicator the alarms kept and those waiting for acknowledgement; the indicator board restored
// from it shows νn = 1 with the counts, and acknowledging clears it. An acknowledgement that completes
// later keeps the latch of an alarm raised meanwhile.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IndicatorBoard, type RestoredIndicator } from '../../src/detect/indicators.ts';
import { INDICATORS, type IndicatorId } from '../../src/model/indicators.ts';
import { EvidenceStore, type StartRecovery } from '../../src/store/store.ts';
import { alarm, T0 } from './helpers.ts';

function restoreFrom(r: StartRecovery): Partial<Record<IndicatorId, RestoredIndicator>> {
  const out: Partial<Record<IndicatorId, RestoredIndicator>> = {};
  for (const id of INDICATORS) {
    const x = r.indicators[id];
    if (x !== undefined) out[id] = { count: x.count, latched: x.unacknowledged > 0 };
  }
  return out;
}

describe('restart recovery', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-recover-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('ends the alarms a crash left open, restores latches and counts, and acknowledging clears them', async () => {
    const f = path.join(dir, 'crash.db');
    // The run that "crashed": three mac alarms (one acknowledged, all ended), two logic alarms still open
    // (one with a detail), a trip. Closing the store does not end alarms: it is what a kill leaves.
    let s = new EvidenceStore({ path: f, retentionEveryMs: 0 });
    const mac = [1, 2, 3].map((k) => s.alarmRaised(alarm(k, { indicator: 'mac' })));
    for (const id of mac) s.alarmUpdated(id, alarm(id, { indicator: 'mac' }), true);
    const logic1 = s.alarmRaised(alarm(4, { indicator: 'logic', detail: { smpCnt: 17 } }));
    const logic2 = s.alarmRaised(alarm(5, { indicator: 'logic' }));
    const trip = s.alarmRaised(alarm(6, { indicator: 'trip' }));
    s.alarmUpdated(trip, alarm(6, { indicator: 'trip' }), true);
    assert.deepEqual(await s.acknowledge({ ids: [mac[0]!] }, 'op', T0), [mac[0]]);
    s.close();

    s = new EvidenceStore({ path: f, retentionEveryMs: 0 });
    const r = s.recoverAtStart(T0 + 1n);
    assert.deepEqual(r.endedAtRestart, [logic1, logic2]);
    assert.deepEqual(r.indicators.mac, { count: 3, unacknowledged: 2, lastUnacknowledgedId: mac[2] });
    assert.deepEqual(r.indicators.logic, { count: 2, unacknowledged: 2, lastUnacknowledgedId: logic2 });
    assert.deepEqual(r.indicators.trip, { count: 1, unacknowledged: 1, lastUnacknowledgedId: trip });
    assert.equal(r.indicators.signature, undefined);
    const a1 = s.getAlarm(logic1)!;
    assert.equal(a1.ended, true);
    assert.deepEqual(a1.detail, { smpCnt: 17, endedAtRestart: true }, 'the detail says why it ended, and keeps what it had');
    assert.deepEqual(s.getAlarm(logic2)!.detail, { endedAtRestart: true });
    assert.equal(s.getAlarm(mac[1]!)!.detail, null, 'alarms that had ended are untouched');
    const ev = s.listEvents({ kind: 'restart-recovery' }).items;
    assert.equal(ev.length, 1);
    assert.match(
      ev[0]!.message,
      /^2 alarm\(s\) still open when svde last stopped .* ended at restart; their end time and evidence may be incomplete$/,
    );
    assert.deepEqual(ev[0]!.detail, { count: 2, ids: `${logic1},${logic2}` });

    // The board as the appliance restores it: νn = 1, latched, the counts the store holds, nothing active.
    const b = new IndicatorBoard();
    b.restore(restoreFrom(r));
    assert.equal(b.nu, 1);
    const snap = b.snapshot();
    assert.deepEqual([snap.mac.count, snap.mac.latched, snap.mac.active], [3, true, false]);
    assert.deepEqual([snap.logic.count, snap.logic.latched, snap.logic.active], [2, true, false]);
    assert.deepEqual([snap.signature.count, snap.signature.latched], [0, false]);
    // Acknowledging through the normal path: the store, then the board.
    assert.deepEqual(await s.acknowledge({ indicator: 'mac' }, 'op', T0 + 2n), [mac[1], mac[2]]);
    assert.deepEqual(b.acknowledge('mac'), ['mac']);
    assert.equal(b.nu, 1, 'logic still waits');
    assert.deepEqual(await s.acknowledge({ allOpen: true }, 'op', T0 + 3n), [logic1, logic2, trip]);
    assert.deepEqual(b.acknowledge(), ['logic']);
    assert.equal(b.nu, 0);

    // A second start finds nothing left open and writes no second event; counts stay.
    const again = s.recoverAtStart(T0 + 4n);
    assert.deepEqual(again.endedAtRestart, []);
    assert.equal(again.indicators.mac?.unacknowledged, 0);
    assert.equal(again.indicators.mac?.count, 3);
    assert.equal(s.listEvents({ kind: 'restart-recovery' }).total, 1);
    s.close();
  });

  it('an acknowledgement that completes later keeps the latch of an alarm raised meanwhile', () => {
    const b = new IndicatorBoard();
    b.raise(alarm(1, { indicator: 'mac' }));
    b.raise(alarm(2, { indicator: 'logic' }));
    const mark = b.mark();
    b.raise(alarm(3, { indicator: 'logic' })); // while the store commits the acknowledgement
    assert.deepEqual(b.acknowledge(undefined, mark), ['mac']);
    const snap = b.snapshot();
    assert.equal(snap.mac.latched, false);
    assert.equal(snap.logic.latched, true, 'raised after the mark: still waits');
    assert.equal(b.nu, 1);
    assert.deepEqual(b.acknowledge('logic'), ['logic']);
  });
});
