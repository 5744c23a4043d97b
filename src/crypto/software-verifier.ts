// SM2 verification in software, behind the same interface the crypto chip's verifier offers: the fallback
// when no chip is fitted, and what `svde analyze --keys DIR` uses offline. Two paths, cross-checked in the
// tests: the addon (the OpenSSL Node links, ≈ 4× faster) and @noble/curves (portable, no native code).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { SignatureVerifier } from '../model/signature.ts';
import { nativeSm2Key, type NativeSm2Key } from '../native/index.ts';
import {
  bigToBytes,
  publicKeyFromPem,
  signatureFromRaw,
  sm2E,
  sm2PreparedKey,
  sm2VerifyDigestPrepared,
  sm2Z,
  SM2_DEFAULT_ID,
  type Sm2PublicKey,
} from './sm2.ts';

export interface KeyEntry {
  keyId: number;
  pub: Sm2PublicKey;
  signerId: string;
  /** Stream names the key may sign; empty: any. */
  streams: readonly string[];
}

export type SoftwarePath = 'native' | 'noble';

export class SoftwareVerifier implements SignatureVerifier {
  #keys = new Map<
    number,
    { entry: KeyEntry; z: Uint8Array; native: NativeSm2Key | undefined; point: ReturnType<typeof sm2PreparedKey> | undefined }
  >();
  readonly path: SoftwarePath;

  constructor(keys: readonly KeyEntry[], path: SoftwarePath = 'native') {
    this.path = path;
    for (const k of keys) {
      const native = path === 'native' ? nativeSm2Key(Uint8Array.of(4, ...bigToBytes(k.pub.x), ...bigToBytes(k.pub.y))) : undefined;
      this.#keys.set(k.keyId, {
        entry: k,
        z: sm2Z(k.pub, k.signerId),
        native,
        point: path === 'noble' ? sm2PreparedKey(k.pub) : undefined,
      });
    }
  }

  knows(keyId: number, stream: string): boolean {
    const k = this.#keys.get(keyId);
    return k !== undefined && (k.entry.streams.length === 0 || k.entry.streams.includes(stream));
  }

  /** Forgets a key (expired or revoked while running): its frames become unknown-key. */
  drop(keyId: number): void {
    this.#keys.delete(keyId);
  }

  verify(keyId: number, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const k = this.#keys.get(keyId);
    if (k === undefined) return Promise.reject(new Error(`no key ${keyId}`));
    if (signature.length !== 64) return Promise.resolve(false);
    if (k.native !== undefined) return Promise.resolve(k.native.verify(message, signature, k.entry.signerId));
    return Promise.resolve(sm2VerifyDigestPrepared(k.point!, sm2E(k.z, message), signatureFromRaw(signature)));
  }
}

/**
 * Keys of a directory as `svde analyze --keys DIR` reads them (SPEC §4): `<keyId>.pem` holds the SPKI
 * public key, `<keyId>.id` optionally the signer ID (default 1234567812345678). keyId is decimal.
 */
export function loadKeyDir(dir: string): KeyEntry[] {
  const out: KeyEntry[] = [];
  for (const name of readdirSync(dir).sort()) {
    const m = /^(\d+)\.pem$/.exec(name);
    if (m === null) continue;
    const keyId = Number(m[1]);
    if (keyId > 0xffff) throw new Error(`${path.join(dir, name)}: keyId ${keyId} does not fit the trailer's 16 bits`);
    let pub: Sm2PublicKey;
    try {
      pub = publicKeyFromPem(readFileSync(path.join(dir, name), 'utf8'));
    } catch (err) {
      throw new Error(`${path.join(dir, name)}: not an SM2 public key: ${(err as Error).message}`, { cause: err });
    }
    const idFile = path.join(dir, `${keyId}.id`);
    let signerId = SM2_DEFAULT_ID;
    try {
      signerId = readFileSync(idFile, 'utf8').trim();
    } catch {
      // no .id file: the default signer ID
    }
    out.push({ keyId, pub, signerId, streams: [] });
  }
  return out;
}
