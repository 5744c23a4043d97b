// `svde learn` through the real command line on simulator captures: the proposal (configuration fragment
// with the accepted source MACs, per-stream observations, warnings), the warnings an engineer must act on
// (two MACs for one stream, repeated counters, streams unknown to the SCL or never seen), --merge that never
// overwrites silently, the merged configuration driving `svde analyze`, precise errors, and (as root) live
// learning on a veth pair.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfigFile } from '../../src/config/load.ts';
import { canCreateTestbed, createTestbed } from '../../tools/sim/testbed.ts';
import type { GroundTruth } from '../../tools/sim/truth.ts';
import { repoRoot, svde, svdeSim } from '../helpers/repo.ts';

interface Proposal {
  format: string;
  source: { pcap?: string; iface?: string; durationS?: number };
  frames: number;
  streams: { svID: string; ied: string; ldInst: string; cbName: string; acceptedSourceMacs: string[] }[];
  observed: {
    svID: string;
    appId: string;
    stream: string | null;
    frames: number;
    sources: { mac: string; frames: number }[];
    vlans: { vlan: { id: number; priority: number } | null; frames: number }[];
    repeatedCounters: number;
  }[];
  warnings: { code: string; stream: string; message: string }[];
}

const MU1 = 'MU1/MU01/LLN0.MSVCB01';
const MU2 = 'MU2/MU02/LLN0.MSVCB01';
const ROGUE = '02:66:66:00:00:99';

describe('svde learn', () => {
  let dir = '';
  const sims = new Map<string, { pcap: string; scd: string; truth: GroundTruth }>();
  const sim = async (name: string, scenario: string, mus = '2'): Promise<{ pcap: string; scd: string; truth: GroundTruth }> => {
    const pcap = path.join(dir, `${name}.pcap`);
    const r = await svdeSim(['--out', pcap, '--scenario', scenario, '--mus', mus, '--duration', '2s', '--seed', '4']);
    assert.equal(r.code, 0, r.stderr);
    const s = { pcap, scd: pcap.replace(/\.pcap$/, '.scd'), truth: JSON.parse(readFileSync(`${pcap}.truth.json`, 'utf8')) as GroundTruth };
    sims.set(name, s);
    return s;
  };
  const macOf = (t: GroundTruth, name: string): string => t.config.streams.find((s) => s.name === name)!.srcMac;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-learn-'));
    await sim('clean', 'normal');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('clean traffic: one accepted source MAC per SCL stream, VLAN and APPID observed, no warnings; --out writes the proposal', async () => {
    const { pcap, scd, truth } = sims.get('clean')!;
    const out = path.join(dir, 'clean.json');
    const r = await svde(['learn', '--pcap', pcap, '--scl', scd, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'with --out nothing goes to stdout');
    assert.match(r.stderr, /16000 frames, 2 streams seen, 2 proposed, 0 warnings/);
    const p = JSON.parse(readFileSync(out, 'utf8')) as Proposal;
    assert.equal(p.format, 'svde-learn/1');
    assert.deepEqual(p.source, { pcap });
    assert.equal(p.frames, 16000);
    assert.deepEqual(p.streams, [
      { svID: 'SVDE_MU01', ied: 'MU1', ldInst: 'MU01', cbName: 'MSVCB01', acceptedSourceMacs: [macOf(truth, 'MU1')] },
      { svID: 'SVDE_MU02', ied: 'MU2', ldInst: 'MU02', cbName: 'MSVCB01', acceptedSourceMacs: [macOf(truth, 'MU2')] },
    ]);
    assert.deepEqual(p.warnings, []);
    for (const t of truth.config.streams) {
      const o = p.observed.find((x) => x.svID === t.svID)!;
      assert.equal(o.appId, t.appId.toString(16).toUpperCase().padStart(4, '0'));
      assert.deepEqual(o.vlans, [{ vlan: t.vlan[0], frames: 8000 }]);
      assert.deepEqual(o.sources, [{ mac: t.srcMac, frames: 8000 }]);
      assert.equal(o.repeatedCounters, 0);
    }
    // without --out (and --merge) the proposal is the standard output
    const r2 = await svde(['learn', '--pcap', pcap, '--scl', scd]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual((JSON.parse(r2.stdout) as Proposal).streams, p.streams);
  });

  it('a rogue publisher of MU1 (unknown-source): both MACs are proposed for review and flagged; MU2 keeps one', async () => {
    const { pcap, scd, truth } = await sim('rogue', 'unknown-source');
    const r = await svde(['learn', '--pcap', pcap, '--scl', scd]);
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as Proposal;
    assert.deepEqual(p.streams.find((s) => s.ied === 'MU1')!.acceptedSourceMacs, [macOf(truth, 'MU1'), ROGUE].sort());
    assert.deepEqual(p.streams.find((s) => s.ied === 'MU2')!.acceptedSourceMacs, [macOf(truth, 'MU2')]);
    assert.deepEqual(
      p.warnings.map((w) => [w.code, w.stream]),
      [['several-source-macs', MU1]],
    );
    const w = p.warnings[0]!;
    assert.ok(w.message.includes(macOf(truth, 'MU1')) && w.message.includes(ROGUE), w.message);
    assert.match(r.stderr, /warning \[several-source-macs\] MU1\/MU01\/LLN0\.MSVCB01: 2 source MACs/);
    const o = p.observed.find((x) => x.stream === MU1)!;
    assert.deepEqual(
      o.sources.map((s) => s.mac),
      [macOf(truth, 'MU1'), ROGUE],
      'most frames first',
    );
  });

  it('spoofed MAC (spoofed-mac): one MAC, but the doubled counters say the capture is not clean', async () => {
    const { pcap, scd, truth } = await sim('spoofed', 'spoofed-mac');
    const r = await svde(['learn', '--pcap', pcap, '--scl', scd]);
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as Proposal;
    assert.deepEqual(p.streams.find((s) => s.ied === 'MU1')!.acceptedSourceMacs, [macOf(truth, 'MU1')], "the attacker uses MU1's own MAC");
    assert.deepEqual(
      p.warnings.map((w) => [w.code, w.stream]),
      [['repeated-counters', MU1]],
    );
    const injected = truth.malicious.length;
    assert.equal(
      p.observed.find((x) => x.stream === MU1)!.repeatedCounters,
      injected,
      "every injected copy repeats the genuine frame's smpCnt",
    );
  });

  it('streams the SCL does not describe are not proposed; SCL streams never seen are reported', async () => {
    const one = await sim('one', 'normal', '1');
    const three = await sim('three', 'normal', '3');
    const { pcap } = sims.get('clean')!;
    const r1 = await svde(['learn', '--pcap', pcap, '--scl', one.scd]);
    assert.equal(r1.code, 0, r1.stderr);
    const p1 = JSON.parse(r1.stdout) as Proposal;
    assert.deepEqual(
      p1.streams.map((s) => s.ied),
      ['MU1'],
    );
    assert.deepEqual(
      p1.warnings.map((w) => [w.code, w.stream]),
      [['unknown-stream', 'SVDE_MU02@4002']],
    );
    assert.equal(p1.observed.find((x) => x.svID === 'SVDE_MU02')!.stream, null);
    const r3 = await svde(['learn', '--pcap', pcap, '--scl', three.scd]);
    assert.equal(r3.code, 0, r3.stderr);
    const p3 = JSON.parse(r3.stdout) as Proposal;
    assert.deepEqual(
      p3.streams.map((s) => s.ied),
      ['MU1', 'MU2'],
    );
    assert.deepEqual(
      p3.warnings.map((w) => [w.code, w.stream]),
      [['not-seen', 'MU3/MU03/LLN0.MSVCB01']],
    );
  });

  it('--merge fills and adds stream entries, never overwrites a configured list, and its output drives svde analyze', async () => {
    const { pcap, scd, truth } = sims.get('clean')!;
    // into an empty configuration: both streams added, scl set, exit 0
    const empty = path.join(dir, 'empty.json');
    writeFileSync(empty, '{}\n');
    const r = await svde(['learn', '--pcap', pcap, '--scl', scd, '--merge', empty]);
    assert.equal(r.code, 0, r.stderr);
    const merged = JSON.parse(r.stdout) as { scl: string; streams: { ied: string; acceptedSourceMacs: string[] }[] };
    assert.equal(merged.scl, path.basename(scd));
    assert.deepEqual(
      merged.streams.map((s) => [s.ied, s.acceptedSourceMacs]),
      [
        ['MU1', [macOf(truth, 'MU1')]],
        ['MU2', [macOf(truth, 'MU2')]],
      ],
    );
    const mergedFile = path.join(dir, 'merged.json');
    writeFileSync(mergedFile, r.stdout);
    const loaded = loadConfigFile(mergedFile);
    assert.deepEqual(
      loaded.streams.map((b) => b.acceptedSourceMacs),
      [[macOf(truth, 'MU1')], [macOf(truth, 'MU2')]],
    );
    // The learnt accept list at work: the rogue publisher is a MAC alarm (with the SCL alone it is only a counter anomaly).
    const rogue = sims.get('rogue')!;
    const a = await svde(['analyze', rogue.pcap, '--config', mergedFile, '--scl', rogue.scd]);
    assert.equal(a.code, 0, a.stderr);
    const alarms = a.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { indicator?: string; reason?: string; stream?: string });
    assert.ok(
      alarms.some((l) => l.indicator === 'mac' && l.reason === 'unknown-source' && l.stream === MU1),
      a.stdout.slice(0, 500),
    );

    // an existing configuration: MU2 configured with another MAC (kept, reported), other settings untouched, exit 3
    const cfgFile = path.join(dir, 'existing.json');
    copyFileSync(scd, path.join(dir, 'existing.scd'));
    const existing = {
      scl: 'existing.scd',
      thresholds: { rateTolerance: 0.2 },
      streams: [
        { ied: 'MU2', bay: 'B1', acceptedSourceMacs: ['02:00:00:00:00:77'] },
        { svID: 'SVDE_MU01', acceptedSourceMacs: [] },
      ],
    };
    writeFileSync(cfgFile, JSON.stringify(existing));
    const r2 = await svde(['learn', '--pcap', pcap, '--scl', scd, '--merge', cfgFile]);
    assert.equal(r2.code, 3, r2.stderr);
    const m2 = JSON.parse(r2.stdout) as typeof existing;
    assert.deepEqual(m2, { ...existing, streams: [existing.streams[0], { svID: 'SVDE_MU01', acceptedSourceMacs: [macOf(truth, 'MU1')] }] });
    assert.match(
      r2.stderr,
      /NOT MERGED: MU2\/MU02\/LLN0\.MSVCB01: \/streams\/0\/acceptedSourceMacs is 02:00:00:00:00:77 but 02:53:56:00:00:02 was seen: left as configured/,
    );
    assert.match(r2.stderr, /MU1\/MU01\/LLN0\.MSVCB01: acceptedSourceMacs set to/);
    assert.deepEqual(JSON.parse(readFileSync(cfgFile, 'utf8')), existing, 'the file itself is never written');
    // with --config the configured list is compared with what is seen
    const r3 = await svde(['learn', '--pcap', pcap, '--config', cfgFile, '--scl', scd]);
    assert.equal(r3.code, 0, r3.stderr);
    assert.deepEqual(
      (JSON.parse(r3.stdout) as Proposal).warnings.map((w) => [w.code, w.stream]),
      [['configured-macs-differ', MU2]],
    );

    // a stream seen with two MACs is not merged at all
    const r4 = await svde(['learn', '--pcap', rogue.pcap, '--scl', rogue.scd, '--merge', empty]);
    assert.equal(r4.code, 3, r4.stderr);
    assert.deepEqual(
      (JSON.parse(r4.stdout) as { streams: { ied: string }[] }).streams.map((s) => s.ied),
      ['MU2'],
    );
    assert.match(r4.stderr, /NOT MERGED: MU1\/MU01\/LLN0\.MSVCB01: seen with several source MACs/);
  });

  it('bad input gets a precise message', async () => {
    const { pcap, scd } = sims.get('clean')!;
    const r1 = await svde(['learn', '--scl', scd]);
    assert.equal(r1.code, 2);
    assert.match(r1.stderr, /either --pcap FILE or --iface IFACE/);
    const r2 = await svde(['learn', '--pcap', pcap]);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /--scl/);
    const r3 = await svde(['learn', '--pcap', path.join(dir, 'missing.pcap'), '--scl', scd]);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /missing\.pcap/);
    const r4 = await svde(['learn', '--iface', 'lo', '--duration', 'soon', '--scl', scd]);
    assert.equal(r4.code, 2);
    assert.match(r4.stderr, /--duration: cannot parse "soon"/);
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ streams: [{ ied: 'MU9' }] }));
    const r5 = await svde(['learn', '--pcap', pcap, '--scl', scd, '--merge', bad]);
    assert.equal(r5.code, 1);
    assert.match(r5.stderr, /bad\.json: \/streams\/0: no stream in SCL file/);
    const help = await svde(['help']);
    assert.match(help.stdout, /learn +commissioning/);
  });

  it(
    "live on an interface (veth pair, root only): the simulator's MUs are learnt",
    { skip: canCreateTestbed() ? false : 'needs root and iproute2' },
    async () => {
      const { scd, truth } = sims.get('clean')!;
      const tb = createTestbed('learn');
      try {
        const out = path.join(dir, 'live.json');
        const child = spawn(
          process.execPath,
          [path.join(repoRoot, 'src/cli/main.ts'), 'learn', '--iface', tb.hostIf, '--duration', '4', '--scl', scd, '--out', out],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stderr = '';
        const started = new Promise<void>((resolve) =>
          child.stderr.on('data', (d: Buffer) => {
            stderr += d.toString();
            if (stderr.includes('learning on')) resolve();
          }),
        );
        const done = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
        await started;
        await new Promise((r) => setTimeout(r, 500));
        const s = await svdeSim([
          '--iface',
          tb.nsIf,
          '--netns',
          tb.ns,
          '--scenario',
          'normal',
          '--mus',
          '2',
          '--duration',
          '1s',
          '--seed',
          '4',
        ]);
        assert.equal(s.code, 0, s.stderr);
        assert.equal(await done, 0, stderr);
        assert.ok(existsSync(out));
        const p = JSON.parse(readFileSync(out, 'utf8')) as Proposal;
        assert.deepEqual(p.source, { iface: tb.hostIf, durationS: 4 });
        assert.deepEqual(
          p.streams.map((x) => x.acceptedSourceMacs),
          [[macOf(truth, 'MU1')], [macOf(truth, 'MU2')]],
        );
        assert.deepEqual(p.warnings, []);
      } finally {
        tb.cleanup();
      }
    },
  );
});
