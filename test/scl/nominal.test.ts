// Nominal values from the SCL: VoltageLevel/Voltage per IED (via its LNodes) and TCTR ARtg; files that do not
// say them give null with the reason. Checked on hand-written fixtures and on the public files.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parseXml, readSclXml } from '../../src/scl/xml.ts';
import { nominalsByIed, voltageOf } from '../../src/scl/nominal.ts';

const shared = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/scl');
const NS = 'xmlns="http://www.iec.ch/61850/2003/SCL"';
const ied = (name: string, artg?: string): string => `<IED name="${name}"><AccessPoint name="AP"><Server><LDevice inst="LD0">
  <LN0 lnClass="LLN0" inst="" lnType="L"/><LN lnClass="TCTR" inst="1" lnType="T">${artg !== undefined ? `<DOI name="ARtg"><SDI name="setMag"><DAI name="f"><Val>${artg}</Val></DAI></SDI></DOI>` : ''}</LN>
  </LDevice></Server></AccessPoint></IED>`;
const level = (name: string, voltage: string, ieds: string[]): string =>
  `<VoltageLevel name="${name}">${voltage}<Bay name="B"><ConductingEquipment name="CT" type="CTR">${ieds.map((i) => `<LNode iedName="${i}" ldInst="LD0" lnClass="TCTR" lnInst="1"/>`).join('')}</ConductingEquipment></Bay></VoltageLevel>`;
const scl = (body: string): ReturnType<typeof nominalsByIed> => nominalsByIed(parseXml('t.scd', `<SCL ${NS}>${body}</SCL>`));

describe('SCL nominal values', () => {
  it('reads the voltage level of each IED (line-to-line → phase-to-neutral) and the TCTR rating', () => {
    const n = scl(
      `<Substation name="S">${level('HV', '<Voltage unit="V" multiplier="k">110</Voltage>', ['MU1'])}${level('MV', '<Voltage unit="V" multiplier="k">22</Voltage>', ['MU2'])}</Substation>${ied('MU1', '600')}${ied('MU2')}`,
    );
    assert.ok(Math.abs(n.get('MU1')!.voltageLN! - 110_000 / Math.sqrt(3)) < 1e-6);
    assert.equal(n.get('MU1')!.currentA, 600);
    assert.match(n.get('MU1')!.voltageFrom, /S\/HV: 110 kV/);
    assert.ok(Math.abs(n.get('MU2')!.voltageLN! - 22_000 / Math.sqrt(3)) < 1e-6);
    assert.equal(n.get('MU2')!.currentA, null);
    assert.match(n.get('MU2')!.currentFrom, /no TCTR .* ARtg/);
  });

  it('gives no voltage to an IED at two voltages, nor to one that no level names among several', () => {
    const n = scl(
      `<Substation name="S">${level('HV', '<Voltage unit="V" multiplier="k">110</Voltage>', ['TMU'])}${level('MV', '<Voltage unit="V" multiplier="k">22</Voltage>', ['TMU'])}</Substation>${ied('TMU')}${ied('MU9')}`,
    );
    assert.equal(n.get('TMU')!.voltageLN, null);
    assert.match(n.get('TMU')!.voltageFrom, /different voltages/);
    assert.equal(n.get('MU9')!.voltageLN, null);
    assert.match(n.get('MU9')!.voltageFrom, /no VoltageLevel .* names this IED/);
  });

  it("places unplaced IEDs at the file's only voltage level, and says so", () => {
    const n = scl(`<Substation name="S">${level('E1', '<Voltage unit="V" multiplier="k">66</Voltage>', [])}</Substation>${ied('MU1')}`);
    assert.ok(Math.abs(n.get('MU1')!.voltageLN! - 66_000 / Math.sqrt(3)) < 1e-6);
    assert.match(n.get('MU1')!.voltageFrom, /only VoltageLevel S\/E1: 66 kV .*no LNode places the IED/);
  });

  it('refuses voltages it cannot read, with the reason', () => {
    const v = (xml: string): number | string => voltageOf(parseXml('t', `<SCL ${NS}><Voltage ${xml}</SCL>`).children[0]!);
    assert.equal(v('unit="V" multiplier="k">110</Voltage>'), 110_000);
    assert.equal(v('unit="V">400</Voltage>'), 400);
    assert.match(String(v('unit="A" multiplier="k">110</Voltage>')), /unit "A"/);
    assert.match(String(v('unit="V" multiplier="G">1</Voltage>')), /multiplier "G"/);
    assert.match(String(v('unit="V" multiplier="k">high</Voltage>')), /not a positive number/);
    const n = scl(`<Substation name="S">${level('E1', '', ['MU1'])}</Substation>${ied('MU1')}`);
    assert.equal(n.get('MU1')!.voltageLN, null);
    assert.match(n.get('MU1')!.voltageFrom, /states no Voltage/);
  });

  it('public files: the OpenSCD 110 kV substation, and a file without a Substation', () => {
    const comm = nominalsByIed(readSclXml(path.join(shared, 'openscd_communication.scd')));
    assert.ok(Math.abs(comm.get('SMV_Publisher')!.voltageLN! - 110_000 / Math.sqrt(3)) < 1e-6);
    const digsub = nominalsByIed(readSclXml(path.join(shared, 'digsub_01_SV_Stream_4I+4V_9-2LE.scd')));
    assert.equal(digsub.get('MU01_4I_4V_1')!.voltageLN, null);
    assert.match(digsub.get('MU01_4I_4V_1')!.voltageFrom, /no Substation VoltageLevel/);
  });
});
