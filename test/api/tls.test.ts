// TLS with the device certificate and optional mutual TLS for the master station, with an EC P-256 PKI made
// by the openssl command line: the server certificate for 127.0.0.1, a master-station client certificate
// from the trusted CA, and one from a CA the device does not know.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startApi, type Harness } from './harness.ts';

interface Pki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueCert: string;
  rogueKey: string;
}

function makePki(dir: string): Pki {
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const key = (name: string): void => ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);
  const ca = (name: string, cn: string): void => {
    key(name);
    ssl(
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      `/CN=${cn}`,
      '-days',
      '2',
      '-sha256',
      '-out',
      `${name}.crt`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  };
  const leaf = (name: string, cn: string, issuer: string, ext: string): void => {
    key(name);
    ssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`);
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${issuer}.crt`,
      '-CAkey',
      `${issuer}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    );
  };
  ca('ca', 'SVDE test CA');
  ca('rogue-ca', 'Somebody else');
  leaf('server', 'svde-bay-1', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  leaf('client', 'master-station', 'ca', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  leaf('rogue', 'master-station', 'rogue-ca', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  const r = (f: string): string => readFileSync(path.join(dir, f), 'utf8');
  return {
    ca: r('ca.crt'),
    serverCert: r('server.crt'),
    serverKey: r('server.key'),
    clientCert: r('client.crt'),
    clientKey: r('client.key'),
    rogueCert: r('rogue.crt'),
    rogueKey: r('rogue.key'),
  };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function httpsCall(
  url: string,
  o: { ca: string; method?: string; token?: string; body?: unknown; cert?: string; key?: string },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = o.body === undefined ? undefined : JSON.stringify(o.body);
    const req = request(
      url,
      {
        method: o.method ?? 'GET',
        ca: o.ca,
        ...(o.cert !== undefined ? { cert: o.cert, key: o.key } : {}),
        agent: false,
        headers: {
          ...(o.token !== undefined ? { authorization: `Bearer ${o.token}` } : {}),
          ...(data !== undefined ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const estimate = { bus: 'B1', windowStartNs: '1', windowEndNs: '2', values: [{ name: 'V1', re: 1, im: 0 }] };

describe('TLS and mutual TLS', () => {
  let dir = '';
  let pki: Pki;
  let h: Harness;
  let base = '';
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-tls-'));
    pki = makePki(dir);
    h = await startApi({ tls: { certPem: pki.serverCert, keyPem: pki.serverKey, clientCaPem: pki.ca } });
    base = h.base;
  });
  after(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves over TLS with the device certificate; the control centre polls with a token and no client certificate', async () => {
    assert.match(base, /^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await httpsCall(`${base}/api/v1/status`, { ca: pki.ca, token: h.token.master });
    assert.equal(r.status, 200, r.body);
    assert.equal((JSON.parse(r.body) as { nu: number }).nu, 0);
    const alarms = await httpsCall(`${base}/api/v1/alarms`, { ca: pki.ca, token: h.token.master });
    assert.equal(alarms.status, 200);
    // A client that does not trust the device CA refuses the connection.
    await assert.rejects(
      httpsCall(`${base}/api/v1/status`, { ca: pki.rogueCert, token: h.token.master }),
      /self-signed|unable to verify|certificate/i,
    );
  });

  it('POST /estimates needs a client certificate from the configured CA when mutual TLS is on', async () => {
    const none = await httpsCall(`${base}/api/v1/estimates`, { ca: pki.ca, method: 'POST', token: h.token.master, body: estimate });
    assert.equal(none.status, 403, none.body);
    assert.match(
      none.body,
      /"code":"FORBIDDEN".*needs a client certificate issued by the master station CA.*no client certificate was presented/,
    );
    const rogue = await httpsCall(`${base}/api/v1/estimates`, {
      ca: pki.ca,
      method: 'POST',
      token: h.token.master,
      body: estimate,
      cert: pki.rogueCert,
      key: pki.rogueKey,
    });
    assert.equal(rogue.status, 403);
    assert.match(rogue.body, /the client certificate was refused \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/);
    const good = await httpsCall(`${base}/api/v1/estimates`, {
      ca: pki.ca,
      method: 'POST',
      token: h.token.master,
      body: estimate,
      cert: pki.clientCert,
      key: pki.clientKey,
    });
    assert.equal(good.status, 200, good.body);
    assert.equal((JSON.parse(good.body) as { outcome: string }).outcome, 'forgery');
    // The certificate does not replace the token: the role check still applies.
    const noToken = await httpsCall(`${base}/api/v1/estimates`, {
      ca: pki.ca,
      method: 'POST',
      body: estimate,
      cert: pki.clientCert,
      key: pki.clientKey,
    });
    assert.equal(noToken.status, 401);
    const viewer = await httpsCall(`${base}/api/v1/estimates`, {
      ca: pki.ca,
      method: 'POST',
      token: h.token.viewer,
      body: estimate,
      cert: pki.clientCert,
      key: pki.clientKey,
    });
    assert.equal(viewer.status, 403);
  });

  it('the session cookie is Secure over TLS', async () => {
    const r = await httpsCall(`${base}/api/v1/login`, { ca: pki.ca, method: 'POST', body: { token: h.token.operator } });
    assert.equal(r.status, 200, r.body);
    assert.match(String(r.headers['set-cookie']), /HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
  });

  it('without a client CA, TLS works and POST /estimates needs only the role', async () => {
    const plain = await startApi({ tls: { certPem: pki.serverCert, keyPem: pki.serverKey } });
    try {
      const r = await httpsCall(`${plain.base}/api/v1/estimates`, {
        ca: pki.ca,
        method: 'POST',
        token: plain.token.master,
        body: estimate,
      });
      assert.equal(r.status, 200, r.body);
    } finally {
      await plain.close();
    }
  });
});
