import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { GOOD_PASSWORD, register, Registered, uniqueEmail } from './support/api';
import { CapturedLogs, startApp, TestApp } from './support/test-app';

/** /metrics in Prometheus's text format: request latency by route, and the auth events. */

/** The value of one sample, `name{labels}`, in a scrape; 0 when the series is absent. */
function sample(scrape: string, name: string, labels: Record<string, string> = {}): number {
  const line = scrape.split('\n').find((candidate) => {
    if (!candidate.startsWith(`${name}{`) && !candidate.startsWith(`${name} `)) return false;
    return Object.entries(labels).every(([key, value]) => candidate.includes(`${key}="${value}"`));
  });
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function scrape(app: TestApp, token?: string): Promise<string> {
  const call = request(app.url).get('/metrics');
  const response = await (token ? call.set('Authorization', `Bearer ${token}`) : call).expect(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text;
}

describe('/metrics', () => {
  let app: TestApp;
  let user: Registered;

  beforeAll(async () => {
    // A per-IP limit low enough to reach, and a back-off after two failures.
    app = await startApp({ AUTH_RATE_LIMIT: '8', LOGIN_BACKOFF_THRESHOLD: '2', JWT_REFRESH_REUSE_INTERVAL: '0' });
    user = await register(app);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('is public to the JWT guard and exports the process metrics', async () => {
    const text = await scrape(app);
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_p99_seconds gauge');
  });

  it('exports every login and refresh outcome from the start, at zero or more', async () => {
    const text = await scrape(app);
    for (const outcome of ['success', 'invalid_credentials', 'locked_out']) expect(text).toContain(`auth_logins_total{outcome="${outcome}"}`);
    for (const outcome of ['success', 'invalid', 'reused']) expect(text).toContain(`auth_refreshes_total{outcome="${outcome}"}`);
  });

  it('times requests by route template, not by path, and 404s as unmatched', async () => {
    await request(app.url).get('/users/me').set('Authorization', `Bearer ${user.accessToken}`).expect(200);
    await request(app.url)
      .delete(`/auth/sessions/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`)
      .set('Authorization', `Bearer ${user.accessToken}`)
      .expect(404);
    await request(app.url).get('/no/such/route').expect(404);
    const text = await scrape(app);
    expect(sample(text, 'http_request_duration_seconds_count', { method: 'GET', route: '/users/me', status_code: '200' })).toBe(1);
    expect(sample(text, 'http_request_duration_seconds_count', { method: 'DELETE', route: '/auth/sessions/:id', status_code: '404' })).toBe(1);
    expect(sample(text, 'http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' })).toBe(1);
    expect(text).not.toContain('-0000-4000-8000-');
    expect(text).not.toContain('/no/such/route');
    expect(sample(text, 'http_request_duration_seconds_bucket', { route: '/users/me', le: '+Inf' })).toBe(1);
  });

  it('counts logins by outcome, and the per-account back-off as a rate-limit rejection', async () => {
    const before = await scrape(app);
    await request(app.url).post('/auth/login').send({ email: user.email, password: GOOD_PASSWORD }).expect(200);
    const victim = await register(app);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await request(app.url).post('/auth/login').send({ email: victim.email, password: 'wrong password!' }).expect(401);
    }
    await request(app.url).post('/auth/login').send({ email: victim.email, password: GOOD_PASSWORD }).expect(429);
    const after = await scrape(app);
    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('auth_logins_total', { outcome: 'success' })).toBe(1);
    expect(delta('auth_logins_total', { outcome: 'invalid_credentials' })).toBe(2);
    expect(delta('auth_logins_total', { outcome: 'locked_out' })).toBe(1);
    expect(delta('auth_rate_limit_rejections_total', { limiter: 'account', route: '/auth/login' })).toBe(1);
    expect(after).not.toContain(victim.email);
  });

  it('counts refreshes by outcome, and each reuse detection', async () => {
    const before = await scrape(app);
    await request(app.url).post('/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
    await request(app.url).post('/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401); // replayed: reuse
    await request(app.url).post('/auth/refresh').send({ refreshToken: 'rt_unknown' }).expect(401);
    const after = await scrape(app);
    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('auth_refreshes_total', { outcome: 'success' })).toBe(1);
    expect(delta('auth_refreshes_total', { outcome: 'reused' })).toBe(1);
    expect(delta('auth_refreshes_total', { outcome: 'invalid' })).toBe(1);
    expect(delta('auth_refresh_token_reuse_detections_total')).toBe(1);
    expect(after).not.toContain(user.refreshToken!);
  });

  it('counts what the per-IP limit turns away, by route', async () => {
    let status = 0;
    for (let attempt = 0; attempt < 10 && status !== 429; attempt += 1) {
      status = (await request(app.url).post('/auth/register').send({ email: uniqueEmail(), password: GOOD_PASSWORD })).status;
    }
    expect(status).toBe(429);
    expect(sample(await scrape(app), 'auth_rate_limit_rejections_total', { limiter: 'ip', route: '/auth/register' })).toBe(1);
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  const METRICS_TOKEN = 'scraper-secret-0123456789';
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp({ METRICS_TOKEN });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers only a scraper that presents the token', async () => {
    const missing = await request(app.url).get('/metrics').expect(401);
    expect(missing.body.code).toBe('token_missing');
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    const wrong = await request(app.url).get('/metrics').set('Authorization', 'Bearer scraper-secret-wrong').expect(401);
    expect(wrong.body.code).toBe('token_invalid');
    const user = await register(app);
    await request(app.url).get('/metrics').set('Authorization', `Bearer ${user.accessToken}`).expect(401); // a user's token is not it
    expect(await scrape(app, METRICS_TOKEN)).toContain('http_request_duration_seconds_count');
  });
});

describe('/metrics in production', () => {
  // Everything production requires; the SMTP server is never reached (nothing here sends mail).
  const production = {
    NODE_ENV: 'production',
    BCRYPT_COST: '10',
    JWT_SECRET: 'p'.repeat(48),
    REFRESH_TOKEN_SECRET: Buffer.alloc(32, 1).toString('base64'),
    MFA_ENCRYPTION_KEY: Buffer.alloc(32, 2).toString('base64'),
    SMTP_URL: 'smtp://127.0.0.1:2525',
  };

  it('is not served without METRICS_TOKEN: 404 not_found, as an unknown route, and the start says it is off', async () => {
    const logs = new CapturedLogs();
    const app = await startApp(production, undefined, logs);
    try {
      const response = await request(app.url).get('/metrics').expect(404);
      expect(response.body).toEqual({ statusCode: 404, message: 'Route not found', error: 'Not Found', code: 'not_found' });
      expect(response.text).not.toContain('process_cpu');
      const unknown = await request(app.url).get('/no/such/route').expect(404);
      expect(response.body).toEqual(unknown.body);
      expect(logs.entries().some((line) => String(line.msg).includes('/metrics is off'))).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('is served with METRICS_TOKEN, to the scraper that presents it', async () => {
    const METRICS_TOKEN = 'production-scraper-0123456789';
    const logs = new CapturedLogs();
    const app = await startApp({ ...production, METRICS_TOKEN }, undefined, logs);
    try {
      await request(app.url).get('/metrics').expect(401);
      expect(await scrape(app, METRICS_TOKEN)).toContain('http_request_duration_seconds');
      expect(logs.entries().some((line) => String(line.msg).includes('/metrics is off'))).toBe(false);
    } finally {
      await app.close();
    }
  });
});
