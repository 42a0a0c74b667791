import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { uniqueEmail } from './support/api';
import { CapturedLogs, startApp, TestApp } from './support/test-app';

/**
 * No secret reaches a log line or a response: the service is driven through every path
 * that handles a password or a token (including failures, a reuse event, a malformed
 * body and a database outage) with a logger that keeps every line, and then the lines
 * are searched for every password, hash, token and key of the run.
 */

const unique = () => randomBytes(8).toString('hex');

const JWT_SECRET = `secrets-e2e-jwt-key-${unique()}-${unique()}`;
const ADMIN_EMAIL = `secrets-admin.${process.pid}@example.com`;
const ADMIN_PASSWORD = `admin pass ${unique()} phrase`;

const REGISTER_PASSWORD = `register-pw-${unique()} horse`;
const WRONG_PASSWORD = `wrong-pw-${unique()} battery`;
const UNKNOWN_EMAIL_PASSWORD = `unknown-email-pw-${unique()} staple`;
const NEW_PASSWORD = `new-pw-${unique()} correct`;
const WRONG_CURRENT_PASSWORD = `wrong-current-pw-${unique()} x`;
const TAKEN_EMAIL_PASSWORD = `taken-email-pw-${unique()} y`;
const TOO_LONG_PASSWORD = `too-long-pw-${unique()}-${'z'.repeat(140)}`;
const MALFORMED_JSON_PASSWORD = `malformed-json-pw-${unique()}`;
const QUERY_PASSWORD = `query-pw-${unique()}`;
const OUTAGE_PASSWORD = `outage-pw-${unique()} z`;
const DEEP_BODY_PASSWORD = `deep-body-pw-${unique()}`;
const DOOMED_PASSWORD = `doomed-pw-${unique()} q`;
const WRONG_DELETE_PASSWORD = `wrong-delete-pw-${unique()} w`;
/** The address of a login for an unknown account: no event may keep it. */
const UNKNOWN_EMAIL = uniqueEmail('nobody');

const PASSWORDS = [
  REGISTER_PASSWORD,
  WRONG_PASSWORD,
  UNKNOWN_EMAIL_PASSWORD,
  NEW_PASSWORD,
  WRONG_CURRENT_PASSWORD,
  TAKEN_EMAIL_PASSWORD,
  TOO_LONG_PASSWORD,
  MALFORMED_JSON_PASSWORD,
  QUERY_PASSWORD,
  OUTAGE_PASSWORD,
  DEEP_BODY_PASSWORD,
  DOOMED_PASSWORD,
  WRONG_DELETE_PASSWORD,
  ADMIN_PASSWORD,
];

/** What bcrypt actually hashes (base64 SHA-256 of the NFKC password): as good as the password. */
const prehash = (password: string) => createHash('sha256').update(password.normalize('NFKC'), 'utf8').digest('base64');

let app: TestApp;
const logger = new CapturedLogs();
const responses: Array<{ label: string; status: number; text: string }> = [];
const accessTokens = new Set<string>();
const refreshTokens = new Set<string>();
const passwordHashes = new Set<string>();
const tokenHashes = new Set<string>();

/** Records every response, and every token a token response carries. */
async function track(label: string, pending: PromiseLike<request.Response>): Promise<request.Response> {
  const response = await pending;
  responses.push({ label, status: response.status, text: response.text ?? '' });
  if (typeof response.body?.accessToken === 'string') accessTokens.add(response.body.accessToken);
  if (typeof response.body?.refreshToken === 'string') refreshTokens.add(response.body.refreshToken);
  return response;
}

async function collectHashes(): Promise<void> {
  const users: Array<{ password_hash: string }> = await app.dataSource.query('SELECT password_hash FROM users');
  for (const row of users) passwordHashes.add(row.password_hash);
  const tokens: Array<{ token_hash: string }> = await app.dataSource.query('SELECT token_hash FROM refresh_tokens');
  for (const row of tokens) tokenHashes.add(row.token_hash);
}

const post = (path: string, body: object, token?: string) => {
  const req = request(app.url).post(path);
  return (token ? req.set('Authorization', `Bearer ${token}`) : req).send(body);
};

beforeAll(async () => {
  app = await startApp({ JWT_SECRET, ADMIN_EMAIL, ADMIN_PASSWORD, JWT_REFRESH_REUSE_INTERVAL: '0' }, undefined, logger);
});

afterAll(async () => {
  await app?.close();
});

describe('secrets in logs and responses', () => {
  it('drives every credential path with a capturing logger', async () => {
    const email = uniqueEmail('secrets');

    const registered = await track('register', post('/auth/register', { email, password: REGISTER_PASSWORD, displayName: 'Secret Keeper' }));
    expect(registered.status).toBe(201);
    const userId: string = registered.body.user.id;
    await collectHashes(); // the first hash, before the password change replaces it

    expect((await track('register taken', post('/auth/register', { email: email.toUpperCase(), password: TAKEN_EMAIL_PASSWORD }))).status).toBe(409);
    expect((await track('register too long', post('/auth/register', { email: uniqueEmail(), password: TOO_LONG_PASSWORD }))).status).toBe(400);

    const wrong = await track('login wrong password', post('/auth/login', { email, password: WRONG_PASSWORD }));
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('invalid_credentials');
    const unknown = await track('login unknown email', post('/auth/login', { email: UNKNOWN_EMAIL, password: UNKNOWN_EMAIL_PASSWORD }));
    expect(unknown.status).toBe(401);

    const loggedIn = await track('login', post('/auth/login', { email, password: REGISTER_PASSWORD }));
    expect(loggedIn.status).toBe(200);
    const admin = await track('admin login', post('/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }));
    expect(admin.status).toBe(200);
    await track('admin lists users', request(app.url).get('/users').set('Authorization', `Bearer ${admin.body.accessToken}`).expect(200));

    const rotated = await track('refresh', post('/auth/refresh', { refreshToken: loggedIn.body.refreshToken }));
    expect(rotated.status).toBe(200);
    const replay = await track('replay of a spent refresh token', post('/auth/refresh', { refreshToken: loggedIn.body.refreshToken }));
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('refresh_token_reused');

    expect((await track('logout', post('/auth/logout', { refreshToken: registered.body.refreshToken }))).status).toBe(204);

    const session = await track('login for the password change', post('/auth/login', { email, password: REGISTER_PASSWORD }));
    expect(session.status).toBe(200);
    const token = session.body.accessToken;
    await track('me', request(app.url).get('/users/me').set('Authorization', `Bearer ${token}`).expect(200));
    await track('sessions', request(app.url).get('/auth/sessions').set('Authorization', `Bearer ${token}`).expect(200));
    const badChange = await track('password change, wrong current', post('/users/me/password', { currentPassword: WRONG_CURRENT_PASSWORD, newPassword: NEW_PASSWORD }, token));
    expect(badChange.status).toBe(403);
    const change = await track('password change', post('/users/me/password', { currentPassword: REGISTER_PASSWORD, newPassword: NEW_PASSWORD }, token));
    expect(change.status).toBe(204);
    expect((await track('login with the new password', post('/auth/login', { email, password: NEW_PASSWORD }))).status).toBe(200);

    // An admin's actions on an account, and its deletion by its owner: audit events, each.
    const asAdmin = (method: 'patch' | 'post' | 'delete', path: string) => request(app.url)[method](path).set('Authorization', `Bearer ${admin.body.accessToken}`);
    const doomed = await track('register the account to delete', post('/auth/register', { email: uniqueEmail('doomed'), password: DOOMED_PASSWORD }));
    const doomedId: string = doomed.body.user.id;
    await track('admin changes roles', asAdmin('patch', `/users/${doomedId}/roles`).send({ roles: ['user', 'admin'] }).expect(200));
    await track('admin disables', asAdmin('post', `/users/${doomedId}/disable`).expect(200));
    await track('admin enables', asAdmin('post', `/users/${doomedId}/enable`).expect(200));
    await track('admin ends sessions', asAdmin('delete', `/users/${doomedId}/sessions`).expect(204));
    const doomedToken = (await track('login of the account to delete', post('/auth/login', { email: doomed.body.user.email, password: DOOMED_PASSWORD }))).body.accessToken;
    const wrongDelete = await track('delete, wrong password', request(app.url).delete('/users/me').set('Authorization', `Bearer ${doomedToken}`).send({ currentPassword: WRONG_DELETE_PASSWORD }));
    expect(wrongDelete.status).toBe(403);
    await collectHashes(); // the account's hash and tokens, before they go
    await track('delete', request(app.url).delete('/users/me').set('Authorization', `Bearer ${doomedToken}`).send({ currentPassword: DOOMED_PASSWORD }).expect(204));

    const malformed = await track(
      'malformed JSON',
      request(app.url).post('/auth/login').set('Content-Type', 'application/json').send(`{"email":"${email}","password":"${MALFORMED_JSON_PASSWORD}"`),
    );
    expect(malformed.status).toBe(400);
    const wrongType = await track(
      'text/plain body',
      request(app.url).post('/auth/login').set('Content-Type', 'text/plain').send(`{"email":"${email}","password":"${MALFORMED_JSON_PASSWORD}"}`),
    );
    expect(wrongType.status).toBe(415);

    const notFound = await track('unknown route', request(app.url).get(`/no/such/route?email=${email}&password=${QUERY_PASSWORD}`));
    expect(notFound.status).toBe(404);
    const queryLogin = await track('login with credentials in the query', request(app.url).post(`/auth/login?email=${email}&password=${QUERY_PASSWORD}`).send({}));
    expect(queryLogin.status).toBe(400);

    // A body that breaks the validation pipe reaches the unexpected-error log path (whatever its status).
    await track('deeply nested body', request(app.url).post('/auth/login').set('Content-Type', 'application/json').send(`{"password":"${DEEP_BODY_PASSWORD}","email":${'['.repeat(3000)}${']'.repeat(3000)}}`));

    // A database outage with credentials in flight: the 503 path logs the database error.
    await app.dataSource.destroy();
    try {
      const down = await track('login during an outage', post('/auth/login', { email, password: OUTAGE_PASSWORD }));
      expect(down.status).toBe(503);
      const downRefresh = await track('refresh during an outage', post('/auth/refresh', { refreshToken: rotated.body.refreshToken }));
      expect(downRefresh.status).toBe(503);
    } finally {
      await app.dataSource.initialize();
    }

    await collectHashes();
    expect(passwordHashes.size).toBeGreaterThanOrEqual(3); // the user's two hashes and the admin's
    for (const hash of passwordHashes) expect(hash).toMatch(/^\$2[aby]\$04\$/);
    expect(tokenHashes.size).toBeGreaterThanOrEqual(5);
    expect(accessTokens.size).toBeGreaterThanOrEqual(6);
    expect(refreshTokens.size).toBeGreaterThanOrEqual(6);

    // The capture works: the reuse security event and the database warning were logged.
    const log = logger.lines.join('\n');
    expect(log).toContain('refresh_token_reuse');
    expect(logger.lines.find((line) => line.includes('refresh_token_reuse'))).toContain(userId);
    expect(log).toMatch(/Database unavailable/);
    expect(log).toContain('Created the admin account');
  });

  /** Every secret of the run, with what it is. */
  function secretsOfTheRun(): Array<[string, string]> {
    return [
      ...PASSWORDS.map((password) => ['a password', password] as [string, string]),
      ...PASSWORDS.map((password) => ['a password pre-hash', prehash(password)] as [string, string]),
      ...[...passwordHashes].flatMap((hash) => [
        ['a bcrypt hash', hash] as [string, string],
        ['the salt and digest of a bcrypt hash', hash.slice(7)] as [string, string],
      ]),
      ...[...accessTokens].flatMap((token) => [
        ['an access token', token] as [string, string],
        ['an access token signature', token.split('.')[2]] as [string, string],
      ]),
      ...[...refreshTokens].flatMap((token) => [
        ['a refresh token', token] as [string, string],
        ['the random part of a refresh token', token.slice(3)] as [string, string],
      ]),
      ...[...tokenHashes].map((hash) => ['a refresh token hash', hash] as [string, string]),
      ['the JWT secret', JWT_SECRET],
      ['the JWT secret in base64', Buffer.from(JWT_SECRET).toString('base64')],
      ['the JWT secret in hex', Buffer.from(JWT_SECRET).toString('hex')],
      ['ADMIN_PASSWORD', ADMIN_PASSWORD],
    ];
  }

  it('no log line holds a password, a hash, a token or the signing key', () => {
    const log = logger.lines.join('\n');
    expect(logger.lines.length).toBeGreaterThan(10);
    const leaks = secretsOfTheRun().filter(([, secret]) => log.includes(secret)).map(([what]) => what);
    expect(leaks).toEqual([]);
  });

  it('no audit event holds a password, a hash, a token, the signing key or the email tried for an unknown account', async () => {
    const rows: Array<{ type: string; text: string }> = await app.dataSource.query('SELECT type, row_to_json(e)::text AS text FROM audit_events e');
    // The run wrote every kind of event it drove (a failed login for an unknown account among them).
    const types = new Set(rows.map((row) => row.type));
    for (const type of ['user.registered', 'user.login_succeeded', 'user.login_failed', 'session.reuse_detected', 'session.logout', 'user.password_changed', 'user.roles_changed', 'user.disabled', 'user.enabled', 'session.revoked', 'user.deleted']) {
      expect(types, type).toContain(type);
    }
    const events = rows.map((row) => row.text).join('\n').toLowerCase();
    const secrets: Array<[string, string]> = [...secretsOfTheRun(), ['the email of an unknown account', UNKNOWN_EMAIL]];
    const leaks = secrets.filter(([, secret]) => events.includes(secret.toLowerCase())).map(([what]) => what);
    expect(leaks).toEqual([]);
  });

  it('no response of the run holds a password, a password hash, a refresh token hash or the signing key', () => {
    expect(responses.length).toBeGreaterThan(20);
    const secrets = [
      ...PASSWORDS,
      ...PASSWORDS.map(prehash),
      ...passwordHashes,
      ...[...passwordHashes].map((hash) => hash.slice(7)),
      ...tokenHashes,
      JWT_SECRET,
    ];
    const leaks = responses.flatMap(({ label, text }) => secrets.filter((secret) => text.includes(secret)).map(() => label));
    expect(leaks).toEqual([]);
  });
});
