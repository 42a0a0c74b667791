import { createServer } from 'node:net';
import { Controller, Get, Header, Module } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, CDPSession, chromium, Page } from 'playwright-core';
import { Public } from '../../src/common/auth';
import { authed, register, Registered } from '../support/api';
import { decodeJwt } from '../support/jwt';
import { startApp, TestApp } from '../support/test-app';

/**
 * Passkeys in a real browser: Debian's Chromium driven by playwright-core, with a virtual
 * platform authenticator (CDP WebAuthn.addVirtualAuthenticator: CTAP2, internal, resident
 * keys, user verification). A small page served by the app under test calls
 * navigator.credentials.create() and .get() against the service's option and verify routes:
 * register a passkey, log out, log in with it (discoverable, then with the email).
 *
 * The page is at http://localhost:<port>, so that the relying party is `localhost` (a
 * secure context without TLS): APP_URL names that origin, from which WEBAUTHN_RP_ID and
 * WEBAUTHN_ORIGINS default.
 */

/** As docs-login.browser-spec.ts launches it (importing that file would run its tests here too). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The page's script: base64url ↔ ArrayBuffer by hand, so that it needs no library and no JSON helpers of the browser. */
const PAGE_SCRIPT = `
const toBuffer = (text) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4)), (c) => c.charCodeAt(0)).buffer;
const toText = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
const descriptors = (list) => list && list.map((item) => ({ ...item, id: toBuffer(item.id) }));
// A credential as the server's JSON has it (what @simplewebauthn/browser would send), around its own response fields.
const credentialJSON = (credential, response) => ({
  id: credential.id,
  rawId: toText(credential.rawId),
  type: credential.type,
  response,
  clientExtensionResults: credential.getClientExtensionResults(),
  authenticatorAttachment: credential.authenticatorAttachment || undefined,
});

async function call(path, body, accessToken) {
  const headers = { 'Content-Type': 'application/json' };
  if (accessToken) headers.Authorization = 'Bearer ' + accessToken;
  const response = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body || {}) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

window.registerPasskey = async (accessToken, name) => {
  const options = await call('/auth/passkeys/register/options', undefined, accessToken);
  if (options.status !== 200) return options;
  const json = options.body;
  const credential = await navigator.credentials.create({
    publicKey: { ...json, challenge: toBuffer(json.challenge), user: { ...json.user, id: toBuffer(json.user.id) }, excludeCredentials: descriptors(json.excludeCredentials) },
  });
  const response = credentialJSON(credential, {
    clientDataJSON: toText(credential.response.clientDataJSON),
    attestationObject: toText(credential.response.attestationObject),
    transports: credential.response.getTransports(),
  });
  return call('/auth/passkeys/register', { response, name }, accessToken);
};

window.loginWithPasskey = async (email) => {
  const options = await call('/auth/passkeys/login/options', email ? { email } : {});
  if (options.status !== 200) return options;
  const json = options.body;
  const credential = await navigator.credentials.get({
    publicKey: { ...json, challenge: toBuffer(json.challenge), allowCredentials: descriptors(json.allowCredentials) },
  });
  const response = credentialJSON(credential, {
    clientDataJSON: toText(credential.response.clientDataJSON),
    authenticatorData: toText(credential.response.authenticatorData),
    signature: toText(credential.response.signature),
    userHandle: credential.response.userHandle ? toText(credential.response.userHandle) : undefined,
  });
  return call('/auth/passkeys/login', { response });
};

window.logout = (refreshToken) => call('/auth/logout', { refreshToken });
document.body.dataset.ready = 'true';
`;

/** The test page, mounted beside the service (createApp's `modules`); its script is a file of the same origin, as the service's CSP wants. */
@Public()
@Controller('passkey-test')
class PasskeyPageController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    return '<!doctype html><html><head><title>Passkey test</title><link rel="icon" href="data:,"></head><body><h1>Passkey test</h1><script src="/passkey-test/page.js"></script></body></html>';
  }

  @Get('page.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  script(): string {
    return PAGE_SCRIPT;
  }
}

@Module({ controllers: [PasskeyPageController] })
class PasskeyPageModule {}

interface PageResult<T = Record<string, any>> {
  status: number;
  body: T;
}

/** A port free now, for a service whose origin must be known before it starts. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let app: TestApp;
let origin: string;
let browser: Browser;
let page: Page;
let cdp: CDPSession;
let authenticatorId: string;
let user: Registered;

beforeAll(async () => {
  const port = await freePort();
  origin = `http://localhost:${port}`;
  app = await startApp({ PORT: String(port), APP_URL: origin }, undefined, undefined, [PasskeyPageModule]);
  user = await register(app);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage();
  cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  }));
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('a passkey in Chromium', () => {
  it('registers through navigator.credentials.create(), logs out, and logs in with navigator.credentials.get(): aal 2', async () => {
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(`${origin}/passkey-test`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.evaluate(() => (globalThis as unknown as { isSecureContext: boolean }).isSecureContext)).toBe(true);

    // Register: the service's creation options, the browser's authenticator, the service's check.
    const registered = await page.evaluate(
      ([token]) => (globalThis as unknown as { registerPasskey: (t: string, n: string) => Promise<unknown> }).registerPasskey(token, 'Chromium'),
      [user.accessToken],
    ) as PageResult;
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({ name: 'Chromium', lastUsedAt: null });
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });

    // Log out of the password session.
    const loggedOut = await page.evaluate(([token]) => (globalThis as unknown as { logout: (t: string) => Promise<unknown> }).logout(token), [user.refreshToken!]) as PageResult;
    expect(loggedOut.status).toBe(204);
    expect((await authed(app, 'get', '/users/me', user.accessToken)).status).toBe(401);

    // Log in with the passkey, discoverable: no email, the authenticator names the account.
    type Login = (email?: string) => Promise<unknown>;
    const login = (await page.evaluate(() => (globalThis as unknown as { loginWithPasskey: Login }).loginWithPasskey())) as PageResult<{ accessToken: string; user: { id: string } }>;
    expect(login.status).toBe(200);
    expect(login.body.user.id).toBe(user.user.id);
    expect(decodeJwt(login.body.accessToken).payload).toMatchObject({ sub: user.user.id, amr: ['passkey'], aal: 2 });
    const me = await authed(app, 'get', '/users/me', login.body.accessToken).expect(200);
    expect(me.body.email).toBe(user.email);

    // And with the email: the options list that account's passkeys; the signature counter went up.
    const withEmail = (await page.evaluate(([email]) => (globalThis as unknown as { loginWithPasskey: Login }).loginWithPasskey(email), [user.email])) as PageResult<{ accessToken: string }>;
    expect(withEmail.status).toBe(200);
    expect(decodeJwt(withEmail.body.accessToken).payload).toMatchObject({ sub: user.user.id, amr: ['passkey'], aal: 2 });
    const [passkey] = (await authed(app, 'get', '/users/me/passkeys', withEmail.body.accessToken).expect(200)).body;
    expect(passkey).toMatchObject({ name: 'Chromium', lastUsedAt: expect.any(String) });
    const [stored] = await app.dataSource.query('SELECT counter::int AS counter FROM passkeys WHERE id = $1', [passkey.id]);
    const [after] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    expect(stored.counter).toBe(after.signCount);

    expect(pageErrors).toEqual([]);
  });
});
