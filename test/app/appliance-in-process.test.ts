// The embedded demo where network namespaces are not allowed (a user without root): the bay is replayed inside
// the process. `--in-process` forces that path so it is tested on every machine, root or not: the device says
// so (log line, status mode), raises the scripted attacks on MU1 only, acknowledges, and stops cleanly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { AlarmRecord } from '../../src/model/records.ts';
import { eventually, startRun } from '../helpers/appliance.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'svde-app-inproc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function namespaces(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith('svde-'));
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  return (await res.json()) as T;
}

describe('svde run --in-process — the demo without network namespaces', () => {
  it('says it replays in process, raises the scripted attacks on MU1 only, takes an acknowledgement, stops cleanly', async () => {
    const before = namespaces();
    const app = await startRun([
      '--in-process',
      '--http',
      '127.0.0.1:0',
      '--state-dir',
      path.join(dir, 'state'),
      '--mus',
      '2',
      '--scenario-seconds',
      '6',
      '--json',
    ]);
    try {
      assert.match(app.stderr(), /replayed IN-PROCESS at its true rate; live capture is not exercised/);
      assert.deepEqual(
        namespaces().filter((n) => !before.includes(n)),
        [],
        'no network namespace was made',
      );
      const status = await getJson<{ mode: string; nu: number }>(`${app.url}/api/v1/status`);
      assert.equal(status.mode, 'demo-in-process');
      const health = await getJson<{ capture: { detail: string | null } }>(`${app.url}/api/v1/health`);
      assert.ok(JSON.stringify(health.capture).includes('in-process'), JSON.stringify(health.capture));

      const alarm = await eventually(
        async () => {
          const p = await getJson<{ items: AlarmRecord[] }>(`${app.url}/api/v1/alarms?indicator=logic&limit=50`);
          return p.items.find((a) => a.reason === 'interleaved-counter' && a.stream.startsWith('MU1'));
        },
        'the injection alarm',
        60_000,
      );
      assert.equal((await getJson<{ nu: number }>(`${app.url}/api/v1/status`)).nu, 1);
      const mu2 = await getJson<{ items: AlarmRecord[] }>(`${app.url}/api/v1/alarms?stream=MU2&limit=50`);
      assert.equal(mu2.items.filter((a) => a.indicator !== 'trip').length, 0, `nothing on the genuine MU2: ${JSON.stringify(mu2.items)}`);
      const ack = await fetch(`${app.url}/api/v1/alarms/${alarm.id}/ack`, {
        method: 'POST',
        headers: { authorization: `Bearer ${app.token}` },
      });
      assert.equal(ack.status, 200, await ack.clone().text());
      assert.ok((await getJson<AlarmRecord>(`${app.url}/api/v1/alarms/${alarm.id}`)).acknowledged !== null);
    } finally {
      assert.equal(await app.stop('SIGTERM'), 0, app.stderr());
    }
  });
});
