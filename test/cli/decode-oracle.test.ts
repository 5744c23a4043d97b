// `svde decode` against Wireshark's SV dissector: every field of every ASDU of every SV frame, on every
// public capture and on simulator output of many shapes. Frames tshark decodes must decode identically;
// frames tshark flags as malformed must be reported as errors.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import { listCaptures, svde } from '../helpers/repo.ts';
import { tsharkFrames, type TsharkFrame } from '../helpers/tshark.ts';

interface DecodeLine {
  frame: number;
  asdu?: number;
  error?: string;
  [k: string]: unknown;
}

const ASDU_FIELDS = ['svId', 'datSet', 'smpCnt', 'confRev', 'refrTm', 'smpSynch', 'smpRate', 'smpMod', 'gmIdentity', 'seqData', 'values', 'quality'] as const;

export async function compareWithTshark(file: string): Promise<{ frames: number; asdus: number; errors: number; mismatches: string[] }> {
  const res = await svde(['decode', file]);
  assert.equal(res.code, 0, `svde decode exited ${res.code}: ${res.stderr}`);
  const lines = res.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as DecodeLine);
  const ours = new Map<number, DecodeLine[]>();
  for (const l of lines) {
    const list = ours.get(l.frame) ?? [];
    list.push(l);
    ours.set(l.frame, list);
  }
  const theirs = tsharkFrames(file);
  const mismatches: string[] = [];
  const miss = (f: number, what: string): void => {
    if (mismatches.length < 50) mismatches.push(`${path.basename(file)} frame ${f}: ${what}`);
  };
  let asdus = 0;
  let errors = 0;
  const seen = new Set<number>();
  for (const t of theirs) {
    seen.add(t.frame);
    const o = ours.get(t.frame);
    if (o === undefined) {
      miss(t.frame, 'tshark shows an SV frame that svde decode does not report');
      continue;
    }
    const err = o.find((l) => l.error !== undefined);
    if (t.malformed) {
      if (err === undefined) miss(t.frame, 'tshark flags it malformed, svde decoded it');
      else errors++;
      continue;
    }
    if (err !== undefined) {
      miss(t.frame, `tshark decodes it, svde says: ${err.error}`);
      continue;
    }
    compareFrame(t, o, miss);
    asdus += o.length;
  }
  for (const f of ours.keys()) if (!seen.has(f)) miss(f, 'svde decode reports a frame that tshark does not show as SV');
  return { frames: theirs.length, asdus, errors, mismatches };
}

function compareFrame(t: TsharkFrame, o: DecodeLine[], miss: (f: number, what: string) => void): void {
  const f = t.frame;
  if (o.length !== t.asdus.length) miss(f, `ASDU count ${o.length} vs tshark ${t.asdus.length}`);
  o.forEach((l, k) => {
    const a = t.asdus[k];
    if (a === undefined) return;
    const eq = (name: string, mine: unknown, ref: unknown): void => {
      if (JSON.stringify(mine) !== JSON.stringify(ref)) miss(f, `ASDU ${k} ${name}: ${JSON.stringify(mine)} vs tshark ${JSON.stringify(ref)}`);
    };
    eq('asdu', l.asdu, k);
    eq('ts', l['ts'], t.ts);
    eq('src', l['src'], t.src);
    eq('dst', l['dst'], t.dst);
    eq('vlanId', l['vlanId'], t.vlanIds[0]);
    eq('vlanPriority', l['vlanPriority'], t.vlanPriorities[0]);
    eq('innerVlanId', l['innerVlanId'], t.vlanIds[1]);
    eq('innerVlanPriority', l['innerVlanPriority'], t.vlanPriorities[1]);
    eq('appId', l['appId'], t.appId);
    eq('simulated', l['simulated'], t.simulated);
    eq('reserved2', l['reserved2'], t.reserved2);
    for (const name of ASDU_FIELDS) eq(name, l[name], a[name]);
  });
}

describe('svde decode matches tshark on the public captures', () => {
  for (const file of listCaptures()) {
    it(path.basename(file), async () => {
      const r = await compareWithTshark(file);
      assert.deepEqual(r.mismatches, []);
      assert.ok(r.frames > 0, 'the capture holds SV frames');
    });
  }
});

describe('svde decode matches tshark on simulator output of many shapes', () => {
  const shapes: Array<{ name: string; args: string[] }> = [
    { name: '9-2LE 50 Hz, 1 tag, pcap ns', args: ['--duration', '1s'] },
    { name: 'no VLAN tag, 60 Hz, pcap us, refrTm', args: ['--duration', '1s', '--vlan', 'none', '--freq', '60', '--ts-resolution', 'us', '--refr-tm'] },
    { name: 'two tags, 256 samples/cycle, 8 ASDUs, pcapng', args: ['--duration', '1s', '--vlan', '200:5', '--vlan2', '7:3', '--samples-per-cycle', '256', '--asdus', '8'], ext: 'pcapng' },
    { name: '61869-9 4800/s, 2 ASDUs, 4I only, smpSynch none', args: ['--duration', '1s', '--rate', '4800', '--asdus', '2', '--channels', '4i', '--smp-synch', '0'] },
    { name: '14400/s, 4U+4I order', args: ['--duration', '1s', '--rate', '14400', '--channels', '4u4i', '--asdus', '4'] },
    { name: 'signed per frame', args: ['--duration', '1s', '--sign', '1', '--mus', '2'] },
    { name: 'signed blocks of 80', args: ['--duration', '1s', '--sign', 'block:80'] },
    { name: 'simulate bit', args: ['--duration', '1s', '--scenario', 'simulate-bit'] },
    { name: 'smpCnt anomalies', args: ['--duration', '1s', '--scenario', 'smpcnt-anomalies'] },
    { name: 'config mismatch', args: ['--duration', '1s', '--scenario', 'config-mismatch'] },
    { name: 'signature faults', args: ['--duration', '1s', '--scenario', 'signature-faults'] },
  ].map((s) => ({ name: s.name, args: [...s.args, '--out', `${s.name.replace(/[^a-z0-9]+/gi, '-')}.${'ext' in s ? s.ext : 'pcap'}`] }));

  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-oracle-'));
  });
  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  for (const shape of shapes) {
    it(shape.name, async () => {
      const args = shape.args.map((a, k) => (shape.args[k - 1] === '--out' ? path.join(dir, a) : a));
      const out = args[args.indexOf('--out') + 1]!;
      const sim = await svde(['simulate', ...args, '--seed', '7']);
      assert.equal(sim.code, 0, sim.stderr);
      const r = await compareWithTshark(out);
      assert.deepEqual(r.mismatches, []);
      assert.ok(r.asdus > 0);
      assert.equal(r.errors, 0, 'simulator output is well-formed');
    });
  }
});
