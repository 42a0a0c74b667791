import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccessTokenService } from '../src/tokens/access-token.service';
import { authed, register, Registered } from './support/api';
import { ACCESS_HEADER, accessClaims, signJwt, withTrailingBitSet } from './support/jwt';
import { startApp, TestApp } from './support/test-app';

// GET /projects/stats: the example module's controller protected with
// @UseGuards(JwtAuthGuard, RolesGuard) on top of the global guards (src/projects/project-stats.controller.ts).

const ADMIN_EMAIL = 'stats.admin@example.com';
const ADMIN_PASSWORD = 'admin password for tests';

// One app for the whole file: Passport registers its strategies process-wide.
let app: TestApp;
let admin: { accessToken: string; user: { id: string } };
let alice: Registered;
let bob: Registered;

beforeAll(async () => {
  app = await startApp({ ADMIN_EMAIL, ADMIN_PASSWORD });
  const login = await request(app.url).post('/auth/login').send({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }).expect(200);
  admin = login.body;
  alice = await register(app);
  bob = await register(app);
});

afterAll(async () => {
  await app?.close();
});

describe('GET /projects/stats', () => {
  it('answers an admin 200 with the number of projects and of their owners', async () => {
    await authed(app, 'get', '/projects/stats', admin.accessToken).expect(200, { projects: 0, owners: 0 });
    for (const [owner, name] of [[alice, 'A1'], [alice, 'A2'], [bob, 'B1']] as const) {
      await authed(app, 'post', '/projects', owner.accessToken).send({ name }).expect(201);
    }
    await authed(app, 'get', '/projects/stats', admin.accessToken).expect(200, { projects: 3, owners: 2 });
  });

  it('answers 403 forbidden to a user without the admin role', async () => {
    const response = await authed(app, 'get', '/projects/stats', alice.accessToken).expect(403);
    expect(response.body.code).toBe('forbidden');
  });

  it('answers every bad token exactly as a route behind the global guard alone does', async () => {
    const now = Math.floor(Date.now() / 1000);
    const headers: Array<[string, string | undefined]> = [
      ['no token', undefined],
      ['an expired token', `Bearer ${signJwt(ACCESS_HEADER, accessClaims(admin.user.id, ['user', 'admin'], { iat: now - 1000, exp: now - 60 }))}`],
      ['a changed signature', `Bearer ${admin.accessToken.slice(0, -4)}${admin.accessToken.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`],
      ['a non-canonical signature', `Bearer ${withTrailingBitSet(admin.accessToken)}`],
      ['a non-UUID subject', `Bearer ${signJwt(ACCESS_HEADER, accessClaims('admin', ['user', 'admin']))}`],
      ['a refresh token', `Bearer ${alice.refreshToken}`],
      ['a malformed header', 'Bearer a.b'],
    ];
    for (const [label, authorization] of headers) {
      const send = (path: string) => (authorization === undefined ? request(app.url).get(path) : request(app.url).get(path).set('Authorization', authorization));
      const [twice, once] = await Promise.all([send('/projects/stats'), send('/projects')]);
      expect(twice.status, label).toBe(401);
      expect({ body: twice.body, www: twice.headers['www-authenticate'] }, label).toEqual({ body: once.body, www: once.headers['www-authenticate'] });
    }
  });

  it('verifies the token once, though JwtAuthGuard runs globally and again with @UseGuards', async () => {
    const tokens = app.app.get(AccessTokenService, { strict: false });
    const verify = vi.spyOn(tokens, 'verify'); // counts, and calls the real method
    try {
      await authed(app, 'get', '/projects/stats', admin.accessToken).expect(200);
      expect(verify).toHaveBeenCalledTimes(1);
      verify.mockClear();
      await authed(app, 'get', '/projects/stats', alice.accessToken).expect(403);
      expect(verify).toHaveBeenCalledTimes(1);
    } finally {
      verify.mockRestore();
    }
  });

  it('is in the OpenAPI document as a Bearer route with its 403', async () => {
    const document = (await request(app.url).get('/docs-json').expect(200)).body;
    const operation = document.paths['/projects/stats']?.get;
    expect(operation).toBeDefined();
    expect(operation.security).toEqual([{ [Object.keys(document.components.securitySchemes)[0]]: [] }]);
    expect(Object.keys(operation.responses).sort()).toEqual(['200', '401', '403']);
    expect(operation.responses['200'].content['application/json'].schema.$ref).toMatch(/ProjectStatsResponse$/);
  });
});
