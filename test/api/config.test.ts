// GET/PUT /api/v1/config: only engineers; a valid document replaces the file atomically (previous kept, change
// logged with who made it, pending until restart); an invalid one is refused with every bad field and leaves
// the file untouched; If-Match stops an engineer from overwriting a version they have not seen.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sclDir } from '../helpers/repo.ts';
import { ConfigurationFile } from '../../src/config/admin.ts';
import { startApi, type ErrorJson, type Harness } from './harness.ts';

const DIGSUB = path.join(sclDir, 'digsub_01_SV_Stream_4I+4V_9-2LE.scd');

describe('configuration API', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'svde-api-config-'));
  const file = path.join(dir, 'svde.json');
  const original = { version: 1, scl: DIGSUB, streams: [{ svID: 'OMICRON_CMC_SV1', acceptedSourceMacs: ['00:0a:35:00:00:01'] }] };
  const changes: Array<{ by: string; sha: string; prev: string }> = [];
  let h: Harness;
  let demo: Harness;

  before(async () => {
    writeFileSync(file, `${JSON.stringify(original, null, 2)}\n`);
    const admin = new ConfigurationFile(file, (by, sha, prev) => void changes.push({ by, sha, prev }));
    h = await startApi({ configuration: admin });
    demo = await startApi();
  });
  after(async () => {
    await h.close();
    await demo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const put = (
    body: unknown,
    role: 'viewer' | 'operator' | 'engineer' | 'master',
    headers: Record<string, string> = {},
  ): Promise<Response> =>
    fetch(`${h.base}/api/v1/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.token[role]}`, ...headers },
      body: JSON.stringify(body),
    });

  it('only engineers read or change it', async () => {
    for (const role of ['viewer', 'operator', 'master'] as const) {
      const g = await h.get('/api/v1/config', role);
      assert.equal(g.status, 403, role);
      assert.equal(((await g.json()) as ErrorJson).error.code, 'FORBIDDEN');
      assert.equal((await put(original, role)).status, 403, role);
    }
    const g = await h.get('/api/v1/config', 'engineer');
    assert.equal(g.status, 200);
    const doc = (await g.json()) as { file: string; sha256: string; runningSha256: string; pending: boolean; config: typeof original };
    assert.equal(doc.file, 'svde.json');
    assert.equal(doc.pending, false);
    assert.equal(doc.sha256, doc.runningSha256);
    assert.equal(g.headers.get('etag'), `"${doc.sha256}"`);
    assert.deepEqual(doc.config, original);
  });

  it('an invalid document is refused with the path of every bad field; the file is untouched', async () => {
    const before = readFileSync(file, 'utf8');
    const bad = {
      ...original,
      streams: [{ svID: 'OMICRON_CMC_SV1', acceptedSourceMacs: ['zz:00:00:00:00:00'] }, { svID: 'OMICRON_CMC_SV9' }],
    };
    const r = await put(bad, 'engineer');
    assert.equal(r.status, 400);
    const e = (await r.json()) as ErrorJson;
    assert.equal(e.error.code, 'BAD_REQUEST');
    assert.match(e.error.message, /\/streams\/0\/acceptedSourceMacs\/0: must be a MAC address/);
    assert.ok(
      e.error.details?.some((d) => d.field === 'streams.0.acceptedSourceMacs.0'),
      JSON.stringify(e.error.details),
    );
    const notInScl = await put({ ...original, streams: [{ svID: 'OMICRON_CMC_SV9' }] }, 'engineer');
    assert.equal(notInScl.status, 400);
    assert.match(((await notInScl.json()) as ErrorJson).error.message, /\/streams\/0: no stream in SCL file .* has svID "OMICRON_CMC_SV9"/);
    assert.equal(readFileSync(file, 'utf8'), before);
    assert.deepEqual(readdirSync(dir).sort(), ['svde.json'], 'no temporary file left behind');
    assert.equal(changes.length, 0);
  });

  it('a valid document replaces the file atomically, keeps the previous one, logs who, and is pending until restart', async () => {
    const g = (await (await h.get('/api/v1/config', 'engineer')).json()) as { sha256: string };
    const next = { ...original, streams: [{ svID: 'OMICRON_CMC_SV1', acceptedSourceMacs: ['00:0a:35:00:00:01', '00:0a:35:00:00:02'] }] };
    const r = await put(next, 'engineer', { 'if-match': `"${g.sha256}"` });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    const body = JSON.parse(text) as {
      configuration: { sha256: string; pending: boolean; config: unknown };
      restartRequired: boolean;
      warnings: string[];
    };
    assert.equal(body.restartRequired, true);
    assert.equal(body.configuration.pending, true);
    assert.deepEqual(body.configuration.config, next);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), next);
    assert.deepEqual(JSON.parse(readFileSync(`${file}.prev`, 'utf8')), original);
    assert.equal(statSync(file).mode & 0o077 & ~0o040, 0, 'not writable or readable by others');
    assert.deepEqual(changes, [{ by: 'engineer-test', sha: body.configuration.sha256, prev: g.sha256 }]);

    // a second engineer still holding the old version is stopped
    const stale = await put(original, 'engineer', { 'if-match': g.sha256 });
    assert.equal(stale.status, 412);
    const e = (await stale.json()) as ErrorJson;
    assert.equal(e.error.code, 'PRECONDITION_FAILED');
    assert.match(e.error.message, /changed since version/);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), next);

    // writing the running version back clears "pending"
    const back = (await (await put(original, 'engineer')).json()) as { configuration: { pending: boolean }; restartRequired: boolean };
    assert.equal(back.configuration.pending, false);
    assert.equal(back.restartRequired, false);
  });

  it('a body that is not a JSON object gets a precise 400', async () => {
    const r = await put([1, 2], 'engineer');
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as ErrorJson).error.message, /body/);
  });

  it('the embedded demo has no configuration file: 404 with the reason', async () => {
    const r = await demo.get('/api/v1/config', 'engineer');
    assert.equal(r.status, 404);
    assert.match(((await r.json()) as ErrorJson).error.message, /without a configuration file \(embedded demo\)/);
  });
});
