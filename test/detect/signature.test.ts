// γgj on signed simulator traffic verified in software with the keys the simulator wrote: clean signed
// streams (per frame and per block) verify completely; altered values, stripped trailers, unknown keys and
// replayed secCnt are found on the labelled frames; nothing unverified is counted as good.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCaptureFile } from '../../src/native/index.ts';
import { loadKeyDir, SoftwareVerifier } from '../../src/crypto/software-verifier.ts';
import { Pipeline } from '../../src/detect/pipeline.ts';
import { LogicStage } from '../../src/detect/stages/logic.ts';
import { MacStage } from '../../src/detect/stages/mac.ts';
import { SignatureStage, type SignatureVerifier } from '../../src/detect/stages/signature.ts';
import { StreamRegistry } from '../../src/detect/streams.ts';
import type { FrameVerdict } from '../../src/detect/types.ts';
import type { GroundTruth } from '../../src/sim/truth.ts';
import { evaluate, expectedStreams, simulate } from './helpers.ts';

async function analyse(file: string, truth: GroundTruth, verifier: SignatureVerifier): Promise<{ verdicts: FrameVerdict[]; sig: SignatureStage }> {
  const registry = new StreamRegistry(expectedStreams(truth));
  const signed = truth.config.streams.filter((s) => s.signed !== null).map((s) => ({ stream: s.name, keyId: s.signed!.keyId }));
  const sig = new SignatureStage(registry, signed, verifier);
  const verdicts: FrameVerdict[] = [];
  const p = new Pipeline({ registry, stages: [new MacStage(), sig, new LogicStage(registry)], onVerdict: (v) => verdicts.push(v) });
  for (const b of readCaptureFile(file)) p.processBatch(b);
  await sig.drain();
  p.finish();
  return { verdicts, sig };
}

describe('signature stage', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-sig-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const sign of ['block:80', '1']) {
    it(`clean signed traffic (--sign ${sign}) verifies completely and raises nothing`, async () => {
      // Per-frame signatures cost a software verify each (≈ 1 ms here): a slower stream keeps the test short.
      const shape = sign === '1' ? ['--mus', '1', '--duration', '1s', '--rate', '1000'] : ['--mus', '2', '--duration', '2s'];
      const { file, truth } = await simulate(dir, 'normal', [...shape, '--sign', sign]);
      const { verdicts, sig } = await analyse(file, truth, new SoftwareVerifier(loadKeyDir(`${file}.keys`)));
      assert.deepEqual(verdicts, []);
      assert.equal(sig.counters.signedFrames, truth.capture.frames);
      assert.equal(sig.counters.verified, truth.capture.frames);
      assert.equal(sig.coverage, 1);
    });
  }

  it('signature-faults: altered values, stripped trailers and an unknown key are found on the labelled frames', async () => {
    const { file, truth } = await simulate(dir, 'signature-faults', ['--mus', '2', '--duration', '2s']);
    const { verdicts, sig } = await analyse(file, truth, new SoftwareVerifier(loadKeyDir(`${file}.keys`)));
    // In block mode a failed block is one verdict on its block end, naming the block's first frame: it
    // covers every frame of that stream between the two (the evidence of the whole block).
    const sigVerdicts = verdicts.filter((v) => v.indicator === 'signature');
    const covers = (v: FrameVerdict, frame: number, stream: string): boolean =>
      v.stream === stream && (v.frame === frame || (v.reason === 'bad-signature' && Number(v.detail?.['firstFrame'] ?? v.frame) <= frame && frame <= v.frame));
    const labelled = truth.malicious.filter((m) => m.indicator === 'signature');
    assert.ok(labelled.length > 100);
    const missed = labelled.filter((m) => !sigVerdicts.some((v) => covers(v, m.frame, m.stream) && (v.reason === m.reason || (m.also ?? []).some((a) => a.reason === v.reason))));
    assert.deepEqual(missed.slice(0, 5), [], `${missed.length} labelled frames not covered`);
    const unfounded = sigVerdicts.filter((v) => !labelled.some((m) => covers(v, m.frame, m.stream)));
    assert.deepEqual(unfounded.slice(0, 5), [], `${unfounded.length} verdicts cover no labelled frame`);
    const e = evaluate(truth, verdicts, ['logic']);
    assert.deepEqual(e.falseAlarms.slice(0, 5), [], 'no logic verdict the labels do not allow');
    const reasons = new Set(verdicts.filter((v) => v.indicator === 'signature').map((v) => v.reason));
    assert.deepEqual([...reasons].sort(), ['bad-signature', 'missing', 'unknown-key']);
    assert.ok(sig.coverage < 1 && sig.counters.failed > 0);
    assert.equal(sig.counters.verified + sig.counters.failed + sig.counters.unverified + sig.counters.missing, sig.counters.signedFrames);
  });

  it('a verifier that cannot answer leaves frames unverified, never verified', async () => {
    const { file, truth } = await simulate(dir, 'normal', ['--mus', '2', '--duration', '1s', '--sign', 'block:80']);
    const failing: SignatureVerifier = { knows: () => true, verify: () => Promise.reject(new Error('chip timeout')) };
    const { verdicts, sig } = await analyse(file, truth, failing);
    assert.deepEqual(verdicts, []);
    assert.equal(sig.counters.verified, 0);
    assert.equal(sig.counters.unverified, truth.capture.frames);
    assert.equal(sig.coverage, 0);
  });

  it('the wrong public key makes every block fail', async () => {
    const { file, truth } = await simulate(dir, 'normal', ['--mus', '2', '--duration', '1s', '--sign', 'block:80', '--seed', '9']);
    const keys = loadKeyDir(`${file}.keys`);
    const swapped = keys.map((k, n) => ({ ...k, pub: keys[(n + 1) % keys.length]!.pub }));
    const { verdicts, sig } = await analyse(file, truth, new SoftwareVerifier(swapped));
    assert.equal(sig.counters.verified, 0);
    assert.equal(verdicts.length, truth.capture.frames / 80, 'one bad-signature per block');
    assert.ok(verdicts.every((v) => v.indicator === 'signature' && v.reason === 'bad-signature'));
  });
});
