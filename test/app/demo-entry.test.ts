// The demo's own entry (tools/demo/main.ts, what `npm start` and scripts/demo.sh run) and `svde run` in an
// installation without tools/: the hand-over then fails with a precise message instead of a module error.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot, type RunResult } from '../helpers/repo.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'svde-demo-entry-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function node(script: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { timeout: 120_000, maxBuffer: 1 << 28 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

describe('the demo entry', () => {
  it('runs the demo in process and stops after --duration', async () => {
    const r = await node(path.join(repoRoot, 'tools/demo/main.ts'), [
      '--in-process',
      '--duration',
      '4s',
      '--mus',
      '2',
      '--json',
      '--http',
      '127.0.0.1:0',
      '--state-dir',
      path.join(dir, 'state'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /chip emulator \(a separate process\) on /);
    assert.match(r.stderr, /replayed IN-PROCESS at its true rate/);
    assert.match(r.stderr, /operator token \S+/);
    const reports = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { scenario: string | null; streams: { svId: string }[] });
    assert.ok(
      reports.some((x) => x.scenario === 'interleaved-injection' && x.streams.length === 2),
      r.stdout.slice(0, 2000),
    );
  });

  it('refuses the options of a configured appliance', async () => {
    const r = await node(path.join(repoRoot, 'tools/demo/main.ts'), ['--config', 'svde.json']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--config, --iface and --scl run the appliance itself: use svde run/);
  });

  it('svde run without tools/ says the demo is not part of the installation', async () => {
    const inst = path.join(dir, 'installed');
    cpSync(path.join(repoRoot, 'src'), path.join(inst, 'src'), { recursive: true });
    cpSync(path.join(repoRoot, 'package.json'), path.join(inst, 'package.json'));
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(inst, 'node_modules'));
    symlinkSync(path.join(repoRoot, 'build'), path.join(inst, 'build'));
    const r = await node(path.join(inst, 'src/cli/main.ts'), ['run', '--duration', '1s']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /svde run: the embedded demo is not part of this installation \(.*tools\/demo\/main\.ts is missing/);
    assert.match(r.stderr, /--config FILE or --iface IFACE/);
  });
});
