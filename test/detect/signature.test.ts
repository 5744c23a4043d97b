// γgj on signed simulator traffic verified in software with the keys the simulator wrote: clean signed
// streams (per frame and per block) verify completely; altered values, stripped trailers, unknown keys and
// replayed secCnt (the replay scenario) are found on the labelled frames; nothing unverified is counted as good.
// A clean signed capture edited record by record (frames re-sent, swapped, deleted, a block end deleted, a
// trailer corrupted, the capture cut mid-block) gives each reason on the exact frame.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCaptureFile } from '../../src/native/index.ts';
import { loadKeyDir, SoftwareVerifier } from '../../src/crypto/software-verifier.ts';
import { Pipeline } from '../../src/detect/pipeline.ts';
import { LogicStage } from '../../src/detect/stages/logic.ts';
import { MacStage } from '../../src/detect/stages/mac.ts';
import { SignatureStage } from '../../src/detect/stages/signature.ts';
import { type SignatureVerifier } from '../../src/model/signature.ts';
import { StreamRegistry } from '../../src/detect/streams.ts';
import type { FrameVerdict } from '../../src/model/indicators.ts';
import type { GroundTruth } from '../../tools/sim/truth.ts';
import { signedStreamsOfTruth } from '../../tools/sim/expected.ts';
import { readEncodedTrailer } from '../../src/sv/encode.ts';
import { evaluate, expectedStreams, simulate } from './helpers.ts';

/** One record of a classic pcap: its 16-byte header (timestamp, lengths) and the frame. */
interface PcapRecord {
  hdr: Buffer;
  data: Buffer;
}

function readPcap(file: string): { head: Buffer; recs: PcapRecord[] } {
  const b = readFileSync(file);
  assert.equal(b.readUInt32LE(0), 0xa1b23c4d, 'the simulator writes nanosecond pcap');
  const recs: PcapRecord[] = [];
  for (let o = 24; o < b.length;) {
    const len = b.readUInt32LE(o + 8);
    recs.push({ hdr: Buffer.from(b.subarray(o, o + 16)), data: Buffer.from(b.subarray(o + 16, o + 16 + len)) });
    o += 16 + len;
  }
  return { head: Buffer.from(b.subarray(0, 24)), recs };
}

function writePcap(file: string, head: Buffer, recs: readonly PcapRecord[]): void {
  writeFileSync(
    file,
    Buffer.concat([
      head,
      ...recs.flatMap((r) => {
        const hdr = Buffer.from(r.hdr);
        hdr.writeUInt32LE(r.data.length, 8);
        hdr.writeUInt32LE(r.data.length, 12);
        return [hdr, r.data];
      }),
    ]),
  );
}

const trailerOf = (r: PcapRecord): { mode: number; keyId: number; secCnt: number } => {
  const t = readEncodedTrailer(r.data, r.data.length);
  assert.ok(t !== null);
  return t;
};

async function analyse(
  file: string,
  truth: GroundTruth,
  verifier: SignatureVerifier,
): Promise<{ verdicts: FrameVerdict[]; sig: SignatureStage }> {
  const registry = new StreamRegistry(expectedStreams(truth));
  const signed = signedStreamsOfTruth(truth);
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
      v.stream === stream &&
      (v.frame === frame || (v.reason === 'bad-signature' && Number(v.detail?.['firstFrame'] ?? v.frame) <= frame && frame <= v.frame));
    const labelled = truth.malicious.filter((m) => m.indicator === 'signature');
    assert.ok(labelled.length > 100);
    const missed = labelled.filter(
      (m) =>
        !sigVerdicts.some(
          (v) => covers(v, m.frame, m.stream) && (v.reason === m.reason || (m.also ?? []).some((a) => a.reason === v.reason)),
        ),
    );
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

  it('replay scenario, signed (block:80): every re-sent frame is logic/replay (its secCnt does not increase), blocks still verify', async () => {
    const { file, truth } = await simulate(dir, 'replay', ['--mus', '2', '--duration', '2s', '--sign', 'block:80']);
    const registry = new StreamRegistry(expectedStreams(truth));
    const signed = signedStreamsOfTruth(truth);
    const sig = new SignatureStage(registry, signed, new SoftwareVerifier(loadKeyDir(`${file}.keys`)));
    const verdicts: FrameVerdict[] = [];
    const p = new Pipeline({ registry, stages: [sig], onVerdict: (v) => verdicts.push(v) });
    for (const b of readCaptureFile(file)) p.processBatch(b);
    await sig.drain();
    p.finish();
    const resent = truth.malicious.filter((m) => m.reason === 'replay');
    assert.ok(resent.length > 100);
    assert.deepEqual(
      verdicts.map((v) => [v.frame, v.stream, v.indicator, v.reason]),
      resent.map((m) => [m.frame, m.stream, 'logic', 'replay']),
    );
    assert.ok(verdicts.every((v) => v.discard && Number(v.detail?.['secCnt']) <= Number(v.detail?.['last'])));
    assert.equal(sig.counters.verified, truth.capture.frames - resent.length, 'every genuine frame verified');
    assert.equal(sig.counters.failed + sig.counters.unverified + sig.counters.missing, 0);
  });

  describe('a clean signed capture edited frame by frame (block:80)', () => {
    let clean: { head: Buffer; recs: PcapRecord[] };
    let keys: ReturnType<typeof loadKeyDir>;
    let truth: GroundTruth;
    /** Index (0-based record) of the frame with this secCnt. */
    const at = (secCnt: number): number => clean.recs.findIndex((r) => trailerOf(r).secCnt === secCnt);

    before(async () => {
      const sim = await simulate(dir, 'normal', ['--mus', '1', '--duration', '1s', '--sign', 'block:80', '--seed', '5']);
      clean = readPcap(sim.file);
      keys = loadKeyDir(`${sim.file}.keys`);
      truth = sim.truth;
      assert.equal(clean.recs.length, 4000);
      assert.deepEqual(
        clean.recs.map((r) => trailerOf(r).secCnt),
        Array.from({ length: 4000 }, (_, k) => k + 1),
        'secCnt 1, 2, … in capture order',
      );
      assert.deepEqual([trailerOf(clean.recs[78]!).mode, trailerOf(clean.recs[79]!).mode], [2, 3], 'block end every 80 frames');
    });

    async function run(name: string, recs: readonly PcapRecord[]): Promise<{ verdicts: FrameVerdict[]; sig: SignatureStage }> {
      const file = path.join(dir, `${name}.pcap`);
      writePcap(file, clean.head, recs);
      const registry = new StreamRegistry(expectedStreams(truth));
      const sig = new SignatureStage(
        registry,
        [{ stream: truth.config.streams[0]!.name, keyId: truth.config.streams[0]!.signed!.keyId }],
        new SoftwareVerifier(keys),
      );
      const verdicts: FrameVerdict[] = [];
      const p = new Pipeline({ registry, stages: [sig], onVerdict: (v) => verdicts.push(v) });
      for (const b of readCaptureFile(file)) p.processBatch(b);
      await sig.drain();
      p.finish();
      return { verdicts, sig };
    }
    const brief = (v: FrameVerdict): [number, string, string] => [v.frame, v.indicator, v.reason];

    it('unedited (written back record by record): nothing raised, every frame verified', async () => {
      const { verdicts, sig } = await run('unedited', clean.recs);
      assert.deepEqual(verdicts, []);
      assert.equal(sig.counters.verified, 4000);
    });

    it('a frame re-sent later (old secCnt): logic/replay on the copy only, discarded; its block and the others verify', async () => {
      const recs = [...clean.recs];
      const copy = { hdr: clean.recs[at(300)]!.hdr, data: clean.recs[at(100)]!.data }; // secCnt 100 again, after 300
      recs.splice(at(300) + 1, 0, copy);
      const { verdicts, sig } = await run('resent', recs);
      assert.deepEqual(verdicts.map(brief), [[at(300) + 2, 'logic', 'replay']]);
      assert.deepEqual({ ...verdicts[0]!.detail }, { secCnt: 100, last: 300 });
      assert.equal(verdicts[0]!.discard, true);
      assert.equal(sig.counters.verified, 4000);
    });

    it('the same frame twice in a row (equal secCnt) is a replay too', async () => {
      const recs = [...clean.recs];
      recs.splice(at(41), 0, { hdr: clean.recs[at(40)]!.hdr, data: clean.recs[at(40)]!.data });
      const { verdicts } = await run('duplicate', recs);
      assert.deepEqual(verdicts.map(brief), [[at(41) + 1, 'logic', 'replay']]);
      assert.deepEqual({ ...verdicts[0]!.detail }, { secCnt: 40, last: 40 });
    });

    it('two frames of a block swapped: logic/replay on the late one, bad-signature on the block end (79 of 80 frames)', async () => {
      const recs = clean.recs.map((r) => ({ ...r }));
      const [a, b] = [at(130), at(131)];
      [recs[a]!.data, recs[b]!.data] = [recs[b]!.data, recs[a]!.data]; // timestamps stay in order
      const { verdicts, sig } = await run('reordered', recs);
      assert.deepEqual(verdicts.map(brief), [
        [b + 1, 'logic', 'replay'],
        [at(160) + 1, 'signature', 'bad-signature'],
      ]);
      assert.deepEqual({ ...verdicts[1]!.detail }, { block: 81, frames: 79, expected: 80, firstFrame: at(81) + 1 });
      assert.equal(sig.counters.verified, 4000 - 80);
      assert.equal(sig.counters.failed, 79);
    });

    it("a frame deleted inside a block: bad-signature on its block end, the block's first frame named; no other verdict", async () => {
      const recs = clean.recs.filter((_, k) => k !== at(205));
      const { verdicts, sig } = await run('deleted', recs);
      const end = at(240); // one record earlier than in the clean capture: its frame number is its old index
      assert.deepEqual(verdicts.map(brief), [[end, 'signature', 'bad-signature']]);
      assert.deepEqual({ ...verdicts[0]!.detail }, { block: 161, frames: 79, expected: 80, firstFrame: at(161) + 1 });
      assert.equal(sig.counters.verified, 4000 - 80);
    });

    it('a block end deleted: its members are an incomplete-block (on the last of them), unverified, never verified', async () => {
      const recs = clean.recs.filter((_, k) => k !== at(400));
      const { verdicts, sig } = await run('no-block-end', recs);
      assert.deepEqual(verdicts.map(brief), [[at(399) + 1, 'signature', 'incomplete-block']]);
      assert.deepEqual({ ...verdicts[0]!.detail }, { frames: 79, expected: 80 });
      assert.equal(verdicts[0]!.stream, truth.config.streams[0]!.name);
      assert.equal(sig.counters.unverified, 79);
      assert.equal(sig.counters.verified, 4000 - 80);
    });

    it('the capture ends mid-block: incomplete-block at finish on the last frame', async () => {
      const { verdicts, sig } = await run('cut', clean.recs.slice(0, at(250) + 1));
      assert.deepEqual(verdicts.map(brief), [[at(250) + 1, 'signature', 'incomplete-block']]);
      assert.deepEqual({ ...verdicts[0]!.detail }, { frames: 10, expected: 80 });
      assert.equal(sig.counters.verified, 240);
      assert.equal(sig.counters.unverified, 10);
    });

    it('a malformed trailer (version 2, unknown mode, blockLen 0): bad-trailer on that frame, discarded; its block fails at the block end', async () => {
      const recs = clean.recs.map((r) => ({ ...r }));
      const corrupt = (secCnt: number, byte: number, value: number): void => {
        const r = recs[at(secCnt)]!;
        const d = Buffer.from(r.data);
        d[d.length - (trailerOf(r).mode === 2 ? 10 : 74) + byte] = value;
        r.data = d;
      };
      corrupt(500, 0, 2); // version
      corrupt(3210, 1, 7); // mode
      corrupt(3601, 9, 0); // blockLen 0 (a mode-2 frame)
      const { verdicts, sig } = await run('bad-trailer', recs);
      assert.deepEqual(verdicts.map(brief), [
        [at(500) + 1, 'signature', 'bad-trailer'],
        [at(560) + 1, 'signature', 'bad-signature'],
        [at(3210) + 1, 'signature', 'bad-trailer'],
        [at(3280) + 1, 'signature', 'bad-signature'],
        [at(3601) + 1, 'signature', 'bad-trailer'],
        [at(3680) + 1, 'signature', 'bad-signature'],
      ]);
      assert.ok(verdicts[0]!.discard && verdicts[2]!.discard && verdicts[4]!.discard);
      assert.deepEqual(
        [0, 2, 4].map((k) => verdicts[k]!.detail?.['error']),
        ['unsupported version 2', 'unknown mode 7', 'bad blockLen 0 for mode 2'],
      );
      assert.equal(sig.counters.verified, 4000 - 240);
      assert.equal(sig.counters.failed, 3 + 3 * 79);
    });
  });
});
