// The fault library's seed entries are data (src/detect/history/seed-faults.json) generated once by
// tools/history/make-seed.ts: the file loads, covers the fault classes and the attack model, records its
// provenance, and regenerating it from the simulator gives the same entries.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readSeedFile, seedEntries } from '../../src/detect/history/seed.ts';
import { DEFAULT_OUT, GENERATOR_VERSION, makeSeedFile, seedFileText } from '../../tools/history/make-seed.ts';

test('the seed file loads with its provenance and the expected kinds and classes', () => {
  const file = readSeedFile();
  assert.equal(file.provenance.generator, 'tools/history/make-seed.ts');
  assert.equal(file.provenance.version, GENERATOR_VERSION);
  assert.match(file.provenance.date, /^\d{4}-\d{2}-\d{2}$/);
  assert.deepEqual(new Set(file.entries.map((e) => e.kind)), new Set(['fault', 'attack']));
  const classes = new Set(file.entries.map((e) => `${e.kind}:${String(e.features['class'])}`));
  assert.deepEqual([...classes].sort(), [
    'attack:fake-short-circuit',
    'fault:overcurrent',
    'fault:overvoltage',
    'fault:phase-ground',
    'fault:phase-phase',
    'fault:three-phase',
  ]);
  // 7 types × 3 currents × 3 X/R × 2 inception angles, 2 remote faults, 3 overvoltages, 3 attack models.
  assert.equal(file.entries.filter((e) => e.source === 'seed:simulator').length, 7 * 3 * 3 * 2 + 2);
  assert.equal(file.entries.length, 7 * 3 * 3 * 2 + 2 + 3 + 3);
  assert.deepEqual(seedEntries(), file.entries);
});

test('regenerating the seed file gives the same content (apart from the date)', () => {
  const checkedIn = readFileSync(DEFAULT_OUT, 'utf8');
  const date = readSeedFile().provenance.date;
  assert.equal(seedFileText(makeSeedFile(date)), checkedIn);
});

test('a malformed seed file is refused', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'svde-seed-'));
  try {
    const bad = path.join(dir, 'seed.json');
    writeFileSync(bad, JSON.stringify({ provenance: { generator: 'x' }, entries: [{ kind: 'nope' }] }));
    assert.throws(() => readSeedFile(bad), /malformed seed entry/);
    writeFileSync(bad, JSON.stringify({ entries: [] }));
    assert.throws(() => readSeedFile(bad), /not a seed library file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
