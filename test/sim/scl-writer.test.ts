// The SCD the simulator writes, read back with the project's SCL importer and checked against two oracles:
// the ground-truth config and the frames themselves (parsed by the independent test parser). xmllint, when
// installed, checks the file is well-formed XML as a second parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_OPTIONS, runSimulation } from '../../tools/sim/engine.ts';
import type { SimOptions } from '../../tools/sim/engine.ts';
import { CHANNEL_SETS } from '../../src/model/channels.ts';
import { findScenario } from '../../tools/sim/scenarios.ts';
import { defaultSclPath, escapeAttr, writeScl } from '../../tools/sim/scl-writer.ts';
import type { SclWriterConfig } from '../../tools/sim/scl-writer.ts';
import type { TruthStream } from '../../tools/sim/truth.ts';
import { importSclFile, samplesPerSecond } from '../../src/scl/import.ts';
import type { SclImport, SclStream } from '../../src/scl/model.ts';
import { MemorySink, parseSv } from './frames.ts';
import type { ParsedFrame } from './frames.ts';

const haveXmllint = spawnSync('xmllint', ['--version']).status === 0;

const dir = mkdtempSync(join(tmpdir(), 'svde-scl-writer-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

function writeAndImport(config: SclWriterConfig, opts: Parameters<typeof writeScl>[1] = {}): { imp: SclImport; file: string; xml: string } {
  const xml = writeScl(config, opts);
  const file = join(dir, `t${++fileNo}.scd`);
  writeFileSync(file, xml);
  if (haveXmllint) execFileSync('xmllint', ['--noout', file], { stdio: 'pipe' }); // throws with xmllint's message
  return { imp: importSclFile(file), file, xml };
}

async function simulate(
  over: Partial<SimOptions>,
  scenario = 'normal',
): Promise<{ config: SclWriterConfig & { streams: TruthStream[] }; frames: ParsedFrame[]; opts: SimOptions }> {
  const opts: SimOptions = { ...DEFAULT_OPTIONS, durationS: 1, ...over };
  const sink = new MemorySink();
  const res = await runSimulation(opts, findScenario(scenario)!, sink);
  return { config: res.truth.config, frames: sink.frames.map((f) => parseSv(f.bytes)), opts };
}

const LN_OF_KIND: Record<string, { lnClass: string; doName: string }> = {
  current: { lnClass: 'TCTR', doName: 'AmpSv' },
  voltage: { lnClass: 'TVTR', doName: 'VolSv' },
};

/** Every stream of the truth config is in the SCD exactly as configured, with no warnings. */
function checkStreams(imp: SclImport, streams: readonly TruthStream[], freq: number): Map<string, SclStream> {
  assert.deepEqual(imp.warnings, [], 'the importer has nothing to warn about');
  assert.equal(imp.edition, '2007B4');
  assert.equal(imp.streams.length, streams.length);
  const bySvID = new Map(imp.streams.map((x) => [x.svID, x]));
  for (const s of streams) {
    const x = bySvID.get(s.svID);
    assert.ok(x, `stream ${s.name} (svID ${s.svID}) is in the SCD`);
    assert.equal(x.iedName, s.name, 'IED named after the truth stream');
    assert.ok(x.address, `${s.name} has an address`);
    assert.equal(x.address.dstMac, s.dstMac);
    assert.equal(x.address.appId, s.appId);
    assert.equal(x.address.vlanId, s.vlan[0]?.id ?? null);
    assert.equal(x.address.vlanPriority, s.vlan[0]?.priority ?? null);
    assert.equal(x.confRev, s.confRev);
    assert.equal(x.nofASDU, s.nofASDU);
    assert.equal(x.multicast, true);
    assert.equal(x.securityEnabled, false);
    assert.equal(x.smpRate, s.smpRate);
    if (s.smpMod === null) {
      assert.equal(x.smpMod, 'SmpPerPeriod');
      assert.equal(x.smpModDefaulted, true, 'no smpMod attribute when the ASDU carries none');
    } else {
      assert.equal(x.smpModCode, s.smpMod);
    }
    assert.equal(samplesPerSecond(x, freq), s.samplesPerSecond);
    if (s.datSet !== null) assert.equal(x.datSetRef, s.datSet);
    assert.equal(x.smvOpts['dataSet'], s.datSet !== null);
    // dataset: value + quality per channel, in seqData order, resolved with the instance sVC
    assert.ok(x.dataset);
    assert.equal(x.dataset.length, 2 * s.channels.length);
    s.channels.forEach((c, k) => {
      const ln = LN_OF_KIND[c.kind]!;
      const v = x.dataset![2 * k]!;
      const q = x.dataset![2 * k + 1]!;
      for (const [m, daName] of [
        [v, 'instMag.i'],
        [q, 'q'],
      ] as const) {
        assert.equal(m.resolved, true, m.fcda);
        assert.equal(m.lnClass, ln.lnClass, m.fcda);
        assert.equal(m.doName, ln.doName, m.fcda);
        assert.equal(m.daName, daName, m.fcda);
        assert.equal(m.fc, 'MX', m.fcda);
      }
      assert.deepEqual(
        v.leaves.map((l) => [l.bType, l.scale, l.offset, l.scaleSource]),
        [['INT32', c.scale, 0, 'instance']],
      );
      assert.deepEqual(
        q.leaves.map((l) => l.bType),
        ['Quality'],
      );
    });
    assert.ok(x.channelSet, `${s.name} has a channel set`);
    assert.deepEqual(
      x.channelSet.channels.map((c) => ({ name: c.name, kind: c.kind, phase: c.phase, scale: c.scale })),
      s.channels.map((c) => ({ name: c.name, kind: c.kind, phase: c.phase, scale: c.scale })),
    );
  }
  return bySvID;
}

/** The first frame of each MU, as sent, agrees with the SCD (an oracle independent of the truth file). */
function checkFrames(sclStreams: Map<string, SclStream>, streams: readonly TruthStream[], frames: ParsedFrame[]): void {
  for (const s of streams) {
    const f = frames.find((fr) => fr.src === s.srcMac);
    assert.ok(f, `a frame from ${s.name}`);
    const a = f.asdus[0]!;
    const x = sclStreams.get(a.svID);
    assert.ok(x, `svID ${a.svID} on the wire is in the SCD`);
    assert.equal(x.address!.dstMac, f.dst);
    assert.equal(x.address!.appId, f.appId);
    assert.equal(x.address!.vlanId, f.vlans[0]?.id ?? null);
    assert.equal(x.address!.vlanPriority, f.vlans[0]?.priority ?? null);
    assert.equal(x.nofASDU, f.noASDU);
    assert.equal(x.confRev, a.confRev);
    assert.equal(x.smpRate, a.smpRate ?? null);
    if (a.smpMod === undefined) assert.equal(x.smpModDefaulted, true);
    else assert.equal(x.smpModCode, a.smpMod);
    if (a.datSet !== undefined) assert.equal(x.datSetRef, a.datSet);
    assert.equal(x.smvOpts['dataSet'], a.datSet !== undefined);
    assert.equal(x.smvOpts['refreshTime'], a.refrTm !== undefined);
    // 8 bytes (INT32 + quality) per value/quality pair of the dataset
    assert.equal(a.seqData.length, 8 * x.channelSet!.channels.length);
  }
}

const shapes: { title: string; over: Partial<SimOptions> }[] = [
  { title: '1 MU, 4i4u, 50 Hz 80/cycle, VLAN 123:4', over: { mus: 1 } },
  {
    title: '2 MUs, 4u4i, 60 Hz 256/cycle, 8 ASDUs, no VLAN',
    over: { mus: 2, channelSet: CHANNEL_SETS['4u4i']!, freq: 60, samplesPerSecond: 256 * 60, nofASDU: 8, vlans: [] },
  },
  {
    title: '8 MUs, 4i, IEC 61869-9 4800/s, VLAN 5:6',
    over: { mus: 8, channelSet: CHANNEL_SETS['4i']!, samplesPerSecond: 4800, vlans: [{ id: 5, priority: 6 }] },
  },
  { title: '3 MUs, 4i4u, 50 Hz 14400/s with 6 ASDUs, refrTm', over: { mus: 3, samplesPerSecond: 14400, nofASDU: 6, refrTm: true } },
];

for (const { title, over } of shapes) {
  test(`SCD round trip: ${title}`, async () => {
    const { config, frames, opts } = await simulate(over);
    const { imp } = writeAndImport(config, { refreshTime: opts.refrTm });
    const sclStreams = checkStreams(imp, config.streams, opts.freq);
    checkFrames(sclStreams, config.streams, frames);
  });
}

test('the SCD describes the genuine configuration, not the attack (config-mismatch, datSet sent)', async () => {
  const { config, frames, opts } = await simulate({ mus: 2 }, 'config-mismatch');
  assert.ok(
    config.streams.every((s) => s.datSet !== null),
    'this scenario sends datSet',
  );
  const { imp } = writeAndImport(config);
  const sclStreams = checkStreams(imp, config.streams, opts.freq);
  checkFrames(sclStreams, config.streams, frames);
  // the attack's svID+"X", confRev+1 and other datSet appear on the wire but not in the SCD
  const wire = new Set(frames.map((f) => `${f.asdus[0]!.svID}|${f.asdus[0]!.confRev}|${f.asdus[0]!.datSet}`));
  const described = new Set(imp.streams.map((x) => `${x.svID}|${x.confRev}|${x.datSetRef}`));
  assert.ok(
    [...wire].some((w) => !described.has(w)),
    'the attack frames differ from the SCD',
  );
  assert.ok(imp.streams.every((x) => config.streams.some((s) => s.svID === x.svID)));
});

test('bays: redundant MUs share the CT/VT phases of their bay in the Substation section', async () => {
  const { config } = await simulate({ mus: 3 });
  const { xml } = writeAndImport(config);
  // MU1 and MU2 measure BAY1, MU3 alone BAY2 (tools/sim/README.md)
  const bay = (name: string) => xml.slice(xml.indexOf(`<Bay name="${name}">`), xml.indexOf('</Bay>', xml.indexOf(`<Bay name="${name}">`)));
  assert.match(bay('BAY1'), /iedName="MU1"[^>]*lnClass="TCTR" lnInst="1"[\s\S]*iedName="MU2"[^>]*lnClass="TCTR" lnInst="1"/);
  assert.doesNotMatch(bay('BAY1'), /MU3/);
  assert.match(bay('BAY2'), /iedName="MU3"/);
});

function synthetic(over: Partial<TruthStream> = {}, channels?: TruthStream['channels']): TruthStream {
  return {
    name: 'MU1',
    svID: 'SV1',
    appId: 0x4001,
    dstMac: '01:0c:cd:04:00:01',
    srcMac: '02:00:00:00:00:01',
    acceptedSourceMacs: [],
    vlan: [{ id: 1, priority: 4 }],
    confRev: 7,
    datSet: null,
    smpRate: 80,
    smpMod: null,
    samplesPerSecond: 4000,
    nofASDU: 1,
    framesPerSecond: 4000,
    smpSynch: 2,
    bay: 'BAY1',
    signed: null,
    channels: channels ?? [{ name: 'IA', kind: 'current', phase: 'A', scale: 0.001 }],
    ...over,
  };
}

test('markup characters in svID and bay are escaped and come back unchanged', () => {
  const svID = 'SV<&>"\'\tend ü';
  const { imp, xml } = writeAndImport({ streams: [synthetic({ svID, bay: 'B&<"' })] });
  assert.equal(imp.streams[0]!.svID, svID);
  assert.ok(!xml.includes('SV<&'));
  assert.deepEqual(imp.warnings, []);
  assert.equal(escapeAttr('a&b<"\n'), 'a&amp;b&lt;&quot;&#10;');
  assert.throws(() => writeScl({ streams: [synthetic({ svID: 'bad\u0001' })] }), /U\+0001, which XML 1\.0 cannot carry/);
});

test('scaling other than 9-2LE is carried as sVC instance values (scaleFactor, offset)', () => {
  const channels = [
    { name: 'IA', kind: 'current', phase: 'A', scale: 0.0005, offset: -1.5 },
    { name: 'VB', kind: 'voltage', phase: 'B', scale: 2.5e-7 },
  ] as TruthStream['channels'];
  const { imp } = writeAndImport({ streams: [synthetic({}, channels)] });
  assert.deepEqual(imp.warnings, []);
  const cs = imp.streams[0]!.channelSet!;
  assert.deepEqual(
    cs.channels.map((c) => [c.name, c.kind, c.phase, c.scale, c.offset ?? 0]),
    [
      ['IA', 'current', 'A', 0.0005, -1.5],
      ['VB', 'voltage', 'B', 2.5e-7, 0],
    ],
  );
});

test('configurations SCL cannot describe are refused with the reason', () => {
  assert.throws(() => writeScl({ streams: [] }), /no streams/);
  assert.throws(() => writeScl({ streams: [synthetic({ name: '1MU' })] }), /not a valid IED name/);
  assert.throws(() => writeScl({ streams: [synthetic(), synthetic({ svID: 'SV2' })] }), /two streams named "MU1"/);
  assert.throws(
    () =>
      writeScl({
        streams: [
          synthetic({}, [
            { name: 'IA', kind: 'current', phase: 'A', scale: 1 },
            { name: 'IA2', kind: 'current', phase: 'A', scale: 1 },
          ]),
        ],
      }),
    /second current of phase A/,
  );
  assert.throws(() => writeScl({ streams: [synthetic({ datSet: 'no-slash' })] }), /not of the form LDName\/LLN0\$DataSet/);
  assert.throws(() => writeScl({ streams: [synthetic({ vlan: [{ id: 4096, priority: 0 }] })] }), /VLAN id 4096 is out of range/);
});

test('defaultSclPath replaces the capture extension', () => {
  assert.equal(defaultSclPath('dir/cap.pcapng'), 'dir/cap.scd');
  assert.equal(defaultSclPath('a.b/cap'), 'a.b/cap.scd');
  assert.equal(defaultSclPath('.hidden'), '.hidden.scd');
});

// ---- the command line ----

const MODULE = resolve(import.meta.dirname, '../../tools/sim/cli.ts');
function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { simulateCommand } from ${JSON.stringify(MODULE)}; process.exitCode = await simulateCommand(${JSON.stringify(args)});`,
    ],
    { encoding: 'utf8' },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('svde-sim writes <out>.scd beside the capture and names it in the truth (config.scl)', () => {
  const d = mkdtempSync(join(dir, 'cli-'));
  const out = join(d, 'bay.pcapng');
  const r = cli(['--out', out, '--duration', '1s', '--mus', '2', '--channels', '4i', '--vlan', 'none', '--scenario', 'spoofed-mac']);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { scl: string; truth: string };
  assert.equal(summary.scl, join(d, 'bay.scd'));
  const truth = JSON.parse(readFileSync(summary.truth, 'utf8')) as { config: { scl: string; streams: TruthStream[] } };
  assert.equal(truth.config.scl, 'bay.scd', 'relative to the truth file');
  if (haveXmllint) execFileSync('xmllint', ['--noout', summary.scl], { stdio: 'pipe' });
  checkStreams(importSclFile(join(d, truth.config.scl)), truth.config.streams, 50);
});

test('svde-sim --scl FILE, --no-scl, and refusals', () => {
  const d = mkdtempSync(join(dir, 'cli-'));
  const out = join(d, 'x.pcap');
  const custom = join(d, 'site.scd');
  let r = cli(['--out', out, '--duration', '1s', '--mus', '1', '--scl', custom]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(custom) && !existsSync(join(d, 'x.scd')));
  assert.equal((JSON.parse(readFileSync(`${out}.truth.json`, 'utf8')) as { config: { scl: string } }).config.scl, 'site.scd');
  rmSync(`${out}.truth.json`);
  r = cli(['--out', out, '--duration', '1s', '--mus', '1', '--no-scl']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!existsSync(join(d, 'x.scd')));
  assert.equal(JSON.parse(r.stdout).scl, null);
  assert.equal((JSON.parse(readFileSync(`${out}.truth.json`, 'utf8')) as { config: { scl?: string } }).config.scl, undefined);
  r = cli(['--out', out, '--scl', custom, '--no-scl']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--scl and --no-scl are exclusive/);
  r = cli(['--out', join(d, 'cap.scd'), '--duration', '1s']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /would overwrite the capture or the truth file/);
});
