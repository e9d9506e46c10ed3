import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Page, type WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDashboardRoutes } from '../api/dashboard-routes.js';
import { createLogger } from '../core/logger.js';
import { listen } from '../core/server.js';
import { uWS } from '../core/uws.js';
import { buildDashboard } from '../scripts/build-dashboard.js';
import { launchChromium } from './browser.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './helpers.js';
import { sendAll } from './pipeline-check.js';

/**
 * The dashboard end to end: built with scripts/build-dashboard.ts, served by the api
 * role, driven in headless Chromium against the whole stack (ingest, aggregator,
 * realtime, alerts, api). Screenshots go to the test's artifact directory, and with
 * UPDATE_SCREENSHOTS=1 to docs/img/.
 */

const MINUTE = 60_000;
const DAY = 86_400_000;
const SETTINGS = { LIVE_FLUSH_MS: '20', ALERTS_RULES_REFRESH_MS: '200', ALERTS_LEASE_MS: '1000' };
const ARTIFACTS = join(tmpdir(), 'signalboard-test-results', 'dashboard');
const DOCS_IMG = fileURLToPath(new URL('../docs/img/', import.meta.url));
const WAIT = { timeout: 10_000 };

interface Project {
  id: string;
  name: string;
  writeKey: string;
  readKey: string;
  adminKey: string;
}

interface Event {
  event: string;
  userId: string;
  eventId: string;
  timestamp: number;
  properties?: Record<string, string>;
}

let sent = 0;
const PLATFORMS = ['web', 'ios', 'android'];
const event = (name: string, userId: string, timestamp = Date.now()): Event => ({ event: name, userId, eventId: `d${sent}`, timestamp, properties: { platform: PLATFORMS[sent++ % PLATFORMS.length]! } });
const countBy = (events: Event[], key: string) => events.reduce<Record<string, number>>((acc, e) => ({ ...acc, [e.properties![key]!]: (acc[e.properties![key]!] ?? 0) + 1 }), {});

/**
 * Two weeks of a small shop: daily cohorts coming back less and less, and the last hour
 * of traffic (ending three minutes ago, so a fresh one-minute alert rule starts clear).
 */
function shopHistory(now: number): Event[] {
  const events: Event[] = [];
  const today = Math.floor(now / DAY);
  for (let d = 13; d >= 1; d--) {
    const size = 6 + ((d * 5) % 7);
    for (let i = 0; i < size; i++) {
      for (let k = 0; k <= d; k++) {
        if (k > 0 && (i * 13 + k * 7) % 10 >= Math.max(2, 8 - k)) continue;
        const day = today - d + k;
        const at = day === today ? now - 4 * MINUTE - ((i * 7 + k) % 50) * MINUTE : day * DAY + 9 * 3_600_000 + i * 600_000;
        events.push(event(k === 0 ? 'signup' : 'page_view', `c${d}-${i}`, Math.max(at, day * DAY)));
      }
    }
  }
  const mix: [string, number][] = [['page_view', 6], ['search', 3], ['add_to_cart', 2], ['purchase', 1]];
  for (let m = 58; m >= 3; m--) {
    const wave = 1 + Math.round(2 * (1 + Math.sin(m / 7)));
    const at = Math.max(now - m * MINUTE, today * DAY);
    for (const [name, weight] of mix) for (let j = 0; j < weight * wave; j++) events.push(event(name, `v${(m * 3 + j) % 40}`, at + j * 500));
  }
  return events;
}

/** A raw request, as a client that does not normalise paths would send it. */
function rawGet(port: number, path: string): Promise<string> {
  return new Promise((done, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('end', () => done(text));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
  });
}

describe('the dashboard', () => {
  let server: TestServer;
  let browser: Browser;
  let dashboardDir: string;
  let shop: Project;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  const api = async (path: string, key: string) => {
    const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  /** A page of its own (own storage), recording what it sends on /v1/live and letting the test cut the connection. */
  async function openPage(viewport = { width: 1280, height: 900 }) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    // The page keeps to its Content-Security-Policy (a violation is only a console message).
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) pageErrors.push(message.text());
    });
    const live = { sent: [] as Record<string, unknown>[], sockets: [] as { page: WebSocketRoute; server: WebSocketRoute }[], refuse: false };
    await page.routeWebSocket(/\/v1\/live/, (ws) => {
      if (live.refuse) {
        void ws.close({ code: 4503, reason: 'test: storage unreachable' });
        return;
      }
      const upstream = ws.connectToServer();
      live.sockets.push({ page: ws, server: upstream });
      ws.onMessage((message) => {
        live.sent.push(JSON.parse(String(message)) as Record<string, unknown>);
        upstream.send(message);
      });
    });
    return { page, live };
  }

  const text = (page: Page, selector: string) => page.locator(selector).innerText();
  const figure = async (page: Page, selector: string) => Number((await text(page, selector)).replace(/,/g, ''));
  const screenshot = async (page: Page, name: string) => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, name);
    await page.screenshot({ path, fullPage: true, animations: 'disabled' });
    if (process.env.UPDATE_SCREENSHOTS === '1') {
      mkdirSync(DOCS_IMG, { recursive: true });
      copyFileSync(path, join(DOCS_IMG, name));
    }
  };

  beforeAll(async () => {
    dashboardDir = mkdtempSync(join(tmpdir(), 'sb-dashboard-'));
    await buildDashboard(dashboardDir);
    server = await startTestServer({ ...SETTINGS, DASHBOARD_DIR: dashboardDir }, ['ingest', 'aggregator', 'realtime', 'api', 'alerts']);
    const res = await fetch(`${server.url}/v1/projects`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify({ name: 'Acme Shop' }) });
    shop = (await res.json()) as Project;
    // Sent now, so the aggregator works through it while the first tests run.
    await sendAll(server.url, shop.writeKey, shopHistory(Date.now()));
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
    if (dashboardDir !== undefined) rmSync(dashboardDir, { recursive: true, force: true });
  });

  it('serves the built page and hashed assets with their cache headers, HEAD too, and nothing else', async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="(assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.map((a) => a.replace(/-[A-Z0-9]{8}\./, '-HASH.')).sort()).toEqual(['assets/app-HASH.js', 'assets/style-HASH.css']);
    expect(assets.sort()).toEqual(readdirSync(join(dashboardDir, 'assets')).map((f) => `assets/${f}`).sort());
    for (const asset of assets) {
      const res = await fetch(`${server.url}/${asset}`);
      expect(res.status, asset).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-type')).toBe(asset.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      const body = await res.arrayBuffer();
      const head = await fetch(`${server.url}/${asset}`, { method: 'HEAD', headers: { 'accept-encoding': 'identity' } });
      expect(head.status).toBe(200);
      expect(Number(head.headers.get('content-length'))).toBeGreaterThan(body.byteLength / 10);
      expect(await head.text()).toBe('');
    }
    // The stylesheet carries uPlot's own rules.
    expect(await (await fetch(`${server.url}/${assets.find((a) => a.endsWith('.css'))}`)).text()).toContain('.uplot');
    // The browser SDK beside it, for any site's script tag.
    const sdk = await fetch(`${server.url}/sdk/signalboard.min.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(sdk.status).toBe(200);
    expect([sdk.headers.get('cache-control'), sdk.headers.get('access-control-allow-origin'), sdk.headers.get('content-type')]).toEqual(['public, max-age=3600', '*', 'text/javascript; charset=utf-8']);
    expect(await sdk.text()).toContain('signalboard');
    expect((await fetch(`${server.url}/sdk/nope.js`)).status).toBe(404);
    const missing = await fetch(`${server.url}/assets/app-NOTTHERE.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'SB_NOT_FOUND' } });
    const port = Number(new URL(server.url).port);
    for (const path of ['/assets/../package.json', '/assets/..%2f..%2fpackage.json', '/assets/%2e%2e/%2e%2e/package.json', '/assets//etc/passwd']) {
      const answer = await rawGet(port, path);
      expect(answer, path).toMatch(/^HTTP\/1\.1 404/);
      expect(answer, path).not.toContain('"name": "signalboard"');
    }
  });

  it('answers 503 saying how to build it when the dashboard was not built', async () => {
    const app = uWS.App();
    const empty = mkdtempSync(join(tmpdir(), 'sb-no-dashboard-'));
    registerDashboardRoutes(app, { logger: createLogger('silent') }, empty);
    const listening = await listen(app, '127.0.0.1', 0);
    try {
      const res = await fetch(`http://127.0.0.1:${listening.port}/`);
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/not built.*npm run build/s);
    } finally {
      listening.stopListening();
      listening.closeConnections();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('GET /v1/project names the key\'s project', async () => {
    expect(await api('/v1/project', shop.readKey)).toEqual({ status: 200, body: { id: shop.id, name: 'Acme Shop', dimensions: ['platform', 'country', 'appVersion'] } });
    expect(await api(`/v1/project?project=${shop.id}`, ADMIN_TOKEN)).toEqual({ status: 200, body: { id: shop.id, name: 'Acme Shop', dimensions: ['platform', 'country', 'appVersion'] } });
    expect((await api('/v1/project', shop.writeKey)).body).toMatchObject({ error: { code: 'SB_AUTH_WRONG_KEY' } });
    expect((await api('/v1/project?project=nope', ADMIN_TOKEN)).status).toBe(404);
    expect((await fetch(`${server.url}/v1/project`)).status).toBe(401);
  });

  it('says clearly when the key is wrong, and keeps it out of the address bar and storage', async () => {
    const { page } = await openPage();
    await page.goto(`${server.url}/#key=sbr_${'x'.repeat(43)}`);
    await page.locator('#login').waitFor({ state: 'visible', ...WAIT });
    expect(await text(page, '#login-error')).toMatch(/This key was refused: the key is not valid for any project/);
    expect(new URL(page.url()).hash).toBe('');
    expect(await page.evaluate('localStorage.getItem("signalboard.readKey")')).toBeNull();
    expect(await page.locator('#board').isHidden()).toBe(true);
    // Typing a write key says which key it is.
    const fresh = await fetch(`${server.url}/v1/projects`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: '{"name":"Other"}' });
    const other = (await fresh.json()) as Project;
    await page.locator('#read-key').fill(other.writeKey);
    await page.keyboard.press('Enter');
    await expect.poll(() => text(page, '#login-error'), WAIT).toMatch(/write key/);
  });

  it('logs in with #key=, goes live, shows an empty project as such, then updates as events arrive', async () => {
    const res = await fetch(`${server.url}/v1/projects`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: '{"name":"Fresh project"}' });
    const fresh = (await res.json()) as Project;
    const { page } = await openPage();
    await page.goto(`${server.url}/#key=${fresh.readKey}`);
    await expect.poll(() => text(page, '#project-name'), WAIT).toBe('Fresh project');
    await expect.poll(() => page.locator('#conn').getAttribute('data-state'), WAIT).toBe('live');
    expect(await text(page, '#conn-text')).toBe('Live');
    await page.locator('#empty-project').waitFor({ state: 'visible', ...WAIT });
    expect(await text(page, '#top-empty')).toMatch(/No events/);
    expect(new URL(page.url()).hash).toBe('');
    expect(await page.evaluate('localStorage.getItem("signalboard.readKey")')).toBe(fresh.readKey);

    const signups = Array.from({ length: 12 }, (_, i) => event('signup', `f${i}`));
    await sendAll(server.url, fresh.writeKey, [...signups, ...Array.from({ length: 30 }, (_, i) => event('page_view', `f${i % 12}`))]);
    await expect.poll(() => page.locator('#eps-value').getAttribute('data-value').then(Number), WAIT).toBeGreaterThan(0);
    await expect.poll(() => figure(page, '#now-value'), WAIT).toBe(12);
    await expect.poll(() => figure(page, '#dau-value'), WAIT).toBe(12);
    expect(await page.locator('#empty-project').isHidden()).toBe(true);
    const topEvents = async () => {
      const buttons = await page.locator('#top-events li:not([hidden]) button').all();
      return Promise.all(buttons.map(async (b) => `${await b.getAttribute('data-event')} ${await b.locator('.count').innerText()}`));
    };
    await expect.poll(topEvents, WAIT).toEqual(['page_view 30', 'signup 12']);
    // The chart follows the busiest event by default; choosing another (keyboard) redraws it.
    await expect.poll(() => page.locator('#chart').getAttribute('data-total'), WAIT).toBe('30');
    await page.locator('#top-events button[data-event="signup"]').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#chart').getAttribute('data-total'), WAIT).toBe('12');
    signups.push(event('signup', 'f99'));
    await sendAll(server.url, fresh.writeKey, signups.slice(-1));
    await expect.poll(() => page.locator('#chart').getAttribute('data-total'), WAIT).toBe('13');
    expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
    // Hour and day granularity: the API's buckets before the live feed plus the live minutes.
    await page.locator('input[name="granularity"][value="day"]').check();
    await expect.poll(() => page.locator('#chart').getAttribute('data-granularity'), WAIT).toBe('day');
    await expect.poll(() => page.locator('#chart').getAttribute('data-total'), WAIT).toBe('13');

    // The breakdown splits the charted range by a dimension; the choice is kept.
    expect(await text(page, '#breakdown-note')).toMatch(/Choose a dimension/);
    await page.getByLabel('Breakdown', { exact: true }).selectOption('platform');
    const breakdown = async () => Object.fromEntries(await Promise.all((await page.locator('#breakdown-list li').all()).map(async (li) => [await li.getAttribute('data-value'), Number(await li.getAttribute('data-total'))])));
    await expect.poll(breakdown, WAIT).toEqual(countBy(signups, 'platform'));
    expect(await text(page, '#breakdown-note')).toMatch(/signup by platform/);
    expect(await page.evaluate('localStorage.getItem("signalboard.breakdown")')).toBe('platform');
    // While the event's counts change it is read again (at most every 5 s).
    signups.push(event('signup', 'f100'), event('signup', 'f101'));
    await sendAll(server.url, fresh.writeKey, signups.slice(-2));
    await expect.poll(breakdown, { timeout: 15_000 }).toEqual(countBy(signups, 'platform'));
  });

  it('creates a threshold rule with the admin key through the form, showing the server\'s refusal first, and shows it firing', async () => {
    const { page } = await openPage();
    await page.goto(`${server.url}/#key=${shop.readKey}`);
    await expect.poll(() => page.locator('#conn').getAttribute('data-state'), WAIT).toBe('live');
    await page.getByLabel('Name', { exact: true }).fill('Signups');
    await page.getByLabel('Metric', { exact: true }).selectOption('count');
    await page.getByLabel('Event to count', { exact: true }).fill('signup');
    await page.getByLabel('Fires when it is', { exact: true }).selectOption('>');
    await page.getByLabel('Threshold', { exact: true }).fill('0');
    await page.getByLabel('Over the last', { exact: true }).selectOption('1m');
    await page.getByLabel('Admin key', { exact: true }).fill(`sba_${'y'.repeat(43)}`);
    await page.getByRole('button', { name: 'Create rule' }).click();
    await expect.poll(() => text(page, '#rule-error'), WAIT).toMatch(/The server refused the rule: .*not valid.*\(SB_AUTH_INVALID\)/);
    await page.getByLabel('Admin key', { exact: true }).fill(shop.adminKey);
    await page.getByRole('button', { name: 'Create rule' }).click();
    await expect.poll(() => text(page, '#rule-done'), WAIT).toMatch(/Rule “Signups” created: count of signup > 0 over 1m/);
    expect(await text(page, '#rule-error')).toBe('');
    await expect.poll(() => text(page, '#alerts-rules'), WAIT).toMatch(/Signups/);
    // The admin key is in no storage and no address.
    expect(await page.evaluate<string>('JSON.stringify({ ...localStorage }) + location.href')).not.toContain(shop.adminKey);

    // Signups until the evaluator (rules re-read every 200 ms) sees one in its current minute.
    let firing = false;
    for (let i = 0; i < 40 && !firing; i++) {
      await sendAll(server.url, shop.writeKey, [event('signup', `new${i}`)]);
      firing = await page.locator('#alerts-firing li', { hasText: 'Signups' }).waitFor({ timeout: 500 }).then(() => true, () => false);
    }
    expect(firing).toBe(true);
    await expect.poll(() => text(page, '#alerts-recent'), WAIT).toMatch(/firing\s*Signups/i);
    await expect.poll(() => text(page, '#alerts-rules'), WAIT).toMatch(/firing\s*Signups/i);
  }, 40_000);

  it('shows a lost connection, reconnects and resumes from its seq and epoch: nothing missed, nothing twice', async () => {
    const { page, live } = await openPage();
    await page.goto(`${server.url}/#key=${shop.readKey}`);
    await expect.poll(() => page.locator('#conn').getAttribute('data-state'), WAIT).toBe('live');
    await page.locator('#chart-event').fill('purchase');
    await page.keyboard.press('Enter');
    await sendAll(server.url, shop.writeKey, [event('purchase', 'r1')]);
    const chartTotal = () => page.locator('#chart').getAttribute('data-total').then(Number);
    const apiTotal = async () => {
      const to = new Date().toISOString();
      const from = new Date(Date.now() - 59 * MINUTE).toISOString();
      const { body } = await api(`/v1/metrics/timeseries?event=purchase&granularity=minute&from=${from}&to=${to}`, shop.readKey);
      return (body.points as { count: number }[]).reduce((a, p) => a + p.count, 0);
    };
    await expect.poll(async () => (await chartTotal()) === (await apiTotal()) && (await chartTotal()) > 0, WAIT).toBe(true);

    // The gateway goes away (1001), and the next attempt is refused: the page says so.
    live.refuse = true;
    await live.sockets[0]!.page.close({ code: 1001, reason: 'test: gateway restart' });
    await live.sockets[0]!.server.close();
    await expect.poll(() => page.locator('#conn').getAttribute('data-state'), WAIT).toBe('waiting');
    await expect.poll(() => text(page, '#banner'), WAIT).toMatch(/Live updates paused \(the server could not check the key.*\)\. The figures are as of/);
    expect(await page.locator('#reconnect').isVisible()).toBe(true);
    await sendAll(server.url, shop.writeKey, Array.from({ length: 5 }, (_, i) => event('purchase', `r${i + 2}`)));

    // Back, with the keyboard: the page resumes where its last sync left it.
    live.refuse = false;
    await page.locator('#reconnect').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#conn').getAttribute('data-state'), WAIT).toBe('live');
    const subscribes = live.sent.filter((m) => m.type === 'subscribe');
    expect(subscribes).toHaveLength(2);
    expect(subscribes[1]).toMatchObject({ resume: expect.any(Number), epoch: expect.stringMatching(/^\d+$/) });
    expect(live.sent.every((m) => !JSON.stringify(m).includes(shop.writeKey))).toBe(true);
    expect(live.sent.filter((m) => m.type === 'auth')).toEqual([{ type: 'auth', key: shop.readKey }, { type: 'auth', key: shop.readKey }]);
    await expect.poll(async () => (await chartTotal()) === (await apiTotal()), WAIT).toBe(true);
    expect(await page.locator('#banner').isHidden()).toBe(true);
  }, 30_000);

  it('shows the whole board with data at desktop and phone width (screenshots)', async () => {
    // Some traffic right now, so the rate and the chart's current minute are not empty.
    const now = Date.now();
    // A signup too: the rule stays firing (its one-minute window may have turned since).
    await sendAll(server.url, shop.writeKey, [event('signup', 'shot', now), ...Array.from({ length: 90 }, (_, i) => event(['page_view', 'search', 'add_to_cart', 'purchase'][i % 4]!, `v${i % 25}`, now - (i % 30) * 1000))]);
    for (const [name, viewport] of [['dashboard.png', { width: 1280, height: 900 }], ['dashboard-phone.png', { width: 390, height: 844 }]] as const) {
      const { page } = await openPage(viewport);
      await page.goto(`${server.url}/#key=${shop.readKey}`);
      await expect.poll(() => page.locator('#conn').getAttribute('data-state'), WAIT).toBe('live');
      await expect.poll(() => page.locator('#retention tbody tr').count(), WAIT).toBeGreaterThan(10);
      await page.locator('#alerts-firing li', { hasText: 'Signups' }).waitFor(WAIT);
      await expect.poll(() => page.locator('#chart').getAttribute('data-total').then(Number), WAIT).toBeGreaterThan(0);
      await expect.poll(() => page.locator('#eps-value').getAttribute('data-value').then(Number), WAIT).toBeGreaterThan(0);
      // Nothing wider than the screen but the heatmap's own scrolling region.
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(viewport.width);
      await screenshot(page, name);
    }
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
