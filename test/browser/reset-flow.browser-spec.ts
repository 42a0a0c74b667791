import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { type CallHandler, type ExecutionContext, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, chromium, Page } from 'playwright-core';
import { authed, register } from '../support/api';
import { QUICK_MAIL } from '../support/mail';
import { type ReceivedMail, TestSmtpServer } from '../support/smtp';
import { startApp, TestApp } from '../support/test-app';

/**
 * The pages that mailed links open, in a real browser (Debian's Chromium, driven by
 * playwright-core), with APP_URL the service itself as by default: register, ask for a
 * reset, take the link from the message the SMTP server received, open it, type the new
 * password, and log in with it; verify an address and confirm an email change the same way.
 * Each page runs under its strict CSP without a violation, and talks to its own origin only.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT_DIR = join(__dirname, '..', '..', 'test-results', 'browser');
const NEW_PASSWORD = 'typed into the reset page 7';

let smtp: TestSmtpServer;
let app: TestApp;
let origin: string;
let browser: Browser;

/** What the service received: each request's path and Referer header, as they came over the wire. */
const received: Array<{ url: string; referer?: string }> = [];

/** A test probe mounted beside the app: notes every request that reaches a route. */
@Module({
  providers: [
    {
      provide: APP_INTERCEPTOR,
      useValue: {
        intercept(context: ExecutionContext, next: CallHandler) {
          const request = context.switchToHttp().getRequest<FastifyRequest>();
          received.push({ url: request.url, referer: request.headers.referer });
          return next.handle();
        },
      },
    },
  ],
})
class RequestProbe {}

/** A port nobody listens on now, so that APP_URL can name the service before it starts. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  smtp = await TestSmtpServer.start();
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  app = await startApp({ PORT: String(port), APP_URL: origin, SMTP_URL: smtp.url, ...QUICK_MAIL }, undefined, undefined, [RequestProbe]);
  expect(app.url).toBe(origin);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // No sandbox as root in CI; no background networking: this machine's network is closed.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await smtp?.stop();
});

/** The link of the newest message to `address` with this subject, as the mail reader would show it. */
async function mailedLink(address: string, subject: string, count = 1): Promise<string> {
  const mails: ReceivedMail[] = await smtp.waitFor(count, (mail) => mail.envelope.to.includes(address) && mail.parsed.subject === subject);
  const match = /^(http:\/\/\S+\?token=[A-Za-z0-9_-]+)$/m.exec(String(mails[count - 1].parsed.text));
  expect(match, String(mails[count - 1].parsed.text)).not.toBeNull();
  return match![1];
}

/** A fresh page that records every request it makes, every page error and every console error. */
async function openPage(): Promise<{ page: Page; requests: string[]; problems: string[] }> {
  received.length = 0;
  const page = await browser.newPage({ viewport: { width: 800, height: 700 } });
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (sent) => requests.push(sent.url()));
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  return { page, requests, problems };
}

/** The page asked only its own origin for anything, and sent no Referer (the address held the token). */
function expectOwnOriginOnly(requests: string[], link: string): void {
  expect(requests.length).toBeGreaterThanOrEqual(3); // the page, its script, its stylesheet (and then the API)
  for (const url of requests) expect(new URL(url).origin, url).toBe(origin);
  // Only the page itself was asked for with the token in its address (the API gets it in a POST body).
  const token = new URL(link).searchParams.get('token')!;
  const withToken = requests.filter((url) => url.includes(token));
  expect(withToken.length).toBeGreaterThan(0);
  for (const url of withToken) expect(url).toBe(link);
  // What reached the service from the page: the page, its assets, the API call; none with a Referer.
  expect(received.map((request) => request.url)).toEqual(expect.arrayContaining([expect.stringMatching(/^\/email-pages\/.+\.js$/)]));
  for (const request of received) expect(request.referer, request.url).toBeUndefined();
}

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, name), fullPage: true });
}

describe('the pages of mailed links in Chromium', () => {
  it('reset: register → the mailed link → type a new password → submit → log in with it', async () => {
    const user = await register(app);
    await request(app.url).post('/auth/password/forgot').send({ email: user.email }).expect(202);
    const link = await mailedLink(user.email, 'Reset your password');
    expect(link.startsWith(`${origin}/reset-password?token=`)).toBe(true);

    const { page, requests, problems } = await openPage();
    await page.goto(link);
    await page.locator('#password').waitFor();
    // The token left the address bar (and the history) at once.
    expect(page.url()).toBe(`${origin}/reset-password`);
    expect(await page.title()).toBe('Choose a new password');

    // Two different passwords: said on the page, nothing sent.
    await page.fill('#password', NEW_PASSWORD);
    await page.fill('#confirm', `${NEW_PASSWORD}!`);
    await page.click('#submit');
    await expect.poll(() => page.locator('#status').textContent()).toContain('not the same');

    // A password outside the policy: the API's messages, and the link still works.
    await page.fill('#password', 'password123');
    await page.fill('#confirm', 'password123');
    const [refused] = await Promise.all([page.waitForResponse((response) => response.url().endsWith('/auth/password/reset')), page.click('#submit')]);
    expect(refused.status()).toBe(400);
    await expect.poll(() => page.locator('#problems li').count()).toBeGreaterThan(0);

    await page.fill('#password', NEW_PASSWORD);
    await page.fill('#confirm', NEW_PASSWORD);
    const [reset] = await Promise.all([page.waitForResponse((response) => response.url().endsWith('/auth/password/reset')), page.click('#submit')]);
    expect(reset.status()).toBe(204);
    expect(reset.request().method()).toBe('POST');
    expect(JSON.parse(reset.request().postData() ?? '{}')).toEqual({ token: new URL(link).searchParams.get('token'), newPassword: NEW_PASSWORD });
    await expect.poll(() => page.locator('#status').textContent()).toContain('Your password is changed');
    expect(await page.locator('#form').isHidden()).toBe(true);
    await screenshot(page, 'reset-password-done.png');

    // The new password logs in; the old one does not; the session of the registration ended.
    await request(app.url).post('/auth/login').send({ email: user.email, password: NEW_PASSWORD }).expect(200);
    await request(app.url).post('/auth/login').send({ email: user.email, password: user.password }).expect(401);
    expect((await authed(app, 'get', '/users/me', user.accessToken).expect(401)).body.code).toBe('token_revoked');

    // The same link again: the page says it no longer works.
    await page.goto(link);
    await page.fill('#password', 'yet another new passphrase');
    await page.fill('#confirm', 'yet another new passphrase');
    await page.click('#submit');
    await expect.poll(() => page.locator('#status').textContent()).toContain('does not work any more');

    expectOwnOriginOnly(requests, link);
    // The two refusals above, as Chromium logs every 4xx; no script error, no CSP violation.
    expect(problems).toEqual(Array(2).fill('Failed to load resource: the server responded with a status of 400 (Bad Request)'));
    await page.close();
  });

  it('verify: the mailed link → one click → the address is verified', async () => {
    const user = await register(app);
    const link = await mailedLink(user.email, 'Verify your email address');
    const { page, requests, problems } = await openPage();
    await page.goto(link);
    await page.locator('#submit').waitFor();
    expect(page.url()).toBe(`${origin}/verify-email`);
    // Nothing is sent before the click: a mail scanner that opens the link verifies nothing.
    expect((await authed(app, 'get', '/users/me', user.accessToken).expect(200)).body.emailVerified).toBe(false);

    const [verified] = await Promise.all([page.waitForResponse((response) => response.url().endsWith('/auth/email/verify')), page.click('#submit')]);
    expect(verified.status()).toBe(200);
    await expect.poll(() => page.locator('#status').textContent()).toContain(`${user.email} is verified`);
    await screenshot(page, 'verify-email-done.png');
    expect((await authed(app, 'get', '/users/me', user.accessToken).expect(200)).body.emailVerified).toBe(true);

    expectOwnOriginOnly(requests, link);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('confirm an email change: the link mailed to the new address → one click → the account has the new address', async () => {
    const user = await register(app);
    const newEmail = `moved.${user.email}`;
    await authed(app, 'post', '/users/me/email', user.accessToken).send({ newEmail, currentPassword: user.password }).expect(202);
    const link = await mailedLink(newEmail, 'Confirm your new email address');
    const { page, requests, problems } = await openPage();
    await page.goto(link);
    const [confirmed] = await Promise.all([
      page.waitForResponse((response) => response.url().endsWith('/users/me/email/confirm')),
      page.click('#submit'),
    ]);
    expect(confirmed.status()).toBe(200);
    await expect.poll(() => page.locator('#status').textContent()).toContain(`${newEmail} is now the email address`);
    expect((await authed(app, 'get', '/users/me', user.accessToken).expect(200)).body.email).toBe(newEmail);

    expectOwnOriginOnly(requests, link);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a link without its token says so and offers no form', async () => {
    const { page, problems } = await openPage();
    await page.goto(`${origin}/reset-password`);
    await expect.poll(() => page.locator('#status').textContent()).toContain('incomplete');
    expect(await page.locator('#form').isHidden()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });
});
