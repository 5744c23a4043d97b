// The key store through `svde keys`: pinned SPKI keys and X.509 certificates made by an independent
// implementation (the OpenSSL CLI, an SM2 CA signing with SM3 and distid 1234567812345678), checked against
// the CA; wrong CA, expired and tampered certificates refused; revocation; only valid keys reach the verifier.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KeyStore, KeyStoreError, validateCertificate } from '../../src/crypto/keystore.ts';
import { SoftwareVerifier } from '../../src/crypto/software-verifier.ts';
import { deriveKeyPair, publicKeyToPem, signatureToRaw, sm2Sign } from '../../src/crypto/sm2.ts';
import { svde } from '../helpers/repo.ts';

const ID = '1234567812345678';

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** An SM2 CA and an MU certificate it issued, plus a second CA that did not issue it. */
function makePki(dir: string): void {
  const key = (name: string): void => openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2', '-out', name]);
  key('ca.key');
  key('other.key');
  key('mu.key');
  for (const [k, cn, out] of [
    ['ca.key', 'SVDE test CA', 'ca.pem'],
    ['other.key', 'Other CA', 'other.pem'],
  ] as const) {
    openssl(dir, ['req', '-x509', '-new', '-key', k, '-sm3', '-sigopt', `distid:${ID}`, '-subj', `/CN=${cn}`, '-days', '30', '-out', out]);
  }
  openssl(dir, ['req', '-new', '-key', 'mu.key', '-sm3', '-sigopt', `distid:${ID}`, '-subj', '/CN=MU1', '-out', 'mu.csr']);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'mu.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-sm3',
    '-sigopt',
    `distid:${ID}`,
    '-vfyopt',
    `distid:${ID}`,
    '-days',
    '10',
    '-out',
    'mu.pem',
  ]);
}

describe('MU key store', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-keys-'));
    makePki(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const f = (n: string): string => path.join(dir, n);

  it('accepts a certificate the CA issued, with its dates and subject; the MU key then verifies MU signatures', () => {
    const v = validateCertificate(readFileSync(f('mu.pem'), 'utf8'), readFileSync(f('ca.pem'), 'utf8'));
    assert.match(v.subject, /CN=MU1/);
    assert.ok(v.notAfter.getTime() - v.notBefore.getTime() > 9 * 86400e3);
    // The public key from the certificate is the one of mu.key: OpenSSL signs, we verify with it.
    writeFileSync(f('msg'), 'frame key content');
    openssl(dir, [
      'pkeyutl',
      '-sign',
      '-rawin',
      '-digest',
      'sm3',
      '-pkeyopt',
      `distid:${ID}`,
      '-inkey',
      'mu.key',
      '-in',
      'msg',
      '-out',
      'sig.der',
    ]);
    const verifier = new SoftwareVerifier([{ keyId: 7, pub: v.pub, signerId: ID, streams: [] }]);
    return verifier
      .verify(7, readFileSync(f('msg')), signatureToRaw(sigFromDer(readFileSync(f('sig.der')))))
      .then((ok) => assert.equal(ok, true));
  });

  it('refuses a certificate of another CA, an expired one, one not yet valid, and a tampered one', () => {
    const mu = readFileSync(f('mu.pem'), 'utf8');
    assert.throws(
      () => validateCertificate(mu, readFileSync(f('other.pem'), 'utf8')),
      (e: unknown) => e instanceof KeyStoreError && /not issued by the CA "CN=Other CA"/.test(e.message),
    );
    assert.throws(() => validateCertificate(mu, readFileSync(f('ca.pem'), 'utf8'), new Date(Date.now() + 20 * 86400e3)), /expired on/);
    assert.throws(() => validateCertificate(mu, readFileSync(f('ca.pem'), 'utf8'), new Date(Date.now() - 86400e3)), /not valid before/);
    // Flip one byte inside the TBSCertificate (the subject's public key area): the CA signature must fail.
    const der = Buffer.from(mu.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    der[der.length - 120]! ^= 0x01;
    const tampered = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
    assert.throws(() => validateCertificate(tampered, readFileSync(f('ca.pem'), 'utf8')), /the CA's SM2 signature does not verify/);
  });

  it('svde keys: import a pinned key and a certificate, list, revoke; only valid keys are active', async () => {
    const store = f('store');
    const mu2 = deriveKeyPair('mu2');
    writeFileSync(f('mu2.pem'), publicKeyToPem(mu2.pub));
    const r1 = await svde([
      'keys',
      'import',
      '--store',
      store,
      '--key-id',
      '2',
      '--pem',
      f('mu2.pem'),
      '--streams',
      'MU2',
      '--not-after',
      '2030-01-01T00:00:00Z',
    ]);
    assert.equal(r1.code, 0, r1.stderr);
    const r2 = await svde(['keys', 'import', '--store', store, '--key-id', '1', '--cert', f('mu.pem'), '--ca', f('ca.pem')]);
    assert.equal(r2.code, 0, r2.stderr);
    const r3 = await svde(['keys', 'import', '--store', store, '--key-id', '3', '--cert', f('mu.pem'), '--ca', f('other.pem')]);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /not issued by the CA/);
    const list = JSON.parse((await svde(['keys', 'list', '--store', store])).stdout) as Array<{
      keyId: number;
      status: string;
      source: string;
    }>;
    assert.deepEqual(
      list.map((k) => [k.keyId, k.source, k.status]),
      [
        [1, 'x509', 'valid'],
        [2, 'spki', 'valid'],
      ],
    );
    const r4 = await svde(['keys', 'revoke', '--store', store, '--key-id', '2']);
    assert.equal(r4.code, 0, r4.stderr);
    const ks = new KeyStore(store);
    assert.deepEqual(
      ks.list().map((k) => k.status),
      ['valid', 'revoked'],
    );
    assert.deepEqual(
      ks.activeKeys().map((k) => k.keyId),
      [1],
    );
    // A revoked key signs nothing any more: the verifier does not know it.
    const v = new SoftwareVerifier(ks.activeKeys());
    assert.equal(v.knows(2, 'MU2'), false);
    const msg = new Uint8Array([1, 2, 3]);
    await assert.rejects(v.verify(2, msg, signatureToRaw(sm2Sign(mu2, msg))));
    assert.equal(ks.list(new Date('2031-01-01T00:00:00Z'))[1]!.status, 'revoked');
  });

  it('bad arguments get precise messages', async () => {
    const r = await svde(['keys', 'import', '--store', f('s2'), '--key-id', '70000', '--pem', f('mu2.pem')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /keyId must be an integer 0\.\.65535/);
    const r2 = await svde(['keys', 'import', '--store', f('s2'), '--key-id', '1']);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /exactly one of --pem FILE or --cert FILE/);
    const r3 = await svde(['keys', 'revoke', '--store', f('s2'), '--key-id', '9']);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /no key 9/);
  });
});

function sigFromDer(der: Uint8Array): { r: bigint; s: bigint } {
  // r and s of an ECDSA-Sig-Value, for the test's own check (independent of the key store's parser).
  let o = 2;
  const int = (): bigint => {
    const len = der[o + 1]!;
    const v = BigInt(`0x${Buffer.from(der.subarray(o + 2, o + 2 + len)).toString('hex')}`);
    o += 2 + len;
    return v;
  };
  return { r: int(), s: int() };
}
