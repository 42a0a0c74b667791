import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register, uniqueEmail } from './support/api';
import { startApp, TestApp } from './support/test-app';

let app: TestApp;

beforeAll(async () => {
  // A real cost, so that bcrypt dominates each request, as it does in production.
  app = await startApp({ BCRYPT_COST: '8', LOGIN_BACKOFF_THRESHOLD: '1000' });
});

afterAll(async () => {
  await app?.close();
});

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

describe('account enumeration through login', () => {
  it('an unknown email and a wrong password get the same status, body and, within noise, time', async () => {
    const known = await register(app);
    const timings = { unknown: [] as number[], wrong: [] as number[] };
    const bodies = new Set<string>();
    for (let i = 0; i < 40; i += 1) {
      // Interleaved, so that any drift of the machine's load hits both kinds alike.
      for (const kind of i % 2 ? (['unknown', 'wrong'] as const) : (['wrong', 'unknown'] as const)) {
        const email = kind === 'unknown' ? uniqueEmail('nobody') : known.email;
        const started = process.hrtime.bigint();
        const response = await request(app.url).post('/auth/login').send({ email, password: `wrong password ${i}` });
        const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
        expect(response.status).toBe(401);
        bodies.add(JSON.stringify(response.body));
        if (i >= 4) timings[kind].push(elapsed); // the first rounds warm up
      }
    }
    expect([...bodies]).toEqual([JSON.stringify({ statusCode: 401, message: 'Invalid email or password', error: 'Unauthorized', code: 'invalid_credentials' })]);
    const [unknown, wrong] = [median(timings.unknown), median(timings.wrong)];
    expect(Math.abs(unknown - wrong) / Math.max(unknown, wrong), `medians: unknown ${unknown.toFixed(1)} ms, wrong ${wrong.toFixed(1)} ms`).toBeLessThan(0.25);
  });
});
