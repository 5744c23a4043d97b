// Detection runs without the addon: a child process with SVDE_NATIVE=off (loadNative() throws) imports
// src/native and the detection pipeline with every stage, runs a batch built in TypeScript and gets the
// verdicts; importing them does not load the .node even when it could.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const script = path.join(import.meta.dirname, 'no-addon-detect.ts');

function run(env: NodeJS.ProcessEnv): { nativeLoadedByImports: boolean; refusals: string[]; frames: number; verdicts: unknown[] } {
  const r = spawnSync(process.execPath, [script], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ReturnType<typeof run>;
}

test('with SVDE_NATIVE=off the pipeline decides on a TS-built batch: a rogue source MAC and an smpCnt gap', () => {
  const out = run({ ...process.env, SVDE_NATIVE: 'off' });
  assert.deepEqual(out.refusals, [
    'svde native addon is turned off (SVDE_NATIVE=off)',
    'svde native addon is turned off (SVDE_NATIVE=off)',
  ]);
  assert.equal(out.frames, 200);
  assert.deepEqual(out.verdicts, [
    { frame: 51, indicator: 'mac', reason: 'unknown-source' },
    { frame: 122, indicator: 'logic', reason: 'gap' },
  ]);
  assert.equal(out.nativeLoadedByImports, false);
});

test('importing src/native and detection does not load the addon even when it is available', () => {
  const env = { ...process.env };
  delete env['SVDE_NATIVE'];
  const out = run(env);
  assert.equal(out.nativeLoadedByImports, false);
  // loadNative() itself then works; reading a missing file fails in the addon, not for want of it
  assert.equal(out.refusals.length, 1);
  assert.match(out.refusals[0]!, /nonexistent\.pcap/);
});
