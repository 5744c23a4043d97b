// Acknowledging and marking evidence exported go through the writer thread: during an alarm storm the
// caller's event loop keeps turning while the acknowledgement is committed, it covers exactly the alarms
// written before it, and once its promise resolved it survives a SIGKILL.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EvidenceStore } from '../../src/store/store.ts';
import { alarm } from './helpers.ts';

const killer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/ack-then-kill.ts');

describe('acknowledgement off the capture thread', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-ack-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('during a storm the event loop keeps turning until the acknowledgement resolves; it covers the alarms written before it', async () => {
    const s = new EvidenceStore({ path: path.join(dir, 'storm.db'), retentionEveryMs: 0, batchMs: 5, batchRows: 64 });
    const frame = new Uint8Array(200).fill(1);
    let n = 0;
    let storming = true;
    const burst = (): void => {
      if (!storming) return;
      for (let k = 0; k < 50; k++, n++) {
        const id = s.alarmRaised(alarm(n));
        s.addEvidence(id, [{ tsNs: BigInt(n), bytes: frame }], true, 'MU1');
        s.event('capture-loss', `event ${n}`);
      }
      setImmediate(burst);
    };
    burst();
    // Let the storm run for a while (by turns of the loop, not by the clock).
    for (let i = 0; i < 40; i++) await new Promise((r) => setImmediate(r));
    const writtenBefore = n;
    let turns = 0;
    let settled = false;
    const counter = (): void => {
      turns++;
      if (!settled) setImmediate(counter);
    };
    setImmediate(counter);
    const ack = s.acknowledge({ allOpen: true }, 'op', 1n);
    const exported = s.markExported(3);
    const turnsAtCall = turns;
    const [ids, ok] = await Promise.all([ack, exported]);
    settled = true;
    const writtenDuring = n - writtenBefore;
    storming = false;
    assert.ok(turns - turnsAtCall > 0, 'the event loop turned while the acknowledgement was being committed');
    assert.ok(writtenDuring > 0, `the storm went on meanwhile (${writtenDuring} alarms written while it was pending)`);
    assert.equal(ok, true);
    assert.deepEqual(
      ids,
      Array.from({ length: writtenBefore }, (_, i) => i + 1),
      'exactly the alarms written before the call, including those not yet committed',
    );
    assert.equal(s.sync(), true);
    const open = s.listAlarms({ acknowledged: false, limit: 500 });
    assert.equal(open.total, n - writtenBefore, 'alarms written after the call wait for their own acknowledgement');
    assert.ok(open.items.every((a) => a.id > writtenBefore));
    assert.equal(s.getAlarm(3)!.exported, true);
    s.close();
  });

  it('an acknowledgement whose promise resolved survives a SIGKILL right after', async () => {
    const db = path.join(dir, 'kill.db');
    const out = await new Promise<{ text: string; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [killer, db], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('error', reject);
      child.on('exit', (_code, signal) => resolve({ text, signal, stderr }));
    });
    assert.equal(out.signal, 'SIGKILL', out.stderr);
    const acked = /^A ([\d ]+)$/m.exec(out.text)?.[1]?.split(' ').map(Number) ?? [];
    assert.ok(acked.length >= 2000, `the child acknowledged the storm so far (${acked.length} ids)`);
    assert.match(out.text, /^E 7$/m);
    const s = new EvidenceStore({ path: db, retentionEveryMs: 0 });
    try {
      assert.equal(s.integrityCheck(), 'ok');
      const lost = acked.filter((id) => s.getAlarm(id)?.acknowledged?.by !== 'op-kill');
      assert.deepEqual(lost, [], 'every acknowledgement reported is on disk');
      assert.equal(s.getAlarm(7)!.exported, true);
      const ev = s.listEvents({ kind: 'acknowledge' }).items;
      assert.equal(ev.length, 1);
      assert.equal(ev[0]!.detail?.['count'], acked.length);
    } finally {
      s.close();
    }
  });
});
