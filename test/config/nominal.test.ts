// Nominal values reach detection from the SCL: a 110 kV bay is judged at 110 kV, not at an assumed level.
// The configuration wins over the SCL; what neither states is assumed and reported as such.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { bindConfig, parseConfig, type LoadedConfig } from '../../src/config/load.ts';
import { expectedStreams } from '../../src/config/expected.ts';
import { ASSUMED_NOMINAL, effectiveProtection } from '../../src/config/protection.ts';
import { importSclFile } from '../../src/scl/import.ts';
import { nominalWarnings } from '../../src/cli/analyze.ts';
import { tripRig } from '../detect/trip-rig.ts';

const shared = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/scl');
const VN110 = 110_000 / Math.sqrt(3);
const NO_51 = { inverseTimeOf: () => undefined };

function loadedOf(file: string, raw: Record<string, unknown> = {}): LoadedConfig {
  const cfg = parseConfig(raw, '<test>');
  const scl = importSclFile(path.join(shared, file));
  return { file: '<test>', config: cfg, sclFile: file, scl, streams: bindConfig(cfg, scl) };
}

describe('nominal values from the SCL', () => {
  it('a 110 kV substation gives its streams 59 at 1.2 × 110 kV/√3, from the SCL', () => {
    const loaded = loadedOf('openscd_communication.scd');
    const b = loaded.streams[0]!;
    assert.equal(b.protection.nominalFrom.voltage, 'scl');
    assert.ok(Math.abs(b.protection.nominalVoltageLN - VN110) < 1e-6);
    const { streams } = expectedStreams(loaded);
    assert.ok(Math.abs(streams[0]!.protection!.overvoltageV - 1.2 * VN110) < 1e-6);
  });

  it("clean traffic at the bay's nominal never trips with those settings; the assumed level would trip it", () => {
    const { streams } = expectedStreams(loadedOf('openscd_communication.scd'));
    const fromScl = tripRig(NO_51, { overvoltageV: streams[0]!.protection!.overvoltageV, overvoltageDelayS: 0 }, VN110);
    for (let k = 0; k < 100; k++) fromScl.cycle(400);
    assert.deepEqual(fromScl.verdicts, [], 'quiet at nominal');
    const assumed = effectiveProtection(parseConfig({}, '<test>').protection);
    const old = tripRig(NO_51, { overvoltageV: assumed.overvoltage59.pickupV, overvoltageDelayS: 0 }, VN110);
    for (let k = 0; k < 100; k++) old.cycle(400);
    assert.ok(
      old.verdicts.some((v) => v.indicator === 'trip'),
      'the assumed 66 kV level calls 110 kV an overvoltage',
    );
  });

  it('the configuration wins over the SCL', () => {
    const b = loadedOf('openscd_communication.scd', { protection: { nominalVoltageLN: 12_700 } }).streams[0]!;
    assert.equal(b.protection.nominalFrom.voltage, 'config');
    assert.equal(b.protection.nominalVoltageLN, 12_700);
  });

  it('what neither states is assumed, and analyze says so per stream', () => {
    const loaded = loadedOf('digsub_01_SV_Stream_4I+4V_9-2LE.scd');
    const b = loaded.streams[0]!;
    assert.equal(b.protection.nominalFrom.voltage, 'assumed');
    assert.equal(b.protection.nominalVoltageLN, ASSUMED_NOMINAL.voltageLN);
    const lines = nominalWarnings(loaded);
    assert.ok(
      lines.some((l) => /nominal voltage assumed 38105 V .*no Substation VoltageLevel/.test(l)),
      lines.join('\n'),
    );
    assert.ok(lines.some((l) => /nominal current assumed 1000 A/.test(l)));
    assert.deepEqual(
      nominalWarnings(loadedOf('digsub_01_SV_Stream_4I+4V_9-2LE.scd', { protection: { nominalVoltageLN: 63_500, nominalCurrentA: 600 } })),
      [],
      'nothing assumed, nothing said',
    );
  });
});
