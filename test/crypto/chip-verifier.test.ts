// The chip path end to end: signed simulator traffic through the signature stage, verified by the chip
// emulator over a real pseudo-terminal (socat) through the serialport driver; the chip lost mid-stream
// (its driver closed) under each fallback policy — frames are verified in software (degraded) or left
// unverified, never counted as verified wrongly.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCaptureFile } from '../../src/native/index.ts';
import { ChipVerifier, type FallbackPolicy } from '../../src/crypto/chip-verifier.ts';
import { ChipDriver } from '../../src/crypto/chip/driver.ts';
import { openSerialTransport } from '../../src/crypto/chip/serial-transport.ts';
import { startPtyEmulator } from '../../tools/chip/pty-emulator.ts';
import { loadKeyDir, SoftwareVerifier } from '../../src/crypto/software-verifier.ts';
import { deriveKeyPair, signatureToRaw, sm2Sign } from '../../src/crypto/sm2.ts';
import { Pipeline } from '../../src/detect/pipeline.ts';
import { SignatureStage } from '../../src/detect/stages/signature.ts';
import { StreamRegistry } from '../../src/detect/streams.ts';
import type { FrameVerdict } from '../../src/model/indicators.ts';
import { expectedStreamsOfTruth, signedStreamsOfTruth } from '../../tools/sim/expected.ts';
import { simulate } from '../detect/helpers.ts';

describe('SM2 verification through the chip emulator', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-chipv-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function run(
    scenario: string,
    fallback: FallbackPolicy,
    killAfterFrames?: number,
  ): Promise<{ verdicts: FrameVerdict[]; sig: SignatureStage; v: ChipVerifier; frames: number }> {
    const { file, truth } = await simulate(dir, scenario, ['--mus', '2', '--duration', '1s', '--sign', 'block:80']);
    const emu = await startPtyEmulator({ baud: 921600 });
    const driver = await ChipDriver.open(await openSerialTransport(emu.hostPath, 921600), { timeoutMs: 300, failAfter: 2 });
    try {
      const keys = loadKeyDir(`${file}.keys`);
      const v = await ChipVerifier.create(driver, keys, {
        fallback,
        software: new SoftwareVerifier(keys),
        priorityStreams: new Set(['MU1']),
      });
      const registry = new StreamRegistry(expectedStreamsOfTruth(truth));
      const signed = signedStreamsOfTruth(truth);
      const sig = new SignatureStage(registry, signed, v);
      const verdicts: FrameVerdict[] = [];
      const p = new Pipeline({ registry, stages: [sig], onVerdict: (x) => verdicts.push(x) });
      let n = 0;
      for (const b of readCaptureFile(file, { batchFrames: 200 })) {
        p.processBatch(b);
        n += b.count;
        await sig.drain();
        if (killAfterFrames !== undefined && n >= killAfterFrames && !driver.closed) await driver.close();
      }
      await sig.drain();
      p.finish();
      return { verdicts, sig, v, frames: truth.capture.frames };
    } finally {
      await driver.close();
      await emu.stop();
    }
  }

  it('clean signed traffic: every frame verified by the chip, nothing raised', async () => {
    const { verdicts, sig, v, frames } = await run('normal', 'none');
    assert.deepEqual(verdicts, []);
    assert.equal(sig.counters.verified, frames);
    assert.equal(v.stats.software, 0);
    assert.equal(v.stats.chip, frames / 80, 'one chip verification per block');
    assert.equal(v.state, 'ok');
  });

  it('the chip is lost mid-stream, policy none: the rest is unverified, never verified, and the state says failed', async () => {
    const { verdicts, sig, v, frames } = await run('normal', 'none', 3200);
    assert.deepEqual(verdicts, [], 'no false bad-signature verdicts');
    assert.ok(sig.counters.unverified > 0, 'frames after the chip died are unverified');
    assert.ok(sig.counters.verified >= 3000 && sig.counters.verified < frames, `verified ${sig.counters.verified}`);
    assert.equal(sig.counters.verified + sig.counters.unverified, frames);
    assert.ok(sig.coverage < 1);
    assert.equal(v.state, 'failed');
  });

  it('a request that waited past the deadline is not sent to the chip: unverified under policy none, software under policy software', async () => {
    const kp = deriveKeyPair('deadline');
    const keys = [{ keyId: 1, pub: kp.pub, signerId: '1234567812345678', streams: [] }];
    const msg = new TextEncoder().encode('late frame');
    const raw = signatureToRaw(sm2Sign(kp, msg));
    const emu = await startPtyEmulator({ baud: 921600 });
    const driver = await ChipDriver.open(await openSerialTransport(emu.hostPath, 921600), { timeoutMs: 300 });
    try {
      // deadline 0: every request is already too old when the queue is served.
      const none = await ChipVerifier.create(driver, keys, { fallback: 'none', deadlineMs: 0 });
      const before = driver.stats.requests;
      const got = await Promise.allSettled(Array.from({ length: 20 }, () => none.verify(1, msg, raw)));
      assert.ok(
        got.every((g) => g.status === 'rejected'),
        'never counted as verified',
      );
      assert.equal(none.stats.expired, 20);
      assert.equal(driver.stats.requests, before, 'the chip was not asked');
      const soft = await ChipVerifier.create(driver, keys, { fallback: 'software', software: new SoftwareVerifier(keys), deadlineMs: 0 });
      assert.deepEqual(await Promise.all([soft.verify(1, msg, raw), soft.verify(1, new TextEncoder().encode('altered'), raw)]), [
        true,
        false,
      ]);
      assert.equal(soft.stats.software, 2);
      const inTime = await ChipVerifier.create(driver, keys, { fallback: 'none' });
      assert.equal(await inTime.verify(1, msg, raw), true);
      assert.deepEqual([inTime.stats.chip, inTime.stats.expired], [1, 0]);
    } finally {
      await driver.close();
      await emu.stop();
    }
  });

  it('the chip is lost mid-stream, policy software: everything verified, the state says degraded', async () => {
    const { verdicts, sig, v, frames } = await run('normal', 'software', 3200);
    assert.deepEqual(verdicts, []);
    assert.equal(sig.counters.verified + sig.counters.unverified, frames);
    assert.ok(v.stats.software > 0, 'the fallback was used');
    assert.equal(v.state, 'degraded');
  });

  it('a dropped key (no longer valid): its queued verifications are not verified, its slot is emptied and stays empty; other keys still verify', async () => {
    const a = deriveKeyPair('drop-a');
    const b = deriveKeyPair('drop-b');
    const keys = [
      { keyId: 1, pub: a.pub, signerId: '1234567812345678', streams: [] },
      { keyId: 2, pub: b.pub, signerId: '1234567812345678', streams: [] },
    ];
    const msg = new TextEncoder().encode('frame');
    const emu = await startPtyEmulator({ baud: 921600 });
    const driver = await ChipDriver.open(await openSerialTransport(emu.hostPath, 921600), { timeoutMs: 300 });
    try {
      const v = await ChipVerifier.create(driver, keys, { fallback: 'none' });
      assert.equal(await v.verify(1, msg, signatureToRaw(sm2Sign(a, msg))), true);
      const queued = v.verify(1, msg, signatureToRaw(sm2Sign(a, msg)));
      const dropped = v.drop(1);
      await assert.rejects(queued, /no longer valid/);
      assert.equal(await dropped, 0, 'slot 0 freed');
      assert.equal(v.knows(1, 'MU1'), false);
      await assert.rejects(v.verify(1, msg, signatureToRaw(sm2Sign(a, msg))), /no key 1/);
      assert.deepEqual([...driver.loadedSlots.keys()], [1], 'not re-loaded after a chip reset');
      await assert.rejects(driver.verify(0, new Uint8Array(32), { r: 1n, s: 1n }), /SLOT_EMPTY/, "the chip's slot 0 is empty");
      assert.equal(await v.verify(2, msg, signatureToRaw(sm2Sign(b, msg))), true);
      assert.equal(await v.drop(1), undefined, 'dropping twice is harmless');
    } finally {
      await driver.close();
      await emu.stop();
    }
  });
});
