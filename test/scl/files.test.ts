// SCL import of the six public files in ../shared/scl. Expected values were read from the XML by hand
// (line numbers are those of the files as published).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { sclDir } from '../helpers/repo.ts';
import { importSclFile } from '../../src/scl/import.ts';
import type { SclImport, SclStream, WarningCode } from '../../src/scl/model.ts';
import { LE_4I4U } from '../../src/model/channels.ts';
import type { ChannelSet } from '../../src/model/channels.ts';

const load = (name: string): SclImport => importSclFile(path.join(sclDir, name));
const stream = (r: SclImport, key: string): SclStream => {
  const s = r.streams.find((x) => x.key === key);
  assert.ok(s, `stream ${key} in ${r.streams.map((x) => x.key).join(', ')}`);
  return s;
};
const codes = (r: SclImport, code: WarningCode) => r.warnings.filter((w) => w.code === code);
const comparable = (cs: ChannelSet | null) =>
  cs?.channels.map((c) => ({
    name: c.name,
    kind: c.kind,
    phase: c.phase,
    scale: c.scale,
    offset: c.offset ?? 0,
    derived: c.derived ?? false,
  }));

test('digsub 4I+4V 9-2LE: three MUs, SmpPerSec 4000, same APPID on different MACs', () => {
  const r = load('digsub_01_SV_Stream_4I+4V_9-2LE.scd');
  assert.equal(r.edition, '2003'); // <SCL> has no version attribute
  assert.deepEqual(
    r.streams.map((s) => s.svID),
    ['OMICRON_CMC_SV1', 'OMICRON_CMC_SV2', 'OMICRON_CMC_SV3'],
  );
  for (const [i, s] of r.streams.entries()) {
    assert.equal(s.key, `MU01_4I_4V_${i + 1}/MU01/LLN0.MSVCB01`);
    assert.equal(s.iedName, `MU01_4I_4V_${i + 1}`);
    assert.equal(s.apName, 'LD0');
    assert.equal(s.ldInst, 'MU01');
    assert.equal(s.cbName, 'MSVCB01');
    assert.equal(s.datSet, 'PhsMeas1');
    assert.equal(s.confRev, 1);
    assert.equal(s.smpRate, 4000);
    assert.equal(s.smpMod, 'SmpPerSec');
    assert.equal(s.smpModCode, 1);
    assert.equal(s.nofASDU, 1);
    assert.equal(s.multicast, true);
    assert.equal(s.securityEnabled, false);
    assert.equal(s.smvOpts['sampleSynchronized'], true);
    assert.deepEqual(s.address && { ...s.address, line: null }, {
      subNetwork: 'SubNetName',
      connectedAP: { iedName: `MU01_4I_4V_${i + 1}`, apName: 'LD0' },
      dstMac: `01:0c:cd:04:00:0${i + 1}`,
      appId: 0x4000,
      appIdHex: '4000',
      vlanId: 0,
      vlanIdHex: '0',
      vlanPriority: 4,
      line: null,
    });
    assert.equal(s.dataset?.length, 16);
    const m0 = s.dataset![0]!;
    assert.equal(m0.fcda, 'MU01/TCTR1.AmpSv.instMag.i [MX]');
    assert.deepEqual(m0.leaves, [
      { ref: 'MU01/TCTR1.AmpSv.instMag.i', fc: 'MX', bType: 'INT32', scale: 0.001, offset: 0, scaleSource: '9-2LE' },
    ]);
    assert.deepEqual(s.dataset![1]!.leaves, [{ ref: 'MU01/TCTR1.AmpSv.q', fc: 'MX', bType: 'Quality' }]);
    assert.equal(s.dataset![15]!.leaves[0]!.ref, 'MU01/TVTR4.VolSv.q');
    assert.equal(s.dataset![14]!.leaves[0]!.scale, 0.01);
  }
  assert.equal(r.streams[0]!.line, 64);
  assert.equal(r.streams[0]!.address!.line, 10);
  // Different MACs: sharing APPID 4000 alone is not a collision; the smvIDs differ too.
  assert.equal(codes(r, 'shared-mac-appid').length, 0);
  assert.equal(codes(r, 'duplicate-smvid').length, 0);
  // smpMod is an Ed2 attribute in a file that declares itself 2003.
  assert.deepEqual(
    codes(r, 'attribute-not-in-edition').map((w) => w.line),
    [64, 103, 142],
  );
  assert.equal(r.warnings.length, 3);
  assert.deepEqual(
    r.acceptList.map((a) => [a.svID, a.dstMac, a.appId, a.vlanId, a.sourceMacs.length]),
    [
      ['OMICRON_CMC_SV1', '01:0c:cd:04:00:01', 0x4000, 0, 0],
      ['OMICRON_CMC_SV2', '01:0c:cd:04:00:02', 0x4000, 0, 0],
      ['OMICRON_CMC_SV3', '01:0c:cd:04:00:03', 0x4000, 0, 0],
    ],
  );
});

test("the simulator's 9-2LE channel set equals what the digsub and libiec61850 files give", () => {
  for (const name of ['digsub_01_SV_Stream_4I+4V_9-2LE.scd', 'libiec61850_sv.icd']) {
    for (const s of load(name).streams) assert.deepEqual(comparable(s.channelSet), comparable(LE_4I4U), `${name} ${s.key}`);
  }
});

test('libiec61850 9-2LE ICD: whole-DO FCDAs expand to instMag.i + q, scaling from the sVC type', () => {
  const r = load('libiec61850_sv.icd');
  assert.equal(r.edition, '2003');
  assert.equal(r.streams.length, 1);
  const s = r.streams[0]!;
  assert.equal(s.key, 'TEMPLATE/MUnn/LLN0.MSVCB01');
  assert.equal(s.svID, 'xxxxMUnn01');
  assert.equal(s.smpRate, 80);
  assert.equal(s.smpMod, 'SmpPerPeriod');
  assert.equal(s.smpModDefaulted, false);
  assert.equal(s.nofASDU, 1);
  assert.equal(s.confRev, 1);
  assert.equal(s.address?.dstMac, '01:0c:cd:04:00:01');
  assert.equal(s.address?.appId, 0x1001);
  assert.equal(s.address?.vlanId, 1);
  assert.equal(s.address?.vlanPriority, 4);
  assert.equal(s.dataset?.length, 8);
  assert.deepEqual(s.dataset![0]!.leaves, [
    { ref: 'MUnn/TCTR1.Amp.instMag.i', fc: 'MX', bType: 'INT32', scale: 0.001, offset: 0, scaleSource: 'template' },
    { ref: 'MUnn/TCTR1.Amp.q', fc: 'MX', bType: 'Quality' },
  ]);
  assert.equal(s.dataset![4]!.leaves[0]!.scale, 0.01);
  assert.equal(s.dataset![4]!.leaves[0]!.scaleSource, 'template');
  // APPID 1001 is below the SV range; smpMod written in a 2003 file.
  assert.deepEqual(r.warnings.map((w) => [w.code, w.line]).sort(), [
    ['appid-out-of-range', 26],
    ['attribute-not-in-edition', 95],
  ]);
});

test('openscd LaterBindingSMV-LSVS (2007B4): unaddressed copies, duplicate smvIDs, FCDAs naming absent LNs', () => {
  const r = load('openscd_LaterBindingSMV-LSVS.scd');
  assert.equal(r.edition, '2007B4');
  assert.equal(r.streams.length, 15);
  const full = stream(r, 'SMV_Publisher/CurrentTransformer/LLN0.fullSmv');
  assert.equal(full.svID, 'smv3');
  assert.equal(full.address?.dstMac, '01:0c:cd:04:00:02');
  assert.equal(full.address?.appId, 3);
  assert.equal(full.address?.vlanId, null);
  assert.equal(stream(r, 'SMV_Publisher/CurrentTransformer/LLN0.currrentOnly').address?.dstMac, '01:0c:cd:04:00:00');
  assert.equal(r.acceptList.length, 3);
  // SMV_Publisher2..5 have control blocks but no SMV address.
  const noAddr = codes(r, 'svcb-no-address');
  assert.equal(noAddr.length, 12);
  assert.ok(noAddr.every((w) => /SMV_Publisher[2-5]\//.test(w.message)));
  assert.equal(
    noAddr[0]!.path,
    "/SCL/IED[@name='SMV_Publisher2']/AccessPoint[@name='AP1']/Server/LDevice[@inst='CurrentTransformer']/LN0/SampledValueControl[@name='fullSmv']",
  );
  assert.equal(noAddr[0]!.line, 523);
  assert.deepEqual(
    codes(r, 'duplicate-smvid').map((w) => w.message.slice(0, 40)),
    ['5 control blocks have smvID "smv3": SMV_', '5 control blocks have smvID "smv2": SMV_', '5 control blocks have smvID "firstSMV": '],
  );
  // The FCDAs name L3TCTR3/L2TCTR2 but the LNs are L3TCTR1/L2TCTR1: unresolved, so no channel set.
  const unresolved = codes(r, 'fcda-unresolved');
  assert.ok(unresolved.some((w) => w.line === 433 && w.message.includes('no logical node CurrentTransformer/L3TCTR3')));
  assert.equal(full.channelSet, null);
  assert.equal(full.dataset!.filter((m) => !m.resolved).length, 8);
  assert.equal(codes(r, 'appid-out-of-range').length, 3);
});

test('openscd LaterBindingSMV2003: edition 2003, prefixes L1/L2/L3 give phases, smpMod defaults', () => {
  const r = load('openscd_LaterBindingSMV2003.scd');
  assert.equal(r.edition, '2003');
  assert.equal(r.streams.length, 3);
  const full = stream(r, 'SMV_Publisher/CurrentTransformer/LLN0.fullSmv');
  assert.equal(full.smpMod, 'SmpPerPeriod');
  assert.equal(full.smpModDefaulted, true);
  assert.deepEqual(
    full.channelSet?.channels.map((c) => `${c.name}:${c.scale}`),
    ['IC:0.001', 'IB:0.001', 'IA:0.001', 'VC:0.01', 'VB:0.01', 'VA:0.01'],
  );
  assert.equal(full.dataset![0]!.leaves[0]!.scaleSource, 'template');
  assert.deepEqual(
    stream(r, 'SMV_Publisher/CurrentTransformer/LLN0.voltageOnly').channelSet?.channels.map((c) => c.name),
    ['VA', 'VB', 'VC'],
  );
  assert.deepEqual(stream(r, 'SMV_Publisher/CurrentTransformer/LLN0.currentOnly').address?.appIdHex, '0001');
  assert.deepEqual(
    r.warnings.map((w) => w.code),
    ['appid-out-of-range', 'appid-out-of-range', 'appid-out-of-range'],
  );
});

test('openscd MessageBindingSMV2007B4: a second block reusing smvID IED3_SMVID without address or resolvable FCDAs', () => {
  const r = load('openscd_MessageBindingSMV2007B4.scd');
  assert.equal(r.edition, '2007B4');
  assert.deepEqual(
    r.streams.map((s) => s.key),
    ['IED3/MU01/LLN0.MSVCB01', 'IED4/CircuitBreaker_CB1/LLN0.MSVCB02'],
  );
  const s = r.streams[0]!;
  assert.equal(s.svID, 'IED3_SMVID');
  assert.equal(s.address?.dstMac, '01:0c:cd:04:00:20');
  assert.equal(s.address?.appId, 0x4002);
  assert.equal(s.address?.vlanId, 7);
  assert.equal(s.address?.vlanIdHex, '007');
  assert.equal(s.address?.vlanPriority, 4);
  assert.deepEqual(comparable(s.channelSet), comparable(LE_4I4U));
  assert.equal(codes(r, 'duplicate-smvid').length, 1);
  assert.equal(codes(r, 'svcb-no-address')[0]?.line, 402);
  const fc = codes(r, 'fcda-unresolved');
  assert.equal(fc.length, 16);
  assert.match(fc[0]!.message, /IED IED4 has no logical node MU01\/I01ATCTR1/);
  assert.equal(fc[0]!.line, 381);
  // The GSE address with MAC 01-0C-CD-01-00-10 is not an SMV address: no MAC warning.
  assert.equal(codes(r, 'mac-out-of-range').length, 0);
});

test('openscd communication: ServerAt access point, a dangling SMV address with a near-miss cbName', () => {
  const r = load('openscd_communication.scd');
  const full = stream(r, 'SMV_Publisher/CurrentTransformer/LLN0.fullSmv');
  assert.equal(full.address?.subNetwork, 'ProcessBus2');
  assert.equal(full.address?.appId, 0x4000);
  const volt = stream(r, 'SMV_Publisher/CurrentTransformer/LLN0.voltageOnly');
  // Addressed under AP2, which reaches AP1's server through ServerAt.
  assert.deepEqual(volt.address?.connectedAP, { iedName: 'SMV_Publisher', apName: 'AP2' });
  assert.equal(volt.address?.appId, 0x4002);
  const d = codes(r, 'smv-address-dangling');
  assert.equal(d.length, 1);
  assert.equal(d[0]!.line, 88);
  assert.equal(
    d[0]!.path,
    "/SCL/Communication/SubNetwork[@name='ProcessBus2']/ConnectedAP[@iedName='SMV_Publisher'][@apName='AP1']/SMV[@ldInst='CurrentTransformer'][@cbName='currentOnly']",
  );
  assert.match(d[0]!.message, /did it mean "currrentOnly"/);
  assert.equal(codes(r, 'svcb-no-address')[0]?.message.includes('currrentOnly'), true);
});
