// sm2SignDigest / sm2VerifyDigest (added for the chip: the host computes e, the chip signs or verifies it)
// against GM/T 0003.5 Annex A (shared reference sm2-sm3-vectors.md §2.1) and OpenSSL's raw-digest vectors (§2.3),
// the latter through noble and through OpenSSL itself (pkeyutl -verify without -rawin: EVP_PKEY_verify on e).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bytesToBig,
  publicKeyFromPem,
  publicKeyOf,
  publicKeyToPem,
  signatureFromDer,
  signatureToDer,
  SM2_N,
  sm2PreparedKey,
  sm2SignDigest,
  sm2VerifyDigest,
  sm2VerifyDigestPrepared,
} from '../../../src/crypto/sm2.ts';

const big = (s: string) => BigInt(`0x${s}`);
const D = big('3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8');
const E = big('F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640');
const K = big('59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21');
const R = big('F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3');
const S = big('B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA');
const PUB = {
  x: big('09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020'),
  y: big('CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13'),
};

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
  for (const [e, r, s] of [
    [E ^ 1n, R, S],
    [E, R ^ 1n, S],
    [E, R, S ^ 1n],
    [E, 0n, S],
    [E, R, SM2_N],
    [E, R, SM2_N - R],
  ] as const) {
    assert.equal(sm2VerifyDigestPrepared(P, e, { r, s }), false);
  }
  assert.throws(() => sm2PreparedKey({ x: PUB.x, y: PUB.y ^ 1n }));
});

// §2.3: `e` is the raw input of EVP_PKEY_verify (no Z); key SM2_key1 of evppkey_sm2.txt.
const K1 = {
  pemBody:
    'MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQg0JFWczAXva2An9m72MaT9gIwWTFptvlKrxyO4TjMmbWhRANCAAQ5OirZ4n5DrKqrhaGdO4VZHhRAYVcXWt3Te/d/8Mr57Tf886i09VwDhSMmH8pmNq/mp6+ioUgqYG9cs6GLLioe',
  d: big('D09156733017BDAD809FD9BBD8C693F60230593169B6F94AAF1C8EE138CC99B5'),
  px: big('393A2AD9E27E43ACAAAB85A19D3B85591E14406157175ADDD37BF77FF0CAF9ED'),
  py: big('37FCF3A8B4F55C038523261FCA6636AFE6A7AFA2A1482A606F5CB3A18B2E2A1E'),
  e1: 'D7AD397F6FFA5D4F7F11E7217F241607DC30618C236D2C09C1B9EA8FDADEE2E8',
  sig1: '3046022100AB1DB64DE7C40EDBDE6651C9B8EBDB804673DB836E5D5C7FE15DCF9ED2725037022100EBA714451FF69B0BB930B379E192E7CD5FA6E3C41C7FBD8303B799AB54A54621',
  e2: 'B1139602C6ECC9E15E2F3F9C635A1AFE737058BC15387479C1EA0D0B3D90E9E5',
  sig2: '3045022100E6E0414EBD3A656C35602AF14AB20287DBF30D57AF75C49A188ED4B42391F22402202F54F277C606F4605E1CE9514947FFDDF94C67A539804A4ED17F852288BDBE2E',
};
const K1_PEM = `-----BEGIN PRIVATE KEY-----\n${K1.pemBody.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
const K1_PUB = { x: K1.px, y: K1.py };
const hx = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
/** [e, DER signature, expected verdict]: the two vectors, then each e with the other's signature, altered e, r and s. */
const K1_CASES: ReadonlyArray<readonly [string, string, boolean, string]> = [
  [K1.e1, K1.sig1, true, 'K1_E1/K1_SIG1'],
  [K1.e2, K1.sig2, true, 'K1_E2/K1_SIG2'],
  [K1.e1, K1.sig2, false, 'K1_E1 with K1_SIG2'],
  [K1.e2, K1.sig1, false, 'K1_E2 with K1_SIG1'],
  [`${K1.e1.slice(0, 63)}9`, K1.sig1, false, 'K1_E1 last bit flipped'],
  [K1.e1, `${K1.sig1.slice(0, 10)}C${K1.sig1.slice(11)}`, false, 'K1_SIG1 r altered'],
  [K1.e2, `${K1.sig2.slice(0, -1)}F`, false, 'K1_SIG2 s altered'],
];

test('§2.3 key SM2_key1: the PKCS#8 body decodes (Node/OpenSSL) to K1_D and K1_PX/K1_PY; noble derives the same point', () => {
  const priv = createPrivateKey(K1_PEM);
  // ECPrivateKey { version 1, privateKey OCTET STRING (32) } inside the PKCS#8 envelope OpenSSL re-encodes
  const der = priv.export({ format: 'der', type: 'pkcs8' });
  const at = der.indexOf(Buffer.from('0201010420', 'hex'));
  assert.ok(at > 0);
  assert.equal(bytesToBig(der.subarray(at + 5, at + 37)), K1.d);
  assert.deepEqual(publicKeyFromPem(createPublicKey(priv).export({ format: 'pem', type: 'spki' }).toString()), K1_PUB);
  assert.deepEqual(publicKeyOf(K1.d), K1_PUB);
});

test('§2.3 raw-digest vectors through noble (plain and prepared key): both verify, the crossed and altered ones do not', () => {
  const P = sm2PreparedKey(K1_PUB);
  for (const [e, der, want, what] of K1_CASES) {
    const sig = signatureFromDer(hx(der));
    assert.equal(sm2VerifyDigest(K1_PUB, big(e), sig), want, what);
    assert.equal(sm2VerifyDigestPrepared(P, big(e), sig), want, `${what} (prepared)`);
  }
  // DER round trip, including SIG2's s without the 0x00 pad
  for (const der of [K1.sig1, K1.sig2])
    assert.equal(Buffer.from(signatureToDer(signatureFromDer(hx(der)))).toString('hex'), der.toLowerCase());
});

const haveOpenssl = ((): boolean => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test(
  '§2.3 raw-digest vectors through OpenSSL (pkeyutl -verify on e, no -rawin): same verdicts as noble',
  { skip: !haveOpenssl && 'openssl not installed' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'svde-sm2-raw-'));
    try {
      writeFileSync(join(dir, 'pub.pem'), publicKeyToPem(K1_PUB));
      K1_CASES.forEach(([e, der, want, what], n) => {
        writeFileSync(join(dir, `e${n}`), hx(e));
        writeFileSync(join(dir, `s${n}`), hx(der));
        let out: string;
        try {
          out = execFileSync(
            'openssl',
            ['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, 'pub.pem'), '-in', join(dir, `e${n}`), '-sigfile', join(dir, `s${n}`)],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          ).toString();
        } catch (err) {
          out = `${(err as { stdout?: Buffer }).stdout?.toString() ?? ''} failed`;
        }
        assert.equal(/Signature Verified Successfully/.test(out), want, what);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
