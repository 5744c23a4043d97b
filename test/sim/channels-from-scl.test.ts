// `svde-sim --channels FILE.scd[#svID]`: merging units that publish the dataset a real SCL file
// describes (order, kinds, phases, scaling) — read back through the importer and decoded by tshark.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importSclFile } from '../../src/scl/import.ts';
import type { GroundTruth } from '../../tools/sim/truth.ts';
import { compareWithTshark } from '../helpers/decode-compare.ts';
import { sclDir, svde, svdeSim } from '../helpers/repo.ts';

const shape = (chs: ReadonlyArray<{ kind: string; phase: string; scale: number }>): string[] =>
  chs.map((c) => `${c.kind}:${c.phase}:${c.scale}`);

describe('simulator channel sets from SCL', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-simscl-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const name of ['digsub_01_SV_Stream_4I+4V_9-2LE.scd', 'libiec61850_sv.icd', 'openscd_MessageBindingSMV2007B4.scd']) {
    it(name, async () => {
      const file = path.join(sclDir, name);
      const src = importSclFile(file).streams.find((s) => s.channelSet !== null);
      assert.ok(src !== undefined, 'the file has a stream with a current/voltage dataset');
      const out = path.join(dir, `${name}.pcap`);
      const r = await svdeSim(['--out', out, '--mus', '1', '--duration', '1s', '--channels', `${file}#${src.svID}`]);
      assert.equal(r.code, 0, r.stderr);
      const truth = JSON.parse(readFileSync(`${out}.truth.json`, 'utf8')) as GroundTruth;
      assert.deepEqual(shape(truth.config.streams[0]!.channels), shape(src.channelSet!.channels));
      // The SCD the simulator writes describes the same dataset again.
      const back = importSclFile(out.replace(/\.pcap$/, '.scd')).streams[0]!;
      assert.deepEqual(shape(back.channelSet!.channels), shape(src.channelSet!.channels));
      const cmp = await compareWithTshark(out);
      assert.deepEqual(cmp.mismatches, []);
      const dec = await svde(['decode', out]);
      const first = JSON.parse(dec.stdout.split('\n')[0]!) as { values: number[] };
      assert.equal(first.values.length, src.channelSet!.channels.length);
    });
  }

  it('an unknown svID names the streams the file has', async () => {
    const r = await svdeSim(['--out', path.join(dir, 'x.pcap'), '--channels', `${path.join(sclDir, 'libiec61850_sv.icd')}#NOPE`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no SampledValueControl "NOPE" in .*libiec61850_sv\.icd \(it has: /);
  });
});
