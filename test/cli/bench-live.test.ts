// svde bench --live: the real-time core's figures reach the command's JSON (shape and consistency only;
// latency values are benchmarks, never asserted). Needs root: the benchmarks make a veth pair in a netns.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const root = process.getuid?.() === 0;

describe('svde bench --live', { skip: root ? false : 'needs root (network namespace)' }, () => {
  it('reports arrival→verdict of the real-time core, its kernel share, loss and CPU per frame', () => {
    const r = spawnSync(
      process.execPath,
      [path.join(repoRoot, 'src/cli/main.ts'), 'bench', '--seconds', '1', '--rounds', '1', '--live', '--live-seconds', '2'],
      { encoding: 'utf8', timeout: 180_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      realtime: {
        mus: number;
        sent: number;
        lost: number;
        verdictLatencyUs: { p50: number; p99: number; max: number; frames: number };
        kernelToCaptureUs: { p99: number } | null;
        cpuNsPerFrame: { realtimeThread: number };
      };
    };
    const rt = out.realtime;
    assert.equal(rt.mus, 8);
    assert.equal(rt.sent, 8 * 4800 * 3, 'two measured seconds plus the one the simulator adds');
    assert.ok(rt.lost >= 0 && rt.lost <= rt.sent);
    const v = rt.verdictLatencyUs;
    assert.ok(v.frames > 0 && v.frames <= rt.sent, 'a verdict latency per handled frame');
    assert.ok(v.p50 <= v.p99 && v.p99 <= v.max, 'quantiles in order');
    assert.ok(rt.kernelToCaptureUs !== null && rt.kernelToCaptureUs.p99 <= v.max, 'the kernel share is part of the whole');
    assert.ok(rt.cpuNsPerFrame.realtimeThread > 0);
  });
});
