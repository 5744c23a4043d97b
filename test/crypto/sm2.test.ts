// SM3/SM2 against the official vectors (shared reference sm2-sm3-vectors.md) and against OpenSSL's CLI.
// §1 SM3; §2.0 curve; §2.1 Annex A (with its negatives); §2.2 second Z_A; §3 the example Fp-256 curve through a
// generic weierstrass(); §4 the empty-ID values. §2.3 (raw digests) is in chip/sm2-digest.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sm3 } from '../../src/crypto/sm3.ts';
import {
  deriveKeyPair,
  privateKeyToPem,
  publicKeyFromPem,
  publicKeyOf,
  publicKeyToPem,
  publicKeyToSpkiDer,
  signatureFromDer,
  signatureToDer,
  SM2_A,
  SM2_B,
  SM2_DEFAULT_ID,
  SM2_GX,
  SM2_GY,
  SM2_N,
  SM2_P,
  sm2Curve,
  sm2E,
  Sm2Point,
  sm2Sign,
  sm2SignDigest,
  sm2Verify,
  sm2VerifyDigest,
  sm2Z,
  sm2ZPreimage,
} from '../../src/crypto/sm2.ts';

const h = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const big = (s: string) => BigInt(`0x${s}`);
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ascii = (s: string) => new TextEncoder().encode(s);

// §1
test('SM3 vectors', () => {
  assert.equal(hexOf(sm3(h('616263'))), '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
  assert.equal(hexOf(sm3(h('61626364'.repeat(16)))), 'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732');
  assert.equal(hexOf(sm3(h('6162'), h('63'))), hexOf(sm3(h('616263'))), 'multi-part update');
  // OpenSSL's mixed-case spelling of SM3_2_OUT is the same value
  assert.equal(hexOf(sm3(h('61626364'.repeat(16)))), 'DEBE9FF92275B8A138604889C18E5A4D6FDB70E5387E5765293dCbA39C0C5732'.toLowerCase());
});

// §2.0
test('sm2p256v1 parameters, G on the curve, n·G = O, the OID in the SPKI, the default ID', () => {
  assert.equal(SM2_P, big('fffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffff'));
  assert.equal(SM2_A, big('fffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffc'));
  assert.equal(SM2_B, big('28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93'));
  assert.equal(SM2_GX, big('32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7'));
  assert.equal(SM2_GY, big('bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0'));
  assert.equal(SM2_N, big('fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123'));
  assert.equal(Sm2Point.CURVE().h, 1n);
  Sm2Point.BASE.assertValidity();
  assert.ok(
    Sm2Point.BASE.multiply(SM2_N - 1n)
      .add(Sm2Point.BASE)
      .equals(Sm2Point.ZERO),
    'n·G = O',
  );
  assert.ok(hexOf(publicKeyToSpkiDer({ x: SM2_GX, y: SM2_GY })).includes('06082a811ccf5501822d'), 'OID 1.2.156.10197.1.301');
  assert.equal(hexOf(ascii(SM2_DEFAULT_ID)), '31323334353637383132333435363738', 'A1_ID');
});

// §2.1
const A1 = {
  d: big('3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8'),
  px: big('09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020'),
  py: big('CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13'),
  k: big('59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21'),
  z: 'B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3',
  e: 'F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640',
  r: big('F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3'),
  s: big('B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA'),
  der: '3046022100F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3022100B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA',
  spki:
    '3059301306072a8648ce3d020106082a811ccf5501822d03420004' +
    '09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020' +
    'CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13',
};
const MSG = ascii('message digest');
assert.equal(hexOf(MSG), '6d65737361676520646967657374', 'A1_MSG / T_MSG');

test('SM2 Annex A example: public key, Z_A, e, signature with the fixed k, DER and SPKI', () => {
  const pub = publicKeyOf(A1.d);
  assert.equal(pub.x, A1.px);
  assert.equal(pub.y, A1.py);
  const z = sm2Z(pub);
  assert.equal(hexOf(z), A1.z.toLowerCase());
  assert.equal(sm2E(z, MSG), big(A1.e));
  const sig = sm2Sign({ d: A1.d, pub }, MSG, undefined, A1.k);
  assert.equal(sig.r, A1.r);
  assert.equal(sig.s, A1.s);
  assert.equal(hexOf(signatureToDer(sig)), A1.der.toLowerCase());
  assert.deepEqual(signatureFromDer(h(A1.der)), { r: A1.r, s: A1.s });
  assert.equal(hexOf(publicKeyToSpkiDer(pub)), A1.spki.toLowerCase());
  assert.deepEqual(publicKeyFromPem(publicKeyToPem(pub)), pub);
  assert.deepEqual(publicKeyFromPem(h(A1.spki)), pub, "A1_SPKI through Node's createPublicKey (der, spki)");
});

test('SM2 verify accepts the vector and rejects the negative checks', () => {
  const pub = { x: A1.px, y: A1.py };
  const sig = { r: A1.r, s: A1.s };
  assert.equal(sm2Verify(pub, MSG, sig), true);
  assert.equal(sm2Verify(pub, ascii('message digesu'), sig), false);
  assert.equal(sm2Verify(pub, MSG, sig, 'ALICE123@YAHOO.COM'), false);
  assert.equal(sm2Verify(pub, MSG, sig, ''), false);
  assert.equal(sm2Verify(pub, MSG, { r: A1.r, s: A1.s + 1n }), false);
  // §4: the empty-ID signature Node's crypto.sign('sm3') would make must not pass with the default ID
  const e0 = {
    r: big('27F1BA35327863638AFCE55EA5560734B20DC6F4AA21B74217BCAE759F2EB983'),
    s: big('9815B803017B841EE27BC729B026A72FABDF588D3E7041E03E6A1DD43485497B'),
  };
  assert.equal(hexOf(sm2Z(pub, '')), 'f2a1724ed3d6767e22fcd19bfb33cd8af34f59ad7fdc8747cce6acacd414f1f9');
  assert.equal(sm2Verify(pub, MSG, e0, ''), true);
  assert.equal(sm2Verify(pub, MSG, e0), false);
});

// §4 (locally derived, not official)
const E0 = {
  zEmpty: 'F2A1724ED3D6767E22FCD19BFB33CD8AF34F59AD7FDC8747CCE6ACACD414F1F9',
  e: '2305BDC3A3EB4BCB28F8B33816DE087E70AF98169C1A7B32C8589FA8711A1F10',
  r: big('27F1BA35327863638AFCE55EA5560734B20DC6F4AA21B74217BCAE759F2EB983'),
  s: big('9815B803017B841EE27BC729B026A72FABDF588D3E7041E03E6A1DD43485497B'),
  der: '3045022027F1BA35327863638AFCE55EA5560734B20DC6F4AA21B74217BCAE759F2EB9830221009815B803017B841EE27BC729B026A72FABDF588D3E7041E03E6A1DD43485497B',
};

test("empty-ID vector: Z, e, (r, s) with A1_K, DER exactly; Node's crypto.verify('sm3') accepts it and not the standard signature", () => {
  const pub = { x: A1.px, y: A1.py };
  const z = sm2Z(pub, '');
  assert.equal(hexOf(z), E0.zEmpty.toLowerCase());
  assert.equal(hexOf(sm2ZPreimage(pub, '').subarray(0, 2)), '0000', 'ENTL = 0');
  const e = sm2E(z, MSG);
  assert.equal(e, big(E0.e));
  const sig = sm2Sign({ d: A1.d, pub }, MSG, '', A1.k);
  assert.deepEqual(sig, { r: E0.r, s: E0.s });
  assert.equal(hexOf(signatureToDer(sig)), E0.der.toLowerCase());
  assert.deepEqual(signatureFromDer(h(E0.der)), sig);
  assert.equal(sm2VerifyDigest(pub, e, sig), true);
  assert.equal(sm2VerifyDigest(pub, big(A1.e), sig), false, 'not with the default-ID e');
  const key = createPublicKey({ key: Buffer.from(A1.spki, 'hex'), format: 'der', type: 'spki' });
  assert.equal(nodeVerify('sm3', MSG, key, h(E0.der)), true, 'Node verifies with an empty ID');
  assert.equal(nodeVerify('sm3', MSG, key, h(A1.der)), false, 'so it cannot verify the standard (default-ID) signature');
});

// §2.2
test('second Z_A vector (GmSSL TopsecCA key): the preimage byte for byte, and Z', () => {
  const pub = {
    x: big('D69C2F1EEC3BFB6B95B30C28085C77B125D77A9C39525D8190768F37D6B205B5'),
    y: big('89DCD316BBE7D89A9DC21917F17799E698531F5E6E3E10BD31370B259C3F81C3'),
  };
  const preimage =
    '008031323334353637383132333435363738FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E9332C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0D69C2F1EEC3BFB6B95B30C28085C77B125D77A9C39525D8190768F37D6B205B589DCD316BBE7D89A9DC21917F17799E698531F5E6E3E10BD31370B259C3F81C3';
  assert.equal(hexOf(sm2ZPreimage(pub)), preimage.toLowerCase());
  assert.equal(hexOf(sm3(h(preimage))), '4d38d2958ca7fd2cfae3af04486959cf92c8ef48e8b83a05c112e739d5f181d0');
  assert.equal(hexOf(sm2Z(pub)), '4d38d2958ca7fd2cfae3af04486959cf92c8ef48e8b83a05c112e739d5f181d0');
});

// §3: the standard's example curve (not sm2p256v1), through @noble/curves' generic weierstrass().
const T = {
  p: big('8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3'),
  a: big('787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498'),
  b: big('63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A'),
  gx: big('421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D'),
  gy: big('0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2'),
  n: big('8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7'),
  id: '414C494345313233405941484F4F2E434F4D',
  d: big('128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263'),
  px: big('0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A'),
  py: big('7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857'),
  k: big('6CB28D99385C175C94F94E934817663FC176D925DD72B727260DBAAE1FB2F96F'),
  zPreimage:
    '0090414C494345313233405941484F4F2E434F4D787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E49863E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A20AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857',
  z: 'F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A',
  e: 'B524F552CD82B8B028476E005C377FB19A87E6FC682D48BB5D42E3D9B9EFFE76',
  r: big('40F1EC59F793D9F49E09DCEF49130D4194F79FB1EED2CAA55BACDB49C4E755D1'),
  s: big('6FC6DAC32C5D5CF10C77DFB20F7C2EB667A457872FB09EC56327A67EC7DEEBE7'),
};

test('example Fp-256 curve (draft-shen-sm2-ecdsa): public key, Z preimage, T_Z, T_E, the signature with T_K, verify', () => {
  const curve = sm2Curve(T);
  curve.Point.BASE.assertValidity();
  assert.ok(
    curve.Point.BASE.multiply(T.n - 1n)
      .add(curve.Point.BASE)
      .equals(curve.Point.ZERO),
    'n·G = O',
  );
  const id = h(T.id);
  assert.equal(new TextDecoder().decode(id), 'ALICE123@YAHOO.COM');
  const pub = publicKeyOf(T.d, curve);
  assert.deepEqual(pub, { x: T.px, y: T.py });
  assert.equal(hexOf(sm2ZPreimage(pub, id, curve)), T.zPreimage.toLowerCase());
  const z = sm2Z(pub, id, curve);
  assert.equal(hexOf(z), T.z.toLowerCase());
  const e = sm2E(z, MSG);
  assert.equal(e, big(T.e));
  assert.deepEqual(sm2SignDigest(T.d, e, T.k, curve), { r: T.r, s: T.s });
  assert.equal(sm2VerifyDigest(pub, e, { r: T.r, s: T.s }, curve), true);
  // negatives: another message, another ID, altered s, and the same values on sm2p256v1
  assert.equal(sm2VerifyDigest(pub, sm2E(z, ascii('message digesu')), { r: T.r, s: T.s }, curve), false);
  assert.equal(sm2VerifyDigest(pub, sm2E(sm2Z(pub, SM2_DEFAULT_ID, curve), MSG), { r: T.r, s: T.s }, curve), false);
  assert.equal(sm2VerifyDigest(pub, e, { r: T.r, s: T.s + 1n }, curve), false);
  assert.equal(sm2VerifyDigest(pub, e, { r: T.r, s: T.s }), false, 'T_P is not a point of sm2p256v1');
  // the curve-generic code signs and verifies its own deterministic-nonce signatures here too
  const own = sm2SignDigest(T.d, e, undefined, curve);
  assert.equal(sm2VerifyDigest(pub, e, own, curve), true);
});

test('deterministic demo keys; own signatures round-trip', () => {
  const a = deriveKeyPair('1:MU1');
  const b = deriveKeyPair('1:MU1');
  const c = deriveKeyPair('2:MU1');
  assert.equal(a.d, b.d);
  assert.notEqual(a.d, c.d);
  const m = ascii('key content');
  const s1 = sm2Sign(a, m);
  const s2 = sm2Sign(a, m);
  assert.deepEqual(s1, s2, 'deterministic nonce');
  assert.equal(sm2Verify(a.pub, m, s1), true);
  assert.equal(sm2Verify(c.pub, m, s1), false);
});

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test(
  "OpenSSL verifies our signature and we verify OpenSSL's (distid 1234567812345678)",
  { skip: !haveOpenssl() && 'openssl not installed' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'svde-sm2-'));
    try {
      const key = deriveKeyPair('openssl-cross-check');
      const msg = ascii('SV key content 0123456789');
      writeFileSync(join(dir, 'pub.pem'), publicKeyToPem(key.pub));
      writeFileSync(join(dir, 'priv.pem'), privateKeyToPem(key));
      writeFileSync(join(dir, 'msg'), msg);
      writeFileSync(join(dir, 'sig.der'), signatureToDer(sm2Sign(key, msg)));
      const verify = (sigFile: string, id = '1234567812345678') => {
        try {
          return execFileSync(
            'openssl',
            [
              'pkeyutl',
              '-verify',
              '-rawin',
              '-digest',
              'sm3',
              '-pkeyopt',
              `distid:${id}`,
              '-pubin',
              '-inkey',
              join(dir, 'pub.pem'),
              '-in',
              join(dir, 'msg'),
              '-sigfile',
              sigFile,
            ],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          ).toString();
        } catch (e) {
          return String((e as { stdout?: Buffer }).stdout ?? 'failed');
        }
      };
      assert.match(verify(join(dir, 'sig.der')), /Signature Verified Successfully/);
      assert.doesNotMatch(verify(join(dir, 'sig.der'), 'ALICE123@YAHOO.COM'), /Signature Verified Successfully/);
      execFileSync(
        'openssl',
        [
          'pkeyutl',
          '-sign',
          '-rawin',
          '-digest',
          'sm3',
          '-pkeyopt',
          'distid:1234567812345678',
          '-inkey',
          join(dir, 'priv.pem'),
          '-in',
          join(dir, 'msg'),
          '-out',
          join(dir, 'osig.der'),
        ],
        { stdio: 'ignore' },
      );
      const osig = signatureFromDer(new Uint8Array(execFileSync('cat', [join(dir, 'osig.der')])));
      assert.equal(sm2Verify(key.pub, msg, osig), true);
      assert.equal(sm2Verify(key.pub, ascii('other'), osig), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
