// Configuration file: a good file loads with defaults and binds to the SCL stream table; each bad file is
// refused with the JSON-pointer path of the bad field and the reason.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sclDir } from '../helpers/repo.ts';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/load.ts';
import { effectiveProtection, inverseTimeS } from '../../src/config/protection.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svde-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const DIGSUB = path.join(sclDir, 'digsub_01_SV_Stream_4I+4V_9-2LE.scd');
const LSVS = path.join(sclDir, 'openscd_LaterBindingSMV-LSVS.scd');

let n = 0;
function writeConfig(value: unknown): string {
  const p = path.join(dir, `c${n++}.json`);
  writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return p;
}

function rejects(value: unknown, expected: { path: string; message: RegExp }[], scl?: string): ConfigError {
  const file = writeConfig(value);
  let err: unknown;
  try {
    loadConfigFile(file, scl ? { scl } : {});
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
  assert.equal(err.issues.length, expected.length, err.message);
  for (const [i, x] of expected.entries()) {
    assert.equal(err.issues[i]!.path, x.path, err.message);
    assert.match(err.issues[i]!.message, x.message);
  }
  // The message names the file and the path.
  assert.ok(err.message.startsWith(`${file}: ${expected[0]!.path === '' ? '(document)' : expected[0]!.path}: `), err.message);
  return err;
}

const good = {
  version: 1,
  scl: path.relative(dir, DIGSUB), // relative paths are relative to the configuration file
  streams: [
    { svID: 'OMICRON_CMC_SV1', acceptedSourceMacs: ['00:0A:35:00:00:01', '00-0a-35-00-00-11'], signed: { keyId: 7 }, bay: 'Feeder1' },
    { svID: 'OMICRON_CMC_SV2', appId: '4000', role: 'metering', protection: { overcurrent51: { curve: 'IEEE-VI', tms: 2 } } },
  ],
  protection: { nominalCurrentA: 400, nominalVoltageLN: 38105, overvoltage59: { pickupV: 45000, delayS: 0.5 } },
  thresholds: { chiSquareAlpha: 0.001, timing: { maxSilenceMs: 5 } },
  testMode: { acceptSimulated: true },
};

test('a good file: validated, defaults merged, bound to the SCL streams', () => {
  const file = writeConfig(good);
  const c = loadConfigFile(file);
  assert.equal(c.sclFile, DIGSUB);
  assert.equal(c.scl?.streams.length, 3);
  // Defaults (docs/configuration.md lists them).
  assert.equal(c.config.thresholds.rateTolerance, 0.1);
  assert.equal(c.config.thresholds.lnrThreshold, 3);
  assert.equal(c.config.thresholds.timing.intervalTolerance, 0.5);
  assert.equal(c.config.thresholds.timing.maxSilenceMs, 5);
  assert.equal(c.config.measurementModel.nominalFrequencyHz, 50);
  assert.equal(c.config.learn.enabled, false);
  assert.equal(c.config.testMode.acceptSimulated, true);
  const [s1, s2, s3] = c.streams;
  assert.deepEqual(s1!.acceptedSourceMacs, ['00:0a:35:00:00:01', '00:0a:35:00:00:11']);
  assert.deepEqual(s1!.signed, { keyId: 7, mode: 'frame', blockLen: 1 });
  assert.equal(s1!.bay, 'Feeder1');
  assert.equal(s1!.role, 'protection');
  assert.equal(s1!.protection.overcurrent50.pickupA, 1000); // 2.5 × 400 A
  assert.equal(s1!.protection.overcurrent51.pickupA, 480); // 1.2 × 400 A
  assert.equal(s1!.protection.overvoltage59.pickupV, 45000);
  assert.equal(s1!.protection.undervoltage27.pickupV, 38105 * 0.7);
  assert.equal(s2!.role, 'metering');
  assert.deepEqual([s2!.protection.overcurrent51.curve, s2!.protection.overcurrent51.tms], ['IEEE-VI', 2]);
  assert.equal(s2!.protection.overvoltage59.delayS, 0.5); // global setting kept under the override
  // The SCL's third stream is not named: defaults apply.
  assert.equal(s3!.configIndex, null);
  assert.deepEqual(s3!.acceptedSourceMacs, []);
  assert.equal(s3!.signed, null);
  // The accept list gains the configured source MACs.
  assert.deepEqual(c.scl!.acceptList[0]!.sourceMacs, ['00:0a:35:00:00:01', '00:0a:35:00:00:11']);
});

test('an empty object is a valid configuration (all defaults, no SCL)', () => {
  const c = loadConfigFile(writeConfig({}));
  assert.equal(c.scl, null);
  // Nominal values have no default in the file: they come from the SCL, or are assumed (and said so).
  assert.equal(c.config.protection.nominalCurrentA, undefined);
  assert.equal(effectiveProtection(c.config.protection).nominalFrom.current, 'assumed');
  assert.equal(c.config.protection.overcurrent51.curve, 'IEC-SI');
  assert.equal(c.config.measurementModel.sigma.currentRelative, 0.01);
});

test('bad files: each rule gives the path of the bad field and the reason', async (t) => {
  await t.test('not JSON', () => void rejects('{ "version": 1,, }', [{ path: '', message: /^not valid JSON: / }]));
  await t.test('not an object', () => void rejects('[1,2]', [{ path: '', message: /must be a JSON object/ }]));
  await t.test(
    'unknown field (typo)',
    () => void rejects({ thresholds: { lnrTreshold: 4 } }, [{ path: '/thresholds/lnrTreshold', message: /^unknown field/ }]),
  );
  await t.test(
    'wrong type',
    () =>
      void rejects({ thresholds: { chiSquareAlpha: '0.01' } }, [
        { path: '/thresholds/chiSquareAlpha', message: /expected number \(got "0.01"\)/ },
      ]),
  );
  await t.test(
    'out of range',
    () =>
      void rejects({ thresholds: { chiSquareAlpha: 0.9 } }, [
        { path: '/thresholds/chiSquareAlpha', message: /less or equal to 0.5 \(got 0.9\)/ },
      ]),
  );
  await t.test(
    'zero pickup',
    () =>
      void rejects({ protection: { overcurrent50: { pickupA: 0 } } }, [
        { path: '/protection/overcurrent50/pickupA', message: /greater than 0 \(got 0\)/ },
      ]),
  );
  await t.test(
    'unknown curve',
    () =>
      void rejects({ protection: { overcurrent51: { curve: 'IEC-XX' } } }, [
        {
          path: '/protection/overcurrent51/curve',
          message: /must be one of "IEC-SI", "IEC-VI", "IEC-EI", "IEC-LTI", "IEEE-MI", "IEEE-VI", "IEEE-EI", "DT" \(got "IEC-XX"\)/,
        },
      ]),
  );
  await t.test(
    'bad MAC',
    () =>
      void rejects(
        { scl: DIGSUB, streams: [{ svID: 'OMICRON_CMC_SV1', acceptedSourceMacs: ['00:0a:35:00:00:01', 'zz:00:00:00:00:00'] }] },
        [
          {
            path: '/streams/0/acceptedSourceMacs/1',
            message: /must be a MAC address such as 02:00:5e:00:53:01 \(got "zz:00:00:00:00:00"\)/,
          },
        ],
      ),
  );
  await t.test(
    'multicast source MAC',
    () =>
      void rejects({ scl: DIGSUB, streams: [{ svID: 'OMICRON_CMC_SV1', acceptedSourceMacs: ['01:0c:cd:04:00:01'] }] }, [
        { path: '/streams/0/acceptedSourceMacs/0', message: /is a multicast address and cannot be a source MAC/ },
      ]),
  );
  await t.test(
    'duplicate source MAC',
    () =>
      void rejects(
        { scl: DIGSUB, streams: [{ svID: 'OMICRON_CMC_SV1', acceptedSourceMacs: ['00:0a:35:00:00:01', '00-0A-35-00-00-01'] }] },
        [{ path: '/streams/0/acceptedSourceMacs/1', message: /is listed twice/ }],
      ),
  );
  await t.test(
    'bad APPID',
    () =>
      void rejects({ scl: DIGSUB, streams: [{ appId: 16384 }] }, [
        { path: '/streams/0/appId', message: /must be an APPID in hex as SCL writes it/ },
      ]),
  );
  await t.test(
    'stream entry naming nothing',
    () =>
      void rejects({ scl: DIGSUB, streams: [{ role: 'metering' }] }, [
        { path: '/streams/0', message: /names no stream: give svID, appId, or ied \+ cbName/ },
      ]),
  );
  await t.test(
    'bad role',
    () =>
      void rejects({ scl: DIGSUB, streams: [{ svID: 'OMICRON_CMC_SV1', role: 'billing' }] }, [
        { path: '/streams/0/role', message: /must be one of "protection", "metering"/ },
      ]),
  );
  await t.test(
    'signed without keyId',
    () =>
      void rejects({ scl: DIGSUB, streams: [{ svID: 'OMICRON_CMC_SV1', signed: { mode: 'block', blockLen: 8 } }] }, [
        { path: '/streams/0/signed/keyId', message: /required field is missing/ },
      ]),
  );
  await t.test(
    'blockLen in frame mode',
    () =>
      void rejects({ scl: DIGSUB, streams: [{ svID: 'OMICRON_CMC_SV1', signed: { keyId: 1, blockLen: 8 } }] }, [
        { path: '/streams/0/signed/blockLen', message: /must be 1 when mode is "frame" \(got 8\)/ },
      ]),
  );
  await t.test(
    '27 pickup not below 59 pickup',
    () =>
      void rejects({ protection: { undervoltage27: { pickupV: 50000 }, overvoltage59: { pickupV: 45000 } } }, [
        { path: '/protection/undervoltage27/pickupV', message: /50000 V is not below the overvoltage59 pickup 45000 V/ },
      ]),
  );
  await t.test(
    'learn duration',
    () => void rejects({ learn: { enabled: true, durationS: -5 } }, [{ path: '/learn/durationS', message: /greater than 0/ }]),
  );
  await t.test('version', () => void rejects({ version: 2 }, [{ path: '/version', message: /expected 1/ }]));
  await t.test(
    'several bad fields are all reported',
    () =>
      void rejects({ thresholds: { lnrThreshold: -1 }, testMode: { acceptSimulated: 'yes' } }, [
        { path: '/thresholds/lnrThreshold', message: /greater than 0/ },
        { path: '/testMode/acceptSimulated', message: /expected boolean/ },
      ]),
  );
});

test('cross-check with the SCL stream table', async (t) => {
  await t.test(
    'a stream the SCL does not have',
    () =>
      void rejects({ scl: DIGSUB, streams: [{ svID: 'OMICRON_CMC_SV9' }] }, [
        {
          path: '/streams/0',
          message:
            /^no stream in SCL file digsub_01_SV_Stream_4I\+4V_9-2LE\.scd has svID "OMICRON_CMC_SV9" \(its streams: OMICRON_CMC_SV1@4000, OMICRON_CMC_SV2@4000, OMICRON_CMC_SV3@4000\)$/,
        },
      ]),
  );
  await t.test(
    'svID + APPID that do not go together',
    () =>
      void rejects({ scl: DIGSUB, streams: [{ svID: 'OMICRON_CMC_SV1', appId: '0x4001' }] }, [
        { path: '/streams/0', message: /no stream .* has svID "OMICRON_CMC_SV1" and APPID 0x4001/ },
      ]),
  );
  await t.test(
    'ambiguous selector (shared APPID)',
    () =>
      void rejects({ scl: DIGSUB, streams: [{ appId: '4000' }] }, [
        {
          path: '/streams/0',
          message: /APPID 4000 matches 3 SCL streams \(MU01_4I_4V_1\/MU01\/LLN0\.MSVCB01, .*\); add appId, ied or cbName to pick one/,
        },
      ]),
  );
  await t.test('ambiguous svID resolved by ied', () => {
    const c = loadConfigFile(writeConfig({ scl: LSVS, streams: [{ svID: 'smv3', ied: 'SMV_Publisher3' }] }));
    assert.equal(c.streams.find((s) => s.configIndex === 0)?.scl.key, 'SMV_Publisher3/CurrentTransformer/LLN0.fullSmv');
  });
  await t.test(
    'two entries for one stream',
    () =>
      void rejects({ scl: DIGSUB, streams: [{ svID: 'OMICRON_CMC_SV1' }, { ied: 'MU01_4I_4V_1', cbName: 'MSVCB01' }] }, [
        { path: '/streams/1', message: /names the same SCL stream MU01_4I_4V_1\/MU01\/LLN0\.MSVCB01 as \/streams\/0/ },
      ]),
  );
  await t.test(
    'SCL file missing',
    () =>
      void rejects({ scl: 'nowhere.scd', streams: [] }, [
        { path: '/scl', message: /SCL file cannot be imported: .*nowhere\.scd: cannot open: ENOENT/ },
      ]),
  );
  await t.test(
    'stream settings without an SCL file',
    () => void rejects({ streams: [{ svID: 'x' }] }, [{ path: '/streams', message: /need an SCL file/ }]),
  );
  await t.test('an explicit SCL file overrides the configured one', () => {
    const c = loadConfigFile(writeConfig({ scl: 'nowhere.scd' }), { scl: DIGSUB });
    assert.equal(c.scl?.streams.length, 3);
  });
});

test('parseConfig does not modify its input', () => {
  const input = { thresholds: {} };
  parseConfig(input);
  assert.deepEqual(input, { thresholds: {} });
});

test('protection: per-stream override merges over global settings; inverse-time curves', () => {
  const cfg = parseConfig({ protection: { nominalCurrentA: 100 } });
  const p = effectiveProtection(cfg.protection, { nominalCurrentA: 200, overcurrent50: { delayS: 0.05 } });
  assert.equal(p.overcurrent50.pickupA, 500);
  assert.equal(p.overcurrent50.delayS, 0.05);
  // IEC 60255-151 standard inverse at M = 10, TMS 1: 0.14 / (10^0.02 − 1) ≈ 2.97 s.
  assert.ok(Math.abs(inverseTimeS('IEC-SI', 1, 10) - 2.971) < 0.001);
  // Very inverse at M = 2, TMS 0.5: 0.5 · 13.5 / 1 = 6.75 s; IEEE very inverse at M = 5, TD 1: 19.61/24 + 0.491.
  assert.equal(inverseTimeS('IEC-VI', 0.5, 2), 6.75);
  assert.ok(Math.abs(inverseTimeS('IEEE-VI', 1, 5) - (19.61 / 24 + 0.491)) < 1e-12);
  assert.equal(inverseTimeS('IEC-EI', 1, 0.9), Infinity);
  assert.equal(inverseTimeS('DT', 0.3, 4), 0.3);
});

test('expected streams for the detection engine: APPID, rate from smpRate/smpMod, datSet reference', async () => {
  const { expectedStreams } = await import('../../src/config/expected.ts');
  const c = loadConfigFile(writeConfig({ scl: DIGSUB, streams: [{ svID: 'OMICRON_CMC_SV1', acceptedSourceMacs: ['00:0a:35:00:00:01'] }] }));
  const { streams, notWatchable } = expectedStreams(c);
  assert.equal(notWatchable.length, 0);
  const { channels, protection, ...rest } = streams[0]!;
  assert.deepEqual(rest, {
    name: 'MU01_4I_4V_1/MU01/LLN0.MSVCB01',
    svID: 'OMICRON_CMC_SV1',
    appId: 0x4000,
    acceptedSourceMacs: ['00:0a:35:00:00:01'],
    dstMac: '01:0c:cd:04:00:01',
    confRev: 1,
    datSet: 'MU01_4I_4V_1MU01/LLN0$PhsMeas1',
    samplesPerSecond: 4000,
    nofASDU: 1,
    framesPerSecond: 4000,
    smpCntWrap: 4000,
    testMode: false,
    nominalHz: 50,
    role: 'protection',
  });
  // 4I+4V in the file's FCDA order, 9-2LE scaling; pickups from the defaults (2.5 × 1000 A, 1.2 × 38105 V).
  assert.deepEqual(
    channels?.map((ch) => `${ch.kind}:${ch.phase}:${ch.scale}`),
    [
      'current:A:0.001',
      'current:B:0.001',
      'current:C:0.001',
      'current:N:0.001',
      'voltage:A:0.01',
      'voltage:B:0.01',
      'voltage:C:0.01',
      'voltage:N:0.01',
    ],
  );
  assert.deepEqual(protection, {
    overcurrentA: 2500,
    overvoltageV: 1.2 * 38105,
    overcurrentDelayS: 0,
    overvoltageDelayS: 1,
    inverseTime: { pickupA: 1200, curve: 'IEC-SI', tms: 0.1 },
  });
  // 80 samples per period at the 60 Hz nominal frequency; unaddressed blocks are listed, not watched.
  const l = expectedStreams(loadConfigFile(writeConfig({ scl: LSVS, measurementModel: { nominalFrequencyHz: 60 } })));
  assert.deepEqual(
    l.streams.map((s) => s.samplesPerSecond),
    [4800, 4800, 4800],
  );
  assert.equal(l.notWatchable.length, 12);
  assert.equal(l.notWatchable[0]!.reason, 'no SMV address with an APPID in the SCL file');
});
