// SM3/SM2 against the official vectors (shared reference sm2-sm3-vectors.md) and against OpenSSL's CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sm3 } from '../../src/crypto/sm3.ts';
import {
  deriveKeyPair, privateKeyToPem, publicKeyFromPem, publicKeyOf, publicKeyToPem, publicKeyToSpkiDer, signatureFromDer,
  signatureToDer, sm2E, sm2Sign, sm2Verify, sm2Z,
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
};
const MSG = ascii('message digest');

test('SM2 Annex A example: public key, Z_A, e, signature with the fixed k, DER and SPKI', () => {
  const pub = publicKeyOf(A1.d);
  assert.equal(pub.x, A1.px); assert.equal(pub.y, A1.py);
  const z = sm2Z(pub);
  assert.equal(hexOf(z), A1.z.toLowerCase());
  assert.equal(sm2E(z, MSG), big(A1.e));
  const sig = sm2Sign({ d: A1.d, pub }, MSG, undefined, A1.k);
  assert.equal(sig.r, A1.r); assert.equal(sig.s, A1.s);
  assert.equal(hexOf(signatureToDer(sig)), A1.der.toLowerCase());
  assert.deepEqual(signatureFromDer(h(A1.der)), { r: A1.r, s: A1.s });
  assert.equal(hexOf(publicKeyToSpkiDer(pub)), `3059301306072a8648ce3d020106082a811ccf5501822d03420004${A1.px.toString(16).padStart(64, '0')}${A1.py.toString(16)}`);
  assert.deepEqual(publicKeyFromPem(publicKeyToPem(pub)), pub);
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
  const e0 = { r: big('27F1BA35327863638AFCE55EA5560734B20DC6F4AA21B74217BCAE759F2EB983'), s: big('9815B803017B841EE27BC729B026A72FABDF588D3E7041E03E6A1DD43485497B') };
  assert.equal(hexOf(sm2Z(pub, '')), 'f2a1724ed3d6767e22fcd19bfb33cd8af34f59ad7fdc8747cce6acacd414f1f9');
  assert.equal(sm2Verify(pub, MSG, e0, ''), true);
  assert.equal(sm2Verify(pub, MSG, e0), false);
});

// §2.2
test('second Z_A vector (GmSSL TopsecCA key)', () => {
  const pub = { x: big('D69C2F1EEC3BFB6B95B30C28085C77B125D77A9C39525D8190768F37D6B205B5'), y: big('89DCD316BBE7D89A9DC21917F17799E698531F5E6E3E10BD31370B259C3F81C3') };
  assert.equal(hexOf(sm2Z(pub)), '4d38d2958ca7fd2cfae3af04486959cf92c8ef48e8b83a05c112e739d5f181d0');
});

test('deterministic demo keys; own signatures round-trip', () => {
  const a = deriveKeyPair('1:MU1'); const b = deriveKeyPair('1:MU1'); const c = deriveKeyPair('2:MU1');
  assert.equal(a.d, b.d); assert.notEqual(a.d, c.d);
  const m = ascii('key content');
  const s1 = sm2Sign(a, m); const s2 = sm2Sign(a, m);
  assert.deepEqual(s1, s2, 'deterministic nonce');
  assert.equal(sm2Verify(a.pub, m, s1), true);
  assert.equal(sm2Verify(c.pub, m, s1), false);
});

function haveOpenssl(): boolean {
  try { execFileSync('openssl', ['version'], { stdio: 'ignore' }); return true; } catch { return false; }
}

test('OpenSSL verifies our signature and we verify OpenSSL\'s (distid 1234567812345678)', { skip: !haveOpenssl() && 'openssl not installed' }, () => {
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
        return execFileSync('openssl', ['pkeyutl', '-verify', '-rawin', '-digest', 'sm3', '-pkeyopt', `distid:${id}`, '-pubin', '-inkey', join(dir, 'pub.pem'), '-in', join(dir, 'msg'), '-sigfile', sigFile], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
      } catch (e) { return String((e as { stdout?: Buffer }).stdout ?? 'failed'); }
    };
    assert.match(verify(join(dir, 'sig.der')), /Signature Verified Successfully/);
    assert.doesNotMatch(verify(join(dir, 'sig.der'), 'ALICE123@YAHOO.COM'), /Signature Verified Successfully/);
    execFileSync('openssl', ['pkeyutl', '-sign', '-rawin', '-digest', 'sm3', '-pkeyopt', 'distid:1234567812345678', '-inkey', join(dir, 'priv.pem'), '-in', join(dir, 'msg'), '-out', join(dir, 'osig.der')], { stdio: 'ignore' });
    const osig = signatureFromDer(new Uint8Array(execFileSync('cat', [join(dir, 'osig.der')])));
    assert.equal(sm2Verify(key.pub, msg, osig), true);
    assert.equal(sm2Verify(key.pub, ascii('other'), osig), false);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
