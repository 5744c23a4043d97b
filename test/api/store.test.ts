// The API over the real evidence store (SQLite in a temp dir) and the real exporter: paging from SQL,
// acknowledgement committed to the database, a pcap download that tshark reads, a COMTRADE record.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EvidenceExporter } from '../../src/api/server.ts';
import type { Alarm, AlarmCategory } from '../../src/model/indicators.ts';
import { gradeOf } from '../../src/model/indicators.ts';
import { exportComtrade, exportPcap } from '../../src/export/index.ts';
import { encodeFrame } from '../../src/sv/encode.ts';
import { EvidenceStore } from '../../src/store/store.ts';
import type { AlarmRecord, EvidenceFrame, Page } from '../../src/model/records.ts';
import { FakeDevice } from './fixtures/device.ts';
import { startApi, type Harness } from './harness.ts';

const T0 = 1_767_225_600_000_000_000n;

function frames(n: number): EvidenceFrame[] {
  const out: EvidenceFrame[] = [];
  for (let i = 0; i < n; i++) {
    const seq = new Uint8Array(64);
    const dv = new DataView(seq.buffer);
    for (let ch = 0; ch < 8; ch++) dv.setInt32(ch * 8, Math.round(1000 * Math.sin((2 * Math.PI * 50 * i) / 4000 + ch)));
    const { bytes } = encodeFrame({
      dst: '01:0c:cd:04:00:01',
      src: '00:11:22:33:44:55',
      appId: 0x4000,
      asdus: [{ svID: 'MU01SV', smpCnt: i, confRev: 1, smpSynch: 2, seqData: seq }],
    });
    out.push({ tsNs: T0 + BigInt(i) * 250_000n, bytes });
  }
  return out;
}

function exporter(store: EvidenceStore): EvidenceExporter {
  return {
    pcap: (id) => {
      try {
        return exportPcap(store, id);
      } catch {
        return undefined;
      }
    },
    comtrade: (id, format) => {
      try {
        const c = exportComtrade(store, id, { format });
        return c === undefined ? undefined : { cfg: c.cfg, dat: c.dat, cff: c.cff };
      } catch {
        return undefined;
      }
    },
  };
}

describe('API over the real evidence store', () => {
  let dir = '';
  let store: EvidenceStore;
  let h: Harness<EvidenceStore>;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-api-store-'));
    store = new EvidenceStore({ path: path.join(dir, 'svde.db'), retentionEveryMs: 0 });
    for (let i = 0; i < 130; i++) {
      const indicator: AlarmCategory = i % 2 === 0 ? 'logic' : 'mac';
      const ts = T0 + BigInt(i) * 1_000_000_000n;
      const a: Alarm = {
        id: i + 1,
        indicator,
        grade: gradeOf(indicator),
        stream: 'MU01',
        reason: 'test',
        firstFrame: i,
        firstTsNs: ts,
        lastFrame: i,
        lastTsNs: ts,
        frames: 1,
      };
      store.alarmRaised(a);
    }
    store.addEvidence(1, frames(80), true, 'MU01');
    store.flush();
    h = await startApi({ evidence: exporter(store) }, new FakeDevice(store));
  });
  after(async () => {
    await h?.close();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pages through alarms stored in SQLite', async () => {
    const ids: number[] = [];
    let next: string | null = null;
    do {
      const r = await h.get(`/api/v1/alarms?limit=50${next === null ? '' : `&cursor=${encodeURIComponent(next)}`}`);
      assert.equal(r.status, 200);
      const page = (await r.json()) as Page<AlarmRecord>;
      assert.equal(page.total, 130);
      ids.push(...page.items.map((a) => a.id));
      next = page.next;
    } while (next !== null);
    assert.equal(ids.length, 130);
    assert.equal(new Set(ids).size, 130);
    const mac = (await (await h.get('/api/v1/alarms?indicator=mac&minGrade=1&limit=5')).json()) as Page<AlarmRecord>;
    assert.equal(mac.total, 65);
    assert.ok(mac.items.every((a) => a.indicator === 'mac'));
    const status = (await (await h.get('/api/v1/status')).json()) as { indicators: Record<string, { count: number }> };
    assert.equal(status.indicators['logic']?.count, 65);
  });

  it('an acknowledgement through the API is committed to the database', async () => {
    const r = await h.post('/api/v1/alarms/2/ack', {});
    assert.equal(r.status, 200);
    assert.deepEqual(((await r.json()) as { alarmIds: number[] }).alarmIds, [2]);
    const reopened = new EvidenceStore({ path: store.path, retentionEveryMs: 0, check: 'none' });
    try {
      assert.equal(reopened.getAlarm(2)?.acknowledged?.by, 'operator-test');
    } finally {
      reopened.close();
    }
  });

  it('the pcap download is read by tshark; COMTRADE comes from the same frames', async () => {
    const r = await h.get('/api/v1/alarms/1/evidence.pcap');
    assert.equal(r.status, 200, await r.clone().text());
    const file = path.join(dir, 'alarm-1.pcap');
    writeFileSync(file, Buffer.from(await r.arrayBuffer()));
    const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'sv.smpCnt'], { encoding: 'utf8' });
    const counts = out.trim().split('\n').map(Number);
    assert.equal(counts.length, 80);
    assert.deepEqual(counts.slice(0, 3), [0, 1, 2]);
    const cfg = await (await h.get('/api/v1/alarms/1/evidence.cfg?format=ascii')).text();
    assert.match(cfg, /\r?\nASCII\r?\n/);
    const dat = await (await h.get('/api/v1/alarms/1/evidence.dat?format=ascii')).text();
    assert.equal(dat.trim().split(/\r?\n/).length, 80);
    const none = await h.get('/api/v1/alarms/5/evidence.pcap');
    assert.equal(none.status, 404);
    assert.match(((await none.json()) as { error: { message: string } }).error.message, /alarm 5 has no evidence/);
  });
});
