import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, chromium, Locator, Page } from 'playwright-core';
import { register, Registered } from '../support/api';
import { startApp, TestApp } from '../support/test-app';

/**
 * The interactive API page in a real browser (Debian's Chromium, driven by
 * playwright-core): log in through the page's own form for POST /auth/login,
 * authorise with the access token, call GET /users/me and see 200.
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(__dirname, '..', '..', 'test-results', 'browser');

let app: TestApp;
let user: Registered;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  app = await startApp();
  user = await register(app);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // No sandbox as root in CI; no background networking: this machine's network is closed.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

/** The text of the first element the locator finds, once it is on the page. */
async function textOf(locator: Locator): Promise<string> {
  await locator.first().waitFor();
  return ((await locator.first().textContent()) ?? '').trim();
}

/** The operation block of the page, by its operationId (Swagger UI's element id). */
function operation(tag: string, operationId: string) {
  return page.locator(`#operations-${tag}-${operationId}`);
}

describe('/docs in Chromium', () => {
  it('logs in through the page, authorises, and calls GET /users/me', async () => {
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });

    await page.goto(`${app.url}/docs`);
    expect(await textOf(page.locator('.swagger-ui .info .title'))).toContain('Auth service');

    // POST /auth/login, through the page's own request form.
    const login = operation('auth', 'AuthController_login');
    await login.locator('.opblock-summary').click();
    const body = login.locator('textarea.body-param__text');
    await body.fill(JSON.stringify({ email: user.email, password: user.password }));
    const [loginResponse] = await Promise.all([
      page.waitForResponse((response) => response.url().endsWith('/auth/login')),
      login.locator('button.execute').click(),
    ]);
    expect(loginResponse.status()).toBe(200);
    expect(await textOf(login.locator('.live-responses-table tr.response .response-col_status'))).toBe('200');
    const { accessToken } = (await loginResponse.json()) as { accessToken: string };
    expect(accessToken.split('.')).toHaveLength(3);

    // Authorize: the Bearer scheme of the document.
    await page.locator('.scheme-container button.authorize').click();
    const dialog = page.locator('.dialog-ux .modal-ux');
    await dialog.locator('input[type=text], input[type=password]').first().fill(accessToken);
    await dialog.locator('button.authorize').click();
    await dialog.locator('button.btn-done').click();

    // GET /users/me, with the token the page now sends.
    const me = operation('users', 'UsersController_me');
    await me.locator('.opblock-summary').click();
    const [meResponse] = await Promise.all([
      page.waitForResponse((response) => response.url().endsWith('/users/me')),
      me.locator('button.execute').click(),
    ]);
    expect(meResponse.status()).toBe(200);
    expect(await meResponse.request().headerValue('authorization')).toBe(`Bearer ${accessToken}`);
    expect(await textOf(me.locator('.live-responses-table tr.response .response-col_status'))).toBe('200');
    expect(await textOf(me.locator('.live-responses-table tr.response .response-col_description'))).toContain(user.email);

    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const screenshot = join(SCREENSHOT_DIR, 'docs-users-me.png');
    await me.screenshot({ path: screenshot });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'docs-full-page.png'), fullPage: true });
    console.log(`screenshots: ${SCREENSHOT_DIR}`);

    // The page runs under the service's Content-Security-Policy without a violation.
    expect(pageErrors).toEqual([]);
  });
});
