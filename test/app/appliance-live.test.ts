// The appliance configured for a real process bus: capture on an interface named in the configuration file,
// SCL and accepted MACs from it, the API over TLS with the device certificate, bearer tokens with roles, and
// mutual TLS for the master station. Traffic comes from the simulator in another network namespace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { canCreateTestbed, createTestbed } from '../../tools/sim/testbed.ts';
import type { GroundTruth } from '../../tools/sim/truth.ts';
import { eventually, startRun } from '../helpers/appliance.ts';
import { sm2Verify } from '../../src/crypto/sm2.ts';
import { svde, svdeSim } from '../helpers/repo.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'svde-live-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function openssl(...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate for the master station (EC P-256). */
function makePki(): void {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=SVDE test CA',
  );
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  );
  writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'master.key',
    '-out',
    'master.csr',
    '-subj',
    '/CN=master station',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    'master.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'master.pem',
    '-days',
    '2',
    '-extfile',
    'client.ext',
  );
}

interface Reply {
  status: number;
  body: unknown;
}

function request(url: string, opts: { token?: string; method?: string; body?: unknown; client?: boolean } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = https.request(
      url,
      {
        method: opts.method ?? 'GET',
        ca: readFileSync(path.join(dir, 'ca.pem')),
        ...(opts.client === true
          ? { cert: readFileSync(path.join(dir, 'master.pem')), key: readFileSync(path.join(dir, 'master.key')) }
          : {}),
        headers: {
          ...(opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => (text += d))
          .on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              /* not JSON */
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function token(tokensFile: string, role: string): Promise<string> {
  const r = await svde(['tokens', 'add', '--file', tokensFile, '--role', role, '--name', `test-${role}`]);
  assert.equal(r.code, 0, r.stderr);
  const t = (JSON.parse(r.stdout) as { token?: string }).token;
  assert.ok(t !== undefined && t.length >= 32, `a token is printed: ${r.stdout}`);
  return t;
}

describe(
  'svde run --config: live capture, API over TLS with tokens and mutual TLS',
  { skip: !canCreateTestbed() && 'needs root for network namespaces' },
  () => {
    it('the control centre polls νn and the alarms over TLS with a token; roles and client certificates are enforced', async () => {
      makePki();
      const bed = createTestbed('live');
      try {
        // The bay's SCD and its merging units' MACs, as commissioning would have them.
        const sim = await svdeSim(['--out', path.join(dir, 'bay.pcap'), '--mus', '2', '--duration', '1s']);
        assert.equal(sim.code, 0, sim.stderr);
        const truth = JSON.parse(readFileSync(path.join(dir, 'bay.pcap.truth.json'), 'utf8')) as GroundTruth;
        const tokensFile = path.join(dir, 'tokens.json');
        const viewer = await token(tokensFile, 'viewer');
        const operator = await token(tokensFile, 'operator');
        const master = await token(tokensFile, 'master');
        const engineer = await token(tokensFile, 'engineer');
        // A syslog collector (RFC 5424 over UDP) that the appliance sends its alarms to.
        const collector = dgram.createSocket('udp4');
        const syslogLines: string[] = [];
        collector.on('message', (m) => syslogLines.push(m.toString('utf8')));
        await new Promise<void>((r) => collector.bind(0, '127.0.0.1', r));
        collector.unref(); // never the reason the test process stays alive
        writeFileSync(
          path.join(dir, 'svde.json'),
          JSON.stringify({
            version: 1,
            scl: 'bay.scd',
            streams: truth.config.streams.map((s) => ({ svID: s.svID, acceptedSourceMacs: s.acceptedSourceMacs })),
            appliance: {
              iface: bed.hostIf,
              stateDir: 'state',
              http: {
                host: '127.0.0.1',
                port: 0,
                tls: { cert: 'server.pem', key: 'server.key', clientCa: 'ca.pem' },
                tokens: 'tokens.json',
              },
              syslog: { host: '127.0.0.1', port: collector.address().port, transport: 'udp' },
            },
          }),
        );
        const app = await startRun(['--config', path.join(dir, 'svde.json'), '--json']);
        try {
          assert.match(app.url, /^https:\/\//);
          const s0 = await request(`${app.url}/api/v1/status`, { token: viewer });
          assert.equal(s0.status, 200, JSON.stringify(s0.body));
          assert.equal((s0.body as { nu: number }).nu, 0);
          const anon = await request(`${app.url}/api/v1/status`);
          assert.equal(anon.status, 401, 'no anonymous access outside the demo');
          assert.equal((anon.body as { error: { code: string } }).error.code, 'UNAUTHORIZED');

          // An unknown source publishes into the bay.
          const pub = await svdeSim([
            '--iface',
            bed.nsIf,
            '--netns',
            bed.ns,
            '--mus',
            '2',
            '--duration',
            '3s',
            '--scenario',
            'unknown-source',
            '--no-scl',
            '--truth',
            path.join(dir, 'live.truth.json'),
          ]);
          assert.equal(pub.code, 0, pub.stderr);
          const alarms = await eventually(
            async () => {
              const r = await request(`${app.url}/api/v1/alarms?indicator=mac`, { token: viewer });
              const items = (r.body as { items: Array<{ id: number; reason: string }> }).items;
              return items.length > 0 ? items : undefined;
            },
            'a MAC alarm over TLS',
            30_000,
          );
          assert.equal((await request(`${app.url}/api/v1/status`, { token: viewer }).then((r) => r.body as { nu: number })).nu, 1);
          // The same alarm reached the syslog collector as an RFC 5424 message: <PRI>1 TIMESTAMP HOST svde …
          const line = await eventually(async () => syslogLines.find((l) => l.includes('unknown-source')), 'the alarm on syslog', 10_000);
          assert.match(line, /^<\d{1,3}>1 \d{4}-\d{2}-\d{2}T\S+ \S+ svde \S+ \S+ /);
          // Roles: a viewer may not acknowledge, an operator may.
          assert.equal((await request(`${app.url}/api/v1/alarms/${alarms[0]!.id}/ack`, { token: viewer, method: 'POST' })).status, 403);
          assert.equal((await request(`${app.url}/api/v1/alarms/${alarms[0]!.id}/ack`, { token: operator, method: 'POST' })).status, 200);
          // The master station's estimate needs its client certificate when mutual TLS is configured.
          const est = { bus: 'B1', windowStartNs: '1', windowEndNs: '2', values: [{ name: 'VA', re: 1, im: 0 }] };
          const noCert = await request(`${app.url}/api/v1/estimates`, { token: master, method: 'POST', body: est });
          assert.ok(noCert.status === 401 || noCert.status === 403, `no client certificate → refused, got ${noCert.status}`);
          const withCert = await request(`${app.url}/api/v1/estimates`, { token: master, method: 'POST', body: est, client: true });
          assert.equal(withCert.status, 200, JSON.stringify(withCert.body));
          assert.equal((withCert.body as { outcome: string }).outcome, 'forgery', 'a window the appliance never estimated is a forgery');

          // The local estimates come signed with the device key; the master's echo of one matches, an altered one is tampering.
          type Est = {
            id: string;
            bus: string;
            windowStartNs: string;
            windowEndNs: string;
            values: Array<{ name: string; re: number; im: number; sigma: number }>;
          };
          const signed = await eventually(
            async () => {
              const r = await request(`${app.url}/api/v1/estimates`, { token: master, client: true });
              const b = r.body as {
                estimates: Est[];
                signature: { signerId: string; publicKey: string; value: string; by: string } | null;
              };
              return b.estimates.length > 0 ? b : undefined;
            },
            'local estimates',
            30_000,
          );
          const sig = signed.signature!;
          const devKey = { x: BigInt(`0x${sig.publicKey.slice(2, 66)}`), y: BigInt(`0x${sig.publicKey.slice(66)}`) };
          const rs = { r: BigInt(`0x${sig.value.slice(0, 64)}`), s: BigInt(`0x${sig.value.slice(64)}`) };
          const body = new TextEncoder().encode(JSON.stringify(signed.estimates));
          assert.ok(sm2Verify(devKey, body, rs, sig.signerId), 'the estimates verify with the device key');
          assert.ok(
            !sm2Verify(
              devKey,
              new TextEncoder().encode(JSON.stringify(signed.estimates).replace(/"re":(\d)/, '"re":9$1')),
              rs,
              sig.signerId,
            ),
            'altered estimates do not',
          );
          const e = signed.estimates[0]!;
          const echo = {
            id: e.id,
            bus: e.bus,
            windowStartNs: e.windowStartNs,
            windowEndNs: e.windowEndNs,
            values: e.values.map((v) => ({ name: v.name, re: v.re, im: v.im })),
          };
          const ok = await request(`${app.url}/api/v1/estimates`, { token: master, method: 'POST', body: echo, client: true });
          assert.equal((ok.body as { outcome: string }).outcome, 'match', JSON.stringify(ok.body));
          const bent = { ...echo, values: echo.values.map((v, i) => (i === 0 ? { ...v, re: v.re * 1.5 + 100 } : v)) };
          const bad = await request(`${app.url}/api/v1/estimates`, { token: master, method: 'POST', body: bent, client: true });
          const res = bad.body as { outcome: string; alarmId: number | null };
          assert.equal(res.outcome, 'tamper', JSON.stringify(bad.body));
          assert.ok(res.alarmId !== null, 'the tamper verdict is an alarm');
          const tamper = await request(`${app.url}/api/v1/alarms/${res.alarmId}`, { token: viewer });
          assert.equal((tamper.body as { indicator: string }).indicator, 'upstreamTamper');

          // An engineer changes the configuration file over TLS: validated, written, logged, pending until restart.
          assert.equal((await request(`${app.url}/api/v1/config`, { token: operator })).status, 403);
          const cfg = await request(`${app.url}/api/v1/config`, { token: engineer });
          assert.equal(cfg.status, 200, JSON.stringify(cfg.body));
          const doc = cfg.body as { sha256: string; pending: boolean; config: Record<string, unknown> };
          assert.equal(doc.pending, false);
          const changed = { ...doc.config, learn: { durationS: 600 } };
          const put = await request(`${app.url}/api/v1/config`, { token: engineer, method: 'PUT', body: changed });
          assert.equal(put.status, 200, JSON.stringify(put.body));
          assert.equal((put.body as { restartRequired: boolean }).restartRequired, true);
          assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'svde.json'), 'utf8')), changed);
          const refused = await request(`${app.url}/api/v1/config`, {
            token: engineer,
            method: 'PUT',
            body: { ...changed, appliance: { iface: 42 } },
          });
          assert.equal(refused.status, 400);
          assert.match((refused.body as { error: { message: string } }).error.message, /\/appliance\/iface/);
          const evItems = await eventually(
            async () => {
              const ev = await request(`${app.url}/api/v1/events?kind=config-changed`, { token: viewer });
              const items = (ev.body as { items: Array<{ message: string }> }).items;
              return items.length > 0 ? items : undefined;
            },
            'the config-changed event',
            10_000,
          );
          assert.equal(evItems.length, 1);
          assert.match(evItems[0]!.message, /changed by test-engineer/);
        } finally {
          try {
            assert.equal(await app.stop('SIGTERM'), 0, app.stderr());
          } finally {
            collector.close();
          }
        }
      } finally {
        bed.cleanup();
      }
    });
  },
);
