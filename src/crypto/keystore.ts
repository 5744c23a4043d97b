// The key store of the merging units' SM2 keys (signed-frames.md): one entry per keyId with either a pinned
// SPKI public key or an X.509 certificate validated against a configured CA (signature with SM2/SM3 and the
// signer ID, issuer, validity dates), the signer ID, the streams the key may sign, and validity. A directory:
// `<keyId>.pem` (key or certificate) + `<keyId>.json` (metadata). Revocation keeps the files for audit and
// marks the entry; only valid, unrevoked keys are handed to the verifiers (and so loaded into chip slots).
import { SvdeError } from '../model/errors.ts';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { nativeSm2Key } from '../native/index.ts';
import {
  bigToBytes,
  publicKeyFromPem,
  publicKeyToPem,
  signatureFromDer,
  signatureToRaw,
  SM2_DEFAULT_ID,
  type Sm2PublicKey,
} from './sm2.ts';
import type { KeyEntry } from './software-verifier.ts';

export interface KeyMeta {
  keyId: number;
  signerId: string;
  streams: string[];
  source: 'spki' | 'x509';
  /** ISO 8601; from the certificate, or given at import for a pinned key. */
  notBefore?: string;
  notAfter?: string;
  subject?: string;
  revoked?: string; // ISO time of revocation
}

export type KeyStatus = 'valid' | 'expired' | 'not-yet-valid' | 'revoked';

export class KeyStoreError extends SvdeError {
  readonly code = 'KEYSTORE';
}

const point = (p: Sm2PublicKey): Uint8Array => Uint8Array.of(4, ...bigToBytes(p.x), ...bigToBytes(p.y));

/** Minimal DER walk of Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }. */
function certParts(der: Uint8Array): { tbs: Uint8Array; sig: Uint8Array } {
  const tlv = (off: number): { tag: number; start: number; end: number } => {
    if (off + 2 > der.length) throw new KeyStoreError('certificate DER truncated');
    const tag = der[off]!;
    let len = der[off + 1]!;
    let start = off + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n < 1 || n > 3 || start + n > der.length) throw new KeyStoreError('certificate DER: bad length');
      len = 0;
      for (let k = 0; k < n; k++) len = (len << 8) | der[start + k]!;
      start += n;
    }
    if (start + len > der.length) throw new KeyStoreError('certificate DER: length beyond the data');
    return { tag, start, end: start + len };
  };
  const cert = tlv(0);
  if (cert.tag !== 0x30) throw new KeyStoreError('not a certificate (no outer SEQUENCE)');
  const tbsHdr = cert.start;
  const tbs = tlv(tbsHdr);
  const alg = tlv(tbs.end);
  const bits = tlv(alg.end);
  if (tbs.tag !== 0x30 || alg.tag !== 0x30 || bits.tag !== 0x03 || der[bits.start] !== 0)
    throw new KeyStoreError('certificate DER: unexpected structure');
  return { tbs: der.subarray(tbsHdr, tbs.end), sig: der.subarray(bits.start + 1, bits.end) };
}

/**
 * Validates an MU certificate against the CA: issuer/subject chain, the CA's SM2 signature over the
 * TBSCertificate (SM3, with the CA's signer ID — Node's X509Certificate.verify cannot, it sets no ID),
 * and the validity dates at `now`. Returns the certificate's SM2 public key.
 */
export function validateCertificate(
  certPem: string,
  caPem: string,
  now = new Date(),
  caSignerId = SM2_DEFAULT_ID,
): { pub: Sm2PublicKey; notBefore: Date; notAfter: Date; subject: string } {
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    ca = new X509Certificate(caPem);
  } catch (e) {
    throw new KeyStoreError(`not an X.509 certificate: ${(e as Error).message}`);
  }
  if (!cert.checkIssued(ca)) throw new KeyStoreError(`certificate "${cert.subject}" is not issued by the CA "${ca.subject}"`);
  const caPub = publicKeyFromPem(ca.publicKey.export({ format: 'pem', type: 'spki' }).toString());
  const { tbs, sig } = certParts(new Uint8Array(cert.raw));
  let rs: Uint8Array;
  try {
    rs = signatureToRaw(signatureFromDer(sig));
  } catch {
    throw new KeyStoreError('certificate signature is not an SM2 (r, s) signature');
  }
  if (!nativeSm2Key(point(caPub)).verify(tbs, rs, caSignerId))
    throw new KeyStoreError(`certificate "${cert.subject}": the CA's SM2 signature does not verify`);
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (now < notBefore) throw new KeyStoreError(`certificate "${cert.subject}" is not valid before ${notBefore.toISOString()}`);
  if (now > notAfter) throw new KeyStoreError(`certificate "${cert.subject}" expired on ${notAfter.toISOString()}`);
  return {
    pub: publicKeyFromPem(cert.publicKey.export({ format: 'pem', type: 'spki' }).toString()),
    notBefore,
    notAfter,
    subject: cert.subject,
  };
}

export class KeyStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  #meta(keyId: number): string {
    return path.join(this.dir, `${keyId}.json`);
  }

  #pem(keyId: number): string {
    return path.join(this.dir, `${keyId}.pem`);
  }

  /** Writes atomically (write + rename), so a crash never leaves half an entry. */
  #write(file: string, text: string): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o750 });
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, text, { mode: 0o640 });
    chmodSync(tmp, 0o640);
    renameSync(tmp, file);
  }

  importKey(opts: { keyId: number; pem: string; signerId?: string; streams?: string[]; notBefore?: string; notAfter?: string }): KeyMeta {
    checkKeyId(opts.keyId);
    let pub: Sm2PublicKey;
    try {
      pub = publicKeyFromPem(opts.pem);
    } catch (e) {
      throw new KeyStoreError(`keyId ${opts.keyId}: not an SM2 public key: ${(e as Error).message}`);
    }
    const meta: KeyMeta = { keyId: opts.keyId, signerId: opts.signerId ?? SM2_DEFAULT_ID, streams: opts.streams ?? [], source: 'spki' };
    for (const k of ['notBefore', 'notAfter'] as const) {
      const v = opts[k];
      if (v !== undefined) {
        if (Number.isNaN(Date.parse(v))) throw new KeyStoreError(`${k}: not an ISO 8601 time: "${v}"`);
        meta[k] = new Date(v).toISOString();
      }
    }
    this.#write(this.#pem(opts.keyId), publicKeyToPem(pub));
    this.#write(this.#meta(opts.keyId), `${JSON.stringify(meta, null, 1)}\n`);
    return meta;
  }

  importCertificate(opts: { keyId: number; certPem: string; caPem: string; signerId?: string; streams?: string[]; now?: Date }): KeyMeta {
    checkKeyId(opts.keyId);
    const v = validateCertificate(opts.certPem, opts.caPem, opts.now);
    const meta: KeyMeta = {
      keyId: opts.keyId,
      signerId: opts.signerId ?? SM2_DEFAULT_ID,
      streams: opts.streams ?? [],
      source: 'x509',
      notBefore: v.notBefore.toISOString(),
      notAfter: v.notAfter.toISOString(),
      subject: v.subject,
    };
    this.#write(this.#pem(opts.keyId), opts.certPem);
    this.#write(this.#meta(opts.keyId), `${JSON.stringify(meta, null, 1)}\n`);
    return meta;
  }

  revoke(keyId: number, now = new Date()): KeyMeta {
    const meta = this.#read(keyId);
    meta.revoked = now.toISOString();
    this.#write(this.#meta(keyId), `${JSON.stringify(meta, null, 1)}\n`);
    return meta;
  }

  list(now = new Date()): Array<KeyMeta & { status: KeyStatus }> {
    if (!existsSync(this.dir)) return [];
    const out: Array<KeyMeta & { status: KeyStatus }> = [];
    for (const name of readdirSync(this.dir).sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10))) {
      const m = /^(\d+)\.json$/.exec(name);
      if (m === null) continue;
      const meta = this.#read(Number(m[1]));
      out.push({ ...meta, status: keyStatus(meta, now) });
    }
    return out;
  }

  /** The keys the verifiers may use now: valid and not revoked. */
  activeKeys(now = new Date()): KeyEntry[] {
    return this.list(now)
      .filter((m) => m.status === 'valid')
      .map((m) => {
        const pem = readFileSync(this.#pem(m.keyId), 'utf8');
        const pub =
          m.source === 'x509'
            ? publicKeyFromPem(new X509Certificate(pem).publicKey.export({ format: 'pem', type: 'spki' }).toString())
            : publicKeyFromPem(pem);
        return { keyId: m.keyId, pub, signerId: m.signerId, streams: m.streams };
      });
  }

  #read(keyId: number): KeyMeta {
    const file = this.#meta(keyId);
    if (!existsSync(file)) throw new KeyStoreError(`no key ${keyId} in ${this.dir}`);
    return JSON.parse(readFileSync(file, 'utf8')) as KeyMeta;
  }
}

/** A key's status at `now` from its metadata (revocation, then notBefore/notAfter). */
export function keyStatus(m: Pick<KeyMeta, 'revoked' | 'notBefore' | 'notAfter'>, now: Date): KeyStatus {
  if (m.revoked !== undefined) return 'revoked';
  if (m.notBefore !== undefined && now < new Date(m.notBefore)) return 'not-yet-valid';
  if (m.notAfter !== undefined && now > new Date(m.notAfter)) return 'expired';
  return 'valid';
}

function checkKeyId(keyId: number): void {
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > 0xffff)
    throw new KeyStoreError(`keyId must be an integer 0..65535 (the trailer's 16 bits), got ${keyId}`);
}
