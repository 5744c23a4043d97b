// Headless Chromium for the panel tests (Debian's /usr/bin/chromium driven by playwright-core): launching,
// opening the panel with console-error and CSP-violation capture, screenshots under test-artifacts/screenshots/
// (collected with the test run's other artifacts), and cleanup. Reusable by any test that points it at a
// running appliance (openPanel(url)).
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { repoRoot } from './repo.ts';

export const CHROMIUM = process.env['SVDE_CHROMIUM'] ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.join(repoRoot, 'test-artifacts', 'screenshots');

/** Why Chromium cannot run here, or true. */
export function chromiumSupport(): true | string {
  return existsSync(CHROMIUM) ? true : `no Chromium at ${CHROMIUM} (set SVDE_CHROMIUM)`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'],
    timeout: 60_000,
  });
}

export interface PanelPage {
  page: Page;
  /** Console errors and uncaught page errors, in order (text). */
  errors: string[];
  /** Content-Security-Policy violations reported by the page (directive and blocked URI). */
  cspViolations(): Promise<string[]>;
  /** Errors that match none of the allowed patterns (e.g. an expected 403 while acknowledging). */
  unexpectedErrors(allowed?: RegExp[]): string[];
  /** Saves a full-page PNG as test-artifacts/screenshots/<name>.png; returns its path. */
  screenshot(name: string): Promise<string>;
  /** Closes the page, and the browser when openPanel launched it. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** A browser to open the page in; default: a new one, closed with the page. */
  browser?: Browser;
  /** Default 1600×1000, a cabinet screen. */
  viewport?: { width: number; height: number };
  /** Wait until this selector is visible (default '#indicators .ind': the status has loaded). */
  waitFor?: string | null;
  timeoutMs?: number;
}

/** Opens the panel at `url` (the appliance's base URL) and waits until it shows the device status. */
export async function openPanel(url: string, opts: OpenOptions = {}): Promise<PanelPage> {
  const own = opts.browser === undefined;
  const browser = opts.browser ?? (await launchChromium());
  try {
    const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1600, height: 1000 }, acceptDownloads: true });
    const page = await context.newPage();
    page.setDefaultTimeout(opts.timeoutMs ?? 15_000);
    const errors: string[] = [];
    page.on('console', (m: ConsoleMessage) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`);
    });
    page.on('pageerror', (e: Error) => errors.push(`pageerror: ${e.message}`));
    // Added through the DevTools protocol, so the page's own CSP does not block it. (A string: this
    // program is type-checked without the DOM library.)
    await page.addInitScript({
      content: `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber);
});`,
    });
    await page.goto(url, { waitUntil: 'load' });
    const waitFor = opts.waitFor === undefined ? '#indicators .ind' : opts.waitFor;
    if (waitFor !== null) await page.locator(waitFor).first().waitFor({ state: 'visible' });
    return {
      page,
      errors,
      cspViolations: async () => (await page.evaluate('window.__cspViolations ?? []')) as string[],
      unexpectedErrors: (allowed = []) => errors.filter((e) => !allowed.some((r) => r.test(e))),
      screenshot: async (name) => {
        mkdirSync(SCREENSHOT_DIR, { recursive: true });
        const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.png`);
        await page.screenshot({ path: file, fullPage: true });
        return file;
      },
      close: async () => {
        await context.close().catch(() => {});
        if (own) await browser.close().catch(() => {});
      },
    };
  } catch (e) {
    if (own) await browser.close().catch(() => {});
    throw e;
  }
}

/** What the panel shows now (for end-to-end tests against a running appliance). */
export interface PanelReading {
  nu: string | null;
  led: string | null;
  /** Alarm ids listed, newest first, with whether each shows as acknowledged. */
  alarms: Array<{ id: number; acknowledged: boolean; indicator: string | null }>;
  /** Indicator id → 'ok' | 'active' | 'latched'. */
  indicators: Record<string, string>;
  connection: string | null;
  degradedShown: boolean;
}

export async function readPanel(page: Page): Promise<PanelReading> {
  const alarms = await page.locator('#alarms li').evaluateAll((items) =>
    items.map((li) => ({
      id: Number(li.getAttribute('data-id')),
      acknowledged: li.getAttribute('data-acked') === 'true',
      indicator: li.getAttribute('data-indicator'),
    })),
  );
  const pairs = await page
    .locator('#indicators .ind')
    .evaluateAll((n) => n.map((e) => [e.getAttribute('data-id') ?? '', e.getAttribute('data-state') ?? '']));
  return {
    nu: await page.textContent('#nu-value'),
    led: await page.getAttribute('#led', 'data-pattern'),
    alarms,
    indicators: Object.fromEntries(pairs),
    connection: await page.getAttribute('#conn', 'data-state'),
    degradedShown: await page.isVisible('#degraded'),
  };
}

/**
 * Clicks an alarm's Acknowledge button; when the panel asks for a token (401/403) signs in with `token`.
 * Resolves when the page shows the alarm acknowledged.
 */
export async function acknowledgeOnPanel(page: Page, alarmId: number, token?: string): Promise<void> {
  const item = page.locator(`#alarms li[data-id="${alarmId}"]`);
  await item.locator('button[data-ack]').click();
  const login = page.locator('#login');
  // The losing waiter times out later: its rejection is caught, not left unhandled.
  const shown = await Promise.race([
    login.waitFor({ state: 'visible' }).then(
      () => 'login' as const,
      () => 'timeout' as const,
    ),
    page.waitForSelector(`#alarms li[data-id="${alarmId}"][data-acked="true"]`).then(
      () => 'done' as const,
      () => 'timeout' as const,
    ),
  ]);
  if (shown === 'timeout') throw new Error(`alarm ${alarmId}: neither acknowledged nor a login form after the click`);
  if (shown === 'login') {
    if (token === undefined) throw new Error(`acknowledging alarm ${alarmId} needs a token: ${await page.textContent('#login-reason')}`);
    await page.fill('#login-token', token);
    await page.click('#login-submit');
    await login.waitFor({ state: 'hidden' });
    await page.waitForSelector(`#alarms li[data-id="${alarmId}"][data-acked="true"]`);
  }
}
