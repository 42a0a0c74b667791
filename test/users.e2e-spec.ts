import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { authed, GOOD_PASSWORD, register, Registered, uniqueEmail } from './support/api';
import { ACCESS_HEADER, accessClaims, decodeJwt, signJwt } from './support/jwt';
import { createTestDatabase, startApp, TestApp } from './support/test-app';

const ADMIN_EMAIL = 'root.admin@example.com';
const ADMIN_PASSWORD = 'admin password for tests';

let app: TestApp;
let alice: Registered;
let admin: { accessToken: string };

beforeAll(async () => {
  app = await startApp({ ADMIN_EMAIL: ` ${ADMIN_EMAIL.toUpperCase()} `, ADMIN_PASSWORD });
  alice = await register(app);
  const login = await request(app.url).post('/auth/login').send({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }).expect(200);
  admin = login.body;
});

/** The session of alice's token: hand-signed tokens name it, as the service's own do (GET /users/me checks it). */
function sid(): string {
  return decodeJwt(alice.accessToken).payload.sid as string;
}

afterAll(async () => {
  await app?.close();
});

function expectUnauthorized(response: request.Response, code: string) {
  expect(response.status).toBe(401);
  expect(response.body.code).toBe(code);
  expect(response.body.statusCode).toBe(401);
  expect(response.body.error).toBe('Unauthorized');
  expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
}

describe('GET /users/me', () => {
  it('answers 200 with the caller, without any password or hash', async () => {
    const response = await authed(app, 'get', '/users/me', alice.accessToken).expect(200);
    expect(response.body).toEqual(alice.user);
    expect(JSON.stringify(response.body)).not.toMatch(/password|\$2[aby]\$/i);
  });

  it('answers 401 token_missing with WWW-Authenticate: Bearer without a token', async () => {
    expectUnauthorized(await request(app.url).get('/users/me'), 'token_missing');
  });

  const forged: Array<[string, () => string]> = [
    ['a tampered payload (roles raised)', () => {
      const [h, , s] = alice.accessToken.split('.');
      const payload = Buffer.from(JSON.stringify(accessClaims(alice.user.id, ['user', 'admin'], { sid: sid() }))).toString('base64url');
      return `${h}.${payload}.${s}`;
    }],
    ['a changed signature', () => alice.accessToken.slice(0, -4) + (alice.accessToken.endsWith('AAAA') ? 'BBBB' : 'AAAA')],
    ['a stripped signature', () => alice.accessToken.split('.').slice(0, 2).join('.') + '.'],
    ['an unsigned token (alg none)', () => {
      const encode = (part: unknown) => Buffer.from(JSON.stringify(part)).toString('base64url');
      return `${encode({ alg: 'none', typ: 'at+jwt' })}.${encode(accessClaims(alice.user.id, ['user'], { sid: sid() }))}.`;
    }],
    ['a token signed with another secret', () => signJwt(ACCESS_HEADER, accessClaims(alice.user.id, ['user'], { sid: sid() }), 'another-secret-another-secret-another')],
    ...['secretKey', 'secret', 'changeme', 'your-256-bit-secret'].map((placeholder): [string, () => string] => [
      `a token signed with the placeholder secret "${placeholder}"`,
      () => signJwt(ACCESS_HEADER, accessClaims(alice.user.id, ['user', 'admin'], { sid: sid() }), placeholder),
    ]),
    ...['none', 'None', 'NONE', 'nOnE'].map((alg): [string, () => string] => [
      `an unsigned token (alg "${alg}")`,
      () => {
        const encode = (part: unknown) => Buffer.from(JSON.stringify(part)).toString('base64url');
        return `${encode({ ...ACCESS_HEADER, alg })}.${encode(accessClaims(alice.user.id, ['user'], { sid: sid() }))}.`;
      },
    ]),
    ['a truncated signature', () => alice.accessToken.slice(0, -10)],
    ['a kid that is not ours', () => signJwt({ ...ACCESS_HEADER, kid: 'attacker-key' }, accessClaims(alice.user.id, ['user'], { sid: sid() }))],
    ['a jku header (even validly signed)', () => signJwt({ ...ACCESS_HEADER, jku: 'https://attacker.example/jwks.json' }, accessClaims(alice.user.id, ['user'], { sid: sid() }))],
    ['an x5u header (even validly signed)', () => signJwt({ ...ACCESS_HEADER, x5u: 'https://attacker.example/cert.pem' }, accessClaims(alice.user.id, ['user'], { sid: sid() }))],
    ['a jwk header (even validly signed)', () => signJwt({ ...ACCESS_HEADER, jwk: { kty: 'oct', k: 'AAAA' } }, accessClaims(alice.user.id, ['user'], { sid: sid() }))],
    ['an iat in the future', () => signJwt(ACCESS_HEADER, accessClaims(alice.user.id, ['user'], { sid: sid(), iat: Math.floor(Date.now() / 1000) + 3600 }))],
    ['a token without exp', () => {
      const { exp: _exp, ...claims } = accessClaims(alice.user.id, ['user'], { sid: sid() });
      return signJwt(ACCESS_HEADER, claims);
    }],
    ['a wrong issuer', () => signJwt(ACCESS_HEADER, accessClaims(alice.user.id, ['user'], { sid: sid(), iss: 'someone-else' }))],
    ['a wrong audience', () => signJwt(ACCESS_HEADER, accessClaims(alice.user.id, ['user'], { sid: sid(), aud: 'other-api' }))],
    ['nbf in the future', () => signJwt(ACCESS_HEADER, accessClaims(alice.user.id, ['user'], { sid: sid(), nbf: Math.floor(Date.now() / 1000) + 3600 }))],
    ['a JWT that is not an access token (typ JWT, right kid)', () => signJwt({ ...ACCESS_HEADER, typ: 'JWT' }, accessClaims(alice.user.id, ['user'], { sid: sid() }))],
    ['a JWT without typ (right kid)', () => signJwt({ alg: 'HS256', kid: ACCESS_HEADER.kid }, accessClaims(alice.user.id, ['user'], { sid: sid() }))],
    ['an x5c header (even validly signed)', () => signJwt({ ...ACCESS_HEADER, x5c: ['MIIB'] }, accessClaims(alice.user.id, ['user'], { sid: sid() }))],
    ['a crit header (even validly signed)', () => signJwt({ ...ACCESS_HEADER, crit: ['exp'] }, accessClaims(alice.user.id, ['user'], { sid: sid() }))],
    ['an unknown role claim', () => signJwt(ACCESS_HEADER, accessClaims(alice.user.id, ['superuser'], { sid: sid() }))],
    ['non-base64 garbage', () => 'abc.def.ghi'],
    ['a token over 8 KiB', () => signJwt(ACCESS_HEADER, accessClaims(alice.user.id, ['user'], { sid: sid(), pad: 'x'.repeat(9000) }))],
  ];

  it.each(forged)('answers 401 token_invalid for %s', async (_, make) => {
    expectUnauthorized(await authed(app, 'get', '/users/me', make()), 'token_invalid');
  });

  it('answers 401 token_invalid for a malformed Authorization header', async () => {
    expectUnauthorized(await request(app.url).get('/users/me').set('Authorization', `Basic ${alice.accessToken}`), 'token_invalid');
    expectUnauthorized(await request(app.url).get('/users/me').set('Authorization', 'Bearer'), 'token_invalid');
  });

  it('answers 401 token_expired for an expired token, beyond the clock leeway', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt(ACCESS_HEADER, accessClaims(alice.user.id, ['user'], { sid: sid(), iat: now - 1000, exp: now - 61 }));
    expectUnauthorized(await authed(app, 'get', '/users/me', token), 'token_expired');
  });

  it('allows a clock leeway of at most 5 seconds on exp, nbf and iat', async () => {
    const now = Math.floor(Date.now() / 1000);
    const within = { iat: now + 2, nbf: now + 2, exp: now - 2 };
    await authed(app, 'get', '/users/me', signJwt(ACCESS_HEADER, accessClaims(alice.user.id, ['user'], { sid: sid(), ...within }))).expect(200);
    for (const beyond of [{ exp: now - 7 }, { nbf: now + 10 }, { iat: now + 10 }]) {
      const response = await authed(app, 'get', '/users/me', signJwt(ACCESS_HEADER, accessClaims(alice.user.id, ['user'], { sid: sid(), ...beyond })));
      expect(response.status, JSON.stringify(beyond)).toBe(401);
    }
  });

  it('accepts a hand-signed token with every claim right (so the forgeries above fail for their flaw alone)', async () => {
    await authed(app, 'get', '/users/me', signJwt(ACCESS_HEADER, accessClaims(alice.user.id, ['user'], { sid: sid() }))).expect(200);
  });

  it('answers 401 for a validly signed token whose user no longer exists', async () => {
    const doomed = await register(app);
    await app.dataSource.query('DELETE FROM users WHERE id = $1', [doomed.user.id]);
    expectUnauthorized(await authed(app, 'get', '/users/me', doomed.accessToken), 'token_invalid');
    expectUnauthorized(await authed(app, 'patch', '/users/me', doomed.accessToken).send({ displayName: 'x' }), 'token_invalid');
  });
});

describe('PATCH /users/me', () => {
  it('answers 200 with the updated user; null clears the display name', async () => {
    const me = await register(app);
    const updated = await authed(app, 'patch', '/users/me', me.accessToken).send({ displayName: '  Grace  ' }).expect(200);
    expect(updated.body.displayName).toBe('Grace');
    expect(updated.body.id).toBe(me.user.id);
    expect(new Date(updated.body.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(me.user.createdAt).getTime());
    const fetched = await authed(app, 'get', '/users/me', me.accessToken).expect(200);
    expect(fetched.body.displayName).toBe('Grace');
    const cleared = await authed(app, 'patch', '/users/me', me.accessToken).send({ displayName: null }).expect(200);
    expect(cleared.body.displayName).toBeNull();
  });

  it.each([
    ['a number', { displayName: 42 }],
    ['an object', { displayName: { first: 'a' } }],
    ['a missing field', {}],
    ['an unknown property', { displayName: 'ok', email: 'evil@example.com' }],
    ['an over-long name', { displayName: 'n'.repeat(101) }],
  ])('answers 400 for %s', async (_, body) => {
    const response = await authed(app, 'patch', '/users/me', alice.accessToken).send(body).expect(400);
    expect(response.body.code).toBe('validation_failed');
    const me = await authed(app, 'get', '/users/me', alice.accessToken).expect(200);
    expect(me.body.email).toBe(alice.email); // nothing changed
  });

  it('answers 401 without a token', async () => {
    expectUnauthorized(await request(app.url).patch('/users/me').send({ displayName: 'x' }), 'token_missing');
  });
});

describe('admin account from ADMIN_EMAIL / ADMIN_PASSWORD', () => {
  it('is created at start with the admin role and a normalised email', async () => {
    const me = await authed(app, 'get', '/users/me', admin.accessToken).expect(200);
    expect(me.body.email).toBe(ADMIN_EMAIL);
    expect(me.body.roles).toEqual(['user', 'admin']);
  });

});

describe('GET /users (admin)', () => {
  it('answers 403 forbidden without the admin role', async () => {
    const response = await authed(app, 'get', '/users', alice.accessToken).expect(403);
    expect(response.body).toEqual({ statusCode: 403, message: expect.any(String), error: 'Forbidden', code: 'forbidden' });
  });

  it('answers 401 without a token', async () => {
    expectUnauthorized(await request(app.url).get('/users'), 'token_missing');
  });

  it('pages through every user in creation order', async () => {
    for (let i = 0; i < 3; i += 1) await register(app);
    const all = await authed(app, 'get', '/users?page=1&limit=100', admin.accessToken).expect(200);
    expect(Object.keys(all.body).sort()).toEqual(['items', 'limit', 'page', 'total']);
    expect(all.body.total).toBeGreaterThanOrEqual(5);
    expect(all.body.items).toHaveLength(all.body.total);
    expect(all.body.items.map((u: { id: string }) => u.id)).toContain(alice.user.id);
    const first = await authed(app, 'get', '/users?page=1&limit=2', admin.accessToken).expect(200);
    const second = await authed(app, 'get', '/users?page=2&limit=2', admin.accessToken).expect(200);
    expect(first.body).toMatchObject({ page: 1, limit: 2, total: all.body.total });
    expect([...first.body.items, ...second.body.items]).toEqual(all.body.items.slice(0, 4));
    expect(JSON.stringify(all.body)).not.toMatch(/password|\$2[aby]\$/i);
  });

  it('defaults to page 1 and limit 20, and serves at most 100 a page', async () => {
    const defaults = await authed(app, 'get', '/users', admin.accessToken).expect(200);
    expect(defaults.body).toMatchObject({ page: 1, limit: 20 });
    const capped = await authed(app, 'get', '/users?limit=1000', admin.accessToken).expect(200);
    expect(capped.body.limit).toBe(100);
  });

  it.each(['page=0', 'page=-1', 'page=abc', 'page=1.5', 'limit=0', 'limit=x', 'limit=', 'page=1e3', 'sort=email'])(
    'answers 400 for ?%s',
    async (query) => {
      const response = await authed(app, 'get', `/users?${query}`, admin.accessToken).expect(400);
      expect(response.body.code).toBe('validation_failed');
    },
  );
});

describe('PATCH /users/:id/roles (admin)', () => {
  it('sets the roles and answers 200 with the user', async () => {
    const bob = await register(app);
    const response = await authed(app, 'patch', `/users/${bob.user.id}/roles`, admin.accessToken)
      .send({ roles: ['user', 'admin'] })
      .expect(200);
    expect(response.body).toMatchObject({ id: bob.user.id, roles: ['user', 'admin'] });
    // The new role takes effect with the next token, signed at login.
    const login = await request(app.url).post('/auth/login').send({ email: bob.email, password: GOOD_PASSWORD }).expect(200);
    await authed(app, 'get', '/users', login.body.accessToken).expect(200);
  });

  it.each([
    ['an unknown role', { roles: ['user', 'root'] }],
    ['an empty list', { roles: [] }],
    ['a string instead of a list', { roles: 'admin' }],
    ['a duplicate role', { roles: ['user', 'user'] }],
    ['an unknown property', { roles: ['user'], email: 'x@example.com' }],
  ])('answers 400 for %s', async (_, body) => {
    const response = await authed(app, 'patch', `/users/${alice.user.id}/roles`, admin.accessToken).send(body).expect(400);
    expect(response.body.code).toBe('validation_failed');
  });

  it('answers 400 for a malformed id and 404 for an id that is not there', async () => {
    const malformed = await authed(app, 'patch', '/users/not-a-uuid/roles', admin.accessToken).send({ roles: ['user'] }).expect(400);
    expect(malformed.body.code).toBe('validation_failed');
    const missing = await authed(app, 'patch', '/users/00000000-0000-4000-8000-000000000000/roles', admin.accessToken)
      .send({ roles: ['user'] })
      .expect(404);
    expect(missing.body.code).toBe('not_found');
  });

  it('answers 403 without the admin role and 401 without a token', async () => {
    const response = await authed(app, 'patch', `/users/${alice.user.id}/roles`, alice.accessToken).send({ roles: ['user', 'admin'] });
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('forbidden');
    expectUnauthorized(await request(app.url).patch(`/users/${alice.user.id}/roles`).send({ roles: ['user'] }), 'token_missing');
    const me = await authed(app, 'get', '/users/me', alice.accessToken).expect(200);
    expect(me.body.roles).toEqual(['user']);
  });
});

describe('restart', () => {
  it('keeps every user, and creates the admin account only once', async () => {
    const email = uniqueEmail('persist');
    const env = { ADMIN_EMAIL, ADMIN_PASSWORD };
    const db = await createTestDatabase();
    const first = await startApp(env, db);
    await register(first, email);
    await first.stop();
    const second = await startApp(env, db);
    try {
      await request(second.url).post('/auth/login').send({ email, password: GOOD_PASSWORD }).expect(200);
      const [{ count }] = await second.dataSource.query('SELECT count(*)::int AS count FROM users WHERE email = $1', [ADMIN_EMAIL]);
      expect(count).toBe(1);
    } finally {
      await second.close();
    }
  });
});
