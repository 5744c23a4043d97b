// The simulator's command line (tools/svde-sim.ts) end to end: argument errors, --list, and a signed capture read back by tshark.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SCENARIOS } from '../../tools/sim/scenarios.ts';
import { deriveKeyPair, publicKeyFromPem } from '../../src/crypto/sm2.ts';

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

test('--list names every scenario with a description', () => {
  const r = cli(['--list']);
  assert.equal(r.status, 0);
  for (const s of SCENARIOS) assert.match(r.stdout, new RegExp(`^${s.name} +\\S`, 'm'));
});

test('bad arguments: precise message, exit code 2', () => {
  const cases: [string[], RegExp][] = [
    [['--out', 'x.pcap', '--freq', '55'], /--freq must be 50 or 60, got "55"/],
    [['--out', 'x.pcap', '--rate', 'abc'], /--rate must be an integer, got "abc"/],
    [
      ['--out', 'x.pcap', '--samples-per-cycle', '80', '--rate', '4800'],
      /--rate 4800 contradicts --samples-per-cycle 80 at 50 Hz \(= 4000\)/,
    ],
    [['--out', 'x.pcap', '--vlan', '5000:1'], /--vlan: VLAN id must be 0\.\.4095, got 5000/],
    [['--out', 'x.pcap', '--vlan', 'abc'], /--vlan must be ID:PCP/],
    [['--out', 'x.pcap', '--scenario', 'nope'], /unknown scenario "nope"/],
    [['--out', 'x.pcap', '--sign', 'block:1'], /--sign block:B needs 2 ≤ B ≤ 65535, got 1/],
    [['--out', 'x.pcap', '--duration', 'soon'], /--duration: cannot parse "soon"/],
    [['--out', 'x.pcap', '--duration', '0.5s'], /--duration must be at least 1s/],
    [['--out', 'x.pcap', '--rate', '4001'], /must be a multiple of 5 × --asdus/],
    [['--duration', '1s'], /missing --out FILE/],
    [['--out', 'x.pcap', '--iface', 'eth0'], /--out and --iface are exclusive/],
    [['--out', 'x.pcap', '--bogus'], /Unknown option '--bogus'/],
    [['--out', 'x.pcap', '--format', 'erf'], /--format must be pcap or pcapng, got "erf"/],
  ];
  for (const [args, msg] of cases) {
    const r = cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg, args.join(' '));
    assert.ok(!existsSync('x.pcap'));
  }
});

const NATIVE = resolve(import.meta.dirname, '../../src/native/index.ts');
const addonLoads =
  spawnSync(process.execPath, ['--input-type=module', '-e', `(await import(${JSON.stringify(NATIVE)})).loadNative()`]).status === 0;

test('live output onto a missing interface fails clearly', { skip: !addonLoads && 'native addon does not load here' }, () => {
  const r = cli(['--iface', 'svde-no-such-if0', '--duration', '1s', '--mus', '1']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /svde-sim: .*(svde-no-such-if0|addon|interface)/i);
});

function haveTshark(): boolean {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test(
  'signed pcapng with 2 VLAN tags and 8 ASDUs: tshark reads it, truth and keys match',
  { skip: !haveTshark() && 'tshark not installed' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'svde-cli-'));
    try {
      const out = join(dir, 'sim.pcapng');
      const r = cli([
        '--out',
        out,
        '--duration',
        '1s',
        '--mus',
        '2',
        '--samples-per-cycle',
        '256',
        '--freq',
        '60',
        '--vlan',
        '10:5',
        '--vlan2',
        '20:3',
        '--sign',
        'block:8',
        '--scenario',
        'simulate-bit',
        '--seed',
        '7',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const summary = JSON.parse(r.stdout) as { frames: number; malicious: number; truth: string; keys: string };
      assert.equal(readFileSync(out).subarray(0, 4).toString('hex'), '0a0d0d0a');
      const truth = JSON.parse(readFileSync(summary.truth, 'utf8')) as {
        capture: { frames: number };
        malicious: { frame: number }[];
        config: { streams: { name: string; signed: { keyId: number } }[] };
      };
      const rows = execFileSync(
        'tshark',
        [
          '-n',
          '-r',
          out,
          '-Y',
          'sv',
          '-T',
          'fields',
          '-E',
          'separator=/t',
          '-E',
          'occurrence=a',
          '-E',
          'aggregator=,',
          '-e',
          'frame.number',
          '-e',
          'vlan.id',
          '-e',
          'vlan.priority',
          '-e',
          'sv.appid',
          '-e',
          'sv.reserve1',
          '-e',
          'sv.reserve2',
          '-e',
          'sv.noASDU',
          '-e',
          'sv.smpCnt',
          '-e',
          'sv.smpRate',
        ],
        { maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'ignore'] },
      )
        .toString()
        .trim()
        .split('\n')
        .map((l) => l.split('\t'));
      assert.equal(rows.length, truth.capture.frames);
      assert.equal(rows.length, (2 * 15360) / 8);
      const labelled = new Set(truth.malicious.map((m) => m.frame));
      assert.ok(labelled.size > 0);
      const next = new Map<string, number>();
      for (const [n, vid, prio, appid, r1, r2, noASDU, smpCnts, smpRate] of rows) {
        assert.equal(vid, '10,20');
        assert.equal(prio, '5,3');
        assert.equal(Number(r1), labelled.has(Number(n)) ? 0x8000 : 0, `frame ${n}`);
        assert.ok(r2 === '0x000a' || r2 === '0x004a', `Reserved 2 = trailer length (${r2})`);
        assert.equal(noASDU, '8');
        assert.equal(smpRate, Array(8).fill('256').join(','));
        const c = smpCnts!.split(',').map(Number);
        const exp = next.get(appid!) ?? 0;
        assert.deepEqual(
          c,
          Array.from({ length: 8 }, (_, i) => (exp + i) % 15360),
        );
        next.set(appid!, (exp + 8) % 15360);
      }
      for (const s of truth.config.streams) {
        const pub = publicKeyFromPem(readFileSync(join(summary.keys, `${s.signed.keyId}.pem`), 'utf8'));
        assert.deepEqual(pub, deriveKeyPair(`7:${s.name}`).pub);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
