import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from 'nestjs-pino';
import request from 'supertest';
import { refreshTokenCookie, register, Registered } from './support/api';
import { CapturedLogs, startApp, TestApp } from './support/test-app';

/** The JSON request log: one line per request with the id the response carries, and no credential. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let app: TestApp;
let user: Registered;
const logs = new CapturedLogs();

beforeAll(async () => {
  app = await startApp({ AUTH_COOKIES: 'true' }, undefined, logs);
  user = await register(app);
});

afterAll(async () => {
  await app?.close();
});

type Entry = Record<string, unknown> & { reqId?: string };

function requestLine(id: string): Entry {
  const lines = (logs.entries() as Entry[]).filter((entry) => entry.reqId === id && entry.msg === 'request completed');
  expect(lines, `one request line for ${id}`).toHaveLength(1);
  return lines[0];
}

describe('request log', () => {
  it('writes every line as JSON with a level, a time and a message', () => {
    expect(logs.lines.length).toBeGreaterThan(5);
    for (const entry of logs.entries()) {
      expect(entry).toMatchObject({ level: expect.any(Number), time: expect.any(Number), msg: expect.any(String) });
    }
  });

  it('gives each request an id, in its log line and in X-Request-Id', async () => {
    const response = await request(app.url).get('/users/me').set('Authorization', `Bearer ${user.accessToken}`).expect(200);
    const id = response.headers['x-request-id'];
    expect(id).toMatch(UUID);
    expect(requestLine(id)).toMatchObject({
      level: 30,
      method: 'GET',
      url: '/users/me',
      route: '/users/me',
      statusCode: 200,
      ip: '127.0.0.1',
      responseTime: expect.any(Number),
    });

    const other = await request(app.url).get('/users/me').set('Authorization', `Bearer ${user.accessToken}`).expect(200);
    expect(other.headers['x-request-id']).not.toBe(id);
  });

  it("keeps a proxy's plain X-Request-Id and replaces one that could forge a line", async () => {
    const kept = await request(app.url).get('/nowhere').set('X-Request-Id', 'edge-7f3a.42:1').expect(404);
    expect(kept.headers['x-request-id']).toBe('edge-7f3a.42:1');
    expect(requestLine('edge-7f3a.42:1').statusCode).toBe(404);

    const forged = await request(app.url).get('/nowhere').set('X-Request-Id', 'x"}\t{"level":60').expect(404);
    expect(forged.headers['x-request-id']).toMatch(UUID);
    requestLine(forged.headers['x-request-id']);
  });

  it('never logs a header with a credential, nor a body', async () => {
    const response = await request(app.url)
      .post('/auth/refresh')
      .set('Authorization', `Bearer ${user.accessToken}`)
      .set('Cookie', `refresh_token=${user.refreshToken}`)
      .send({})
      .expect(200);
    const line = requestLine(response.headers['x-request-id']);
    const allowed = ['hostname', 'ip', 'level', 'method', 'msg', 'pid', 'reqId', 'responseTime', 'route', 'statusCode', 'time', 'url', 'userAgent'];
    expect(Object.keys(line).filter((key) => !allowed.includes(key))).toEqual([]);
    expect(line).not.toHaveProperty('body');
    const everything = logs.lines.join('\n');
    for (const secret of [user.accessToken, user.refreshToken!, refreshTokenCookie(response)!, response.body.accessToken, user.password]) {
      expect(secret).toEqual(expect.any(String));
      expect(everything).not.toContain(secret);
    }
  });

  it('logs the path without the query string, where a careless client may put a password', async () => {
    const response = await request(app.url).post('/auth/login?password=query-secret-1&email=a@example.com').send({ email: 'a@example.com', password: 'x'.repeat(10) });
    expect(requestLine(response.headers['x-request-id']).url).toBe('/auth/login');
    expect(logs.lines.join('\n')).not.toContain('query-secret-1');
  });

  it('redacts credential headers and password and token fields in whatever a module logs', () => {
    const logger = app.app.get(Logger);
    logger.warn(
      {
        password: 'p0',
        user: { password: 'p1', currentPassword: 'p2', newPassword: 'p3', refreshToken: 'p4', accessToken: 'p5' },
        headers: { authorization: 'Bearer p6', cookie: 'refresh_token=p7', 'user-agent': 'kept' },
        request: { headers: { authorization: 'Bearer p8', cookie: 'p9' } },
        msg: 'probe',
      },
      'Probe',
    );
    const probe = (logs.entries() as Entry[]).find((entry) => entry.msg === 'probe')!;
    expect(probe).toMatchObject({
      context: 'Probe',
      password: '[Redacted]',
      user: { password: '[Redacted]', currentPassword: '[Redacted]', newPassword: '[Redacted]', refreshToken: '[Redacted]', accessToken: '[Redacted]' },
      headers: { authorization: '[Redacted]', cookie: '[Redacted]', 'user-agent': 'kept' },
      request: { headers: { authorization: '[Redacted]', cookie: '[Redacted]' } },
    });
    expect(JSON.stringify(probe)).not.toMatch(/p[0-9]"/);
  });

  it('does not log health probes, which would drown the rest', async () => {
    const response = await request(app.url).get('/health').expect(200);
    expect((logs.entries() as Entry[]).filter((entry) => entry.reqId === response.headers['x-request-id'])).toEqual([]);
  });
});
