// SM2 digital signature (GB/T 32918.2) on sm2p256v1, built on @noble/curves' generic weierstrass(); Z, sign and
// verify also take another Fp-256 curve (Sm2Curve), so the standard's example-curve vectors test the same code.
// SM2 is not ECDSA over this curve: e = SM3(Z_A ‖ M), Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA),
// r = (e + x1) mod n, s = (1 + d)^-1 (k − r·d) mod n. Minimal: enough for the simulator's signer and a
// software verifier; deterministic nonces (SM3-based, RFC 6979 in spirit) so runs are reproducible.
import { createPublicKey } from 'node:crypto';
import { weierstrass, type WeierstrassPointCons } from '@noble/curves/abstract/weierstrass.js';
import { sm3 } from './sm3.ts';

export const SM2_P = 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn;
export const SM2_A = 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn;
export const SM2_B = 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n;
export const SM2_N = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
export const SM2_GX = 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n;
export const SM2_GY = 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n;
export const SM2_DEFAULT_ID = '1234567812345678';

export const Sm2Point = weierstrass({ p: SM2_P, n: SM2_N, h: 1n, a: SM2_A, b: SM2_B, Gx: SM2_GX, Gy: SM2_GY });
type Point = InstanceType<typeof Sm2Point>;

/** The curve SM2 is computed over: sm2p256v1, or another 256-bit prime curve (the standard's example curve, tests). */
export interface Sm2Curve {
  readonly Point: WeierstrassPointCons<bigint>;
  readonly a: bigint;
  readonly b: bigint;
  readonly n: bigint;
  readonly gx: bigint;
  readonly gy: bigint;
}

export const SM2P256V1: Sm2Curve = { Point: Sm2Point, a: SM2_A, b: SM2_B, n: SM2_N, gx: SM2_GX, gy: SM2_GY };

/** An Sm2Curve from Fp-256 parameters through @noble/curves' generic weierstrass() (cofactor 1). */
export function sm2Curve(c: { p: bigint; a: bigint; b: bigint; n: bigint; gx: bigint; gy: bigint }): Sm2Curve {
  return { Point: weierstrass({ p: c.p, n: c.n, h: 1n, a: c.a, b: c.b, Gx: c.gx, Gy: c.gy }), a: c.a, b: c.b, n: c.n, gx: c.gx, gy: c.gy };
}

export interface Sm2PublicKey {
  x: bigint;
  y: bigint;
}
export interface Sm2KeyPair {
  d: bigint;
  pub: Sm2PublicKey;
}
export interface Sm2Signature {
  r: bigint;
  s: bigint;
}

const mod = (a: bigint, m: bigint): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

function modInv(a: bigint, m: bigint): bigint {
  let [old, r] = [mod(a, m), m];
  let [os, s] = [1n, 0n];
  while (r !== 0n) {
    const q = old / r;
    [old, r] = [r, old - q * r];
    [os, s] = [s, os - q * s];
  }
  if (old !== 1n) throw new Error('not invertible');
  return mod(os, m);
}

export function bigToBytes(v: bigint, len = 32): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function bytesToBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

export function publicKeyOf(d: bigint, curve: Sm2Curve = SM2P256V1): Sm2PublicKey {
  if (d <= 0n || d >= curve.n - 1n) throw new Error('SM2 private key out of range [1, n-2]');
  const p = curve.Point.BASE.multiply(d).toAffine();
  return { x: p.x, y: p.y };
}

/** ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA, the input of Z_A. */
export function sm2ZPreimage(pub: Sm2PublicKey, id: string | Uint8Array = SM2_DEFAULT_ID, curve: Sm2Curve = SM2P256V1): Uint8Array {
  const idBytes = typeof id === 'string' ? new TextEncoder().encode(id) : id;
  const entl = idBytes.length * 8;
  if (entl > 0xffff) throw new Error('SM2 ID too long');
  return Buffer.concat([
    Uint8Array.of(entl >>> 8, entl & 0xff),
    idBytes,
    bigToBytes(curve.a),
    bigToBytes(curve.b),
    bigToBytes(curve.gx),
    bigToBytes(curve.gy),
    bigToBytes(pub.x),
    bigToBytes(pub.y),
  ]);
}

/** Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA). */
export function sm2Z(pub: Sm2PublicKey, id: string | Uint8Array = SM2_DEFAULT_ID, curve: Sm2Curve = SM2P256V1): Uint8Array {
  return sm3(sm2ZPreimage(pub, id, curve));
}

/** e = SM3(Z_A ‖ M) as an integer. */
export function sm2E(z: Uint8Array, msg: Uint8Array): bigint {
  return bytesToBig(sm3(z, msg));
}

/** Sign with a precomputed Z (callers signing many messages compute Z once). `k` fixes the nonce (tests). */
export function sm2SignWithZ(d: bigint, z: Uint8Array, msg: Uint8Array, k?: bigint): Sm2Signature {
  return sm2SignDigest(d, sm2E(z, msg), k);
}

/** Sign a digest e = SM3(Z_A ‖ M) the caller computed (what a crypto chip's SIGN(e) does). */
export function sm2SignDigest(d: bigint, e: bigint, k?: bigint, curve: Sm2Curve = SM2P256V1): Sm2Signature {
  const n = curve.n;
  const dInv = modInv(1n + d, n);
  for (let attempt = 0; ; attempt++) {
    const kk = k ?? deterministicK(d, e, attempt, n);
    const x1 = curve.Point.BASE.multiply(kk).toAffine().x;
    const r = mod(e + x1, n);
    if (r === 0n || r + kk === n) {
      if (k !== undefined) throw new Error('bad fixed k');
      continue;
    }
    const s = mod(dInv * (kk - r * d), n);
    if (s === 0n) {
      if (k !== undefined) throw new Error('bad fixed k');
      continue;
    }
    return { r, s };
  }
}

export function sm2Sign(key: Sm2KeyPair, msg: Uint8Array, id: string | Uint8Array = SM2_DEFAULT_ID, k?: bigint): Sm2Signature {
  return sm2SignWithZ(key.d, sm2Z(key.pub, id), msg, k);
}

function deterministicK(d: bigint, e: bigint, attempt: number, n: bigint): bigint {
  // k = H(d ‖ e ‖ attempt ‖ i) reduced into [1, n-1]; secret- and message-dependent, never reused across messages.
  const seed = sm3(bigToBytes(d), bigToBytes(e), Uint8Array.of(attempt & 0xff, 0));
  const more = sm3(seed, Uint8Array.of(1));
  return mod(bytesToBig(seed) * (1n << 256n) + bytesToBig(more), n - 1n) + 1n;
}

export function sm2VerifyWithZ(pub: Sm2PublicKey, z: Uint8Array, msg: Uint8Array, sig: Sm2Signature): boolean {
  return sm2VerifyDigest(pub, sm2E(z, msg), sig);
}

/** Verify against a digest e = SM3(Z_A ‖ M) the caller computed (the host side of a chip's VERIFY(e, r, s)). */
export function sm2VerifyDigest(pub: Sm2PublicKey, e: bigint, sig: Sm2Signature, curve: Sm2Curve = SM2P256V1): boolean {
  const { r, s } = sig;
  const n = curve.n;
  if (r < 1n || r >= n || s < 1n || s >= n) return false;
  const t = mod(r + s, n);
  if (t === 0n) return false;
  let P: InstanceType<Sm2Curve['Point']>;
  try {
    P = curve.Point.fromAffine({ x: pub.x, y: pub.y });
    P.assertValidity();
  } catch {
    return false;
  }
  const pt = curve.Point.BASE.multiply(s).add(P.multiply(t));
  if (pt.equals(curve.Point.ZERO)) return false;
  return mod(e + pt.toAffine().x, n) === r;
}

/** A validated public key point with a precomputed multiplication table, for verifying many signatures of one key. */
export function sm2PreparedKey(pub: Sm2PublicKey): Point {
  const P = Sm2Point.fromAffine({ x: pub.x, y: pub.y });
  P.assertValidity();
  P.precompute(4, false);
  return P;
}

/**
 * sm2VerifyDigest for a prepared key: verification handles only public values, so the variable-time
 * multiplication (with the key's table) is fine — about 3× faster than the constant-time path.
 */
export function sm2VerifyDigestPrepared(P: Point, e: bigint, sig: Sm2Signature): boolean {
  const { r, s } = sig;
  if (r < 1n || r >= SM2_N || s < 1n || s >= SM2_N) return false;
  const t = mod(r + s, SM2_N);
  if (t === 0n) return false;
  const pt = Sm2Point.BASE.multiplyUnsafe(s).add(P.multiplyUnsafe(t));
  if (pt.equals(Sm2Point.ZERO)) return false;
  return mod(e + pt.toAffine().x, SM2_N) === r;
}

export function sm2Verify(pub: Sm2PublicKey, msg: Uint8Array, sig: Sm2Signature, id: string | Uint8Array = SM2_DEFAULT_ID): boolean {
  return sm2VerifyWithZ(pub, sm2Z(pub, id), msg, sig);
}

/** r ‖ s, 64 bytes (the security trailer's form). */
export function signatureToRaw(sig: Sm2Signature): Uint8Array {
  const out = new Uint8Array(64);
  out.set(bigToBytes(sig.r), 0);
  out.set(bigToBytes(sig.s), 32);
  return out;
}

export function signatureFromRaw(raw: Uint8Array): Sm2Signature {
  if (raw.length !== 64) throw new Error('raw SM2 signature must be 64 bytes');
  return { r: bytesToBig(raw.subarray(0, 32)), s: bytesToBig(raw.subarray(32)) };
}

function derInt(v: bigint): Uint8Array {
  let b = bigToBytes(v);
  let i = 0;
  while (i < 31 && b[i] === 0) i++;
  b = b.subarray(i);
  if (b[0]! & 0x80) {
    const p = new Uint8Array(b.length + 1);
    p.set(b, 1);
    b = p;
  }
  return Uint8Array.of(0x02, b.length, ...b);
}

/** DER SEQUENCE { r INTEGER, s INTEGER } (what OpenSSL's pkeyutl produces and expects). */
export function signatureToDer(sig: Sm2Signature): Uint8Array {
  const r = derInt(sig.r);
  const s = derInt(sig.s);
  return Uint8Array.of(0x30, r.length + s.length, ...r, ...s);
}

export function signatureFromDer(der: Uint8Array): Sm2Signature {
  const fail = (): never => {
    throw new Error('malformed DER SM2 signature');
  };
  if (der[0] !== 0x30 || der[1] !== der.length - 2) fail();
  let o = 2;
  const read = (): bigint => {
    if (der[o] !== 0x02) fail();
    const len = der[o + 1]!;
    const v = bytesToBig(der.subarray(o + 2, o + 2 + len));
    o += 2 + len;
    return v;
  };
  const r = read();
  const s = read();
  if (o !== der.length) fail();
  return { r, s };
}

// SubjectPublicKeyInfo prefix for id-ecPublicKey + sm2p256v1 with an uncompressed point.
const SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex');

export function publicKeyToSpkiDer(pub: Sm2PublicKey): Uint8Array {
  return Buffer.concat([SPKI_PREFIX, Buffer.from([4]), bigToBytes(pub.x), bigToBytes(pub.y)]);
}

export function publicKeyToPem(pub: Sm2PublicKey): string {
  const b64 = Buffer.from(publicKeyToSpkiDer(pub)).toString('base64');
  return `-----BEGIN PUBLIC KEY-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`;
}

/** Read an SM2 public key from SPKI PEM or DER (as written by publicKeyToPem or openssl). */
export function publicKeyFromPem(pem: string | Uint8Array): Sm2PublicKey {
  const key = typeof pem === 'string' ? createPublicKey(pem) : createPublicKey({ key: Buffer.from(pem), format: 'der', type: 'spki' });
  const der = key.export({ format: 'der', type: 'spki' });
  if (der.length !== 91 || !der.subarray(0, 26).equals(SPKI_PREFIX) || der[26] !== 4)
    throw new Error('not an SM2 (sm2p256v1) uncompressed SPKI public key');
  return { x: bytesToBig(der.subarray(27, 59)), y: bytesToBig(der.subarray(59, 91)) };
}

/** A key pair derived deterministically from a seed string (demo/simulator keys only — never for production). */
export function deriveKeyPair(seed: string): Sm2KeyPair {
  const h1 = sm3(new TextEncoder().encode(`svde-demo-key:${seed}`));
  const h2 = sm3(h1);
  const d = mod(bytesToBig(h1) * (1n << 256n) + bytesToBig(h2), SM2_N - 2n) + 1n;
  return { d, pub: publicKeyOf(d) };
}

/** PKCS#8 private key PEM (for openssl-based cross-checks); the SEC1 inner key includes the public point. */
export function privateKeyToPem(key: Sm2KeyPair): string {
  const pubPoint = Buffer.concat([Buffer.from([4]), bigToBytes(key.pub.x), bigToBytes(key.pub.y)]);
  const ec = Buffer.concat([
    Buffer.from('020101', 'hex'),
    Buffer.from([0x04, 0x20]),
    bigToBytes(key.d),
    Buffer.from([0xa1, 0x44, 0x03, 0x42, 0x00]),
    pubPoint,
  ]);
  const ecSeq = Buffer.concat([Buffer.from([0x30, ec.length]), ec]);
  const alg = Buffer.from('301306072a8648ce3d020106082a811ccf5501822d', 'hex');
  const body = Buffer.concat([Buffer.from('020100', 'hex'), alg, Buffer.from([0x04, ecSeq.length]), ecSeq]);
  const der = Buffer.concat([Buffer.from([0x30, 0x81, body.length]), body]);
  const b64 = der.toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
}
