// The live quota page (GET /dashboard) in a real browser against the whole stack: the page follows
// its own tenant's spend over graphql-ws and nothing else, shows why a connection closed, and comes
// back after the server drops it. Needs Chromium at /usr/bin/chromium (CHROMIUM_PATH to override;
// .ci/run installs Debian's package).
import { existsSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP } from '../../gateway/src/dashboard';
import { monthToDate } from '../../subgraphs/usage/repository';
import { startTestStack, type TestStack } from '../helpers/stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
/** Events come at most every 500 ms (QUOTA_FEED_INTERVAL_MS) after usage is aggregated: a few seconds is plenty. */
const LIVE_MS = 8_000;

let stack: TestStack;
let browser: Browser;
let base: string;
/** Console errors and uncaught exceptions per page: a CSP violation shows up here. */
const problems = new Map<Page, string[]>();

beforeAll(async () => {
  // Fail, don't skip: a dashboard that no test opened is a dashboard nobody knows works.
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  [stack, browser] = await Promise.all([
    startTestStack(),
    // launch() gives the browser a fresh temporary profile (user data dir) and removes it on close.
    chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    }),
  ]);
  base = stack.urls.gateway!.replace(/\/graphql$/, '');
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

/** A page in its own browser context (own sessionStorage), with the token in the URL hash. */
async function openDashboard(token: string, prepare?: (page: Page) => Promise<void>): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
  const page = await context.newPage();
  const seen: string[] = [];
  problems.set(page, seen);
  page.on('console', (message) => {
    if (message.type() === 'error') seen.push(message.text());
  });
  page.on('pageerror', (error) => seen.push(error.message));
  await prepare?.(page);
  await page.goto(`${base}/dashboard#token=${encodeURIComponent(token)}`);
  return page;
}

const text = (page: Page, testId: string) => page.getByTestId(testId).textContent();
async function value(page: Page, testId: string): Promise<number> {
  const raw = await page.getByTestId(testId).getAttribute('data-value');
  return raw === null || raw === '' ? Number.NaN : Number(raw);
}
const operationNames = (page: Page) => page.getByTestId('operation-name').allTextContents();

async function waitUntilLive(page: Page) {
  await expect.poll(() => text(page, 'connection-state'), { timeout: LIVE_MS }).toBe('live');
  await expect.poll(() => value(page, 'used'), { timeout: LIVE_MS }).toSatisfy(Number.isFinite);
}

/** This month's spend as PostgreSQL has it (read directly: a GraphQL query would spend quota itself). */
async function usedInDatabase(slug: string): Promise<number> {
  return stack.db.transaction({ tenantId: await stack.tenantId(slug) }, monthToDate);
}

/** Waits until everything spent so far (the page's own subscription start included) is aggregated and shown. */
async function settle(page: Page, slug: string): Promise<number> {
  await stack.usage.flush();
  const used = await usedInDatabase(slug);
  await expect.poll(() => value(page, 'used'), { timeout: LIVE_MS }).toBe(used);
  return used;
}

async function spend(slug: string, operationName: string, times: number): Promise<number> {
  const token = await stack.token(slug);
  let cost = 0;
  for (let i = 0; i < times; i++) {
    const { status, body } = await stack.gql(`query ${operationName} { pets(first: 20) { edges { node { id name } } } }`, { token });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    cost += body.extensions?.cost?.actualQueryCost ?? 0;
  }
  return cost;
}

const screenshot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}dashboard-${name}.png`, fullPage: true });

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /dashboard', () => {
  it('serves the page with a strict CSP and the bundle under content-hashed, immutable URLs', async () => {
    const page = await get('/dashboard');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("default-src 'self'");
    expect(DASHBOARD_CSP).toContain("connect-src 'self' ws: wss:");
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.body).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/); // no inline script
    expect(page.body).not.toMatch(/https?:\/\//); // nothing loaded from elsewhere

    const script = /src="(\/dashboard\/app\.js\?v=[\w-]+)"/.exec(page.body)?.[1];
    const style = /href="(\/dashboard\/app\.css\?v=[\w-]+)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    expect(style).toBeDefined();
    const js = await get(script!);
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.body.length).toBeGreaterThan(1_000);
    expect((await get(style!)).headers['content-type']).toMatch(/^text\/css/);
    // Without the current hash: still served, but revalidated.
    expect((await get('/dashboard/app.js')).headers['cache-control']).toBe('no-cache');
    expect((await get(script!, { 'if-none-match': String(js.headers.etag) })).status).toBe(304);

    expect((await get('/dashboard/nope.js')).status).toBe(404);
    expect((await get('/dashboard', {}, 'POST')).status).toBe(405);
  });
});

describe('live quota dashboard', () => {
  it("follows the tenant's spend: used rises, remaining falls, the operations appear", async () => {
    const page = await openDashboard(await stack.token('acme-pets'));
    await waitUntilLive(page);
    expect(await text(page, 'tenant')).toBe('acme-pets');
    expect(await text(page, 'plan')).toBe('free');
    // The token left the address bar once read (it is kept in sessionStorage instead).
    expect(new URL(page.url()).hash).toBe('');
    expect(await page.evaluate<boolean>("Object.values(sessionStorage).some((v) => v.startsWith('ey'))")).toBe(true);

    const usedBefore = await settle(page, 'acme-pets');
    const remainingBefore = await value(page, 'remaining');
    expect(await value(page, 'limit')).toBeGreaterThan(0);

    const spent = await spend('acme-pets', 'DashboardSpend', 3);
    expect(spent).toBeGreaterThan(0);
    // Seen on the page within seconds, without any reload or polling by the page.
    await expect.poll(() => value(page, 'used'), { timeout: LIVE_MS }).toBeGreaterThan(usedBefore);
    await expect.poll(() => value(page, 'remaining'), { timeout: LIVE_MS }).toBeLessThan(remainingBefore);
    await expect.poll(async () => (await operationNames(page)).filter((name) => name === 'DashboardSpend').length, { timeout: LIVE_MS }).toBe(3);

    // Exactly what was recorded, once everything is aggregated.
    const usedAfter = await settle(page, 'acme-pets');
    expect(usedAfter - usedBefore).toBe(spent);
    expect(await value(page, 'burn-rate')).toBeGreaterThan(0);
    expect(await text(page, 'projected-exhaustion')).toBeTruthy();
    expect(Number(await page.getByTestId('usage-chart').getAttribute('data-total-cost'))).toBeGreaterThanOrEqual(spent);
    const costs = await page.getByTestId('operation-cost').allTextContents();
    expect(costs.length).toBeGreaterThanOrEqual(3);

    await screenshot(page, 'live');
    expect(problems.get(page)).toEqual([]);
    await page.context().close();
  });

  it("shows each tenant only its own spend: a page does not move when the other tenant spends", async () => {
    const [acme, fluffy] = await Promise.all([
      openDashboard(await stack.token('acme-pets')),
      openDashboard(await stack.token('fluffy-friends')),
    ]);
    await Promise.all([waitUntilLive(acme), waitUntilLive(fluffy)]);
    expect(await text(acme, 'tenant')).toBe('acme-pets');
    expect(await text(fluffy, 'tenant')).toBe('fluffy-friends');
    expect(await text(fluffy, 'plan')).toBe('pro');
    let acmeUsed = await settle(acme, 'acme-pets');
    let fluffyUsed = await settle(fluffy, 'fluffy-friends');

    // acme-pets spends: its page catches up with the database, fluffy-friends' page stays put.
    await spend('acme-pets', 'SpendAcme', 2);
    await stack.usage.flush();
    expect(await usedInDatabase('fluffy-friends')).toBe(fluffyUsed);
    acmeUsed = await settle(acme, 'acme-pets');
    expect(await value(fluffy, 'used')).toBe(fluffyUsed);
    expect(await operationNames(fluffy)).not.toContain('SpendAcme');

    // And the other way round.
    await spend('fluffy-friends', 'SpendFluffy', 2);
    await stack.usage.flush();
    expect(await usedInDatabase('acme-pets')).toBe(acmeUsed);
    const fluffyAfter = await settle(fluffy, 'fluffy-friends');
    expect(fluffyAfter).toBeGreaterThan(fluffyUsed);
    fluffyUsed = fluffyAfter;
    expect(await value(acme, 'used')).toBe(acmeUsed);
    expect(await operationNames(acme)).not.toContain('SpendFluffy');
    await expect.poll(() => operationNames(fluffy), { timeout: LIVE_MS }).toContain('SpendFluffy');
    expect(await operationNames(acme)).toContain('SpendAcme');

    await Promise.all([screenshot(acme, 'acme-pets'), screenshot(fluffy, 'fluffy-friends')]);
    expect(problems.get(acme)).toEqual([]);
    expect(problems.get(fluffy)).toEqual([]);
    await Promise.all([acme.context().close(), fluffy.context().close()]);
  });

  it("switches to another tenant when its token is pasted, without keeping the first tenant's figures", async () => {
    const page = await openDashboard(await stack.token('acme-pets'));
    await waitUntilLive(page);
    await page.getByTestId('token-panel').locator('summary').click();
    await page.getByTestId('token-input').fill(`Bearer ${await stack.token('fluffy-friends')}`);
    await page.getByTestId('token-form').getByRole('button', { name: 'Connect' }).click();
    await expect.poll(() => text(page, 'tenant'), { timeout: LIVE_MS }).toBe('fluffy-friends');
    await waitUntilLive(page);
    expect(await text(page, 'plan')).toBe('pro');
    await settle(page, 'fluffy-friends');
    expect(await operationNames(page)).not.toContain('DashboardSpend');
    expect(problems.get(page)).toEqual([]);
    await page.context().close();
  });

  it('shows the closed state with an unauthorized reason for a bad token', async () => {
    const page = await openDashboard('not-a-jwt');
    await expect.poll(() => text(page, 'connection-state'), { timeout: LIVE_MS }).toBe('closed');
    expect(await text(page, 'close-reason')).toMatch(/unauthori[sz]ed/i);
    expect(await page.getByTestId('close-reason').getAttribute('data-code')).toBe('4401');
    expect(await page.getByTestId('token-panel').getAttribute('open')).not.toBeNull();
    await screenshot(page, 'unauthorized');
    await page.context().close();
  });

  it('closes with "token expired" when the token runs out while the page is live', async () => {
    // The token must outlive the wait for 'live' (up to LIVE_MS on a loaded CI machine), or the page
    // may close before it was ever live and the test would race the clock instead of testing expiry.
    const ttlSeconds = LIVE_MS / 1000 + 2;
    const page = await openDashboard(await stack.token('acme-pets', { ttlSeconds }));
    await waitUntilLive(page);
    await expect.poll(() => text(page, 'connection-state'), { timeout: ttlSeconds * 1000 + LIVE_MS }).toBe('closed');
    // The stream's end and the 4401 close arrive together; the close's reason is the one that stays.
    await expect.poll(() => text(page, 'close-reason'), { timeout: LIVE_MS }).toMatch(/expired/i);
    expect(await page.getByTestId('close-reason').getAttribute('data-code')).toBe('4401');
    await screenshot(page, 'expired');
    await page.context().close();
  });

  it('reconnects by itself when the server drops the socket, and stays live', async () => {
    const dropped: Array<() => void> = [];
    const page = await openDashboard(await stack.token('fluffy-friends'), (page) =>
      // Stands in for a gateway restart: the page's socket is closed from the server's side with 1012.
      page.routeWebSocket(/\/graphql$/, (socket) => {
        socket.connectToServer();
        dropped.push(() => socket.close({ code: 1012, reason: 'Service Restart' }));
      }),
    );
    await waitUntilLive(page);
    expect(dropped).toHaveLength(1);
    dropped[0]!();
    await expect.poll(() => page.getByTestId('connection-state').getAttribute('data-state'), { timeout: LIVE_MS }).not.toBe('live');
    await expect.poll(() => text(page, 'connection-state'), { timeout: LIVE_MS }).toBe('live');
    expect(dropped.length).toBeGreaterThanOrEqual(2);

    const before = await settle(page, 'fluffy-friends');
    await spend('fluffy-friends', 'AfterReconnect', 1);
    await expect.poll(() => value(page, 'used'), { timeout: LIVE_MS }).toBeGreaterThan(before);
    await screenshot(page, 'reconnected');
    await page.context().close();
  });
});
