import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { authed, GOOD_PASSWORD, register, Registered } from './support/api';
import { startApp, TestApp } from './support/test-app';

let app: TestApp;
let user: Registered;

beforeAll(async () => {
  app = await startApp();
  user = await register(app);
});

afterAll(async () => {
  await app?.close();
});

describe('GET /health', () => {
  it('answers 200 with the database up, without a token', async () => {
    const response = await request(app.url).get('/health').expect(200);
    expect(response.body.status).toBe('ok');
    expect(response.body.details.database.status).toBe('up');
  });

  it('answers 503 when the database is gone, and the process stays up', async () => {
    await app.dataSource.destroy(); // the database connection is lost
    try {
      const health = await request(app.url).get('/health');
      expect(health.status).toBe(503);
      expect(health.headers['retry-after']).toBe('5');
      expect(health.body).toMatchObject({ statusCode: 503, code: 'database_unavailable', details: { database: { status: 'down' } } });

      const login = await request(app.url).post('/auth/login').send({ email: user.email, password: GOOD_PASSWORD });
      expect(login.status).toBe(503);
      expect(login.body.code).toBe('database_unavailable');
      expect(login.headers['retry-after']).toBe('5');

      const register503 = await request(app.url).post('/auth/register').send({ email: 'new@example.com', password: GOOD_PASSWORD });
      expect(register503.status).toBe(503);

      const me = await authed(app, 'get', '/users/me', user.accessToken); // loads the user
      expect(me.status).toBe(503);
      expect(me.body.code).toBe('database_unavailable');
    } finally {
      await app.dataSource.initialize();
    }
    await request(app.url).get('/health').expect(200);
    await request(app.url).post('/auth/login').send({ email: user.email, password: GOOD_PASSWORD }).expect(200);
  });
});
