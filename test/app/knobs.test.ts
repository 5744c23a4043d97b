// The board profile's real-time knobs: what each profile asks of the real-time thread.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { knobsOf } from '../../src/app/wiring.ts';
import { loadBoardFile } from '../../src/config/board.ts';
import { repoRoot } from '../helpers/repo.ts';
import path from 'node:path';

it('the ARM bay unit pins the real-time thread to its capture core and keeps the ring and flush interval', () => {
  const b = loadBoardFile(path.join(repoRoot, 'board/arm64-bay-unit.json'));
  assert.deepEqual(knobsOf(b), { cpus: [1], ringBytes: 33554432, flushMicros: 200 });
});

it('realtimeCores, SCHED_FIFO, mlockall and the heap limit pass through; no board asks nothing', () => {
  const b = loadBoardFile(path.join(repoRoot, 'board/arm64-bay-unit.json'));
  const k = knobsOf({ ...b, cpu: { captureCore: 1, realtimeCores: [2, 3], fifoPriority: 50, mlockall: true, realtimeHeapMb: 256 } });
  assert.deepEqual(k, {
    cpus: [2, 3],
    fifoPriority: 50,
    mlockall: true,
    ringBytes: 33554432,
    flushMicros: 200,
    heap: { maxOldGenerationSizeMb: 256 },
  });
  assert.deepEqual(knobsOf(undefined), {});
});
