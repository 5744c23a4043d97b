// A process killed with SIGKILL in the middle of an alarm storm loses no committed alarm: a child writes
// alarms (with evidence and events) and prints each id after the batch holding it committed; the parent
// kills it mid-storm, reopens the file and finds every printed id, and SQLite's integrity check passes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EvidenceStore } from '../../src/store/store.ts';

const writer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/storm-writer.ts');

/** Runs the storm writer until it has reported `killAfter` committed ids, then SIGKILLs it. */
export function stormAndKill(
  db: string,
  killAfter: number,
  evidenceBytes = 200,
): Promise<{ committed: number[]; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, db, '100000000', String(evidenceBytes)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const committed: number[] = [];
    let buf = '';
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('C ')) committed.push(Number(line.slice(2)));
      }
      if (!killed && committed.length >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (!killed) reject(new Error(`storm writer exited by itself (code ${code}): ${stderr}`));
      else resolve({ committed, signal });
    });
  });
}

describe('SIGKILL during an alarm storm', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-kill-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const killAfter of [500, 3000]) {
    it(`every alarm reported committed is there after the kill (kill after ${killAfter})`, async () => {
      const db = path.join(dir, `storm-${killAfter}.db`);
      const { committed, signal } = await stormAndKill(db, killAfter);
      assert.equal(signal, 'SIGKILL');
      assert.ok(committed.length >= killAfter);
      const t0 = performance.now();
      const s = new EvidenceStore({ path: db, retentionEveryMs: 0 });
      const integrity = s.integrityCheck();
      const recoveryMs = performance.now() - t0;
      assert.equal(integrity, 'ok');
      const max = Math.max(...committed);
      const present = new Set<number>();
      let cursor: string | null = null;
      do {
        const p = s.listAlarms({ limit: 500, untilNs: 0x7fffffffffffffffn, ...(cursor !== null ? { cursor } : {}) });
        for (const a of p.items) present.add(a.id);
        cursor = p.next;
      } while (cursor !== null);
      const missing = committed.filter((id) => !present.has(id));
      assert.deepEqual(missing, [], 'no committed alarm lost');
      assert.ok(present.size >= committed.length);
      for (const id of [committed[0]!, max]) {
        assert.equal(s.evidenceFrames(id).length, 1, `alarm ${id} keeps its evidence`);
        assert.equal(s.getAlarm(id)!.evidence!.complete, true);
      }
      // New ids continue after the highest one on disk, never reusing one.
      assert.ok(
        s.alarmRaised({
          id: 0,
          indicator: 'mac',
          grade: 1,
          stream: 'x',
          reason: 'y',
          firstFrame: 1,
          firstTsNs: 1n,
          lastFrame: 1,
          lastTsNs: 1n,
          frames: 1,
        }) > max,
      );
      s.close();
      process.stderr.write(
        `# sigkill: ${committed.length} committed ids reported, ${present.size} alarms found, recovery (open + integrity_check) ${recoveryMs.toFixed(1)} ms\n`,
      );
    });
  }
});
