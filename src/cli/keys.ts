// svde keys — the merging units' SM2 key store: list, import (pinned SPKI key or X.509 certificate checked
// against a CA), revoke.
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { commandArgs } from './args.ts';
import { KeyStore, KeyStoreError } from '../crypto/keystore.ts';

const HELP = `usage: svde keys list   --store DIR
       svde keys import --store DIR --key-id N (--pem FILE | --cert FILE --ca FILE)
                        [--signer-id ID] [--streams S1,S2] [--not-before ISO] [--not-after ISO]
       svde keys revoke --store DIR --key-id N

The key store holds one entry per keyId (the 16-bit key identifier of the signed-frame trailer): a pinned
SM2 public key (SPKI PEM) or an X.509 certificate whose SM2/SM3 signature, issuer and validity are checked
against the CA at import; the signer ID (default 1234567812345678); the streams the key may sign (empty: any);
validity. Revoked entries stay for audit and are never used. Output is JSON.
`;

export async function keysCommand(argv: string[]): Promise<number> {
  const parsed = commandArgs(
    'keys',
    HELP,
    argv,
    {
      store: { type: 'string' },
      'key-id': { type: 'string' },
      pem: { type: 'string' },
      cert: { type: 'string' },
      ca: { type: 'string' },
      'signer-id': { type: 'string' },
      streams: { type: 'string' },
      'not-before': { type: 'string' },
      'not-after': { type: 'string' },
    },
    true,
  );
  if ('exit' in parsed) return parsed.exit;
  const o = parsed.values;
  const [action] = parsed.positionals;
  const usage = (msg: string): number => {
    process.stderr.write(`svde keys: ${msg}\n${HELP}`);
    return 2;
  };
  if (action === undefined || !['list', 'import', 'revoke'].includes(action)) return usage('expected list, import or revoke');
  if (o.store === undefined) return usage('--store DIR is required');
  const store = new KeyStore(o.store);
  const keyId = (): number => {
    if (o['key-id'] === undefined || !/^\d+$/.test(o['key-id'])) throw new KeyStoreError('--key-id N (0..65535) is required');
    return Number(o['key-id']);
  };
  try {
    if (action === 'list') {
      process.stdout.write(`${JSON.stringify(store.list(), null, 1)}\n`);
      return 0;
    }
    if (action === 'revoke') {
      process.stdout.write(`${JSON.stringify(store.revoke(keyId()), null, 1)}\n`);
      return 0;
    }
    const streams =
      o.streams === undefined
        ? []
        : o.streams
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '');
    const common = { keyId: keyId(), streams, ...(o['signer-id'] !== undefined ? { signerId: o['signer-id'] } : {}) };
    if ((o.pem === undefined) === (o.cert === undefined)) return usage('give exactly one of --pem FILE or --cert FILE');
    const meta =
      o.pem !== undefined
        ? store.importKey({
            ...common,
            pem: readFileSync(o.pem, 'utf8'),
            ...(o['not-before'] !== undefined ? { notBefore: o['not-before'] } : {}),
            ...(o['not-after'] !== undefined ? { notAfter: o['not-after'] } : {}),
          })
        : (() => {
            if (o.ca === undefined) throw new KeyStoreError('--cert needs --ca FILE (the CA the certificate must chain to)');
            return store.importCertificate({ ...common, certPem: readFileSync(o.cert!, 'utf8'), caPem: readFileSync(o.ca, 'utf8') });
          })();
    process.stdout.write(`${JSON.stringify(meta, null, 1)}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`svde keys: ${(err as Error).message}\n`);
    return 1;
  }
}
