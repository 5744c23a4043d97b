// `svde decode` against Wireshark's SV dissector: every field of every ASDU of every SV frame, on every
// public capture and on simulator output of many shapes. Frames tshark decodes must decode identically;
// frames tshark flags as malformed must be reported as errors.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import { compareWithTshark } from '../helpers/decode-compare.ts';
import { listCaptures, svdeSim } from '../helpers/repo.ts';

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
    {
      name: 'no VLAN tag, 60 Hz, pcap us, refrTm',
      args: ['--duration', '1s', '--vlan', 'none', '--freq', '60', '--ts-resolution', 'us', '--refr-tm'],
    },
    {
      name: 'two tags, 256 samples/cycle, 8 ASDUs, pcapng',
      args: ['--duration', '1s', '--vlan', '200:5', '--vlan2', '7:3', '--samples-per-cycle', '256', '--asdus', '8'],
      ext: 'pcapng',
    },
    {
      name: '61869-9 4800/s, 2 ASDUs, 4I only, smpSynch none',
      args: ['--duration', '1s', '--rate', '4800', '--asdus', '2', '--channels', '4i', '--smp-synch', '0'],
    },
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
      const sim = await svdeSim([...args, '--seed', '7']);
      assert.equal(sim.code, 0, sim.stderr);
      const r = await compareWithTshark(out);
      assert.deepEqual(r.mismatches, []);
      assert.ok(r.asdus > 0);
      assert.equal(r.errors, 0, 'simulator output is well-formed');
    });
  }
});
