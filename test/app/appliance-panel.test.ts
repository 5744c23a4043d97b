// The local panel of the real appliance (`svde run`, embedded demo) in headless Chromium: it loads, shows
// the scripted attack as it happens, and an acknowledgement made on the panel (with the operator token the
// demo prints) reaches the evidence store. Screenshots are kept under test-artifacts/screenshots/.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { canCreateTestbed } from '../../tools/sim/testbed.ts';
import { eventually, startRun } from '../helpers/appliance.ts';
import { acknowledgeOnPanel, chromiumSupport, openPanel, readPanel } from '../helpers/chromium.ts';
import { svde } from '../helpers/repo.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'svde-panel-e2e-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const chromium = chromiumSupport();
const skip = !canCreateTestbed() ? 'needs root for network namespaces' : chromium !== true ? chromium : false;

describe('the local panel of the running appliance', { skip }, () => {
  it('loads, shows an attack as it happens, and an acknowledgement on the panel reaches the store', async () => {
    const state = path.join(dir, 'state');
    const app = await startRun(['--http', '127.0.0.1:0', '--state-dir', state, '--mus', '2', '--scenario-seconds', '8', '--json']);
    let panel: Awaited<ReturnType<typeof openPanel>> | undefined;
    try {
      panel = await openPanel(`${app.url}/`);
      await panel.screenshot('appliance-demo-start');
      // The first scenario injects a second smpCnt sequence into MU1: the alarm appears without a reload.
      const shown = await eventually(
        async () => {
          const r = await readPanel(panel!.page);
          return r.alarms.find((a) => a.indicator === 'logic' && !a.acknowledged);
        },
        'a logic alarm on the panel',
        60_000,
        500,
      );
      const reading = await readPanel(panel.page);
      assert.equal(reading.nu, '1');
      assert.equal(reading.indicators['logic'], 'latched');
      await panel.screenshot('appliance-demo-attack');

      await acknowledgeOnPanel(panel.page, shown.id, app.token);
      await panel.screenshot('appliance-demo-acknowledged');
      const res = await fetch(`${app.url}/api/v1/alarms/${shown.id}`);
      const stored = (await res.json()) as { acknowledged: { by: string } | null };
      assert.ok(stored.acknowledged !== null, 'the acknowledgement is in the store');
      assert.equal(stored.acknowledged.by, 'demo-operator');
      assert.deepEqual(await panel.cspViolations(), []);
      assert.deepEqual(panel.unexpectedErrors([/403/, /401/, /Forbidden/i, /Unauthorized/i]), []);
    } finally {
      await panel?.close();
      assert.equal(await app.stop('SIGTERM'), 0, app.stderr());
    }
    const list = await svde(['export', '--db', path.join(state, 'svde.db'), '--list']);
    assert.ok(
      list.stdout.split('\n').some((l) => l.includes('"demo-operator"')),
      'persisted after shutdown',
    );
  });
});
