// sm2SignDigest / sm2VerifyDigest (added for the chip: the host computes e, the chip signs or verifies it)
// against GM/T 0003.5 Annex A (shared reference sm2-sm3-vectors.md §2.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { publicKeyOf, SM2_N, sm2PreparedKey, sm2SignDigest, sm2VerifyDigest, sm2VerifyDigestPrepared } from '../../../src/crypto/sm2.ts';

const big = (s: string) => BigInt(`0x${s}`);
const D = big('3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8');
const E = big('F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640');
const K = big('59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21');
const R = big('F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3');
const S = big('B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA');
const PUB = { x: big('09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020'), y: big('CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13') };

test('sm2SignDigest reproduces the Annex A signature from e and the fixed k', () => {
  assert.deepEqual(sm2SignDigest(D, E, K), { r: R, s: S });
});

test('sm2VerifyDigest accepts the Annex A signature and rejects changed e, r, s and out-of-range values', () => {
  assert.equal(sm2VerifyDigest(PUB, E, { r: R, s: S }), true);
  assert.equal(sm2VerifyDigest(PUB, E ^ 1n, { r: R, s: S }), false);
  assert.equal(sm2VerifyDigest(PUB, E, { r: R ^ 1n, s: S }), false);
  assert.equal(sm2VerifyDigest(PUB, E, { r: R, s: S ^ 1n }), false);
  assert.equal(sm2VerifyDigest(PUB, E, { r: 0n, s: S }), false);
  assert.equal(sm2VerifyDigest(PUB, E, { r: R, s: SM2_N }), false);
  assert.equal(sm2VerifyDigest({ x: PUB.x, y: PUB.y ^ 1n }, E, { r: R, s: S }), false);
});

test('a deterministic-nonce digest signature verifies under the derived public key', () => {
  const sig = sm2SignDigest(D, E);
  assert.equal(sm2VerifyDigest(publicKeyOf(D), E, sig), true);
  assert.equal(sm2VerifyDigest(publicKeyOf(D), E + 1n, sig), false);
});

test('the prepared-key path (precomputed table, variable-time) gives the same verdicts on Annex A', () => {
  const P = sm2PreparedKey(PUB);
  assert.equal(sm2VerifyDigestPrepared(P, E, { r: R, s: S }), true);
  for (const [e, r, s] of [[E ^ 1n, R, S], [E, R ^ 1n, S], [E, R, S ^ 1n], [E, 0n, S], [E, R, SM2_N], [E, R, SM2_N - R]] as const) {
    assert.equal(sm2VerifyDigestPrepared(P, e, { r, s }), false);
  }
  assert.throws(() => sm2PreparedKey({ x: PUB.x, y: PUB.y ^ 1n }));
});
