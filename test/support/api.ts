import request from 'supertest';
import type { TestApp } from './test-app';

let counter = 0;

/** A fresh, valid email for each call. */
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}.${process.pid}.${Date.now()}.${counter}@example.com`;
}

export const GOOD_PASSWORD = 'correct horse battery staple';

export interface Registered {
  email: string;
  password: string;
  accessToken: string;
  refreshToken?: string;
  user: { id: string; email: string; displayName: string | null; roles: string[]; createdAt: string; updatedAt: string };
}

export async function register(app: TestApp, email = uniqueEmail(), password = GOOD_PASSWORD): Promise<Registered> {
  const response = await request(app.url).post('/auth/register').send({ email, password }).expect(201);
  // With AUTH_COOKIES=true the refresh token comes in the cookie only.
  return { email, password, refreshToken: refreshTokenCookie(response), ...response.body };
}

/** The value of the `refresh_token` cookie a response sets, if any. */
export function refreshTokenCookie(response: request.Response): string | undefined {
  const cookie = ([] as string[]).concat(response.headers['set-cookie'] ?? []).find((c) => c.startsWith('refresh_token='));
  return cookie?.slice('refresh_token='.length).split(';')[0] || undefined;
}

export function authed(app: TestApp, method: 'get' | 'post' | 'patch' | 'delete', path: string, token: string) {
  return request(app.url)[method](path).set('Authorization', `Bearer ${token}`);
}
