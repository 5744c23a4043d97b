// The appliance's own signature over what it reports upstream: chip SIGN(e) with the chip's device key (which
// never leaves the chip) while the chip answers, else a software device key kept in a 0600 PKCS#8 PEM file.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { ChipDriver } from './chip/driver.ts';
import {
  bigToBytes,
  bytesToBig,
  privateKeyToPem,
  publicKeyFromPem,
  publicKeyOf,
  SM2_N,
  sm2E,
  sm2SignWithZ,
  sm2Z,
  type Sm2KeyPair,
  type Sm2PublicKey,
  type Sm2Signature,
} from './sm2.ts';

export interface DeviceSignature {
  algorithm: 'SM2-SM3';
  signerId: string;
  /** 04 ‖ x ‖ y, hex. */
  publicKey: string;
  /** r ‖ s, hex (64 bytes). */
  value: string;
  by: 'chip' | 'software';
}

export interface DeviceSigner {
  readonly signerId: string;
  /** SM2 signature over `message` with the device key (chip when available, else the software device key). */
  sign(message: Uint8Array): Promise<DeviceSignature>;
}

/** The software device key with its Z (of the signer ID) computed once. */
export type SoftDeviceKey = Sm2KeyPair & { z: Uint8Array };

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const pointHex = (p: Sm2PublicKey): string => `04${hex(bigToBytes(p.x))}${hex(bigToBytes(p.y))}`;
const rawHex = (s: Sm2Signature): string => hex(bigToBytes(s.r)) + hex(bigToBytes(s.s));

/**
 * Reads the software device key (PKCS#8 PEM, SM2), creating it with mode 0600 when the file does not exist. A
 * key file group or others can access, or owned by another user, is refused (the private key must stay private).
 */
export function loadOrCreateDeviceKeyPem(file: string): Sm2KeyPair {
  if (!existsSync(file)) {
    const d = (bytesToBig(randomBytes(40)) % (SM2_N - 2n)) + 1n;
    try {
      writeFileSync(file, privateKeyToPem({ d, pub: publicKeyOf(d) }), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new Error(`device key ${file}: cannot create: ${(e as Error).message}`, { cause: e });
    }
  }
  const st = statSync(file);
  if ((st.mode & 0o077) !== 0)
    throw new Error(`device key ${file}: mode ${(st.mode & 0o777).toString(8)} lets group/others access it; chmod 600`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid())
    throw new Error(`device key ${file}: owned by uid ${st.uid}, not by this process`);
  let der: Buffer;
  let pub: Sm2PublicKey;
  try {
    const key = createPrivateKey(readFileSync(file, 'utf8'));
    der = key.export({ format: 'der', type: 'pkcs8' });
    pub = publicKeyFromPem(createPublicKey(key).export({ format: 'pem', type: 'spki' }).toString());
  } catch (e) {
    throw new Error(`device key ${file}: not an SM2 private key (PKCS#8 PEM): ${(e as Error).message}`, { cause: e });
  }
  // ECPrivateKey ::= SEQUENCE { version INTEGER 1, privateKey OCTET STRING (32), … } inside the PKCS#8 envelope.
  const at = der.indexOf(Buffer.from([0x02, 0x01, 0x01, 0x04, 0x20]));
  if (at < 0 || at + 37 > der.length) throw new Error(`device key ${file}: no 32-byte SM2 private scalar found`);
  const d = bytesToBig(der.subarray(at + 5, at + 37));
  let derived: Sm2PublicKey;
  try {
    derived = publicKeyOf(d);
  } catch {
    throw new Error(`device key ${file}: private scalar out of range`);
  }
  if (derived.x !== pub.x || derived.y !== pub.y) throw new Error(`device key ${file}: private and public key do not match`);
  return { d, pub };
}

/** Signs with the chip's device key when the chip answers, else with the software device key; throws without either. */
export async function signAsDevice(
  d: ChipDriver | null,
  k: SoftDeviceKey | null,
  signerId: string,
  message: Uint8Array,
): Promise<DeviceSignature> {
  const devKey = d?.chipInfo?.deviceKey;
  let chipError: Error | null = null;
  if (d !== null && !d.closed && d.health !== 'failed' && devKey !== undefined) {
    try {
      const sig = await d.sign(bigToBytes(sm2E(sm2Z(devKey, signerId), message)));
      return { algorithm: 'SM2-SM3', signerId, publicKey: pointHex(devKey), value: rawHex(sig), by: 'chip' };
    } catch (e) {
      chipError = e as Error;
    }
  }
  if (k === null) {
    throw new Error(
      `no device key to sign with: ${chipError !== null ? `chip SIGN failed (${chipError.message})` : 'no chip available'} and no device key file configured`,
    );
  }
  const sig = sm2SignWithZ(k.d, k.z, message);
  return { algorithm: 'SM2-SM3', signerId, publicKey: pointHex(k.pub), value: rawHex(sig), by: 'software' };
}
