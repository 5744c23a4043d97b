// One SCL rule at a time on small generated documents: each defect gives its warning (code, path, line)
// and the sound rest is still imported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importScl } from '../../src/scl/import.ts';
import { parseXml } from '../../src/scl/xml.ts';
import type { SclImport, WarningCode } from '../../src/scl/model.ts';
import { LE_4I4U } from '../../src/model/channels.ts';
import { synScl } from './synthetic.ts';
import type { SynMu } from './synthetic.ts';

const run = (mus: SynMu[], opts: Parameters<typeof synScl>[1] = {}): SclImport =>
  importScl('syn.scd', parseXml('syn.scd', synScl(mus, opts)));
const only = (r: SclImport, code: WarningCode) => r.warnings.filter((w) => w.code === code);

test('a clean document imports without warnings and gives the 9-2LE channel set', () => {
  const r = run([{ ied: 'MU1' }]);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.edition, '2007B4');
  const s = r.streams[0]!;
  assert.equal(s.confRev, 7);
  assert.equal(s.smpMod, 'SmpPerPeriod'); // Ed2 default
  assert.equal(s.smpModDefaulted, true);
  assert.equal(s.multicast, true); // default
  assert.deepEqual(
    s.channelSet?.channels.map((c) => [c.kind, c.phase, c.scale]),
    LE_4I4U.channels.map((c) => [c.kind, c.phase, c.scale]),
  );
  // sVC is declared for currents but carries no value: the 9-2LE convention applies.
  assert.equal(s.dataset![0]!.leaves[0]!.scaleSource, '9-2LE');
});

test('shared MAC + APPID across control blocks', () => {
  const r = run([{ ied: 'MU1' }, { ied: 'MU2' }, { ied: 'MU3', mac: '01-0C-CD-04-00-02' }]);
  const w = only(r, 'shared-mac-appid');
  assert.equal(w.length, 1);
  assert.match(
    w[0]!.message,
    /2 control blocks share MAC 01:0c:cd:04:00:01 and APPID 4000: MU1\/LD1\/LLN0\.MSVCB01, MU2\/LD1\/LLN0\.MSVCB01/,
  );
  assert.equal(r.streams.length, 3);
});

test('duplicate smvID', () => {
  const r = run([
    { ied: 'MU1', smvID: 'X' },
    { ied: 'MU2', smvID: 'X', mac: '01-0C-CD-04-00-02' },
  ]);
  const w = only(r, 'duplicate-smvid');
  assert.equal(w.length, 1);
  assert.match(w[0]!.message, /2 control blocks have smvID "X"/);
  assert.equal(
    w[0]!.path,
    "/SCL/IED[@name='MU1']/AccessPoint[@name='AP1']/Server/LDevice[@inst='LD1']/LN0/SampledValueControl[@name='MSVCB01']",
  );
});

test('MAC outside the SV range, APPID outside 4000..7FFF, malformed address parameters', () => {
  const r = run([
    { ied: 'MU1', mac: '01-0C-CD-01-00-10', appId: '0010' },
    { ied: 'MU2', mac: '01-0C-CD-04-02-00', appId: 'XYZ' },
    { ied: 'MU3', mac: '01:0C:CD:04:01:FF', vlanId: '1234' },
  ]);
  assert.deepEqual(
    only(r, 'mac-out-of-range').map((w) => w.message.split(' of ')[0]),
    ['MAC-Address 01-0C-CD-01-00-10', 'MAC-Address 01-0C-CD-04-02-00'],
  );
  assert.match(only(r, 'appid-out-of-range')[0]!.message, /APPID 0010 of MU1/);
  const bad = only(r, 'address-invalid');
  assert.deepEqual(
    bad.map((w) => w.message),
    ['APPID "XYZ" of MU2/LD1/LLN0.MSVCB01 is not 1 to 4 hex digits', 'VLAN-ID "1234" of MU3/LD1/LLN0.MSVCB01 is not 1 to 3 hex digits'],
  );
  assert.match(bad[0]!.path, /\/SMV\[@ldInst='LD1'\]\[@cbName='MSVCB01'\]\/Address\/P\[@type='APPID'\]$/);
  // The last MAC of the range is accepted, colon-separated too.
  assert.equal(r.streams[2]!.address?.dstMac, '01:0c:cd:04:01:ff');
});

test('unicast SV (multicast="false") is not held to the multicast range', () => {
  const r = run([{ ied: 'MU1', mac: '00-11-22-33-44-55', extraSvcbAttrs: 'multicast="false"' }]);
  assert.equal(only(r, 'mac-out-of-range').length, 0);
  assert.equal(r.streams[0]!.multicast, false);
});

test('dataset missing (named but absent, or not named)', () => {
  const r = run([
    { ied: 'MU1', dataSetName: 'Other' },
    { ied: 'MU2', datSet: null, mac: '01-0C-CD-04-00-02' },
  ]);
  const w = only(r, 'dataset-missing');
  assert.equal(w.length, 2);
  assert.match(w[0]!.message, /names datSet "PhsMeas1", which LN0 of MU1\/LD1 does not hold/);
  assert.match(w[1]!.message, /MU2\/LD1\/LLN0\.MSVCB01 names no datSet/);
  assert.equal(r.streams[0]!.dataset, null);
  assert.equal(r.streams[0]!.channelSet, null);
  assert.equal(r.streams[0]!.address?.dstMac, '01:0c:cd:04:00:01'); // the rest is still imported
});

test('FCDA naming an absent LN instance is unresolved and the channel set withheld', () => {
  const r = run([{ ied: 'MU1', fcdaLnInst: '9' }]);
  const w = only(r, 'fcda-unresolved');
  assert.equal(w.length, 1);
  assert.equal(w[0]!.message, 'FCDA LD1/TCTR9.AmpSv.instMag.i [MX]: IED MU1 has no logical node LD1/TCTR9');
  assert.equal(typeof w[0]!.line, 'number');
  assert.equal(r.streams[0]!.channelSet, null);
  assert.equal(r.streams[0]!.dataset!.filter((m) => m.resolved).length, 15);
});

test('dangling SMV address, SVCB without address, duplicate address', () => {
  const dangling = `
      <ConnectedAP iedName="MU9" apName="AP1"><SMV ldInst="LD1" cbName="MSVCB01"><Address><P type="MAC-Address">01-0C-CD-04-00-09</P><P type="APPID">4009</P></Address></SMV></ConnectedAP>
      <ConnectedAP iedName="MU1" apName="AP1"><SMV ldInst="LD1" cbName="MSVCB01"><Address><P type="MAC-Address">01-0C-CD-04-00-08</P><P type="APPID">4008</P></Address></SMV></ConnectedAP>`;
  const r = run([{ ied: 'MU1' }, { ied: 'MU2', mac: null }], { extraComm: dangling });
  const d = only(r, 'smv-address-dangling');
  assert.equal(d.length, 1);
  assert.match(
    d[0]!.message,
    /ConnectedAP MU9\/AP1 has an SMV address for LD1\/LLN0\.MSVCB01, but IED MU9 has no such SampledValueControl/,
  );
  assert.equal(only(r, 'svcb-no-address').length, 1);
  assert.match(only(r, 'svcb-no-address')[0]!.message, /MU2\/LD1\/LLN0\.MSVCB01/);
  const dup = only(r, 'address-duplicate');
  assert.equal(dup.length, 1);
  assert.equal(r.streams[0]!.address?.dstMac, '01:0c:cd:04:00:01'); // the first address wins
  assert.deepEqual(
    r.acceptList.map((a) => a.key),
    ['MU1/LD1/LLN0.MSVCB01'],
  );
});

test('unsupported edition is warned about and read as 2007B4', () => {
  const r = run([{ ied: 'MU1' }], { root: '<SCL xmlns="http://www.iec.ch/61850/2003/SCL" version="2030" revision="Z">' });
  assert.equal(r.edition, null);
  assert.match(only(r, 'unsupported-edition')[0]!.message, /version="2030" revision="Z"/);
  assert.equal(r.streams.length, 1);
});

test('editions 2003, 2007A, 2007B, 2007B4 are recognised', () => {
  const ed = (attrs: string) => run([{ ied: 'MU1' }], { root: `<SCL xmlns="http://www.iec.ch/61850/2003/SCL"${attrs}>` }).edition;
  assert.equal(ed(''), '2003');
  assert.equal(ed(' version="2007" revision="A"'), '2007A');
  assert.equal(ed(' version="2007" revision="B"'), '2007B');
  assert.equal(ed(' version="2007" revision="B" release="4"'), '2007B4');
});

test('sVC instance values (DOI/SDI/DAI) override the type and the 9-2LE convention', () => {
  const doi =
    '<DOI name="AmpSv"><SDI name="sVC"><DAI name="scaleFactor"><Val>0.0005</Val></DAI><DAI name="offset"><Val>2</Val></DAI></SDI></DOI>';
  const r = run([{ ied: 'MU1', tctr1Content: doi }]);
  const leaf = r.streams[0]!.dataset![0]!.leaves[0]!;
  assert.deepEqual([leaf.scale, leaf.offset, leaf.scaleSource], [0.0005, 2, 'instance']);
  assert.deepEqual(r.streams[0]!.channelSet?.channels[0], { name: 'IA', kind: 'current', phase: 'A', scale: 0.0005, offset: 2 });
});

test('invalid numeric attributes and smpMod values are warned about, not fatal', () => {
  const r = run([{ ied: 'MU1', extraSvcbAttrs: 'smpMod="Fast" securityEnable="Signature"' }]);
  assert.match(only(r, 'attribute-invalid')[0]!.message, /smpMod="Fast" is not SmpPerPeriod, SmpPerSec or SecPerSmp/);
  assert.equal(r.streams[0]!.securityEnabled, true);
  const r2 = importScl('x', parseXml('x', synScl([{ ied: 'MU1' }]).replace('smpRate="80"', 'smpRate="eighty"')));
  assert.match(only(r2, 'attribute-invalid')[0]!.message, /smpRate="eighty" is not an unsigned integer/);
  assert.equal(r2.streams[0]!.smpRate, null);
});

test('a control block without smvID is skipped with a warning', () => {
  const r = importScl('x', parseXml('x', synScl([{ ied: 'MU1' }, { ied: 'MU2', mac: '01-0C-CD-04-00-02' }]).replace('smvID="MU2SV"', '')));
  assert.deepEqual(
    r.streams.map((s) => s.iedName),
    ['MU1'],
  );
  assert.match(only(r, 'svcb-invalid')[0]!.message, /MU2\/LD1\/LLN0\.MSVCB01 has no smvID/);
  // Its address now dangles.
  assert.equal(only(r, 'smv-address-dangling').length, 1);
});

test('a struct type that fans out is cut at the leaf limit instead of expanding exponentially', () => {
  const levels = 6; // 10^6 leaves if expanded
  const types = Array.from(
    { length: levels },
    (_, i) =>
      `<DAType id="T${i}">${Array.from({ length: 10 }, (_, j) =>
        i === levels - 1 ? `<BDA name="b${j}" bType="INT32"/>` : `<BDA name="b${j}" bType="Struct" type="T${i + 1}"/>`,
      ).join('')}</DAType>`,
  ).join('');
  const xml = synScl([{ ied: 'MU1' }])
    .replace('<DAType id="AV"><BDA name="i" bType="INT32"/></DAType>', `<DAType id="AV"><BDA name="i" bType="INT32"/></DAType>${types}`)
    .replace(
      '<DA name="q" bType="Quality" fc="MX"/>\n      <DA name="sVC"',
      '<DA name="q" bType="Quality" fc="MX"/><DA name="big" bType="Struct" type="T0" fc="MX"/>\n      <DA name="sVC"',
    )
    .replace(
      '<FCDA ldInst="LD1" lnClass="TCTR" lnInst="1" doName="AmpSv" daName="instMag.i" fc="MX"/>',
      '<FCDA ldInst="LD1" lnClass="TCTR" lnInst="1" doName="AmpSv" fc="MX"/>',
    );
  const r = importScl('x', parseXml('x', xml));
  const w = only(r, 'fcda-unresolved');
  assert.equal(w.length, 1);
  assert.equal(w[0]!.message, 'FCDA LD1/TCTR1.AmpSv [MX]: expands to more than 256 leaves (limit)');
});

test('control blocks sharing one dataset resolve it once; the control-block and warning limits hold', () => {
  const n = 10_001;
  const svcbs = Array.from(
    { length: n },
    (_, i) => `<SampledValueControl name="CB${i}" smvID="S${i}" datSet="DS" smpRate="80" nofASDU="1" confRev="1"/>`,
  ).join('');
  const xml = `<SCL xmlns="http://www.iec.ch/61850/2003/SCL" version="2007" revision="B" release="4"><IED name="MU"><AccessPoint name="AP"><Server><LDevice inst="LD">
    <LN0 lnClass="LLN0" inst="" lnType="L0"><DataSet name="DS"><FCDA ldInst="LD" lnClass="TCTR" lnInst="1" doName="AmpSv" daName="q" fc="MX"/></DataSet>${svcbs}</LN0>
    </LDevice></Server></AccessPoint></IED></SCL>`;
  const r = importScl('x', parseXml('x', xml));
  assert.equal(r.streams.length, 10_000);
  assert.equal(r.streams[0]!.dataset, r.streams[9_999]!.dataset); // one resolution, shared
  assert.equal(only(r, 'fcda-unresolved').length, 1);
  assert.match(only(r, 'limit-exceeded')[0]!.message, /more than 10000 SampledValueControl blocks; the rest are not imported/);
  assert.equal(r.warnings.length, 10_001);
  assert.match(r.warnings[10_000]!.message, /^\d+ more warnings not listed \(limit 10000\)$/);
});
