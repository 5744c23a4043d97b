// SM3 (GB/T 32905). Node 24's bundled OpenSSL provides it, so no hand-written hash is needed.
import { createHash } from 'node:crypto';

export function sm3(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sm3');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
