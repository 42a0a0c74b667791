import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { GOOD_PASSWORD, register, uniqueEmail } from './support/api';
import { ACCESS_HEADER, decodeJwt } from './support/jwt';
import { startApp, TestApp } from './support/test-app';

let app: TestApp;

beforeAll(async () => {
  app = await startApp();
});

afterAll(async () => {
  await app?.close();
});

const USER_KEYS = ['createdAt', 'displayName', 'email', 'emailVerified', 'id', 'mfaEnabled', 'roles', 'updatedAt'];

function expectTokenResponse(body: Record<string, any>, email: string) {
  expect(Object.keys(body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'tokenType', 'user']);
  expect(body.refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
  expect(body.tokenType).toBe('Bearer');
  expect(body.expiresIn).toBe(900);
  expect(Object.keys(body.user).sort()).toEqual(USER_KEYS);
  expect(body.user.email).toBe(email);
  expect(body.user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(body.user.roles).toEqual(['user']);
  expect(new Date(body.user.createdAt).toISOString()).toBe(body.user.createdAt);
  expect(new Date(body.user.updatedAt).toISOString()).toBe(body.user.updatedAt);
  const { header, payload } = decodeJwt(body.accessToken);
  expect(header).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: ACCESS_HEADER.kid });
  expect(payload).toMatchObject({ sub: body.user.id, roles: ['user'], iss: 'auth-service', aud: 'api' });
  expect(typeof payload.jti).toBe('string');
  expect(payload.exp - payload.iat).toBe(900);
}

describe('POST /auth/register', () => {
  it('creates the account and answers 201 with a token response, the email normalised', async () => {
    const email = uniqueEmail('Reg');
    const response = await request(app.url)
      .post('/auth/register')
      .send({ email: `  ${email.toUpperCase()} `, password: GOOD_PASSWORD, displayName: ' Ada ' })
      .expect(201);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expectTokenResponse({ ...response.body, user: { ...response.body.user } }, email.toLowerCase());
    expect(response.body.user.displayName).toBe('Ada');
    expect(JSON.stringify(response.body)).not.toMatch(/password|\$2[aby]\$/i);
  });

  it('answers 409 email_taken for an email already registered, in any letter case', async () => {
    const email = uniqueEmail('dup');
    await register(app, email);
    const response = await request(app.url)
      .post('/auth/register')
      .send({ email: email.toUpperCase(), password: GOOD_PASSWORD })
      .expect(409);
    expect(response.body).toEqual({ statusCode: 409, message: 'Email already registered', error: 'Conflict', code: 'email_taken' });
  });

  it('of 20 parallel registrations of one email, exactly one gets 201 and the rest 409', async () => {
    const email = uniqueEmail('race');
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(app.url)
          .post('/auth/register')
          .send({ email: i % 2 ? email.toUpperCase() : email, password: GOOD_PASSWORD })
          .then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const [{ count }] = await app.dataSource.query('SELECT count(*)::int AS count FROM users WHERE email = $1', [email]);
    expect(count).toBe(1);
  });

  it.each([
    ['an invalid email', { email: 'not-an-email', password: GOOD_PASSWORD }, /email must be an email/],
    ['a password under 8 characters', { email: 'x@example.com', password: 'Ab1!xyz' }, /at least 8 characters/],
    ['a password over 128 characters', { email: 'x@example.com', password: 'a'.repeat(129) }, /at most 128 characters/],
    ['a common password', { email: 'x@example.com', password: 'password123' }, /too common/],
    ['a common password in other letter case', { email: 'x@example.com', password: 'PassWord123' }, /too common/],
    ['a missing password', { email: 'x@example.com' }, /password must be a string/],
    ['a null email', { email: null, password: GOOD_PASSWORD }, /email must be a string/],
    ['a number as password', { email: 'x@example.com', password: 12345678 }, /password must be a string/],
    ['an object as password', { email: 'x@example.com', password: { $gt: '' } }, /password must be a string/],
    ['an array as email', { email: ['x@example.com'], password: GOOD_PASSWORD }, /email must be a string/],
    ['an unknown property', { email: 'x@example.com', password: GOOD_PASSWORD, roles: ['admin'] }, /property roles should not exist/],
    ['a displayName over 100 characters', { email: 'x@example.com', password: GOOD_PASSWORD, displayName: 'd'.repeat(101) }, /displayName/],
  ])('answers 400 validation_failed for %s', async (_, body, message) => {
    const response = await request(app.url).post('/auth/register').send(body).expect(400);
    expect(response.body.code).toBe('validation_failed');
    expect(response.body.error).toBe('Bad Request');
    expect(Array.isArray(response.body.message)).toBe(true);
    expect(response.body.message.join('\n')).toMatch(message);
    expect(JSON.stringify(response.body)).not.toContain(GOOD_PASSWORD);
  });

  it('accepts a 128-character password and counts every character (no 72-byte truncation)', async () => {
    const prefix = 'ü'.repeat(40); // 80 bytes in UTF-8: past bcrypt's 72
    const email = uniqueEmail('long');
    await register(app, email, `${prefix}-first`);
    await request(app.url).post('/auth/login').send({ email, password: `${prefix}-other` }).expect(401);
    await request(app.url).post('/auth/login').send({ email, password: `${prefix}-first` }).expect(200);
    const long = 'x'.repeat(128);
    await register(app, uniqueEmail('max'), long);
  });
});

describe('POST /auth/login', () => {
  it('answers 200 with a token response for the right password, whatever the email letter case', async () => {
    const { email } = await register(app);
    const response = await request(app.url)
      .post('/auth/login')
      .send({ email: ` ${email.toUpperCase()}`, password: GOOD_PASSWORD })
      .expect(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expectTokenResponse(response.body, email);
  });

  it('answers an unknown email and a wrong password with the same 401 body', async () => {
    const { email } = await register(app);
    const wrong = await request(app.url).post('/auth/login').send({ email, password: 'wrong password!' }).expect(401);
    const unknown = await request(app.url)
      .post('/auth/login')
      .send({ email: uniqueEmail('ghost'), password: 'wrong password!' })
      .expect(401);
    const expected = { statusCode: 401, message: 'Invalid email or password', error: 'Unauthorized', code: 'invalid_credentials' };
    expect(wrong.body).toEqual(expected);
    expect(unknown.body).toEqual(expected);
  });

  it.each([
    ['a number as password', { email: 'a@example.com', password: 12345678 }],
    ['a boolean as password', { email: 'a@example.com', password: true }],
    ['an object as password', { email: 'a@example.com', password: { $ne: null } }],
    ['a null password', { email: 'a@example.com', password: null }],
    ['a missing password', { email: 'a@example.com' }],
    ['an empty password', { email: 'a@example.com', password: '' }],
    ['an array as email', { email: ['a@example.com'], password: 'whatever1' }],
    ['an unknown property', { email: 'a@example.com', password: 'whatever1', remember: true }],
  ])('validates the body before the local strategy: 400 for %s', async (_, body) => {
    const response = await request(app.url).post('/auth/login').send(body).expect(400);
    expect(response.body.code).toBe('validation_failed');
    expect(Array.isArray(response.body.message)).toBe(true);
  });

  it('never reads credentials from the query string', async () => {
    const { email } = await register(app);
    const query = `?email=${encodeURIComponent(email)}&password=${encodeURIComponent(GOOD_PASSWORD)}`;
    const response = await request(app.url).post(`/auth/login${query}`).send({}).expect(400);
    expect(response.body.code).toBe('validation_failed');
  });
});

/** The full-width (U+FF01…U+FF5E) spelling of an ASCII string. */
const fullWidth = (ascii: string) => ascii.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));

describe('email addresses (NFKC, invisible characters, mixed scripts)', () => {
  let n = 0;
  const unique = () => `${process.pid}${Date.now()}${(n += 1)}`;

  it('registers a full-width address as its ASCII form, and logs in with either spelling', async () => {
    const ascii = uniqueEmail('wide');
    const wide = fullWidth(ascii.toUpperCase());
    expect(wide).not.toBe(ascii);
    const registered = await request(app.url).post('/auth/register').send({ email: wide, password: GOOD_PASSWORD }).expect(201);
    expect(registered.body.user.email).toBe(ascii);
    for (const spelling of [ascii, wide, fullWidth(ascii)]) {
      const loggedIn = await request(app.url).post('/auth/login').send({ email: spelling, password: GOOD_PASSWORD }).expect(200);
      expect(loggedIn.body.user.id).toBe(registered.body.user.id);
    }
    // The same address in another spelling is the same account.
    await request(app.url).post('/auth/register').send({ email: ascii, password: GOOD_PASSWORD }).expect(409);
  });

  it.each([
    ['a zero-width space', (u: string) => `ada\u200b${u}@example.com`],
    ['a zero-width joiner', (u: string) => `ada\u200d${u}@example.com`],
    ['a right-to-left override (U+202E)', (u: string) => `ada${u}\u202emoc.elpmaxe@example.com`],
    ['a control character', (u: string) => `ada\u0007${u}@example.com`],
    ['a Hangul filler', (u: string) => `ada\u3164${u}@example.com`],
    ['a label mixing scripts (Cyrillic а in pаypal)', (u: string) => `p\u0430ypal${u}@example.com`],
  ])('answers 400 validation_failed for an address with %s, on register and on login', async (_, address) => {
    const email = address(unique());
    for (const route of ['/auth/register', '/auth/login']) {
      const response = await request(app.url).post(route).send({ email, password: GOOD_PASSWORD }).expect(400);
      expect(response.body.code).toBe('validation_failed');
      expect(response.body.message).toEqual([expect.stringMatching(/^email must not /)]);
      expect(response.text).not.toContain(email);
    }
  });

  it.each([
    ['a single-script Chinese address', (u: string) => `用户${u}@例子.广告`],
    ['a Japanese mix of Han, Hiragana and Katakana in one label', (u: string) => `山田たろうタロウ${u}@例え.jp`],
    ['Katakana with the long-vowel mark', (u: string) => `ラーメン${u}@例え.jp`],
    ['a Cyrillic address', (u: string) => `почта${u}@пример.рф`],
  ])('accepts %s, and logs in with it', async (_, address) => {
    const email = address(unique());
    const registered = await request(app.url).post('/auth/register').send({ email, password: GOOD_PASSWORD }).expect(201);
    expect(registered.body.user.email).toBe(email);
    await request(app.url).post('/auth/login').send({ email, password: GOOD_PASSWORD }).expect(200);
  });
});
