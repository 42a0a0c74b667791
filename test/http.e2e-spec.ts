import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { GOOD_PASSWORD, uniqueEmail } from './support/api';
import { startApp, TestApp } from './support/test-app';

let app: TestApp;

beforeAll(async () => {
  app = await startApp();
});

afterAll(async () => {
  await app?.close();
});

describe('the HTTP shell', () => {
  it('answers 413 payload_too_large for a JSON body over 16 KiB, and 201 just under it', async () => {
    const email = uniqueEmail('big');
    const big = await request(app.url)
      .post('/auth/register')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ email, password: GOOD_PASSWORD, displayName: 'x'.repeat(17 * 1024) }));
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ statusCode: 413, code: 'payload_too_large', error: 'Payload Too Large' });
    // Nothing was created by the refused request.
    await request(app.url).post('/auth/register').send({ email, password: GOOD_PASSWORD }).expect(201);
  });

  it('answers 400 validation_failed for malformed JSON, never echoing the body', async () => {
    const secret = 'hunter2-very-secret-password';
    const response = await request(app.url)
      .post('/auth/login')
      .set('Content-Type', 'application/json')
      .send(`{"email":"a@example.com","password":"${secret}"`);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      statusCode: 400,
      message: ['Request body is not valid JSON'],
      error: 'Bad Request',
      code: 'validation_failed',
    });
    expect(response.text).not.toContain(secret);
  });

  it('answers 400 for an empty JSON body and for a JSON value that is not an object', async () => {
    const empty = await request(app.url).post('/auth/register').set('Content-Type', 'application/json').send('');
    expect(empty.status).toBe(400);
    expect(empty.body.code).toBe('validation_failed');
    for (const body of ['[]', '"text"', '42', 'null']) {
      const response = await request(app.url).post('/auth/register').set('Content-Type', 'application/json').send(body);
      expect(response.status, body).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
  });

  it('refuses JSON nested past 32 levels, lone surrogates and prototype keys with 400, and accepts depth 32', async () => {
    const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`; // `depth` objects
    const send = (body: string) => request(app.url).patch('/users/me').set('Content-Type', 'application/json').send(body);
    // Depth 32 passes the parser (and then fails the DTO, unauthenticated: 401); depth 33 never reaches it.
    expect((await send(nested(32))).status).toBe(401);
    const deep = await send(nested(33));
    expect(deep.status).toBe(400);
    expect(deep.body.message).toEqual(['Request body is nested too deeply']);
    const surrogate = await request(app.url).post('/auth/register').set('Content-Type', 'application/json').send('{"email":"a\\ud800@example.com","password":"correct horse battery staple"}');
    expect(surrogate.status).toBe(400);
    expect(surrogate.body.message).toEqual(['Request body holds malformed Unicode']);
    const proto = await request(app.url).post('/auth/register').set('Content-Type', 'application/json').send('{"__proto__":{"admin":true},"email":"p@example.com","password":"correct horse battery staple"}');
    expect(proto.status).toBe(400);
    expect(proto.body.code).toBe('validation_failed');
  });

  it('answers 415 unsupported_media_type for a body that is not JSON', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const response = await request(app.url).post('/auth/login').set('Content-Type', type).send('email=a@example.com&password=x');
      expect(response.status, type).toBe(415);
      expect(response.body.code).toBe('unsupported_media_type');
    }
  });

  it('answers 404 not_found for an unknown route, without echoing the path', async () => {
    const response = await request(app.url).get('/no/such/route?password=hunter2').expect(404);
    expect(response.body).toEqual({ statusCode: 404, message: 'Route not found', error: 'Not Found', code: 'not_found' });
  });

  it('answers 431 headers_too_large in the contract\'s shape for headers over 16 KiB, before any route', async () => {
    for (const path of ['/health', '/auth/login', '/no/such/route']) {
      const response = await request(app.url).get(path).set('X-Padding', 'p'.repeat(17 * 1024));
      expect(response.status, path).toBe(431);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body).toEqual({
        statusCode: 431,
        message: 'Request headers are larger than 16 KiB',
        error: 'Request Header Fields Too Large',
        code: 'headers_too_large',
      });
    }
    // The service is unharmed, and headers just under the limit pass.
    await request(app.url).get('/health').set('X-Padding', 'p'.repeat(15 * 1024)).expect(200);
  });

  it('names an unknown property only when its name is a short identifier, and never echoes a value', async () => {
    const value = 'planted-value-4f2a9c';
    const send = (extra: Record<string, unknown>) =>
      request(app.url).post('/auth/register').send({ email: uniqueEmail('names'), password: GOOD_PASSWORD, ...extra }).expect(400);

    const named = await send({ role_2: value });
    expect(named.body).toEqual({ statusCode: 400, message: ['property role_2 should not exist'], error: 'Bad Request', code: 'validation_failed' });

    const longest = 'n'.repeat(64);
    expect((await send({ [longest]: value })).body.message).toEqual([`property ${longest} should not exist`]);

    for (const name of ['<script>', '<img src=x onerror=alert(1)>', 'n'.repeat(65), 'x'.repeat(200), 'pass word', 'ünïcode', 'a.b']) {
      const response = await send({ [name]: value });
      expect(response.body.code).toBe('validation_failed');
      expect(response.body.message, name).toEqual(['an unknown property should not exist']);
      expect(response.text).not.toContain(name.slice(0, 20));
      expect(response.text).not.toContain(value);
    }
    // A value is never echoed, whichever rule it breaks.
    for (const body of [{ email: value }, { email: uniqueEmail(), password: `${value}${'x'.repeat(200)}` }, { email: uniqueEmail(), password: GOOD_PASSWORD, displayName: [value] }]) {
      const response = await request(app.url).post('/auth/register').send(body).expect(400);
      expect(response.text).not.toContain(value);
    }
  });

  it('sends security headers (helmet)', async () => {
    const response = await request(app.url).get('/health').expect(200);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toBeDefined();
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('allows no cross-origin request with CORS_ORIGINS unset', async () => {
    const preflight = await request(app.url)
      .options('/auth/login')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const simple = await request(app.url).get('/health').set('Origin', 'https://evil.example');
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('CORS_ORIGINS', () => {
  let cors: TestApp;

  beforeAll(async () => {
    cors = await startApp({ CORS_ORIGINS: 'https://app.example.com, https://admin.example.com' });
  });

  afterAll(async () => {
    await cors?.close();
  });

  it('allows the listed origins and no other', async () => {
    const allowed = await request(cors.url)
      .options('/auth/login')
      .set('Origin', 'https://admin.example.com')
      .set('Access-Control-Request-Method', 'POST');
    expect(allowed.headers['access-control-allow-origin']).toBe('https://admin.example.com');
    const refused = await request(cors.url)
      .options('/auth/login')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });
});
