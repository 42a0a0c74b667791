import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { authed, register, Registered } from './support/api';
import { startApp, TestApp } from './support/test-app';

// The example feature module: projects owned by users (src/projects, docs/EXTENDING.md).

const ADMIN_EMAIL = 'projects.admin@example.com';
const ADMIN_PASSWORD = 'admin password for tests';
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

interface ProjectBody {
  id: string;
  name: string;
  description: string | null;
  ownerId: string;
  createdAt: string;
  updatedAt: string;
}

// One app for the whole file: Passport registers its strategies process-wide.
let app: TestApp;
let alice: Registered;
let bob: Registered;
let admin: { accessToken: string };

beforeAll(async () => {
  app = await startApp({ ADMIN_EMAIL, ADMIN_PASSWORD });
  alice = await register(app);
  bob = await register(app);
  const login = await request(app.url).post('/auth/login').send({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }).expect(200);
  admin = login.body;
});

afterAll(async () => {
  await app?.close();
});

async function createProject(owner: Registered, body: Record<string, unknown> = { name: 'Apollo' }): Promise<ProjectBody> {
  const response = await authed(app, 'post', '/projects', owner.accessToken).send(body).expect(201);
  return response.body;
}

function expectNotFound(response: request.Response) {
  expect(response.status).toBe(404);
  expect(response.body).toEqual({ statusCode: 404, message: 'Project not found', error: 'Not Found', code: 'not_found' });
}

describe('as the owner', () => {
  it('POST /projects answers 201 with the project: trimmed name, no description, ISO dates', async () => {
    const response = await authed(app, 'post', '/projects', alice.accessToken).send({ name: '  Apollo  ' }).expect(201);
    expect(response.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Apollo',
      description: null,
      ownerId: alice.user.id,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(new Date(response.body.createdAt).toISOString()).toBe(response.body.createdAt);
    expect(response.body.updatedAt).toBe(response.body.createdAt);
  });

  it('keeps a description, and accepts the longest name and description', async () => {
    const project = await createProject(alice, { name: 'n'.repeat(100), description: 'd'.repeat(1000) });
    expect(project.name).toHaveLength(100);
    expect(project.description).toHaveLength(1000);
    const nulled = await createProject(alice, { name: 'Gemini', description: null });
    expect(nulled.description).toBeNull();
  });

  it('GET /projects lists only the caller’s projects, oldest first', async () => {
    const me = await register(app);
    const first = await createProject(me, { name: 'First' });
    const second = await createProject(me, { name: 'Second', description: 'two' });
    const response = await authed(app, 'get', '/projects', me.accessToken).expect(200);
    expect(response.body).toEqual([first, second]);
    const empty = await register(app);
    await authed(app, 'get', '/projects', empty.accessToken).expect(200, []);
  });

  it('GET /projects/:id answers 200 with the project', async () => {
    const project = await createProject(alice, { name: 'Mercury', description: 'first flights' });
    const response = await authed(app, 'get', `/projects/${project.id}`, alice.accessToken).expect(200);
    expect(response.body).toEqual(project);
  });

  it('PATCH /projects/:id changes what it is given and nothing else; null clears the description', async () => {
    const created = await createProject(alice, { name: 'Skylab', description: 'a station' });
    // Backdated, so that "updated_at moved" cannot depend on two requests landing in the same millisecond.
    await app.dataSource.query(`UPDATE projects SET updated_at = updated_at - interval '1 minute' WHERE id = $1`, [created.id]);
    const project = (await authed(app, 'get', `/projects/${created.id}`, alice.accessToken).expect(200)).body as ProjectBody;
    const renamed = await authed(app, 'patch', `/projects/${project.id}`, alice.accessToken).send({ name: '  Skylab 2 ' }).expect(200);
    expect(renamed.body).toMatchObject({ id: project.id, name: 'Skylab 2', description: 'a station', ownerId: alice.user.id });
    expect(renamed.body.createdAt).toBe(project.createdAt);
    expect(new Date(renamed.body.updatedAt).getTime()).toBeGreaterThan(new Date(project.updatedAt).getTime());
    const cleared = await authed(app, 'patch', `/projects/${project.id}`, alice.accessToken).send({ description: null }).expect(200);
    expect(cleared.body).toMatchObject({ name: 'Skylab 2', description: null });
    const unchanged = await authed(app, 'patch', `/projects/${project.id}`, alice.accessToken).send({}).expect(200);
    expect(unchanged.body).toEqual(cleared.body);
    const fetched = await authed(app, 'get', `/projects/${project.id}`, alice.accessToken).expect(200);
    expect(fetched.body).toEqual(cleared.body);
  });

  it('DELETE /projects/:id answers 204; the project is gone, and a second delete is 404', async () => {
    const project = await createProject(alice, { name: 'Vostok' });
    const response = await authed(app, 'delete', `/projects/${project.id}`, alice.accessToken).expect(204);
    expect(response.text).toBe('');
    expectNotFound(await authed(app, 'get', `/projects/${project.id}`, alice.accessToken));
    expectNotFound(await authed(app, 'patch', `/projects/${project.id}`, alice.accessToken).send({ name: 'back' }));
    expectNotFound(await authed(app, 'delete', `/projects/${project.id}`, alice.accessToken));
    const list = await authed(app, 'get', '/projects', alice.accessToken).expect(200);
    expect(list.body.map((p: ProjectBody) => p.id)).not.toContain(project.id);
  });
});

describe('another user’s project', () => {
  it('is 404 on get, patch and delete, exactly like an id that does not exist, and is left untouched', async () => {
    const project = await createProject(alice, { name: 'Private', description: 'only Alice' });
    for (const id of [project.id, UNKNOWN_ID]) {
      expectNotFound(await authed(app, 'get', `/projects/${id}`, bob.accessToken));
      expectNotFound(await authed(app, 'patch', `/projects/${id}`, bob.accessToken).send({ name: 'Mine now' }));
      expectNotFound(await authed(app, 'patch', `/projects/${id}`, bob.accessToken).send({}));
      expectNotFound(await authed(app, 'delete', `/projects/${id}`, bob.accessToken));
    }
    const still = await authed(app, 'get', `/projects/${project.id}`, alice.accessToken).expect(200);
    expect(still.body).toEqual(project);
  });

  it('never appears in the other user’s list', async () => {
    const project = await createProject(alice, { name: 'Hidden' });
    await createProject(bob, { name: 'Bob’s own' });
    const list = await authed(app, 'get', '/projects', bob.accessToken).expect(200);
    expect(list.body.length).toBeGreaterThan(0);
    expect(list.body.map((p: ProjectBody) => p.id)).not.toContain(project.id);
    expect(list.body.every((p: ProjectBody) => p.ownerId === bob.user.id)).toBe(true);
  });

  it('cannot be taken over with an ownerId in the body (unknown properties are refused)', async () => {
    const response = await authed(app, 'post', '/projects', bob.accessToken).send({ name: 'x', ownerId: alice.user.id }).expect(400);
    expect(response.body.code).toBe('validation_failed');
  });
});

describe('without a token', () => {
  it.each([
    ['post', '/projects'],
    ['get', '/projects'],
    ['get', '/projects/all'],
    ['get', `/projects/${UNKNOWN_ID}`],
    ['patch', `/projects/${UNKNOWN_ID}`],
    ['delete', `/projects/${UNKNOWN_ID}`],
  ] as const)('%s %s answers 401 token_missing', async (method, path) => {
    const response = await request(app.url)[method](path).send(method === 'post' || method === 'patch' ? { name: 'x' } : undefined);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('token_missing');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
  });
});

describe('invalid input', () => {
  it.each([
    ['a missing name', {}],
    ['a number as name', { name: 42 }],
    ['a null name', { name: null }],
    ['a blank name', { name: '   ' }],
    ['an over-long name', { name: 'n'.repeat(101) }],
    ['an over-long description', { name: 'ok', description: 'd'.repeat(1001) }],
    ['a number as description', { name: 'ok', description: 7 }],
    ['an unknown property', { name: 'ok', color: 'red' }],
  ])('POST /projects answers 400 for %s', async (_, body) => {
    const before = await authed(app, 'get', '/projects', alice.accessToken).expect(200);
    const response = await authed(app, 'post', '/projects', alice.accessToken).send(body).expect(400);
    expect(response.body.code).toBe('validation_failed');
    const after = await authed(app, 'get', '/projects', alice.accessToken).expect(200);
    expect(after.body).toHaveLength(before.body.length); // nothing was created
  });

  it.each([
    ['a null name', { name: null }],
    ['a number as name', { name: 42 }],
    ['a blank name', { name: ' ' }],
    ['an over-long name', { name: 'n'.repeat(101) }],
    ['an over-long description', { description: 'd'.repeat(1001) }],
    ['an unknown property', { ownerId: UNKNOWN_ID }],
  ])('PATCH /projects/:id answers 400 for %s and changes nothing', async (_, body) => {
    const project = await createProject(alice, { name: 'Stable', description: 'as is' });
    const response = await authed(app, 'patch', `/projects/${project.id}`, alice.accessToken).send(body).expect(400);
    expect(response.body.code).toBe('validation_failed');
    const fetched = await authed(app, 'get', `/projects/${project.id}`, alice.accessToken).expect(200);
    expect(fetched.body).toEqual(project);
  });

  it.each(['not-a-uuid', '123', `${UNKNOWN_ID}x`])('answers 400 for the malformed id %j on get, patch and delete', async (id) => {
    for (const response of [
      await authed(app, 'get', `/projects/${id}`, alice.accessToken),
      await authed(app, 'patch', `/projects/${id}`, alice.accessToken).send({ name: 'x' }),
      await authed(app, 'delete', `/projects/${id}`, alice.accessToken),
    ]) {
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
  });

  it('answers 404 for a well-formed id that does not exist', async () => {
    expectNotFound(await authed(app, 'get', `/projects/${UNKNOWN_ID}`, alice.accessToken));
    expectNotFound(await authed(app, 'patch', `/projects/${UNKNOWN_ID}`, alice.accessToken).send({ name: 'x' }));
    expectNotFound(await authed(app, 'delete', `/projects/${UNKNOWN_ID}`, alice.accessToken));
  });
});

describe('GET /projects/all (admin)', () => {
  it('answers 403 forbidden without the admin role', async () => {
    const response = await authed(app, 'get', '/projects/all', alice.accessToken).expect(403);
    expect(response.body.code).toBe('forbidden');
  });

  it('answers 200 with every user’s projects, paged in creation order', async () => {
    const own = await createProject(alice, { name: 'Listed A' });
    const other = await createProject(bob, { name: 'Listed B' });
    const all = await authed(app, 'get', '/projects/all?page=1&limit=100', admin.accessToken).expect(200);
    expect(Object.keys(all.body).sort()).toEqual(['items', 'limit', 'page', 'total']);
    expect(all.body.items).toHaveLength(all.body.total);
    expect(all.body.items).toEqual(expect.arrayContaining([own, other]));
    const first = await authed(app, 'get', '/projects/all?page=1&limit=2', admin.accessToken).expect(200);
    const second = await authed(app, 'get', '/projects/all?page=2&limit=2', admin.accessToken).expect(200);
    expect(first.body).toMatchObject({ page: 1, limit: 2, total: all.body.total });
    expect([...first.body.items, ...second.body.items]).toEqual(all.body.items.slice(0, 4));
  });

  it('defaults to page 1 and limit 20, serves at most 100, and refuses a bad page', async () => {
    const defaults = await authed(app, 'get', '/projects/all', admin.accessToken).expect(200);
    expect(defaults.body).toMatchObject({ page: 1, limit: 20 });
    const capped = await authed(app, 'get', '/projects/all?limit=1000', admin.accessToken).expect(200);
    expect(capped.body.limit).toBe(100);
    for (const query of ['page=0', 'limit=x', 'sort=name']) {
      const response = await authed(app, 'get', `/projects/all?${query}`, admin.accessToken).expect(400);
      expect(response.body.code).toBe('validation_failed');
    }
  });
});

describe('deleting the owner', () => {
  it('deletes their projects (ON DELETE CASCADE) and no one else’s', async () => {
    const carol = await register(app);
    await createProject(carol, { name: 'C1' });
    await createProject(carol, { name: 'C2' });
    const kept = await createProject(alice, { name: 'Survives' });
    const count = async (ownerId: string) => {
      const [row] = await app.dataSource.query('SELECT count(*)::int AS count FROM projects WHERE owner_id = $1', [ownerId]);
      return row.count as number;
    };
    expect(await count(carol.user.id)).toBe(2);
    await app.dataSource.query('DELETE FROM users WHERE id = $1', [carol.user.id]);
    expect(await count(carol.user.id)).toBe(0);
    await authed(app, 'get', `/projects/${kept.id}`, alice.accessToken).expect(200);
  });

  it('answers 401 token_invalid to a create with a still-valid token of the deleted account', async () => {
    const dave = await register(app);
    await app.dataSource.query('DELETE FROM users WHERE id = $1', [dave.user.id]);
    const response = await authed(app, 'post', '/projects', dave.accessToken).send({ name: 'orphan' }).expect(401);
    expect(response.body.code).toBe('token_invalid');
    await authed(app, 'get', '/projects', dave.accessToken).expect(200, []);
  });
});
