// `svde scl` (called through its exported runner, with captured output).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sclDir } from '../helpers/repo.ts';
import { runScl } from '../../src/cli/scl.ts';
import type { SclOutput } from '../../src/cli/scl.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svde-scl-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = runScl(args, {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
  });
  return { code, out, err };
}

test('svde scl FILE prints the stream table, accept list and warnings as JSON', () => {
  const f = path.join(sclDir, 'openscd_communication.scd');
  const r = run([f]);
  assert.equal(r.code, 0);
  const j = JSON.parse(r.out) as SclOutput;
  assert.equal(j.file, f);
  assert.equal(j.edition, '2007B4');
  assert.deepEqual(
    j.streams.map((s) => s.svID),
    ['smv3', 'smv2', 'firstSMV'],
  );
  assert.deepEqual(
    j.acceptList.map((a) => [a.svID, a.dstMac, a.appId]),
    [
      ['smv3', '01:0c:cd:04:00:00', 0x4000],
      ['smv2', '01:0c:cd:04:00:01', 0x4002],
    ],
  );
  assert.deepEqual(
    j.warnings.map((w) => w.code),
    ['smv-address-dangling', 'svcb-no-address'],
  );
  // Warnings also go to stderr as file:line: lines.
  assert.match(r.err, new RegExp(`${f.replace(/[.+]/g, '\\$&')}:88: warning \\[smv-address-dangling\\]`));
  assert.match(r.err, /svde scl: 3 streams, 2 warnings/);
  assert.equal(run([f, '--strict']).code, 3);
  assert.equal(run([f, '--compact']).out.trim().split('\n').length, 1);
});

test('svde scl --strict exits 0 on a file without warnings; --help', () => {
  const scd = path.join(dir, 'clean.scd');
  writeFileSync(scd, '<SCL xmlns="http://www.iec.ch/61850/2003/SCL" version="2007" revision="B" release="4"><Header id="x"/></SCL>');
  const r = run([scd, '--strict']);
  assert.equal(r.code, 0);
  assert.deepEqual((JSON.parse(r.out) as SclOutput).streams, []);
  assert.equal(r.err, '');
  assert.match(run(['--help']).out, /^usage: svde scl/);
});

test('svde scl --config adds the settings per stream, and refuses a config that does not fit', () => {
  const f = path.join(sclDir, 'digsub_01_SV_Stream_4I+4V_9-2LE.scd');
  const cfg = path.join(dir, 'c.json');
  writeFileSync(cfg, JSON.stringify({ streams: [{ svID: 'OMICRON_CMC_SV2', acceptedSourceMacs: ['00:0a:35:00:00:02'], bay: 'B1' }] }));
  const r = run([f, '--config', cfg]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as SclOutput;
  assert.deepEqual(
    j.acceptList.map((a) => a.sourceMacs),
    [[], ['00:0a:35:00:00:02'], []],
  );
  assert.deepEqual(
    j.settings?.map((s) => [s.key, s.configIndex, s.bay]),
    [
      ['MU01_4I_4V_1/MU01/LLN0.MSVCB01', null, null],
      ['MU01_4I_4V_2/MU01/LLN0.MSVCB01', 0, 'B1'],
      ['MU01_4I_4V_3/MU01/LLN0.MSVCB01', null, null],
    ],
  );
  writeFileSync(cfg, JSON.stringify({ streams: [{ svID: 'NOPE' }] }));
  const bad = run([f, '--config', cfg]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /c\.json: \/streams\/0: no stream in SCL file digsub_01_SV_Stream_4I\+4V_9-2LE\.scd has svID "NOPE"/);
});
