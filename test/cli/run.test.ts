// `svde run`: the embedded demo end to end — the simulator as a separate process publishing live on a veth
// pair in a network namespace, the appliance capturing and decoding — and its clean shutdown.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { canCreateTestbed } from '../../tools/sim/testbed.ts';
import { svde } from '../helpers/repo.ts';

interface Report {
  framesPerS: number;
  decodeErrors: number;
  streams: Array<{ appId: number; svId: string; framesPerS: number; src: string }>;
  capture?: { kernelDrops: number; queueDrops: number; linkUp: boolean };
  latencyMs?: { p50: number; p99: number; max: number };
  scenario?: string;
  detection?: { nu: number; alarms: Array<{ indicator: string; reason: string; stream: string }> };
}

function demoNamespaces(): string[] {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  return out
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith('svde-demo-'));
}

const stateDir = mkdtempSync(path.join(tmpdir(), 'svde-run-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));

describe('svde run (embedded demo)', () => {
  it(
    'captures, decodes and detects: the first scripted attack is alarmed on MU1, MU2 stays quiet; the namespace is removed',
    { skip: !canCreateTestbed() && 'needs root for network namespaces' },
    async () => {
      const before = demoNamespaces();
      const res = await svde(['run', '--duration', '6s', '--mus', '2', '--json', '--http', '127.0.0.1:0', '--state-dir', stateDir], {
        timeoutMs: 60_000,
      });
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, /embedded demo/);
      const reports = res.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Report);
      assert.ok(reports.length >= 4, `one report per second, got ${reports.length}`);
      // Skip the first second (the publisher starts) and the final partial report.
      const steady = reports.slice(1, -1).filter((r) => r.streams.length > 0);
      assert.ok(steady.length >= 2, 'steady-state reports');
      for (const r of steady) {
        assert.equal(r.scenario, 'interleaved-injection');
        assert.equal(r.decodeErrors, 0);
        assert.deepEqual(
          r.streams.map((s) => s.svId),
          ['SVDE_MU01', 'SVDE_MU02'],
        );
        // MU2 is genuine at 4000 frames/s; MU1 carries the injected frames on top during a burst.
        const mu2 = r.streams[1]!;
        assert.ok(mu2.framesPerS > 3000 && mu2.framesPerS < 5000, `~4000 frames/s on MU2, got ${mu2.framesPerS}`);
        assert.equal(r.capture?.kernelDrops, 0);
        assert.equal(r.capture?.queueDrops, 0);
        assert.ok(r.latencyMs !== undefined && r.latencyMs.p50 > 0, 'arrival-to-JS latency is measured');
      }
      const alarms = reports.flatMap((r) => r.detection?.alarms ?? []);
      assert.ok(
        alarms.some((a) => a.indicator === 'logic' && a.stream.startsWith('MU1/')),
        `the injection is alarmed: ${JSON.stringify(alarms)}`,
      );
      assert.deepEqual(
        alarms.filter((a) => a.stream.startsWith('MU2/')),
        [],
        'nothing on the genuine MU2',
      );
      assert.equal(reports[reports.length - 1]!.detection?.nu, 1);
      assert.deepEqual(demoNamespaces(), before, 'the demo removed its network namespace');
    },
  );

  it('rejects bad arguments with a precise message', async () => {
    const r1 = await svde(['run', '--mus', '0']);
    assert.equal(r1.code, 2);
    assert.match(r1.stderr, /--mus must be an integer 1\.\.64/);
    const r2 = await svde(['run', '--duration', 'soon']);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /--duration: expected/);
    const r3 = await svde(['run', '--iface', 'no-such-if0', '--duration', '1s']);
    assert.notEqual(r3.code, 0);
    assert.match(r3.stderr, /no-such-if0/);
  });
});
