// SM2 verification through the addon (Node's bundled OpenSSL, signer ID set explicitly) against the official
// vector, the negative cases, OpenSSL's CLI as an independent signer, and @noble/curves on random keys.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { nativeSm2Key } from '../../src/native/index.ts';
import { SoftwareVerifier } from '../../src/crypto/software-verifier.ts';
import {
  bigToBytes,
  deriveKeyPair,
  privateKeyToPem,
  signatureFromDer,
  signatureToRaw,
  sm2Sign,
  type Sm2PublicKey,
} from '../../src/crypto/sm2.ts';

const h = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const ID = '1234567812345678';
const point = (p: Sm2PublicKey): Uint8Array => Uint8Array.of(4, ...bigToBytes(p.x), ...bigToBytes(p.y));

// sm2-sm3-vectors.md §2.1 (GM/T 0003.5 Annex A on sm2p256v1).
const PUB = h(
  '04' +
    '09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020' +
    'CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13',
);
const RS = h(
  'F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3' + 'B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA',
);
const MSG = new TextEncoder().encode('message digest');

test('native SM2: the official vector verifies; altered message, other ID, altered signature do not', () => {
  const k = nativeSm2Key(PUB);
  assert.equal(k.verify(MSG, RS, ID), true);
  assert.equal(k.verify(new TextEncoder().encode('message digesT'), RS, ID), false);
  assert.equal(k.verify(MSG, RS, '1234567812345679'), false);
  assert.equal(k.verify(MSG, RS, ''), false);
  const bad = RS.slice();
  bad[63]! ^= 1;
  assert.equal(k.verify(MSG, bad, ID), false);
  assert.equal(k.verify(MSG, RS.subarray(0, 63), ID), false, 'wrong length is a failed verification, not a crash');
});

test('native SM2: the reference negative checks (message "message digesu", ID ALICE123@YAHOO.COM, empty ID) and the §4 empty-ID signature', () => {
  const k = nativeSm2Key(PUB);
  assert.equal(k.verify(new TextEncoder().encode('message digesu'), RS, ID), false);
  assert.equal(k.verify(MSG, RS, 'ALICE123@YAHOO.COM'), false);
  assert.equal(k.verify(MSG, RS, ''), false);
  // sm2-sm3-vectors.md §4: E0_R ‖ E0_S is valid for the empty ID only
  const e0 = h(
    '27F1BA35327863638AFCE55EA5560734B20DC6F4AA21B74217BCAE759F2EB983' + '9815B803017B841EE27BC729B026A72FABDF588D3E7041E03E6A1DD43485497B',
  );
  assert.equal(k.verify(MSG, e0, ''), true);
  assert.equal(k.verify(MSG, e0, ID), false);
});

test('native SM2: a point not on the curve and bad arguments are refused with a clear error', () => {
  const off = PUB.slice();
  off[64]! ^= 1;
  assert.throws(() => nativeSm2Key(off), /not on sm2p256v1/);
  assert.throws(() => nativeSm2Key(PUB.subarray(0, 33)), /65 bytes/);
  const k = nativeSm2Key(PUB);
  assert.throws(() => k.verify('x' as unknown as Uint8Array, RS, ID), /Uint8Array expected/);
});

test("native SM2: Node's own crypto.sign('sm3') signature (empty signer ID) fails with the standard ID", () => {
  const key = deriveKeyPair('node-empty-id');
  const priv = createPrivateKey(privateKeyToPem(key));
  const der = nodeSign('sm3', MSG, priv);
  const k = nativeSm2Key(point(key.pub));
  assert.equal(k.verify(MSG, signatureToRaw(signatureFromDer(der)), ID), false);
  assert.equal(k.verify(MSG, signatureToRaw(signatureFromDer(der)), ''), true, 'it is a valid signature for the empty ID');
});

test('native SM2 verifies what OpenSSL pkeyutl signs with distid 1234567812345678', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svde-sm2-native-'));
  try {
    const key = deriveKeyPair('openssl-native');
    writeFileSync(join(dir, 'priv.pem'), privateKeyToPem(key));
    writeFileSync(join(dir, 'msg'), MSG);
    execFileSync(
      'openssl',
      [
        'pkeyutl',
        '-sign',
        '-rawin',
        '-digest',
        'sm3',
        '-pkeyopt',
        `distid:${ID}`,
        '-inkey',
        join(dir, 'priv.pem'),
        '-in',
        join(dir, 'msg'),
        '-out',
        join(dir, 'sig.der'),
      ],
      { stdio: 'ignore' },
    );
    const rs = signatureToRaw(signatureFromDer(new Uint8Array(readFileSync(join(dir, 'sig.der')))));
    const k = nativeSm2Key(point(key.pub));
    assert.equal(k.verify(MSG, rs, ID), true);
    assert.equal(k.verify(new TextEncoder().encode('other'), rs, ID), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('native and noble paths agree on random keys, messages, IDs and tampering', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.uint8Array({ maxLength: 200 }),
      fc.constantFrom(ID, 'ALICE123@YAHOO.COM', 'x'),
      fc.boolean(),
      async (seed, msg, id, tamper) => {
        const key = deriveKeyPair(`prop:${seed}`);
        const rs = signatureToRaw(sm2Sign(key, msg, id));
        if (tamper) rs[5]! ^= 0x40;
        const entry = { keyId: 1, pub: key.pub, signerId: id, streams: [] };
        const native = await new SoftwareVerifier([entry], 'native').verify(1, msg, rs);
        const noble = await new SoftwareVerifier([entry], 'noble').verify(1, msg, rs);
        assert.equal(native, noble);
        assert.equal(native, !tamper);
      },
    ),
    { numRuns: 40 },
  );
});
