import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { GOOD_PASSWORD, uniqueEmail } from './support/api';
import { startApp, TestApp } from './support/test-app';

/**
 * AUTH_COOKIES=true: the refresh token lives in the HttpOnly `refresh_token` cookie only,
 * never in a JSON body, and a cookie that comes with a request from another site neither
 * refreshes nor ends a session (CSRF).
 */

const TRUSTED = 'https://app.example.com';

let app: TestApp;

beforeAll(async () => {
  app = await startApp({ AUTH_COOKIES: 'true', CORS_ORIGINS: TRUSTED });
});

afterAll(async () => {
  await app?.close();
});

/** `refresh_token=…` as the response set it (asserting its attributes), ready for a Cookie header. */
function refreshCookie(response: request.Response): string {
  const header = ([] as string[]).concat(response.headers['set-cookie'] ?? []).find((c) => c.startsWith('refresh_token='));
  expect(header, 'refresh_token cookie').toBeDefined();
  expect(header).toMatch(/^refresh_token=rt_[A-Za-z0-9_-]{43};/);
  expect(header).toMatch(/; HttpOnly/i);
  expect(header).toMatch(/; Secure/i);
  expect(header).toMatch(/; SameSite=Strict/i);
  expect(header).toMatch(/; Path=\/auth(;|$)/);
  return header!.split(';')[0];
}

function expectTokenResponseWithoutRefreshToken(response: request.Response) {
  expect(Object.keys(response.body).sort()).toEqual(['accessToken', 'expiresIn', 'tokenType', 'user']);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.text).not.toContain('rt_');
}

async function newSession(): Promise<string> {
  const email = uniqueEmail('cookie');
  await request(app.url).post('/auth/register').send({ email, password: GOOD_PASSWORD }).expect(201);
  return refreshCookie(await request(app.url).post('/auth/login').send({ email, password: GOOD_PASSWORD }).expect(200));
}

const refresh = (cookie: string, headers: Record<string, string> = {}) =>
  request(app.url).post('/auth/refresh').set('Cookie', cookie).set(headers);

describe('the token response in cookie mode', () => {
  it('register, login and refresh put the refresh token in the cookie only: the body has no refreshToken key', async () => {
    const email = uniqueEmail('cookie');
    const registered = await request(app.url).post('/auth/register').send({ email, password: GOOD_PASSWORD }).expect(201);
    expectTokenResponseWithoutRefreshToken(registered);
    const registerCookie = refreshCookie(registered);

    const loggedIn = await request(app.url).post('/auth/login').send({ email, password: GOOD_PASSWORD }).expect(200);
    expectTokenResponseWithoutRefreshToken(loggedIn);
    const loginCookie = refreshCookie(loggedIn);

    const refreshed = await refresh(loginCookie).expect(200);
    expectTokenResponseWithoutRefreshToken(refreshed);
    const next = refreshCookie(refreshed);
    expect(next).not.toBe(loginCookie);
    await refresh(next).expect(200); // the rotated token works; the register session is another one
    await refresh(registerCookie).expect(200);
  });

  it('documents refreshToken as optional, absent in cookie mode', async () => {
    const document = (await request(app.url).get('/docs-json').expect(200)).body;
    const schema = document.components.schemas.TokenResponse;
    expect(schema.required).not.toContain('refreshToken');
    expect(schema.required).toEqual(expect.arrayContaining(['accessToken', 'tokenType', 'expiresIn', 'user']));
    expect(schema.properties.refreshToken.description).toMatch(/AUTH_COOKIES=true/);
  });
});

describe('a cookie-carried refresh or logout from another site', () => {
  it.each([
    ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
    ['Sec-Fetch-Site: cross-site with a trusted Origin', { 'Sec-Fetch-Site': 'cross-site', Origin: TRUSTED }],
    ['an Origin neither ours nor in CORS_ORIGINS', { Origin: 'https://evil.example' }],
    ['a look-alike of a trusted Origin', { Origin: `${TRUSTED}.evil.example` }],
    ['the opaque Origin null', { Origin: 'null' }],
    ['a same-site Origin that is not listed', { 'Sec-Fetch-Site': 'same-site', Origin: 'https://other.example.com' }],
  ])('gets 403 forbidden for %s, and the session is untouched', async (_, headers) => {
    const cookie = await newSession();
    const refused = await refresh(cookie, headers).expect(403);
    expect(refused.body).toMatchObject({ statusCode: 403, error: 'Forbidden', code: 'forbidden' });
    expect(refused.headers['set-cookie']).toBeUndefined();

    const logout = await request(app.url).post('/auth/logout').set('Cookie', cookie).set(headers).expect(403);
    expect(logout.body.code).toBe('forbidden');
    expect(logout.headers['set-cookie']).toBeUndefined();

    await refresh(cookie).expect(200); // neither spent nor ended
  });

  it.each([
    ['no Origin and no Sec-Fetch-Site (a client that is not a browser)', {}],
    ['same-origin', { 'Sec-Fetch-Site': 'same-origin', Origin: 'own' }],
    ['same-site from an origin in CORS_ORIGINS', { 'Sec-Fetch-Site': 'same-site', Origin: TRUSTED }],
    ['an Origin in CORS_ORIGINS without Sec-Fetch-Site', { Origin: TRUSTED }],
    ['Sec-Fetch-Site: none (typed by the user)', { 'Sec-Fetch-Site': 'none' }],
  ])('works for %s', async (_, given) => {
    const headers: Record<string, string> = { ...given };
    if (headers.Origin === 'own') headers.Origin = app.url; // http://127.0.0.1:<port>, the service's own origin
    const cookie = await newSession();
    const refreshed = await refresh(cookie, headers).expect(200);
    const next = refreshCookie(refreshed);
    const loggedOut = await request(app.url).post('/auth/logout').set('Cookie', next).set(headers).expect(204);
    expect(([] as string[]).concat(loggedOut.headers['set-cookie'] ?? []).join()).toMatch(/refresh_token=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)/i);
    await refresh(next).expect(401); // that session is over
  });
});
