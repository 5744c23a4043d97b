// The appliance end to end as a newcomer meets it: `svde run` without a configuration runs the embedded demo
// (simulated MUs in a network namespace, live capture, detection, SQLite, API, panel). Read-only requests
// from this machine need no token; acknowledging needs the operator token the demo prints; evidence comes
// out as a pcap that tshark reads and as COMTRADE; SIGTERM stops cleanly; SIGKILL loses no committed alarm,
// and the restarted device still shows the alarms waiting for acknowledgement (νn, LED, counts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { canCreateTestbed } from '../../tools/sim/testbed.ts';
import { eventually, startRun } from '../helpers/appliance.ts';
import { svde } from '../helpers/repo.ts';

interface AlarmRecord {
  id: number;
  indicator: string;
  reason: string;
  stream: string;
  grade: number;
  ended: boolean;
  acknowledged: { by: string } | null;
  evidence: { frames: number; complete: boolean } | null;
  detail: Record<string, unknown> | null;
}
interface Status {
  nu: number;
  led: string;
  indicators: Record<string, { active: boolean; latched: boolean; count: number; grade: number; lastAlarmId: number | null }>;
}
interface Page {
  items: AlarmRecord[];
  total: number;
  next: string | null;
}

const dir = mkdtempSync(path.join(tmpdir(), 'svde-app-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function demoNamespaces(): string[] {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  return out
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith('svde-demo-'));
}

async function getJson<T>(url: string, token?: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers: token !== undefined ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as T };
}

describe('svde run — the embedded demo as a device', { skip: !canCreateTestbed() && 'needs root for network namespaces' }, () => {
  const state = path.join(dir, 'state');

  it('serves status and alarms, takes an acknowledgement with the operator token, exports evidence, stops cleanly', async () => {
    const before = demoNamespaces();
    const app = await startRun(['--http', '127.0.0.1:0', '--state-dir', state, '--mus', '2', '--scenario-seconds', '6', '--json']);
    try {
      assert.match(app.stderr(), /read-only requests from this machine need no token/);
      assert.ok(app.token !== undefined && app.token.length >= 32, 'an operator token is printed');
      const status = await getJson<{
        nu: number;
        indicators: Record<string, { active: boolean; latched: boolean; count: number; grade: number }>;
      }>(`${app.url}/api/v1/status`);
      assert.equal(status.status, 200);
      assert.deepEqual(Object.keys(status.body.indicators).sort(), [
        'attackMatch',
        'badData',
        'faultMatch',
        'logic',
        'mac',
        'rate',
        'signature',
        'upstreamForgery',
        'upstreamTamper',
      ]);
      assert.equal(status.body.indicators['logic']!.grade, 2);

      // The first scripted scenario injects frames with a second smpCnt sequence into MU1's stream.
      const alarm = await eventually(
        async () => {
          const p = await getJson<Page>(`${app.url}/api/v1/alarms?indicator=logic&limit=50`);
          return p.body.items.find((a) => a.reason === 'interleaved-counter' && a.stream.startsWith('MU1'));
        },
        'the injection alarm',
        60_000,
      );
      assert.equal(alarm.grade, 2);
      // The status names each indicator's newest alarm by the id the API serves it under.
      const last = (await getJson<{ indicators: Record<string, { lastAlarmId: number | null }> }>(`${app.url}/api/v1/status`)).body
        .indicators['logic']!.lastAlarmId;
      assert.ok(last !== null && last >= alarm.id, `lastAlarmId ${last}`);
      assert.equal((await getJson<AlarmRecord>(`${app.url}/api/v1/alarms/${last}`)).body.indicator, 'logic');
      const nu = await getJson<{ nu: number }>(`${app.url}/api/v1/status`);
      assert.equal(nu.body.nu, 1);
      const mu2 = await getJson<Page>(`${app.url}/api/v1/alarms?stream=${encodeURIComponent('MU2')}&limit=50`);
      assert.equal(
        mu2.body.items.filter((a) => a.indicator !== 'trip').length,
        0,
        `nothing on the genuine MU2: ${JSON.stringify(mu2.body.items)}`,
      );

      // Acknowledging: refused without a token (read-only), accepted with the operator token.
      const anon = await fetch(`${app.url}/api/v1/alarms/${alarm.id}/ack`, { method: 'POST' });
      assert.ok(anon.status === 401 || anon.status === 403, `anonymous ack refused, got ${anon.status}`);
      const ack = await fetch(`${app.url}/api/v1/alarms/${alarm.id}/ack`, {
        method: 'POST',
        headers: { authorization: `Bearer ${app.token}` },
      });
      assert.equal(ack.status, 200, await ack.clone().text());
      assert.ok(((await ack.json()) as { alarmIds: number[] }).alarmIds.includes(alarm.id));
      const acked = await getJson<AlarmRecord>(`${app.url}/api/v1/alarms/${alarm.id}`);
      assert.ok(acked.body.acknowledged !== null, 'the acknowledgement is stored');

      // Evidence: raw frames from before to after the alarm, as a pcap tshark reads, and as COMTRADE.
      const withEvidence = await eventually(
        async () => {
          const a = (await getJson<AlarmRecord>(`${app.url}/api/v1/alarms/${alarm.id}`)).body;
          return a.evidence?.complete === true ? a : undefined;
        },
        'complete evidence',
        30_000,
      );
      assert.ok(withEvidence.evidence!.frames > 4000, `≥ 1 s before and after at 4000 frames/s, got ${withEvidence.evidence!.frames}`);
      const pcap = await fetch(`${app.url}/api/v1/alarms/${alarm.id}/evidence.pcap`, { headers: { authorization: `Bearer ${app.token}` } });
      assert.equal(pcap.status, 200);
      const file = path.join(dir, 'evidence.pcap');
      writeFileSync(file, Buffer.from(await pcap.arrayBuffer()));
      const ts = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'sv.svID', '-Y', 'sv'], { encoding: 'utf8' });
      assert.equal(ts.status, 0, ts.stderr);
      const svIds = ts.stdout.trim().split('\n');
      assert.equal(svIds.length, withEvidence.evidence!.frames);
      assert.ok(
        svIds.every((s) => s.startsWith('SVDE_MU01')),
        'only the offending stream',
      );
      const cff = await fetch(`${app.url}/api/v1/alarms/${alarm.id}/evidence.cff?format=ascii`, {
        headers: { authorization: `Bearer ${app.token}` },
      });
      assert.equal(cff.status, 200);
      const text = await cff.text();
      assert.match(text, /file type: CFG/i);
      assert.match(text, /,2013\r?\n/);

      const metrics = await (await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${app.token}` } })).text();
      assert.match(metrics, /svde_nu 1/);
    } finally {
      const code = await app.stop('SIGTERM');
      assert.equal(code, 0, app.stderr());
    }
    const left = demoNamespaces().filter((n) => !before.includes(n));
    assert.deepEqual(left, [], 'the demo removed its network namespace');
    // After a clean stop the store holds the acknowledged alarm.
    const list = await svde(['export', '--db', path.join(state, 'svde.db'), '--list']);
    assert.equal(list.code, 0, list.stderr);
    const rows = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AlarmRecord);
    assert.ok(rows.some((r) => r.reason === 'interleaved-counter' && r.acknowledged !== null));
  });

  it('SIGKILL in the middle of an alarm storm loses no alarm the API had already shown; the restart remembers what waits for acknowledgement', async () => {
    const prior = await svde(['export', '--db', path.join(state, 'svde.db'), '--list']);
    const lastBefore = Math.max(
      0,
      ...prior.stdout
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as AlarmRecord).id),
    );
    const app = await startRun(['--http', '127.0.0.1:0', '--state-dir', state, '--mus', '2', '--scenario-seconds', '4', '--json']);
    let seen: AlarmRecord[] = [];
    try {
      seen = await eventually(
        async () => {
          const p = await getJson<Page>(`${app.url}/api/v1/alarms?limit=500`);
          const fresh = p.body.items.filter((a) => a.id > lastBefore);
          return fresh.length >= 3 ? fresh : undefined;
        },
        'alarms of this run',
        60_000,
      );
    } finally {
      assert.equal(await app.stop('SIGKILL'), 'SIGKILL');
    }
    const list = await svde(['export', '--db', path.join(state, 'svde.db'), '--list']);
    assert.equal(list.code, 0, list.stderr);
    const rows = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AlarmRecord);
    const ids = new Set(rows.map((r) => r.id));
    for (const a of seen) assert.ok(ids.has(a.id), `alarm ${a.id} (${a.indicator}/${a.reason}) survived the kill`);
    // The killed demo could not remove its namespace; the next start must still work (and clean up).
    spawnSync('sh', ['-c', 'for n in $(ip netns list | cut -d" " -f1 | grep "^svde-demo-"); do ip netns del "$n"; done']);

    // What the kill left: alarms waiting for acknowledgement, some episodes still open.
    const lastPrior = Math.max(...rows.map((r) => r.id));
    const waiting = rows.filter((r) => r.acknowledged === null && r.indicator !== 'trip');
    assert.ok(waiting.length > 0, 'the storm left alarms waiting for acknowledgement');
    const openAtKill = rows.filter((r) => !r.ended);
    const countOf = (ind: string): number => rows.filter((r) => r.indicator === ind).length;
    const again = await startRun(['--http', '127.0.0.1:0', '--state-dir', state, '--mus', '2', '--scenario-seconds', '4', '--json']);
    try {
      // Restored at start: νn = 1 and red steady for the previous run's alarms, latches and counts back.
      const st = (await getJson<Status>(`${again.url}/api/v1/status`)).body;
      assert.equal(st.nu, 1);
      assert.equal(st.led, 'red-steady');
      for (const ind of new Set(waiting.map((r) => r.indicator)))
        assert.equal(st.indicators[ind]!.latched, true, `${ind} latched after the restart`);
      // … and each names an alarm of its own kind by its store id (detection's own numbering restarted).
      for (const ind of new Set(waiting.map((r) => r.indicator))) {
        const last = st.indicators[ind]!.lastAlarmId;
        assert.ok(last !== null, `${ind} names its newest alarm after the restart`);
        assert.equal((await getJson<AlarmRecord>(`${again.url}/api/v1/alarms/${last}`)).body.indicator, ind);
      }
      for (const [ind, v] of Object.entries(st.indicators))
        assert.ok(v.count >= countOf(ind), `${ind}: count ${v.count} restored (≥ ${countOf(ind)} in the store)`);
      // Episodes the kill left open are ended, and say why.
      for (const a of openAtKill) {
        const r = (await getJson<AlarmRecord>(`${again.url}/api/v1/alarms/${a.id}`)).body;
        assert.equal(r.ended, true, `alarm ${a.id} ended at restart`);
        assert.equal(r.detail?.['endedAtRestart'], true);
      }
      const recovery = await getJson<Page>(`${again.url}/api/v1/events?kind=restart-recovery&limit=5`);
      assert.equal(recovery.body.total, openAtKill.length > 0 ? 1 : 0);

      // Acknowledging through the API clears them like any other alarm.
      const ack = await fetch(`${again.url}/api/v1/indicators/ack`, {
        method: 'POST',
        headers: { authorization: `Bearer ${again.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ all: true }),
      });
      assert.equal(ack.status, 200, await ack.clone().text());
      const acked = new Set(((await ack.json()) as { alarmIds: number[] }).alarmIds);
      for (const a of waiting) assert.ok(acked.has(a.id), `alarm ${a.id} of the previous run acknowledged`);
      const still = await getJson<Page>(`${again.url}/api/v1/alarms?acknowledged=false&limit=500`);
      assert.deepEqual(
        still.body.items.filter((a) => a.id <= lastPrior).map((a) => a.id),
        [],
      );
      // The demo keeps raising new alarms: an indicator may latch again, but only for an alarm of this run.
      await eventually(
        async () => {
          const s2 = (await getJson<Status>(`${again.url}/api/v1/status`)).body;
          for (const [ind, v] of Object.entries(s2.indicators)) {
            if (!v.latched) continue;
            const mine = await getJson<Page>(`${again.url}/api/v1/alarms?indicator=${ind}&acknowledged=false&limit=1`);
            if (mine.body.total === 0 || mine.body.items[0]!.id <= lastPrior) return undefined;
          }
          return true;
        },
        'latches only for alarms raised after the acknowledgement',
        10_000,
      );
    } finally {
      assert.equal(await again.stop('SIGTERM'), 0, again.stderr());
    }
  });
});
