// Key content, block digests and the signer, checked against the byte layout written out from
// signed-frames.md by hand (not from the implementation) and against the SM2 verifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockMessage, FrameSigner, keyContent, keyContentOfEncoded } from '../../src/crypto/signed-frames.ts';
import { deriveKeyPair, signatureFromRaw, sm2Verify } from '../../src/crypto/sm2.ts';
import { sm3 } from '../../src/crypto/sm3.ts';
import { encodeFrame, patchU32 } from '../../src/sv/encode.ts';
import type { SvFrame } from '../../src/sv/types.ts';
import { parseSv } from '../sim/frames.ts';

const seq = (pairs: [number, number][]) => {
  const b = Buffer.alloc(pairs.length * 8);
  pairs.forEach(([v, q], i) => {
    b.writeInt32BE(v, 8 * i);
    b.writeUInt32BE(q, 8 * i + 4);
  });
  return new Uint8Array(b);
};

test('KC = APPID ‖ svID ‖ secCnt ‖ per ASDU (smpCnt ‖ confRev ‖ smpSynch ‖ values without quality)', () => {
  const kc = keyContent({
    appId: 0x4001,
    svID: 'AB',
    secCnt: 0x01020304,
    asdus: [
      {
        smpCnt: 0x0a0b,
        confRev: 1,
        smpSynch: 2,
        seqData: seq([
          [-1, 0x2000],
          [0x11223344, 1],
        ]),
      },
      {
        smpCnt: 0x0a0c,
        confRev: 1,
        seqData: seq([
          [5, 0],
          [6, 0],
        ]),
      },
    ],
  });
  const expected = [
    0x40, 0x01, 0x41, 0x42, 0x01, 0x02, 0x03, 0x04, 0x0a, 0x0b, 0, 0, 0, 1, 2, 0xff, 0xff, 0xff, 0xff, 0x11, 0x22, 0x33, 0x44, 0x0a, 0x0c,
    0, 0, 0, 1, 0, 0, 0, 0, 5, 0, 0, 0, 6,
  ];
  assert.deepEqual(Array.from(kc), expected);
});

test('block message = first secCnt ‖ B ‖ d_1 … d_B', () => {
  const d1 = new Uint8Array(32).fill(1);
  const d2 = new Uint8Array(32).fill(2);
  const m = blockMessage(7, [d1, d2]);
  assert.deepEqual(Array.from(m.subarray(0, 6)), [0, 0, 0, 7, 0, 2]);
  assert.deepEqual(m.subarray(6, 38), d1);
  assert.deepEqual(m.subarray(38), d2);
});

function frame(mode: 1 | 2 | 3, smpCnt: number): SvFrame {
  return {
    dst: '01:0c:cd:04:00:01',
    src: '02:00:00:00:00:01',
    appId: 0x4001,
    vlans: [{ id: 1, priority: 4 }],
    asdus: [0, 1].map((i) => ({
      svID: 'SVDE_MU01',
      smpCnt: smpCnt + i,
      confRev: 1,
      smpSynch: 2,
      seqData: seq([
        [1000 + smpCnt, 0],
        [-5, 0x2000],
      ]),
    })),
    security: { version: 1, mode, keyId: 3, secCnt: 0, blockLen: mode === 1 ? 1 : 4 },
  };
}

test('mode 1: each frame carries Sign(KC); value tampering breaks it, quality bits do not', () => {
  const key = deriveKeyPair('signed-frames-test');
  const signer = new FrameSigner(key, 3, { kind: 'frame' }, { firstSecCnt: 100 });
  const { bytes, layout } = encodeFrame(frame(1, 10));
  assert.equal(signer.modeOfNext(), 1);
  assert.equal(signer.sign(bytes, layout), 100);
  const p = parseSv(bytes);
  assert.equal(p.reserved2, 74);
  assert.deepEqual(Array.from(p.trailer.subarray(0, 10)), [1, 1, 0, 3, 0, 0, 0, 100, 0, 1]);
  const kc = keyContent({ appId: 0x4001, svID: 'SVDE_MU01', secCnt: 100, asdus: p.asdus });
  assert.deepEqual(keyContentOfEncoded(bytes, layout), kc);
  const sig = signatureFromRaw(p.trailer.subarray(10));
  assert.equal(sm2Verify(key.pub, kc, sig), true);
  const q = bytes.slice();
  patchU32(q, layout.asdus[0]!.seqData + 4, 1); // quality word: outside KC
  assert.equal(sm2Verify(key.pub, keyContentOfEncoded(q, layout), sig), true);
  const v = bytes.slice();
  patchU32(v, layout.asdus[1]!.seqData, 999); // a value: inside KC
  assert.equal(sm2Verify(key.pub, keyContentOfEncoded(v, layout), sig), false);
});

test('modes 2/3: B frames, one signature over the block digests at the block end', () => {
  const key = deriveKeyPair('signed-frames-block');
  const signer = new FrameSigner(key, 3, { kind: 'block', blockLen: 4 });
  const kcs: Uint8Array[] = [];
  let last: Uint8Array | null = null;
  for (let i = 0; i < 4; i++) {
    const mode = signer.modeOfNext();
    assert.equal(mode, i === 3 ? 3 : 2);
    const { bytes, layout } = encodeFrame(frame(mode, 2 * i));
    assert.equal(signer.sign(bytes, layout), i + 1);
    const p = parseSv(bytes);
    assert.equal(p.trailer.length, mode === 2 ? 10 : 74);
    assert.equal(p.reserved2, p.trailer.length);
    kcs.push(keyContent({ appId: 0x4001, svID: 'SVDE_MU01', secCnt: i + 1, asdus: p.asdus }));
    last = p.trailer;
  }
  assert.equal(signer.modeOfNext(), 2, 'a new block starts');
  const sig = signatureFromRaw(last!.subarray(10));
  assert.equal(
    sm2Verify(
      key.pub,
      blockMessage(
        1,
        kcs.map((k) => sm3(k)),
      ),
      sig,
    ),
    true,
  );
  const swapped = [kcs[1]!, kcs[0]!, kcs[2]!, kcs[3]!];
  assert.equal(
    sm2Verify(
      key.pub,
      blockMessage(
        1,
        swapped.map((k) => sm3(k)),
      ),
      sig,
    ),
    false,
    'reordered frames fail',
  );
  assert.equal(
    sm2Verify(
      key.pub,
      blockMessage(
        1,
        kcs.slice(1).map((k) => sm3(k)),
      ),
      sig,
    ),
    false,
    'a missing frame fails',
  );
});
