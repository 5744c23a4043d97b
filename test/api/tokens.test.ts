// Token store and `svde tokens`: hashed at rest in a 0600 file written atomically, verified with scrypt,
// revocation seen by a running server, precise errors.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TokenError, TokenStore } from '../../src/api/tokens.ts';
import { buildApi } from '../../src/api/server.ts';
import { svde } from '../helpers/repo.ts';
import { FakeDevice, FakeEvidence } from './fixtures/device.ts';

describe('TokenStore', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-tokens-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stores only salted scrypt hashes, mode 0600, and verifies the token', async () => {
    const file = path.join(dir, 'sub', 'tokens.json');
    const store = new TokenStore(file);
    const a = store.add('operator', 'desk');
    const b = store.add('operator', 'desk2');
    assert.match(a.token, /^svde_[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes(a.token.split('.')[1]!), 'the secret is not in the file');
    const saved = JSON.parse(text) as { tokens: Array<{ salt: string; hash: string }> };
    assert.notEqual(saved.tokens[0]!.salt, saved.tokens[1]!.salt, 'per-token salt');
    assert.deepEqual(readdirSync(path.dirname(file)), ['tokens.json'], 'no temporary file left behind');
    assert.deepEqual(await store.verify(a.token), a.info);
    assert.equal(await store.verify(a.token.slice(0, -1) + (a.token.endsWith('A') ? 'B' : 'A')), undefined);
    assert.equal(await store.verify(`svde_${a.info.id}.${b.token.split('.')[1]}`), undefined, "another token's secret");
    assert.equal(await store.verify('garbage'), undefined);
    // A second instance (the CLI) sees the same tokens.
    assert.deepEqual(
      new TokenStore(file).list().map((t) => t.name),
      ['desk', 'desk2'],
    );
  });

  it('rejects duplicate names, unknown roles, and unknown ids on revoke', async () => {
    const store = TokenStore.inMemory();
    store.add('viewer', 'x');
    assert.throws(() => store.add('viewer', 'x'), /a token named 'x' exists already/);
    assert.throws(() => store.add('admin' as 'viewer'), /unknown role 'admin'; expected one of viewer, operator, engineer, master/);
    assert.throws(
      () => store.revoke('nope'),
      (e: unknown) => e instanceof TokenError && /no token with id or name 'nope'/.test(e.message),
    );
  });

  it('after repeated wrong secrets for one id, that id is refused without scrypt; a verified holder keeps working', async () => {
    const store = TokenStore.inMemory();
    const { token, info } = store.add('master', 'cc');
    const other = store.add('viewer', 'v');
    assert.ok(await store.verify(token), 'verified once: cached');
    const wrong = `svde_${info.id}.${'A'.repeat(43)}`;
    for (let i = 0; i < 20; i++) assert.equal(await store.verify(wrong), undefined);
    // Now refused without running scrypt, while the cached holder is still let in.
    const runs = store.scryptRuns;
    assert.ok(await store.verify(token));
    for (let i = 0; i < 50; i++) assert.equal(await store.verify(wrong), undefined);
    assert.equal(store.scryptRuns, runs, 'no scrypt for a throttled id or a cached token');
    assert.ok(await store.verify(other.token), 'other ids are unaffected');
    assert.equal(store.scryptRuns, runs + 1);
  });

  it('a broken token file is a clear error', () => {
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{"version": 1, "tokens": [');
    assert.throws(() => new TokenStore(file), /token file .*broken\.json is not readable JSON/);
    writeFileSync(file, '{"version": 2}');
    assert.throws(() => new TokenStore(file), /is not a version 1 token file/);
  });

  it('a token revoked from another process stops working on the running server', async () => {
    const file = path.join(dir, 'live.json');
    const store = new TokenStore(file);
    const { token, info } = store.add('viewer', 'poller');
    const app = await buildApi({ device: new FakeDevice(), tokens: store, evidence: new FakeEvidence() });
    try {
      const get = () => app.inject({ method: 'GET', url: '/api/v1/status', headers: { authorization: `Bearer ${token}` } });
      assert.equal((await get()).statusCode, 200);
      new TokenStore(file).revoke(info.id);
      let status = 200;
      for (let i = 0; i < 40 && status === 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
        status = (await get()).statusCode;
      }
      assert.equal(status, 401);
    } finally {
      await app.close();
    }
  });

  it('svde tokens add/list/revoke', async () => {
    const file = path.join(dir, 'cli.json');
    const add = await svde(['tokens', 'add', '--file', file, '--role', 'master', '--name', 'control-centre']);
    assert.equal(add.code, 0, add.stderr);
    const created = JSON.parse(add.stdout) as { id: string; name: string; role: string; token: string };
    assert.equal(created.role, 'master');
    assert.match(add.stderr, /not shown again/);
    assert.ok(await new TokenStore(file).verify(created.token));
    const list = await svde(['tokens', 'list', '--file', file]);
    const listed = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
    assert.equal(listed.length, 1);
    assert.deepEqual(Object.keys(listed[0]!).sort(), ['createdAt', 'id', 'name', 'role']);
    assert.ok(!list.stdout.includes(created.token));
    const bad = await svde(['tokens', 'add', '--file', file, '--role', 'root']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown role 'root'/);
    const dup = await svde(['tokens', 'add', '--file', file, '--role', 'viewer', '--name', 'control-centre']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /exists already/);
    const rev = await svde(['tokens', 'revoke', '--file', file, '--name', 'control-centre']);
    assert.equal(rev.code, 0, rev.stderr);
    assert.equal((JSON.parse(rev.stdout) as { revoked: { id: string } }).revoked.id, created.id);
    assert.equal(await new TokenStore(file).verify(created.token), undefined);
    const again = await svde(['tokens', 'revoke', '--file', file, '--id', created.id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no token with id or name/);
  });
});
