import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from 'nestjs-pino';
import request from 'supertest';
import { register, Registered } from './support/api';
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

type Entry = Record<string, unknown> & { req?: { id: string; url: string; headers: Record<string, string> }; res?: { statusCode: number } };

function requestLine(id: string): Entry {
  const lines = (logs.entries() as Entry[]).filter((entry) => entry.req?.id === id && entry.msg === 'request completed');
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
    expect(requestLine(id)).toMatchObject({ req: { method: 'GET', url: '/users/me' }, res: { statusCode: 200 }, responseTime: expect.any(Number) });

    const other = await request(app.url).get('/users/me').set('Authorization', `Bearer ${user.accessToken}`).expect(200);
    expect(other.headers['x-request-id']).not.toBe(id);
  });

  it("keeps a proxy's plain X-Request-Id and replaces one that could forge a line", async () => {
    const kept = await request(app.url).get('/nowhere').set('X-Request-Id', 'edge-7f3a.42:1').expect(404);
    expect(kept.headers['x-request-id']).toBe('edge-7f3a.42:1');
    expect(requestLine('edge-7f3a.42:1').res).toEqual({ statusCode: 404 });

    const forged = await request(app.url).get('/nowhere').set('X-Request-Id', 'x"}\t{"level":60').expect(404);
    expect(forged.headers['x-request-id']).toMatch(UUID);
    requestLine(forged.headers['x-request-id']);
  });

  it('redacts the Authorization and Cookie headers and never logs a body', async () => {
    const response = await request(app.url)
      .post('/auth/refresh')
      .set('Authorization', `Bearer ${user.accessToken}`)
      .set('Cookie', `refresh_token=${user.refreshToken}`)
      .send({})
      .expect(200);
    const line = requestLine(response.headers['x-request-id']);
    expect(line.req!.headers.authorization).toBe('[Redacted]');
    expect(line.req!.headers.cookie).toBe('[Redacted]');
    expect(line).not.toHaveProperty('body');
    const everything = logs.lines.join('\n');
    for (const secret of [user.accessToken, user.refreshToken!, response.body.refreshToken, response.body.accessToken, user.password]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('logs the path without the query string, where a careless client may put a password', async () => {
    const response = await request(app.url).post('/auth/login?password=query-secret-1&email=a@example.com').send({ email: 'a@example.com', password: 'x'.repeat(10) });
    expect(requestLine(response.headers['x-request-id']).req!.url).toBe('/auth/login');
    expect(logs.lines.join('\n')).not.toContain('query-secret-1');
  });

  it('redacts password and token fields in whatever a module logs, up to two levels deep', () => {
    const logger = app.app.get(Logger);
    logger.warn({ password: 'p0', user: { password: 'p1', currentPassword: 'p2', newPassword: 'p3' }, a: { b: { refreshToken: 'p4', accessToken: 'p5' } }, msg: 'probe' }, 'Probe');
    const probe = (logs.entries() as Entry[]).find((entry) => entry.msg === 'probe')!;
    expect(probe).toMatchObject({
      context: 'Probe',
      password: '[Redacted]',
      user: { password: '[Redacted]', currentPassword: '[Redacted]', newPassword: '[Redacted]' },
      a: { b: { refreshToken: '[Redacted]', accessToken: '[Redacted]' } },
    });
    expect(JSON.stringify(probe)).not.toMatch(/"p[0-5]"/);
  });

  it('does not log health probes, which would drown the rest', async () => {
    const response = await request(app.url).get('/health').expect(200);
    expect((logs.entries() as Entry[]).filter((entry) => entry.req?.id === response.headers['x-request-id'])).toEqual([]);
  });
});
