// The local panel in real headless Chromium, served by the real API server (buildApi) over the real device
// read model, indicator board and SQLite store (fixtures/device.ts). The test drives the device: alarms
// appear live, acknowledgements clicked on the page reach the store, the LED state shown follows, degraded
// states show; no console errors and no CSP violations. Screenshots go to test-artifacts/screenshots/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { buildApi } from '../../src/api/server.ts';
import { TokenStore } from '../../src/api/tokens.ts';
import { panelPlugin, PANEL_CSP } from '../../src/panel/plugin.ts';
import { acknowledgeOnPanel, chromiumSupport, launchChromium, openPanel, readPanel, type PanelPage } from '../helpers/chromium.ts';
import { createPanelFixture, type PanelFixture } from './fixtures/device.ts';

const support = chromiumSupport();
const skip = support === true ? false : support;

async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Served {
  fx: PanelFixture;
  app: FastifyInstance;
  url: string;
  operatorToken: string;
  ticker: NodeJS.Timeout;
}

async function serve(trustLoopbackAs: 'viewer' | undefined): Promise<Served> {
  const fx = createPanelFixture();
  const tokens = TokenStore.inMemory();
  const { token } = await tokens.add('operator', 'panel-operator');
  const app = await buildApi({
    device: fx.device,
    tokens,
    evidence: fx.evidence,
    plugins: [panelPlugin()],
    ...(trustLoopbackAs !== undefined ? { trustLoopbackAs } : {}),
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  // The appliance pushes status, streams and waveforms every second; faster here.
  const ticker = setInterval(() => fx.tick(), 250);
  return { fx, app, url: address, operatorToken: token, ticker };
}

async function stop(s: Served | undefined): Promise<void> {
  if (s === undefined) return;
  clearInterval(s.ticker);
  await s.app.close();
  s.fx.close();
}

// Loading a resource that answers 401/403 is logged by Chromium as a console error; those are the expected
// refusals before signing in, nothing else is allowed.
const EXPECTED_REFUSALS = [/Failed to load resource: the server responded with a status of 40[13]/];

describe('panel files', () => {
  let s: Served | undefined;
  before(async () => {
    s = await serve('viewer');
  });
  after(() => stop(s));

  test('/ and /panel/* with content types, CSP and no inline script or style', async () => {
    const index = await fetch(`${s!.url}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('content-security-policy'), PANEL_CSP);
    assert.match(PANEL_CSP, /script-src 'self'(;|$)/);
    assert.doesNotMatch(PANEL_CSP, /unsafe-inline|unsafe-eval/);
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    const html = await index.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script');
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
    assert.doesNotMatch(html, /\sstyle=|<style/i, 'no inline style');
    for (const [file, type] of [
      ['panel.js', 'text/javascript; charset=utf-8'],
      ['api.js', 'text/javascript; charset=utf-8'],
      ['charts.js', 'text/javascript; charset=utf-8'],
      ['panel.css', 'text/css; charset=utf-8'],
      ['favicon.svg', 'image/svg+xml'],
    ]) {
      const r = await fetch(`${s!.url}/panel/${file}`);
      assert.equal(r.status, 200, file);
      assert.equal(r.headers.get('content-type'), type, file);
      const etag = r.headers.get('etag')!;
      assert.equal((await fetch(`${s!.url}/panel/${file}`, { headers: { 'if-none-match': etag } })).status, 304, `${file} revalidates`);
    }
    for (const bad of ['nope.js', '..%2Fplugin.ts', '..%2F..%2F..%2Fpackage.json', 'plugin.ts']) {
      const r = await fetch(`${s!.url}/panel/${bad}`);
      assert.equal(r.status, 404, bad);
      const body = (await r.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'NOT_FOUND');
    }
  });
});

describe('panel in Chromium', { skip }, () => {
  let s: Served | undefined;
  let browser: Browser | undefined;
  let p: PanelPage | undefined;
  before(async () => {
    s = await serve('viewer');
    browser = await launchChromium();
  });
  after(async () => {
    await p?.close();
    await browser?.close();
    await stop(s);
  });

  test('loads: νn 0, heartbeat, nine indicators, streams, waveform and phasors', async () => {
    p = await openPanel(s!.url, { browser: browser! });
    const page = p.page;
    await until('νn 0', async () => (await page.textContent('#nu-value')) === '0');
    assert.equal(await page.getAttribute('#led', 'data-pattern'), 'heartbeat');
    assert.equal(await page.textContent('#led-text'), 'Running');
    assert.equal(await page.locator('#indicators .ind').count(), 9);
    assert.deepEqual(
      await page.locator('#indicators .ind').evaluateAll((n) => n.map((e) => e.getAttribute('data-state'))),
      Array(9).fill('ok'),
    );
    await until('streams', async () => (await page.locator('#streams tr').count()) === 2);
    assert.equal(await page.textContent('#streams tr[data-stream="MU01"] td:nth-child(2)'), '0x4000');
    assert.equal(await page.textContent('#streams tr[data-stream="MU01"] td:nth-child(8)'), '100 %');
    assert.equal(await page.getAttribute('#streams tr[data-stream="MU01"]', 'class'), 'chosen');
    await until('phasor table', async () => (await page.locator('#phasor-table tr').count()) === 6);
    // The waveform canvas has been drawn on (not blank).
    // (Page code as a string: this program is type-checked without the DOM library.)
    const inked = (await page.evaluate(`(() => {
      const c = document.getElementById('waveform');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    })()`)) as number;
    assert.ok(inked > 1000, `waveform pixels drawn: ${inked}`);
    await until('live', async () => (await page.getAttribute('#conn', 'data-state')) === 'live');
    assert.equal(await page.locator('#login').isVisible(), false, 'read-only demo: no login form');
    await until('health line', async () => /capture ok.*chip ok.*storage ok.*LED absent/.test((await page.textContent('#health')) ?? ''));
    await p.screenshot('panel-idle');
  });

  test('choosing another stream shows its waveform live', async () => {
    const page = p!.page;
    await page.click('#streams tr[data-stream="MU02"]');
    await until('MU02 chosen', async () => (await page.getAttribute('#streams tr[data-stream="MU02"]', 'class')) === 'chosen');
    assert.equal(await page.inputValue('#stream-select'), 'MU02');
    // The live connection now carries MU02's waveform.
    await until(
      'live waveform events for MU02',
      async () =>
        (await page.getAttribute('#waveform', 'data-stream')) === 'MU02' &&
        Number(await page.getAttribute('#waveform', 'data-live-updates')) >= 2,
    );
    await page.selectOption('#stream-select', 'MU01');
    await until('MU01 chosen', async () => (await page.getAttribute('#streams tr[data-stream="MU01"]', 'class')) === 'chosen');
    await page.setViewportSize({ width: 1280, height: 800 });
    await p!.screenshot('panel-1280x800');
    await page.setViewportSize({ width: 1600, height: 1000 });
  });

  test('an alarm appears live, with evidence links; νn and the LED follow', async () => {
    const page = p!.page;
    const a = s!.fx.raise('mac', { reason: 'source 02:00:00:00:00:66 not in the accept list', evidenceFrames: 12 });
    const item = page.locator(`#alarms li[data-id="${a.id}"]`);
    await item.waitFor({ state: 'visible' });
    await until('νn 1', async () => (await page.textContent('#nu-value')) === '1');
    assert.equal(await page.getAttribute('#led', 'data-pattern'), 'red-steady');
    assert.equal(await page.getAttribute('#indicators .ind[data-id="mac"]', 'data-state'), 'latched');
    assert.equal(await page.textContent('#indicators .ind[data-id="mac"] .count'), '1');
    assert.match((await item.textContent())!, /Source MAC.*MU01.*not in the accept list/s);
    assert.equal(await item.getAttribute('data-acked'), 'false');
    // Evidence downloads: same-origin links to the API, answered with the files.
    const pcapHref = await item.locator('a[data-evidence="pcap"]').getAttribute('href');
    const cffHref = await item.locator('a[data-evidence="cff"]').getAttribute('href');
    assert.equal(pcapHref, `/api/v1/alarms/${a.id}/evidence.pcap`);
    assert.equal(cffHref, `/api/v1/alarms/${a.id}/evidence.cff?format=binary`);
    const pcap = await page.request.get(`${s!.url}${pcapHref}`);
    assert.equal(pcap.status(), 200);
    assert.equal((await pcap.body()).readUInt32LE(0), 0xa1b2c3d4);
    const download = page.waitForEvent('download');
    await item.locator('a[data-evidence="cff"]').click();
    assert.equal((await download).suggestedFilename(), `svde-alarm-${a.id}.cff`);
    assert.equal(await page.isVisible('#ack-all'), true);
    await p!.screenshot('panel-alarm');
  });

  test('acknowledging asks for an operator token (403 for the demo viewer), then reaches the store', async () => {
    const page = p!.page;
    const a = s!.fx.store.listAlarms({ indicator: 'mac', limit: 1 }).items[0]!;
    await page.click(`#alarms li[data-id="${a.id}"] button[data-ack]`);
    await page.locator('#login').waitFor({ state: 'visible' });
    assert.match((await page.textContent('#login-reason'))!, /operator token/);
    await p!.screenshot('panel-login');
    await page.fill('#login-token', 'svde_wrong.token');
    await page.click('#login-submit');
    await until('login error', async () => page.isVisible('#login-error'));
    assert.match((await page.textContent('#login-error'))!, /not valid/);
    await page.fill('#login-token', s!.operatorToken);
    await page.click('#login-submit');
    await page.locator('#login').waitFor({ state: 'hidden' });
    // The action is retried after signing in: the device's acknowledge got the alarm id, the store has it.
    await until('acknowledge reaches the device', () => s!.fx.device.acks.find((k) => 'alarmId' in k.target && k.target.alarmId === a.id));
    const ack = s!.fx.device.acks.find((k) => 'alarmId' in k.target && k.target.alarmId === a.id)!;
    assert.equal(ack.by, 'panel-operator');
    assert.equal(s!.fx.store.getAlarm(a.id)!.acknowledged?.by, 'panel-operator');
    await until('acknowledged shown', async () => (await page.getAttribute(`#alarms li[data-id="${a.id}"]`, 'data-acked')) === 'true');
    assert.match((await page.textContent(`#alarms li[data-id="${a.id}"]`))!, /ack\. panel-operator/);
    // Acknowledged but still active: red blinking, νn still 1.
    await until('red blink', async () => (await page.getAttribute('#led', 'data-pattern')) === 'red-blink');
    assert.equal(await page.textContent('#nu-value'), '1');
    assert.equal(await page.getAttribute('#indicators .ind[data-id="mac"]', 'data-state'), 'active');
    assert.match((await page.textContent('#who'))!, /panel-operator \(operator\)/);
    await p!.screenshot('panel-acknowledged');
    // The episode ends: νn 0, heartbeat.
    s!.fx.end(a.id);
    await until('νn 0', async () => (await page.textContent('#nu-value')) === '0');
    assert.equal(await page.getAttribute('#led', 'data-pattern'), 'heartbeat');
  });

  test('acknowledge per indicator and all', async () => {
    const page = p!.page;
    const rate = s!.fx.raise('rate', { stream: 'MU02', reason: 'frame rate 9000/s above 4400/s' });
    const logic = s!.fx.raise('logic', { stream: 'MU02', reason: 'smpCnt jumped from 17 to 3001' });
    await page.locator(`#alarms li[data-id="${logic.id}"]`).waitFor();
    const ackRate = page.locator('#indicators .ind[data-id="rate"] .ack-one');
    await ackRate.waitFor({ state: 'visible' });
    await ackRate.click();
    await until('indicator ack', () => s!.fx.device.acks.find((k) => 'indicator' in k.target && k.target.indicator === 'rate'));
    assert.equal(s!.fx.store.getAlarm(rate.id)!.acknowledged?.by, 'panel-operator');
    await until('rate acknowledged', async () => (await page.getAttribute('#indicators .ind[data-id="rate"]', 'data-state')) === 'active');
    assert.equal(await page.getAttribute('#indicators .ind[data-id="logic"]', 'data-state'), 'latched');
    await page.click('#ack-all');
    await until('ack all', () => s!.fx.device.acks.find((k) => 'all' in k.target));
    assert.equal(s!.fx.store.getAlarm(logic.id)!.acknowledged?.by, 'panel-operator');
    await until('all acknowledged', async () => (await page.getAttribute(`#alarms li[data-id="${logic.id}"]`, 'data-acked')) === 'true');
    await until('ack-all hidden', async () => !(await page.isVisible('#ack-all')));
    s!.fx.end(rate.id);
    s!.fx.end(logic.id);
    const st = s!.fx.device.status();
    assert.equal(st.nu, 0, JSON.stringify(Object.values(st.indicators).filter((i) => i.active || i.latched)));
    await until('νn 0', async () => (await page.textContent('#nu-value')) === '0');
  });

  test('hostile text from the bus is shown as text', async () => {
    const page = p!.page;
    const a = s!.fx.raise('logic', { stream: 'MU02', reason: '<img src=x id=pwned> svID "<script>alert(1)</script>"' });
    const item = page.locator(`#alarms li[data-id="${a.id}"]`);
    await item.waitFor();
    assert.equal(await page.locator('#pwned').count(), 0);
    assert.match((await item.locator('.reason').textContent())!, /<img src=x id=pwned>/);
    s!.fx.end(a.id);
  });

  test('degraded states are visible with their reason', async () => {
    const page = p!.page;
    // Acknowledge what is latched so the degraded pattern shows (an unacknowledged alarm outranks it).
    if (await page.isVisible('#ack-all')) await page.click('#ack-all');
    await until(
      'nothing latched',
      () => s!.fx.device.status().nu === 0 || Object.values(s!.fx.device.status().indicators).every((i) => !i.latched),
    );
    s!.fx.setDegraded('chip', true, 'chip not answering on /dev/pts/9');
    await page.locator('#degraded').waitFor({ state: 'visible' });
    await until('degraded LED', async () => (await page.getAttribute('#led', 'data-pattern')) === 'degraded');
    await until('reason shown', async () => /chip: failed — chip not answering/.test((await page.textContent('#degraded')) ?? ''));
    assert.match((await page.textContent('#health'))!, /chip failed/);
    await p!.screenshot('panel-degraded');
    s!.fx.setDegraded('chip', false);
    await page.locator('#degraded').waitFor({ state: 'hidden' });
  });

  test('alarm to screen: how long until a raised alarm shows (reported, not asserted)', async (t) => {
    const page = p!.page;
    const ms: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      const a = s!.fx.raise('faultMatch', { stream: 'MU01', reason: `matches recorded fault #${i}` });
      await page.locator(`#alarms li[data-id="${a.id}"]`).waitFor();
      ms.push(performance.now() - t0);
      s!.fx.end(a.id);
    }
    ms.sort((x, y) => x - y);
    t.diagnostic(
      `alarm raised → shown in the panel: median ${ms[7]!.toFixed(1)} ms, max ${ms[14]!.toFixed(1)} ms (n = 15, includes the test's polling)`,
    );
    await page.click('#ack-all');
    await until('all acknowledged', () => s!.fx.device.status().nu === 0);
  });

  test('no console errors beyond the expected refusal, no CSP violations', async () => {
    assert.deepEqual(p!.unexpectedErrors(EXPECTED_REFUSALS), []);
    assert.deepEqual(await p!.cspViolations(), []);
  });
});

describe('panel without loopback trust', { skip }, () => {
  let s: Served | undefined;
  let p: PanelPage | undefined;
  before(async () => {
    s = await serve(undefined);
  });
  after(async () => {
    await p?.close();
    await stop(s);
  });

  test('a 401 at load shows the login form; after signing in the panel loads and goes live', async () => {
    p = await openPanel(s!.url, { waitFor: '#login' });
    const page = p.page;
    assert.match((await page.textContent('#login-reason'))!, /needs a token/);
    await page.fill('#login-token', s!.operatorToken);
    await page.click('#login-submit');
    await page.locator('#login').waitFor({ state: 'hidden' });
    await until('νn shown', async () => (await page.textContent('#nu-value')) === '0');
    await until('live', async () => (await page.getAttribute('#conn', 'data-state')) === 'live');
    const a = s!.fx.raise('signature', { reason: 'signature does not verify' });
    await page.locator(`#alarms li[data-id="${a.id}"]`).waitFor();
    const r = await readPanel(page);
    assert.equal(r.nu, '1');
    assert.equal(r.led, 'red-steady');
    assert.deepEqual(r.alarms[0], { id: a.id, acknowledged: false, indicator: 'signature' });
    assert.equal(r.indicators['signature'], 'latched');
    // Signed in as operator already: acknowledging needs no second login.
    await acknowledgeOnPanel(page, a.id);
    assert.equal(s!.fx.store.getAlarm(a.id)!.acknowledged?.by, 'panel-operator');
    assert.equal((await readPanel(page)).indicators['signature'], 'active');
    assert.deepEqual(p.unexpectedErrors(EXPECTED_REFUSALS), []);
    assert.deepEqual(await p.cspViolations(), []);
  });
});
