// The REST API over a real HTTP server on 127.0.0.1 with real fetch: the contract the panel and the control
// centre rely on, roles, precise validation errors, paging, evidence downloads, SSE, metrics, OpenAPI, limits.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { INDICATORS } from '../../src/model/indicators.ts';
import type { AlarmRecord, Page } from '../../src/model/records.ts';
import { FakeDevice } from './fixtures/device.ts';
import { startApi, type ErrorJson, type Harness } from './harness.ts';

async function json<T>(r: Response): Promise<T> {
  return (await r.json()) as T;
}

async function expectError(r: Response, status: number, code: string, message?: RegExp): Promise<ErrorJson> {
  const body = await json<ErrorJson>(r);
  assert.equal(r.status, status, JSON.stringify(body));
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  assert.equal(body.error.code, code);
  if (message !== undefined) assert.match(body.error.message, message);
  return body;
}

describe('REST API', () => {
  let h: Harness;
  before(async () => {
    h = await startApi();
    const s = h.device.store;
    s.addAlarm({ indicator: 'mac', evidence: { frames: 40, fromNs: '1', toNs: '2', complete: true } }); // 1
    s.addAlarm({ indicator: 'logic', stream: 'MU02', ended: true, evidence: null }); // 2: no evidence kept
    s.addAlarm({ indicator: 'rate', evidence: { frames: 5, fromNs: '1', toNs: '2', complete: true } }); // 3: exporter has none
    s.addAlarm({ indicator: 'rate', ended: true, evidence: { frames: 5, fromNs: '1', toNs: '2', complete: true } }); // 4: ExportError
    s.addAlarm({ indicator: 'rate', ended: true, evidence: { frames: 5, fromNs: '1', toNs: '2', complete: true } }); // 5: exporter fault
    h.device.latched.add('mac');
    s.addEvent('start', 'device started');
    s.addEvent('stream-appeared', 'MU01 seen');
  });
  after(() => h.close());

  it('GET /status: νn and the nine indicators keyed by id (SPEC §4 shape)', async () => {
    const r = await h.get('/api/v1/status');
    assert.equal(r.status, 200);
    const s = await json<{
      nu: number;
      indicators: Record<string, { active: boolean; latched: boolean; count: number; grade: number }>;
      led: string;
    }>(r);
    assert.equal(s.nu, 1);
    assert.deepEqual(Object.keys(s.indicators).sort(), [...INDICATORS].sort());
    assert.deepEqual({ ...s.indicators['mac'] }, { id: 'mac', grade: 1, active: true, latched: true, count: 1, lastAlarmId: 1 });
    assert.equal(s.indicators['logic']?.latched, false);
    assert.equal(s.led, 'red-steady');
  });

  it('GET /health: 200 while degraded, 503 only when capture and storage both failed', async () => {
    const base = structuredClone(h.device.healthView);
    try {
      h.device.healthView.capture.state = 'failed';
      assert.equal((await h.get('/api/v1/health')).status, 200);
      h.device.healthView.storage.state = 'failed';
      const r = await h.get('/api/v1/health');
      assert.equal(r.status, 503);
      assert.equal((await json<{ capture: { state: string } }>(r)).capture.state, 'failed');
    } finally {
      h.device.healthView = base;
    }
    assert.equal((await h.get('/api/v1/health')).status, 200);
  });

  it('GET /streams and the waveform of one stream; 404 names the known streams', async () => {
    const r = await h.get('/api/v1/streams');
    const body = await json<{ streams: Array<{ name: string; signatureCoverage: number | null }> }>(r);
    assert.deepEqual(
      body.streams.map((s) => s.name),
      ['MU01', 'MU02'],
    );
    assert.equal(body.streams[1]?.signatureCoverage, null);
    const w = await h.get('/api/v1/streams/MU01/waveform');
    assert.equal(w.status, 200);
    assert.equal((await json<{ phasors: unknown[] }>(w)).phasors.length, 1);
    await expectError(await h.get('/api/v1/streams/NOPE/waveform'), 404, 'NOT_FOUND', /no stream named 'NOPE'; known streams: MU01, MU02/);
    await expectError(await h.get('/api/v1/streams/MU02/waveform'), 404, 'NOT_FOUND', /'MU02' has no waveform yet/);
  });

  describe('authentication and roles', () => {
    it('no token, a malformed header and a wrong token are 401 JSON', async () => {
      const a = await expectError(await h.get('/api/v1/status', null), 401, 'UNAUTHORIZED', /needs a bearer token/);
      assert.ok(a);
      const b = await h.get('/api/v1/status', null, { headers: { authorization: 'Basic Zm9vOmJhcg==' } });
      assert.match(b.headers.get('www-authenticate') ?? '', /Bearer/);
      await expectError(b, 401, 'UNAUTHORIZED', /must be "Bearer <token>"/);
      const wrong = h.token.viewer.slice(0, -4) + 'AAAA';
      await expectError(
        await h.get('/api/v1/status', null, { headers: { authorization: `Bearer ${wrong}` } }),
        401,
        'UNAUTHORIZED',
        /not valid/,
      );
      await expectError(
        await h.get('/api/v1/status', null, { headers: { authorization: 'Bearer svde_000000000000.x' } }),
        401,
        'UNAUTHORIZED',
      );
    });

    it('roles matrix: viewer < operator < engineer, master only status/alarms/estimates', async () => {
      const est = { bus: 'B1', windowStartNs: '1', windowEndNs: '2', values: [{ name: 'V1', re: 1, im: 0 }] };
      const cases: Array<[string, string, unknown, Record<string, number>]> = [
        ['GET', '/api/v1/status', null, { viewer: 200, operator: 200, engineer: 200, master: 200 }],
        ['GET', '/api/v1/alarms', null, { viewer: 200, operator: 200, engineer: 200, master: 200 }],
        ['GET', '/api/v1/alarms/1', null, { viewer: 200, operator: 200, engineer: 200, master: 200 }],
        ['GET', '/api/v1/estimates', null, { viewer: 200, operator: 200, engineer: 200, master: 200 }],
        ['GET', '/api/v1/health', null, { viewer: 200, operator: 200, engineer: 200, master: 403 }],
        ['GET', '/api/v1/streams', null, { viewer: 200, operator: 200, engineer: 200, master: 403 }],
        ['GET', '/api/v1/events', null, { viewer: 200, operator: 200, engineer: 200, master: 403 }],
        ['GET', '/api/v1/counters', null, { viewer: 200, operator: 200, engineer: 200, master: 403 }],
        ['GET', '/api/v1/alarms/1/evidence.pcap', null, { viewer: 200, operator: 200, engineer: 200, master: 403 }],
        ['GET', '/metrics', null, { viewer: 200, operator: 200, engineer: 200, master: 403 }],
        ['POST', '/api/v1/alarms/2/ack', {}, { viewer: 403, operator: 200, engineer: 200, master: 403 }],
        ['POST', '/api/v1/indicators/ack', { indicator: 'rate' }, { viewer: 403, operator: 200, engineer: 200, master: 403 }],
        ['POST', '/api/v1/estimates', est, { viewer: 403, operator: 403, engineer: 200, master: 200 }],
      ];
      for (const [method, path, body, expect] of cases) {
        for (const [role, status] of Object.entries(expect)) {
          const r = method === 'GET' ? await h.get(path, role as 'viewer') : await h.post(path, body, role as 'viewer');
          const text = await r.text();
          assert.equal(r.status, status, `${role} ${method} ${path}: ${text}`);
          if (status === 403) {
            const e = JSON.parse(text) as ErrorJson;
            assert.equal(e.error.code, 'FORBIDDEN');
            assert.match(e.error.message, role === 'master' ? /not open to the master station/ : /needs the (operator|engineer) role/);
          }
        }
      }
    });

    it('HEAD needs what GET needs; routes a plugin adds inside /api/v1 are not public by default', async () => {
      const withPlugin = await startApi({
        plugins: [
          async (app) => {
            app.get('/panel', async () => 'page');
            app.get('/api/v1/panel-extra', async () => ({ ok: true }));
          },
        ],
      });
      try {
        assert.equal((await withPlugin.get('/api/v1/alarms/1/evidence.pcap', null, { method: 'HEAD' })).status, 401);
        assert.equal((await withPlugin.get('/api/v1/status', 'viewer', { method: 'HEAD' })).status, 200);
        assert.equal((await withPlugin.get('/panel', null)).status, 200);
        await expectError(await withPlugin.get('/api/v1/panel-extra', null), 401, 'UNAUTHORIZED');
        assert.equal((await withPlugin.get('/api/v1/panel-extra', 'viewer')).status, 200);
        const r = await withPlugin.get('/api/v1/status');
        assert.equal(r.headers.get('cache-control'), 'no-store');
        assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      } finally {
        await withPlugin.close();
      }
    });

    it('loopback trust: read-only without a token, acknowledging still needs operator', async () => {
      const demo = await startApi({ trustLoopbackAs: 'viewer' });
      try {
        assert.equal((await demo.get('/api/v1/status', null)).status, 200);
        await expectError(
          await demo.post('/api/v1/indicators/ack', { all: true }, null),
          403,
          'FORBIDDEN',
          /needs the operator role; this request has viewer \(loopback without a token\)/,
        );
        // Credentials that are presented are checked, never silently replaced by the loopback role.
        await expectError(await demo.get('/api/v1/status', null, { headers: { authorization: 'Bearer nope' } }), 401, 'UNAUTHORIZED');
        assert.equal((await demo.post('/api/v1/indicators/ack', { all: true }, 'operator')).status, 200);
        // A stale session cookie (sessions do not survive a restart) falls back to the loopback role.
        const stale = { cookie: 'svde_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };
        assert.deepEqual(await json(await demo.get('/api/v1/session', null, { headers: stale })), {
          name: 'loopback',
          role: 'viewer',
          via: 'loopback',
          expiresAt: null,
        });
        await expectError(await h.get('/api/v1/status', null, { headers: stale }), 401, 'UNAUTHORIZED', /session expired/);
      } finally {
        await demo.close();
      }
    });

    it('login sets an HttpOnly SameSite=Strict session cookie that works for reads, writes from the same origin, and logout', async () => {
      await expectError(await h.post('/api/v1/login', { token: 'svde_nope' }, null), 401, 'UNAUTHORIZED', /token is not valid/);
      const r = await h.post('/api/v1/login', { token: h.token.operator }, null);
      assert.equal(r.status, 200);
      const setCookie = r.headers.get('set-cookie') ?? '';
      assert.match(setCookie, /^svde_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
      assert.deepEqual(
        { ...(await json<{ role: string; via: string }>(r)), expiresAt: null },
        { name: 'operator-test', role: 'operator', via: 'session', expiresAt: null },
      );
      const cookie = setCookie.split(';')[0]!;
      const who = await h.get('/api/v1/session', null, { headers: { cookie } });
      assert.deepEqual(await json(who), { name: 'operator-test', role: 'operator', via: 'session', expiresAt: null });
      const ack = await h.post('/api/v1/indicators/ack', { indicator: 'faultMatch' }, null, { headers: { cookie, origin: h.base } });
      assert.equal(ack.status, 200);
      assert.equal(h.device.acks.at(-1)?.by, 'operator-test');
      await expectError(
        await h.post('/api/v1/indicators/ack', { all: true }, null, { headers: { cookie, origin: 'http://evil.example' } }),
        403,
        'FORBIDDEN',
        /must come from the panel's own origin/,
      );
      const out = await h.post('/api/v1/logout', {}, null, { headers: { cookie } });
      assert.deepEqual(await json(out), { loggedOut: true });
      assert.match(out.headers.get('set-cookie') ?? '', /svde_session=; .*Max-Age=0/);
      await expectError(await h.get('/api/v1/status', null, { headers: { cookie } }), 401, 'UNAUTHORIZED', /session expired/);
    });
  });

  describe('alarms', () => {
    it('detail, 404 with the id, and acknowledgement persisted with who did it', async () => {
      const a = await json<AlarmRecord>(await h.get('/api/v1/alarms/1'));
      assert.equal(a.indicator, 'mac');
      assert.equal(a.grade, 1);
      await expectError(await h.get('/api/v1/alarms/999'), 404, 'NOT_FOUND', /^no alarm with id 999$/);
      await expectError(await h.post('/api/v1/alarms/999/ack', {}), 404, 'NOT_FOUND', /no alarm with id 999/);
      const r = await h.post('/api/v1/alarms/1/ack', undefined as unknown as object, 'operator', {
        headers: {},
        body: undefined as unknown as string,
      });
      assert.equal(r.status, 200, await r.clone().text());
      assert.deepEqual(await json(r), { alarmIds: [1], indicators: ['mac'] });
      assert.deepEqual(h.device.acks.at(-1), { target: { alarmId: 1 }, by: 'operator-test' });
      assert.equal((await json<AlarmRecord>(await h.get('/api/v1/alarms/1'))).acknowledged?.by, 'operator-test');
      // Already acknowledged: nothing new, still 200.
      assert.deepEqual(await json(await h.post('/api/v1/alarms/1/ack', {})), { alarmIds: [], indicators: [] });
    });

    it('validation errors name the field and the rule', async () => {
      const cases: Array<[string, RegExp]> = [
        ['/api/v1/alarms?limit=0', /^querystring\.limit must be >= 1$/],
        ['/api/v1/alarms?limit=501', /^querystring\.limit must be <= 500$/],
        ['/api/v1/alarms?limit=ten', /^querystring\.limit must be integer$/],
        ['/api/v1/alarms?indicator=spoof', /^querystring\.indicator must be one of "signature", "mac", .*"upstreamTamper", "trip"$/],
        ['/api/v1/alarms?minGrade=5', /^querystring\.minGrade must be <= 4$/],
        ['/api/v1/alarms?acknowledged=maybe', /^querystring\.acknowledged must be boolean$/],
        ['/api/v1/alarms?colour=red', /^querystring\.colour is not a known field$/],
        ['/api/v1/alarms?since=yesterday', /^querystring\.since 'yesterday' is not a time: give ISO-8601/],
        ['/api/v1/alarms?since=2026-01-01T00:00:00', /has no time zone/],
        ['/api/v1/alarms?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z', /until must not be before/],
        ['/api/v1/alarms?cursor=bogus', /^querystring\.cursor is not a cursor this device issued/],
        ['/api/v1/alarms/abc', /^params\.id must be integer$/],
        ['/api/v1/alarms/0', /^params\.id must be >= 1$/],
        ['/api/v1/alarms/1/evidence.cff?format=csv', /^querystring\.format must be one of "ascii", "binary"$/],
      ];
      for (const [path, re] of cases) {
        const e = await expectError(await h.get(path), 400, 'BAD_REQUEST', re);
        assert.ok(Array.isArray(e.error.details), path);
      }
      const twoFields = await expectError(await h.post('/api/v1/estimates', { bus: 'B1', values: [] }, 'engineer'), 400, 'BAD_REQUEST');
      assert.match(twoFields.error.message, /\(and \d+ more\)$/);
      const fields = twoFields.error.details!.map((d) => `${d.location}.${d.field}: ${d.message}`);
      assert.ok(fields.includes('body.windowStartNs: is required'), fields.join('; '));
      assert.ok(fields.includes('body.windowEndNs: is required'));
      assert.ok(fields.includes('body.values: must NOT have fewer than 1 items'));
      await expectError(
        await h.post(
          '/api/v1/estimates',
          { bus: 'B1', windowStartNs: '5', windowEndNs: '4', values: [{ name: 'V', re: 1, im: 0 }] },
          'engineer',
        ),
        400,
        'BAD_REQUEST',
        /windowEndNs must not be before/,
      );
      await expectError(
        await h.post(
          '/api/v1/estimates',
          { bus: 'B1', windowStartNs: '-5', windowEndNs: '4', values: [{ name: 'V', re: 1, im: 0 }] },
          'engineer',
        ),
        400,
        'BAD_REQUEST',
        /^body\.windowStartNs must match pattern/,
      );
      await expectError(
        await h.post('/api/v1/indicators/ack', { indicator: 'mac', all: true }),
        400,
        'BAD_REQUEST',
        /exactly one of "indicator".*or "all": true/,
      );
      await expectError(await h.post('/api/v1/indicators/ack', {}), 400, 'BAD_REQUEST', /exactly one of/);
      await expectError(await h.post('/api/v1/indicators/ack', { all: false }), 400, 'BAD_REQUEST', /^body\.all must be true$/);
      await expectError(
        await h.post('/api/v1/indicators/ack', { indicator: 'mac', extra: 1 }),
        400,
        'BAD_REQUEST',
        /^body\.extra is not a known field$/,
      );
      await expectError(await h.post('/api/v1/indicators/ack', '{"all": tru'), 400, 'BAD_REQUEST', /^body is not valid JSON/);
      await expectError(
        await h.post('/api/v1/indicators/ack', 'all', 'operator', { headers: { 'content-type': 'text/plain' } }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
      await expectError(await h.post('/api/v1/login', { token: 'x'.repeat(70_000) }, null), 413, 'PAYLOAD_TOO_LARGE');
    });

    it('pages newest first with a cursor, and filters', async () => {
      const device = new FakeDevice();
      const p = await startApi({}, device);
      try {
        for (let i = 0; i < 120; i++)
          device.store.addAlarm({ indicator: i % 3 === 0 ? 'signature' : 'rate', stream: i % 2 === 0 ? 'MU01' : 'MU02' });
        const seen: number[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const r = await p.get(`/api/v1/alarms?limit=50${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
          const page = await json<Page<AlarmRecord>>(r);
          assert.equal(page.total, 120);
          seen.push(...page.items.map((a) => a.id));
          cursor = page.next;
          pages++;
        } while (cursor !== null);
        assert.equal(pages, 3);
        assert.deepEqual(
          seen,
          Array.from({ length: 120 }, (_, i) => 120 - i),
        );
        const sig = await json<Page<AlarmRecord>>(await p.get('/api/v1/alarms?indicator=signature&stream=MU01&limit=500'));
        assert.equal(sig.total, 20);
        assert.ok(sig.items.every((a) => a.indicator === 'signature' && a.stream === 'MU01'));
        const g2 = await json<Page<AlarmRecord>>(await p.get('/api/v1/alarms?minGrade=2&acknowledged=false&limit=1'));
        assert.equal(g2.total, 80);
        assert.equal(g2.items.length, 1);
        // since/until in both forms select the same window.
        const first = device.store.alarms[10]!;
        const last = device.store.alarms[20]!;
        const iso = (ns: string): string => new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
        const a = await json<Page<AlarmRecord>>(await p.get(`/api/v1/alarms?since=${first.firstTsNs}&until=${last.firstTsNs}`));
        const b = await json<Page<AlarmRecord>>(await p.get(`/api/v1/alarms?since=${iso(first.firstTsNs)}&until=${iso(last.firstTsNs)}`));
        assert.equal(a.total, 10);
        assert.deepEqual(a, b);
      } finally {
        await p.close();
      }
    });
  });

  describe('evidence', () => {
    it('pcap download with the right type and an attachment name', async () => {
      const r = await h.get('/api/v1/alarms/1/evidence.pcap');
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'application/vnd.tcpdump.pcap');
      assert.equal(r.headers.get('content-disposition'), 'attachment; filename="svde-alarm-1.pcap"');
      assert.deepEqual([...new Uint8Array(await r.arrayBuffer())], [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 1]);
    });

    it('COMTRADE .cff, .cfg, .dat in ASCII and binary', async () => {
      const cfg = await h.get('/api/v1/alarms/1/evidence.cfg?format=ascii');
      assert.equal(cfg.headers.get('content-disposition'), 'attachment; filename="svde-alarm-1.cfg"');
      assert.match(await cfg.text(), /\r\nASCII\r\n/);
      const datA = await h.get('/api/v1/alarms/1/evidence.dat?format=ascii');
      assert.match(datA.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(await datA.text(), '1,0,10\r\n2,250,20\r\n');
      const datB = await h.get('/api/v1/alarms/1/evidence.dat');
      assert.equal(datB.headers.get('content-type'), 'application/octet-stream');
      assert.equal((await datB.arrayBuffer()).byteLength, 10);
      const cff = await h.get('/api/v1/alarms/1/evidence.cff?format=binary');
      assert.equal(cff.headers.get('content-disposition'), 'attachment; filename="svde-alarm-1.cff"');
      assert.match(await cff.text(), /BINARY/);
    });

    it('404 says why: no such alarm, no frames kept, nothing to export', async () => {
      await expectError(await h.get('/api/v1/alarms/77/evidence.pcap'), 404, 'NOT_FOUND', /^no alarm with id 77$/);
      await expectError(
        await h.get('/api/v1/alarms/2/evidence.pcap'),
        404,
        'NOT_FOUND',
        /^alarm 2 has no evidence: no raw frames were kept for it$/,
      );
      await expectError(await h.get('/api/v1/alarms/3/evidence.pcap'), 404, 'NOT_FOUND', /alarm 3 has no pcap evidence/);
      await expectError(await h.get('/api/v1/alarms/3/evidence.cfg'), 404, 'NOT_FOUND', /alarm 3 has no COMTRADE evidence/);
      await expectError(
        await h.get('/api/v1/alarms/4/evidence.pcap'),
        404,
        'NOT_FOUND',
        /^alarm 4 has no pcap evidence: alarm 4 has no evidence frames$/,
      );
      await expectError(await h.get('/api/v1/alarms/5/evidence.pcap'), 500, 'INTERNAL', /^internal error; the device log has the details$/);
    });
  });

  it('GET /events is paged like alarms', async () => {
    const r = await json<Page<{ kind: string }>>(await h.get('/api/v1/events?limit=1'));
    assert.equal(r.total, 2);
    assert.equal(r.items[0]?.kind, 'stream-appeared');
    assert.notEqual(r.next, null);
    const r2 = await json<Page<{ kind: string }>>(await h.get(`/api/v1/events?limit=1&cursor=${r.next}`));
    assert.equal(r2.items[0]?.kind, 'start');
    assert.equal(r2.next, null);
    assert.equal((await json<Page<unknown>>(await h.get('/api/v1/events?kind=start'))).total, 1);
  });

  it('GET /counters: per-indicator statistics over a window (default the last hour)', async () => {
    const r = await json<{ samples: Array<{ counts: Record<string, number>; lost: number }> }>(
      await h.get('/api/v1/counters?since=2026-01-01T00:00:00Z'),
    );
    assert.deepEqual(
      r.samples.map((x) => x.counts),
      [{ mac: 2, trip: 1 }, {}],
    );
    assert.equal(r.samples[1]?.lost, 2);
    const one = await json<{ samples: unknown[] }>(await h.get('/api/v1/counters?since=2026-01-01T00:00:00Z&until=2026-01-01T00:00:00.5Z'));
    assert.equal(one.samples.length, 1);
    assert.deepEqual(await json(await h.get('/api/v1/counters')), { samples: [] }, 'the fixture samples are older than an hour');
    await expectError(await h.get('/api/v1/counters?since=soon'), 400, 'BAD_REQUEST', /querystring\.since 'soon' is not a time/);
  });

  it('estimates: GET signed local estimates with since, POST the master estimate', async () => {
    const g = await json<{ estimates: Array<{ id: string }>; signature: { algorithm: string } }>(
      await h.get('/api/v1/estimates', 'master'),
    );
    assert.deepEqual(
      g.estimates.map((e) => e.id),
      ['B1@1'],
    );
    assert.equal(g.signature.algorithm, 'SM2-SM3');
    const none = await json<{ estimates: unknown[] }>(await h.get('/api/v1/estimates?since=2027-01-01T00:00:00Z', 'master'));
    assert.deepEqual(none.estimates, []);
    const input = {
      bus: 'B1',
      windowStartNs: '1767225600000000000',
      windowEndNs: '1767225600020000000',
      values: [{ name: 'V1', re: 63.5, im: 0.1 }],
    };
    const forgery = await json<{ outcome: string }>(await h.post('/api/v1/estimates', input, 'master'));
    assert.equal(forgery.outcome, 'forgery');
    const match = await json<{ outcome: string; localId: string }>(await h.post('/api/v1/estimates', { ...input, id: 'B1@1' }, 'master'));
    assert.deepEqual(match, { outcome: 'match', reason: 'within tolerance', localId: 'B1@1', alarmId: null });
    assert.deepEqual(h.device.masterInputs.at(-1), { ...input, id: 'B1@1' });
  });

  it('unknown routes are 404 JSON', async () => {
    await expectError(
      await h.get('/api/v1/nothing'),
      404,
      'NOT_FOUND',
      /^no route GET \/api\/v1\/nothing; the routes are listed in GET \/api\/v1\/openapi.json$/,
    );
    await expectError(await h.post('/api/v1/status', {}), 404, 'NOT_FOUND', /no route POST \/api\/v1\/status/);
  });

  it('GET /metrics: Prometheus text with device figures read at scrape time and HTTP counts', async () => {
    h.device.healthView.capture.received = 777;
    const text = await (await h.get('/metrics')).text();
    const samples = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+]+|NaN|[+-]Inf)$/.exec(line);
      assert.ok(m !== null, `not exposition format: ${line}`);
      samples.set(m[1]!, Number(m[2]));
    }
    assert.equal(samples.get('svde_frames_received_total'), 777);
    assert.equal(samples.get('svde_frames_lost_total{where="kernel"}'), 2);
    assert.equal(samples.get('svde_nu'), h.device.status().nu);
    assert.equal(samples.get('svde_alarms_total{indicator="mac"}'), 1);
    assert.equal(samples.get('svde_indicator_latched{indicator="signature",grade="1"}'), 0);
    assert.equal(samples.get('svde_component_state{component="storage",state="ok"}'), 1);
    assert.equal(samples.get('svde_component_state{component="storage",state="failed"}'), 0);
    assert.equal(samples.get('svde_stream_frames_per_second{stream="MU01"}'), 4000);
    assert.ok((samples.get('svde_http_requests_total{route="/api/v1/status",method="GET",status="200"}') ?? 0) >= 1);
    assert.ok((samples.get('svde_http_requests_total{route="/api/v1/alarms/:id",method="GET",status="404"}') ?? 0) >= 1);
    h.device.healthView.capture.received = 778;
    const again = await (await h.get('/metrics')).text();
    assert.match(again, /^svde_frames_received_total 778$/m);
  });

  it('GET /risk returns the assessment of the device (per asset, system, metrics)', async () => {
    const r = await json<{
      assets: Array<{ asset: string; level: string; risk: number }>;
      system: { level: string };
      metrics: { mttdMs: number | null };
    }>(await h.get('/api/v1/risk'));
    assert.deepEqual(
      r.assets.map((a) => a.asset),
      ['MU01', 'svde'],
    );
    assert.ok(r.assets.every((a) => a.risk >= 0 && a.risk <= 1));
    assert.equal(r.system.level, 'low');
    assert.equal(r.metrics.mttdMs, null);
  });

  it('OpenAPI 3 document lists every route with its schemas and security', async () => {
    const doc = await json<{
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: Array<{ in: string; name: string }>;
            requestBody?: unknown;
            responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
            security?: unknown[];
          }
        >
      >;
    }>(await h.get('/api/v1/openapi.json'));
    assert.match(doc.openapi, /^3\./);
    const expected = [
      'get /api/v1/status',
      'get /api/v1/health',
      'get /api/v1/streams',
      'get /api/v1/streams/{name}/waveform',
      'get /api/v1/alarms',
      'get /api/v1/alarms/{id}',
      'post /api/v1/alarms/{id}/ack',
      'post /api/v1/indicators/ack',
      'get /api/v1/alarms/{id}/evidence.pcap',
      'get /api/v1/alarms/{id}/evidence.cff',
      'get /api/v1/alarms/{id}/evidence.cfg',
      'get /api/v1/alarms/{id}/evidence.dat',
      'get /api/v1/events',
      'get /api/v1/counters',
      'get /api/v1/risk',
      'get /api/v1/estimates',
      'post /api/v1/estimates',
      'get /api/v1/config',
      'put /api/v1/config',
      'get /api/v1/live',
      'post /api/v1/login',
      'post /api/v1/logout',
      'get /api/v1/session',
      'get /metrics',
    ];
    const listed = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    assert.deepEqual([...listed].sort(), [...expected].sort());
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(ops)) {
        const ok = op.responses['200'];
        assert.ok(
          ok?.content !== undefined && Object.values(ok.content).every((c) => c.schema !== undefined),
          `${m} ${p} documents its 200 body`,
        );
        assert.ok(op.responses['4XX'] !== undefined || op.responses['4xx'] !== undefined, `${m} ${p} documents its errors`);
        if (p.includes('{id}'))
          assert.ok(
            op.parameters?.some((x) => x.in === 'path' && x.name === 'id'),
            `${m} ${p} path parameter`,
          );
        if (m === 'post' && !p.endsWith('/ack') && !p.endsWith('/logout'))
          assert.ok(op.requestBody !== undefined, `${m} ${p} request body`);
      }
    }
    assert.ok(doc.paths['/api/v1/alarms']?.['get']?.parameters?.some((x) => x.name === 'minGrade'));
    assert.deepEqual(doc.paths['/api/v1/login']?.['post']?.security, []);
    // Every documented route exists (none answers "no route").
    for (const entry of expected.filter((e) => e.startsWith('get '))) {
      const path = entry.slice(4).replace('{id}', '1').replace('{name}', 'MU01');
      if (path.endsWith('/live')) continue;
      const r = await h.get(path, 'engineer');
      const text = await r.text();
      assert.ok(r.status !== 404 || !/no route/.test(text), `${path}: ${text}`);
    }
  });

  it('SSE /live: initial status and streams, a pushed alarm, waveforms of the chosen stream, heartbeats, cleanup on disconnect', async () => {
    const live = await startApi({ sseHeartbeatMs: 50 });
    try {
      const login = await live.post('/api/v1/login', { token: live.token.viewer }, null);
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
      await login.arrayBuffer();
      await expectError(
        await live.get('/api/v1/live?stream=NOPE', null, { headers: { cookie } }),
        404,
        'NOT_FOUND',
        /no stream named 'NOPE'/,
      );
      const ac = new AbortController();
      const r = await live.get('/api/v1/live?stream=MU01', null, { headers: { cookie }, signal: ac.signal });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
      const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      const until = async (pred: (s: string) => boolean): Promise<void> => {
        while (!pred(buf)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`stream ended; got ${buf}`);
          buf += value;
        }
      };
      await until((s) => s.includes('event: streams\n'));
      assert.match(buf, /^retry: 3000\n\nevent: status\ndata: \{"nu":/);
      assert.equal(live.device.listenerCount, 1);
      assert.match(await (await live.get('/metrics')).text(), /^svde_live_clients 1$/m);
      const alarm = live.device.raise({ indicator: 'signature', reason: 'bad-signature' });
      live.device.emit({ type: 'waveform', data: live.device.waveform('MU01')! });
      live.device.emit({ type: 'waveform', data: { ...live.device.waveform('MU01')!, stream: 'MU02' } });
      await until((s) => s.includes('event: waveform\n') && /\n: heartbeat /.test(s));
      const events = buf.split('\n\n').filter((b) => b.startsWith('event: '));
      const alarmEvent = events.find((b) => b.startsWith('event: alarm\n'));
      assert.ok(alarmEvent !== undefined);
      assert.deepEqual(JSON.parse(alarmEvent.slice(alarmEvent.indexOf('data: ') + 6)), alarm);
      const waves = events.filter((b) => b.startsWith('event: waveform\n'));
      assert.equal(waves.length, 1, 'only the chosen stream');
      assert.match(waves[0]!, /"stream":"MU01"/);
      ac.abort();
      await reader.cancel().catch(() => undefined);
      for (let i = 0; i < 100 && live.device.listenerCount > 0; i++) await new Promise((res) => setTimeout(res, 10));
      assert.equal(live.device.listenerCount, 0, 'unsubscribed after the client went away');
      await expectError(await live.get('/api/v1/live', null), 401, 'UNAUTHORIZED');
    } finally {
      await live.close();
    }
  });

  it('rate limit: 429 JSON with Retry-After, counted per token', async () => {
    const rl = await startApi({ rateLimit: { max: 3, windowMs: 60_000 } });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await rl.get('/api/v1/status', 'viewer')).status, 200);
      const r = await rl.get('/api/v1/status', 'viewer');
      assert.ok(Number(r.headers.get('retry-after')) > 0);
      const e = await expectError(r, 429, 'RATE_LIMITED', /^rate limit of 3 requests per 60 s exceeded; retry in/);
      assert.ok(e.error.details !== undefined);
      assert.equal((await rl.get('/api/v1/status', 'operator')).status, 200, 'another token has its own budget');
    } finally {
      await rl.close();
    }
  });
});
