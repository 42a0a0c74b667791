import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { Secret, TOTP } from 'otpauth';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CredentialBackoffService, currentPasswordSubject, mfaSubject } from '../src/rate-limit/credential-backoff.service';
import { authed, GOOD_PASSWORD, refreshTokenCookie, register, Registered } from './support/api';
import { decodeJwt } from './support/jwt';
import { controlClock } from './support/mfa';
import { startApp, TestApp } from './support/test-app';
import { SoftwareAuthenticator } from './support/webauthn-authenticator';

/**
 * The MFA and passkeys section of the contract through HTTP, on the real app and database:
 * TOTP codes computed with otpauth from the secret that setup answered, at times set on the
 * service's MFA clock; passkeys made and used by the software authenticator
 * (test/support/webauthn-authenticator.ts) against the default relying party (APP_URL
 * http://localhost:3000: RP ID `localhost`, that one origin).
 */
const STEP = 30_000;
const ORIGIN = 'http://localhost:3000';
const TOKEN_KEYS = ['accessToken', 'expiresIn', 'refreshToken', 'tokenType', 'user'];

let app: TestApp;
let clock: ReturnType<typeof controlClock>;

beforeAll(async () => {
  app = await startApp();
  // The middle of a step near today; each code is taken a step later than the one before.
  clock = controlClock(app, Math.floor(Date.now() / STEP) * STEP + STEP / 2);
});

afterAll(async () => {
  await app?.close();
});

interface MfaUser extends Registered {
  secret: string;
  recoveryCodes: string[];
}

/** The code an authenticator app shows for `secret` one step after the last code taken. */
function nextCode(secret: string): string {
  clock.advance(STEP);
  return TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: clock.now });
}

/** A code that is not the current one (nor one step either side). */
function wrongCode(secret: string): string {
  const near = new Set([-1, 0, 1].map((steps) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: clock.now + steps * STEP })));
  for (let n = 0; ; n += 1) {
    const candidate = String(n).padStart(6, '0');
    if (!near.has(candidate)) return candidate;
  }
}

/** A registered user who turned TOTP on through the routes (their token is still aal 1). */
async function mfaUser(): Promise<MfaUser> {
  const user = await register(app);
  const setup = await authed(app, 'post', '/auth/mfa/totp/setup', user.accessToken).expect(200);
  const enable = await authed(app, 'post', '/auth/mfa/totp/enable', user.accessToken).send({ code: nextCode(setup.body.secret) }).expect(200);
  return { ...user, secret: setup.body.secret, recoveryCodes: enable.body.recoveryCodes };
}

/** POST /auth/login for a user with MFA: the 403 mfa_required's mfaToken. */
async function mfaToken(user: { email: string; password: string }): Promise<string> {
  const response = await request(app.url).post('/auth/login').send({ email: user.email, password: user.password }).expect(403);
  expect(response.body.code).toBe('mfa_required');
  return response.body.mfaToken;
}

function verify(body: Record<string, unknown>) {
  return request(app.url).post('/auth/mfa/verify').send(body);
}

/** A full login with the password and a TOTP code: the session has aal 2. */
async function loginAal2(user: MfaUser) {
  const response = await verify({ mfaToken: await mfaToken(user), code: nextCode(user.secret) }).expect(200);
  return response.body as { accessToken: string; refreshToken: string; user: { mfaEnabled: boolean } };
}

function claims(accessToken: string): { sub: string; sid: string; amr: string[]; aal: number } {
  return decodeJwt(accessToken).payload as { sub: string; sid: string; amr: string[]; aal: number };
}

function expectError(response: request.Response, status: number, code: string) {
  expect({ status: response.status, code: response.body.code }).toEqual({ status, code });
  expect(response.body).toMatchObject({ statusCode: status, code, error: expect.any(String), message: expect.anything() });
}

async function events(userId: string, type: string): Promise<Array<{ actor_id: string | null; data: Record<string, unknown> }>> {
  return app.dataSource.query('SELECT actor_id, data FROM audit_events WHERE user_id = $1 AND type = $2 ORDER BY seq', [userId, type]);
}

async function mails(userId: string): Promise<Array<{ to: string; template: string }>> {
  return app.dataSource.query('SELECT "to", template FROM mail_outbox WHERE user_id = $1 ORDER BY created_at', [userId]);
}

/**
 * The token of the reset link mailed to the user: without SMTP_URL the worker writes each
 * message as an .eml file under DATA_DIR/mail, named with its outbox id.
 */
async function resetToken(userId: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [row]: Array<{ id: string }> = await app.dataSource.query(
      `SELECT id FROM mail_outbox WHERE user_id = $1 AND template = 'reset_password' AND status = 'sent'`,
      [userId],
    );
    if (row) {
      const directory = join(app.dataDir, 'mail');
      const file = readdirSync(directory).find((name) => name.includes(row.id));
      const text = (await simpleParser(readFileSync(join(directory, file!)))).text ?? '';
      return /\/reset-password\?token=([A-Za-z0-9_-]+)/.exec(text)![1];
    }
    if (Date.now() > deadline) throw new Error('no reset link was sent');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function sessionCount(userId: string): Promise<number> {
  const [row] = await app.dataSource.query('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [userId]);
  return row.n;
}

describe('TOTP setup and enable', () => {
  it('POST /auth/mfa/totp/setup answers a secret and the otpauth URL; nothing is on until enabled', async () => {
    const user = await register(app);
    const response = await authed(app, 'post', '/auth/mfa/totp/setup', user.accessToken).expect(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(Object.keys(response.body).sort()).toEqual(['otpauthUrl', 'secret']);
    expect(response.body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(response.body.otpauthUrl).toBe(`otpauth://totp/auth-service:${encodeURIComponent(user.email)}?secret=${response.body.secret}&issuer=auth-service`);

    const me = await authed(app, 'get', '/users/me', user.accessToken).expect(200);
    expect(me.body.mfaEnabled).toBe(false);
    await request(app.url).post('/auth/login').send({ email: user.email, password: user.password }).expect(200);
  });

  it('POST /auth/mfa/totp/enable: 409 mfa_setup_required before setup, 400 mfa_code_invalid for a wrong code, then 200 with 10 recovery codes', async () => {
    const user = await register(app);
    expectError(await authed(app, 'post', '/auth/mfa/totp/enable', user.accessToken).send({ code: '123456' }), 409, 'mfa_setup_required');
    const { body } = await authed(app, 'post', '/auth/mfa/totp/setup', user.accessToken).expect(200);
    expectError(await authed(app, 'post', '/auth/mfa/totp/enable', user.accessToken).send({ code: wrongCode(body.secret) }), 400, 'mfa_code_invalid');
    expectError(await authed(app, 'post', '/auth/mfa/totp/enable', user.accessToken).send({ code: 'abc' }), 400, 'mfa_code_invalid');
    expectError(await authed(app, 'post', '/auth/mfa/totp/enable', user.accessToken).send({ code: 123456 }), 400, 'validation_failed');
    expectError(await authed(app, 'post', '/auth/mfa/totp/enable', user.accessToken).send({}), 400, 'validation_failed');

    const enabled = await authed(app, 'post', '/auth/mfa/totp/enable', user.accessToken).send({ code: nextCode(body.secret) }).expect(200);
    expect(enabled.headers['cache-control']).toBe('no-store');
    expect(Object.keys(enabled.body)).toEqual(['recoveryCodes']);
    expect(enabled.body.recoveryCodes).toHaveLength(10);
    expect(new Set(enabled.body.recoveryCodes).size).toBe(10);

    // MFA is on: the user object says so, and a notice and an audit event went with it.
    const me = await authed(app, 'get', '/users/me', user.accessToken).expect(200);
    expect(me.body.mfaEnabled).toBe(true);
    expect(await mails(user.user.id)).toContainEqual({ to: user.email, template: 'mfa_enabled' });
    expect(await events(user.user.id, 'mfa.enabled')).toEqual([{ actor_id: user.user.id, data: { method: 'totp' } }]);

    expectError(await authed(app, 'post', '/auth/mfa/totp/setup', user.accessToken), 409, 'mfa_already_enabled');
    expectError(await authed(app, 'post', '/auth/mfa/totp/enable', user.accessToken).send({ code: nextCode(body.secret) }), 409, 'mfa_already_enabled');
  });

  it('answers 401 without a token', async () => {
    for (const [method, path] of [
      ['post', '/auth/mfa/totp/setup'],
      ['post', '/auth/mfa/totp/enable'],
      ['delete', '/auth/mfa/totp'],
      ['post', '/auth/mfa/recovery-codes'],
    ] as const) {
      expectError(await request(app.url)[method](path).send({}), 401, 'token_missing');
    }
  });
});

describe('the login challenge', () => {
  it('answers a correct password with 403 mfa_required, an mfaToken and the methods, and opens no session', async () => {
    const user = await mfaUser();
    const before = await sessionCount(user.user.id);
    const response = await request(app.url).post('/auth/login').send({ email: user.email, password: user.password }).expect(403);
    expect(response.body).toEqual({
      statusCode: 403,
      message: expect.any(String),
      error: 'Forbidden',
      code: 'mfa_required',
      mfaToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      methods: ['totp', 'recovery_code'],
    });
    expect(response.headers['cache-control']).toBe('no-store'); // the mfaToken is a credential for 5 minutes
    expect(await sessionCount(user.user.id)).toBe(before);
    expect(await events(user.user.id, 'user.login_succeeded')).toEqual([]);

    // A wrong password still answers 401, without a challenge.
    const wrong = await request(app.url).post('/auth/login').send({ email: user.email, password: 'not the password' });
    expectError(wrong, 401, 'invalid_credentials');
    expect(wrong.body.mfaToken).toBeUndefined();
  });

  it('POST /auth/mfa/verify with a TOTP code opens a session with amr ["pwd","otp"] and aal 2; refreshes keep them', async () => {
    const user = await mfaUser();
    const response = await verify({ mfaToken: await mfaToken(user), code: nextCode(user.secret) }).expect(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(Object.keys(response.body).sort()).toEqual(TOKEN_KEYS);
    expect(response.body.user).toMatchObject({ id: user.user.id, mfaEnabled: true });
    const token = claims(response.body.accessToken);
    expect({ sub: token.sub, amr: token.amr, aal: token.aal }).toEqual({ sub: user.user.id, amr: ['pwd', 'otp'], aal: 2 });
    const [login] = await events(user.user.id, 'user.login_succeeded');
    expect(login).toMatchObject({ actor_id: user.user.id, data: { sessionId: token.sid, amr: ['pwd', 'otp'] } });

    const refreshed = await request(app.url).post('/auth/refresh').send({ refreshToken: response.body.refreshToken }).expect(200);
    const again = claims(refreshed.body.accessToken);
    expect({ sid: again.sid, amr: again.amr, aal: again.aal }).toEqual({ sid: token.sid, amr: ['pwd', 'otp'], aal: 2 });
    const sessions = await authed(app, 'get', '/auth/sessions', refreshed.body.accessToken).expect(200);
    expect(sessions.body.map((session: { id: string }) => session.id)).toContain(token.sid);
  });

  it('refuses a code used already (replay), also with a new mfaToken', async () => {
    const user = await mfaUser();
    const code = nextCode(user.secret);
    await verify({ mfaToken: await mfaToken(user), code }).expect(200);
    expectError(await verify({ mfaToken: await mfaToken(user), code }), 401, 'mfa_code_invalid');
    // An older code, within the drift window, is refused too: steps only go forward.
    const older = TOTP.generate({ secret: Secret.fromBase32(user.secret), timestamp: clock.now - STEP });
    expectError(await verify({ mfaToken: await mfaToken(user), code: older }), 401, 'mfa_code_invalid');
  });

  it('kills the mfaToken after 5 wrong codes: the right code then gets 401 mfa_token_invalid; each failure is audited', async () => {
    const user = await mfaUser();
    const token = await mfaToken(user);
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      expectError(await verify({ mfaToken: token, code: wrongCode(user.secret) }), 401, 'mfa_code_invalid');
    }
    expectError(await verify({ mfaToken: token, code: nextCode(user.secret) }), 401, 'mfa_token_invalid');
    const failures = await events(user.user.id, 'mfa.challenge_failed');
    expect(failures.map((event) => event.data)).toEqual(
      [1, 2, 3, 4, 5].map((failedAttempts) => ({ method: 'otp', failedAttempts, exhausted: failedAttempts === 5 })),
    );
    expect(failures.every((event) => event.actor_id === null)).toBe(true);
    expect(await events(user.user.id, 'user.login_succeeded')).toEqual([]);
  });

  it('4 wrong codes leave the token alive: the right code then logs in', async () => {
    const user = await mfaUser();
    const token = await mfaToken(user);
    for (let attempt = 1; attempt <= 4; attempt += 1) expectError(await verify({ mfaToken: token, code: wrongCode(user.secret) }), 401, 'mfa_code_invalid');
    await verify({ mfaToken: token, code: nextCode(user.secret) }).expect(200);
  });

  it('answers 401 mfa_token_invalid for an unknown, a malformed, a used and an expired mfaToken', async () => {
    const user = await mfaUser();
    expectError(await verify({ mfaToken: 'A'.repeat(43), code: nextCode(user.secret) }), 401, 'mfa_token_invalid');
    expectError(await verify({ mfaToken: 'not-a-token', code: nextCode(user.secret) }), 401, 'mfa_token_invalid');

    const used = await mfaToken(user);
    await verify({ mfaToken: used, code: nextCode(user.secret) }).expect(200);
    expectError(await verify({ mfaToken: used, code: nextCode(user.secret) }), 401, 'mfa_token_invalid');

    const expiring = await mfaToken(user);
    clock.advance(5 * 60_000); // the token's 5 minutes (the code below is one step later still)
    expectError(await verify({ mfaToken: expiring, code: nextCode(user.secret) }), 401, 'mfa_token_invalid');
  });

  it('answers 400 to a body without exactly one of code and recoveryCode, or otherwise malformed', async () => {
    const user = await mfaUser();
    const token = await mfaToken(user);
    for (const body of [
      { mfaToken: token },
      { mfaToken: token, code: '123456', recoveryCode: user.recoveryCodes[0] },
      { code: '123456' },
      { mfaToken: token, code: 123456 },
      { mfaToken: null, code: '123456' },
      { mfaToken: token, code: '123456', extra: true },
    ]) {
      expectError(await verify(body), 400, 'validation_failed');
    }
    // None of them counted against the token.
    await verify({ mfaToken: token, code: nextCode(user.secret) }).expect(200);
  });

  it('puts the account in back-off after wrong codes across mfaTokens: 429 with Retry-After, and the token is not charged', async () => {
    const user = await mfaUser();
    const backoff = app.app.get(CredentialBackoffService);
    const first = await mfaToken(user);
    const second = await mfaToken(user);
    // The counter store's clock stands still, so that the 1-second block cannot lapse on a busy machine.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      // 5 wrong codes on one token (LOGIN_BACKOFF_THRESHOLD 5): the fifth starts a block on the user.
      for (let attempt = 1; attempt <= 5; attempt += 1) expectError(await verify({ mfaToken: first, code: wrongCode(user.secret) }), 401, 'mfa_code_invalid');
      const blocked = await verify({ mfaToken: second, code: nextCode(user.secret) }); // another token, the right code
      expectError(blocked, 429, 'rate_limited');
      expect(blocked.headers['retry-after']).toBe('1');
    } finally {
      vi.useRealTimers();
    }
    const [challenge] = await app.dataSource.query('SELECT failed_attempts, used_at FROM mfa_challenges WHERE token_hash = $1', [
      createHash('sha256').update(second).digest('hex'),
    ]);
    expect(challenge).toEqual({ failed_attempts: 0, used_at: null });

    await backoff.succeeded(mfaSubject(user.user.id)); // the block lifted, the same token works
    await verify({ mfaToken: second, code: nextCode(user.secret) }).expect(200);
  });
});

describe('recovery codes', () => {
  it('log in once each: amr ["pwd","recovery_code"], aal 2, audited with the codes left', async () => {
    const user = await mfaUser();
    const [first, second] = user.recoveryCodes;
    const response = await verify({ mfaToken: await mfaToken(user), recoveryCode: first }).expect(200);
    expect(Object.keys(response.body).sort()).toEqual(TOKEN_KEYS);
    const token = claims(response.body.accessToken);
    expect({ amr: token.amr, aal: token.aal }).toEqual({ amr: ['pwd', 'recovery_code'], aal: 2 });
    expect(await events(user.user.id, 'mfa.recovery_code_used')).toEqual([{ actor_id: user.user.id, data: { remaining: 9 } }]);

    expectError(await verify({ mfaToken: await mfaToken(user), recoveryCode: first }), 401, 'mfa_code_invalid');
    // Read leniently: upper case, without the hyphen.
    await verify({ mfaToken: await mfaToken(user), recoveryCode: second.replace('-', '').toUpperCase() }).expect(200);
    const failures = await events(user.user.id, 'mfa.challenge_failed');
    expect(failures.map((event) => event.data.method)).toEqual(['recovery_code']);
  });

  it('POST /auth/mfa/recovery-codes (aal 2, password): 10 new codes, and the earlier ones stop working', async () => {
    const user = await mfaUser();
    expectError(await authed(app, 'post', '/auth/mfa/recovery-codes', user.accessToken).send({ currentPassword: GOOD_PASSWORD }), 403, 'step_up_required');

    const session = await loginAal2(user);
    expectError(await authed(app, 'post', '/auth/mfa/recovery-codes', session.accessToken).send({ currentPassword: 'wrong password!' }), 403, 'invalid_credentials');
    expectError(await authed(app, 'post', '/auth/mfa/recovery-codes', session.accessToken).send({}), 400, 'validation_failed');
    const response = await authed(app, 'post', '/auth/mfa/recovery-codes', session.accessToken).send({ currentPassword: GOOD_PASSWORD }).expect(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(Object.keys(response.body)).toEqual(['recoveryCodes']);
    expect(response.body.recoveryCodes).toHaveLength(10);
    expect(response.body.recoveryCodes.some((code: string) => user.recoveryCodes.includes(code))).toBe(false);
    expect(await events(user.user.id, 'mfa.recovery_codes_regenerated')).toEqual([{ actor_id: user.user.id, data: {} }]);

    expectError(await verify({ mfaToken: await mfaToken(user), recoveryCode: user.recoveryCodes[2] }), 401, 'mfa_code_invalid');
    await verify({ mfaToken: await mfaToken(user), recoveryCode: response.body.recoveryCodes[0] }).expect(200);
  });
});

describe('turning MFA off', () => {
  it('DELETE /auth/mfa/totp needs aal 2 and the password; then MFA is off, mailed and audited, and 404 mfa_not_enabled', async () => {
    const user = await mfaUser();
    expectError(await authed(app, 'delete', '/auth/mfa/totp', user.accessToken).send({ currentPassword: GOOD_PASSWORD }), 403, 'step_up_required');

    const session = await loginAal2(user);
    expectError(await authed(app, 'delete', '/auth/mfa/totp', session.accessToken).send({ currentPassword: 'wrong password!' }), 403, 'invalid_credentials');
    const pending = await mfaToken(user); // a challenge in flight dies with MFA
    await authed(app, 'delete', '/auth/mfa/totp', session.accessToken).send({ currentPassword: GOOD_PASSWORD }).expect(204);

    const me = await authed(app, 'get', '/users/me', session.accessToken).expect(200);
    expect(me.body.mfaEnabled).toBe(false);
    expect((await mails(user.user.id)).map((mail) => mail.template).filter((template) => template.startsWith('mfa_'))).toEqual(['mfa_enabled', 'mfa_disabled']);
    expect(await events(user.user.id, 'mfa.disabled')).toEqual([{ actor_id: user.user.id, data: { method: 'totp' } }]);
    expectError(await verify({ mfaToken: pending, code: nextCode(user.secret) }), 401, 'mfa_token_invalid');
    const login = await request(app.url).post('/auth/login').send({ email: user.email, password: user.password }).expect(200);
    expect(claims(login.body.accessToken)).toMatchObject({ amr: ['pwd'], aal: 1 });

    // The aal-2 session outlives MFA: it now meets 404.
    expectError(await authed(app, 'delete', '/auth/mfa/totp', session.accessToken).send({ currentPassword: GOOD_PASSWORD }), 404, 'mfa_not_enabled');
    expectError(await authed(app, 'post', '/auth/mfa/recovery-codes', session.accessToken).send({ currentPassword: GOOD_PASSWORD }), 404, 'mfa_not_enabled');
  });

  it('throttles wrong current passwords per account (429 with Retry-After), as every password check', async () => {
    const user = await mfaUser();
    const session = await loginAal2(user);
    vi.useFakeTimers({ toFake: ['Date'] }); // the 1-second block holds until the test is done
    try {
      for (let attempt = 1; attempt <= 5; attempt += 1) {
        expectError(await authed(app, 'delete', '/auth/mfa/totp', session.accessToken).send({ currentPassword: 'wrong password!' }), 403, 'invalid_credentials');
      }
      const blocked = await authed(app, 'delete', '/auth/mfa/totp', session.accessToken).send({ currentPassword: GOOD_PASSWORD });
      expectError(blocked, 429, 'rate_limited');
      expect(blocked.headers['retry-after']).toBe('1');
    } finally {
      vi.useRealTimers();
    }
    await app.app.get(CredentialBackoffService).succeeded(currentPasswordSubject(user.user.id));
  });

  it('a password reset leaves MFA on: the new password still gets 403 mfa_required, and only a code opens a session', async () => {
    const user = await mfaUser();
    await request(app.url).post('/auth/password/forgot').send({ email: user.email }).expect(202);
    const token = await resetToken(user.user.id);
    await request(app.url).post('/auth/password/reset').send({ token, newPassword: 'a brand new passphrase' }).expect(204);
    expect(await events(user.user.id, 'mfa.disabled')).toEqual([]);
    const challenge = await mfaToken({ email: user.email, password: 'a brand new passphrase' });
    const session = await verify({ mfaToken: challenge, code: nextCode(user.secret) }).expect(200);
    expect(session.body.user.mfaEnabled).toBe(true);
    expect(claims(session.body.accessToken)).toMatchObject({ amr: ['pwd', 'otp'], aal: 2 });
  });

  it('a password change leaves MFA on', async () => {
    const user = await mfaUser();
    await authed(app, 'post', '/users/me/password', user.accessToken).send({ currentPassword: GOOD_PASSWORD, newPassword: 'another good passphrase' }).expect(204);
    const token = await mfaToken({ email: user.email, password: 'another good passphrase' });
    await verify({ mfaToken: token, code: nextCode(user.secret) }).expect(200);
  });
});

describe('step-up: @RequireAal(2) on the example module', () => {
  it('POST /projects/:id/transfer answers 403 step_up_required to aal 1 and gives the project away with aal 2', async () => {
    const owner = await mfaUser();
    const other = await register(app);
    const { body: project } = await authed(app, 'post', '/projects', owner.accessToken).send({ name: 'Apollo' }).expect(201);
    const step = await authed(app, 'post', `/projects/${project.id}/transfer`, owner.accessToken).send({ ownerId: other.user.id });
    expectError(step, 403, 'step_up_required');
    expect(step.body.message).toMatch(/second factor/);

    const session = await loginAal2(owner);
    expectError(await authed(app, 'post', `/projects/${project.id}/transfer`, session.accessToken).send({ ownerId: randomUUID() }), 404, 'not_found');
    expectError(await authed(app, 'post', `/projects/${project.id}/transfer`, session.accessToken).send({ ownerId: 'nope' }), 400, 'validation_failed');
    const moved = await authed(app, 'post', `/projects/${project.id}/transfer`, session.accessToken).send({ ownerId: other.user.id }).expect(200);
    expect(moved.body).toMatchObject({ id: project.id, ownerId: other.user.id });
    await authed(app, 'get', `/projects/${project.id}`, other.accessToken).expect(200);
    await authed(app, 'get', `/projects/${project.id}`, session.accessToken).expect(404);
  });
});

describe('passkeys', () => {
  /** Registers a new passkey for `user` through the two routes. */
  async function addPasskey(user: { accessToken: string }, name?: string, authenticator = new SoftwareAuthenticator(ORIGIN)) {
    const options = await authed(app, 'post', '/auth/passkeys/register/options', user.accessToken).expect(200);
    const response = await authed(app, 'post', '/auth/passkeys/register', user.accessToken)
      .send({ response: authenticator.register(options.body), ...(name === undefined ? {} : { name }) })
      .expect(201);
    return { authenticator, passkey: response.body as { id: string; name: string; createdAt: string; lastUsedAt: string | null } };
  }

  async function passkeyLogin(authenticator: SoftwareAuthenticator, email?: string) {
    const options = await request(app.url).post('/auth/passkeys/login/options').send(email === undefined ? {} : { email }).expect(200);
    return request(app.url).post('/auth/passkeys/login').send({ response: authenticator.login(options.body) });
  }

  it('registers: creation options for the caller, then 201 { id, name, createdAt, lastUsedAt }, mailed and audited', async () => {
    const user = await register(app);
    const options = await authed(app, 'post', '/auth/passkeys/register/options', user.accessToken).expect(200);
    expect(options.headers['cache-control']).toBe('no-store');
    expect(options.body).toMatchObject({
      rp: { id: 'localhost', name: 'auth-service' },
      user: { name: user.email },
      challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      attestation: 'none',
      excludeCredentials: [],
    });
    const authenticator = new SoftwareAuthenticator(ORIGIN);
    const response = await authed(app, 'post', '/auth/passkeys/register', user.accessToken)
      .send({ response: authenticator.register(options.body), name: ' Laptop ' })
      .expect(201);
    expect(response.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'Laptop', createdAt: expect.any(String), lastUsedAt: null });
    expect(await mails(user.user.id)).toContainEqual({ to: user.email, template: 'passkey_added' });
    expect(await events(user.user.id, 'passkey.registered')).toEqual([{ actor_id: user.user.id, data: { passkeyId: response.body.id, name: 'Laptop' } }]);

    const list = await authed(app, 'get', '/users/me/passkeys', user.accessToken).expect(200);
    expect(list.body).toEqual([response.body]);
  });

  it('answers 400 passkey_invalid to a response that does not verify, 400 validation_failed to a malformed body, 401 without a token', async () => {
    const user = await register(app);
    const options = await authed(app, 'post', '/auth/passkeys/register/options', user.accessToken).expect(200);
    const forged = new SoftwareAuthenticator('https://evil.example').register(options.body);
    expectError(await authed(app, 'post', '/auth/passkeys/register', user.accessToken).send({ response: forged }), 400, 'passkey_invalid');
    expectError(await authed(app, 'post', '/auth/passkeys/register', user.accessToken).send({ response: {} }), 400, 'passkey_invalid');
    for (const body of [{}, { response: 'x' }, { response: [] }, { response: {}, name: 5 }, { response: {}, name: 'x'.repeat(101) }, { response: {}, other: 1 }]) {
      expectError(await authed(app, 'post', '/auth/passkeys/register', user.accessToken).send(body), 400, 'validation_failed');
    }
    expect((await authed(app, 'get', '/users/me/passkeys', user.accessToken).expect(200)).body).toEqual([]);
    for (const [method, path] of [
      ['post', '/auth/passkeys/register/options'],
      ['post', '/auth/passkeys/register'],
      ['get', '/users/me/passkeys'],
      ['delete', `/users/me/passkeys/${randomUUID()}`],
    ] as const) {
      expectError(await request(app.url)[method](path).send({}), 401, 'token_missing');
    }
  });

  it('logs in with a discoverable passkey (no email): 200 token response, amr ["passkey"], aal 2', async () => {
    const user = await register(app);
    const { authenticator, passkey } = await addPasskey(user, 'Phone');
    const options = await request(app.url).post('/auth/passkeys/login/options').send({}).expect(200);
    expect(options.headers['cache-control']).toBe('no-store');
    expect(options.body).toMatchObject({ rpId: 'localhost', userVerification: 'required', challenge: expect.any(String) });
    expect(options.body.allowCredentials).toBeUndefined();
    const response = await request(app.url).post('/auth/passkeys/login').send({ response: authenticator.login(options.body) }).expect(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(Object.keys(response.body).sort()).toEqual(TOKEN_KEYS);
    expect(response.body.user.id).toBe(user.user.id);
    const token = claims(response.body.accessToken);
    expect({ sub: token.sub, amr: token.amr, aal: token.aal }).toEqual({ sub: user.user.id, amr: ['passkey'], aal: 2 });
    const [login] = await events(user.user.id, 'user.login_succeeded');
    expect(login.data).toMatchObject({ sessionId: token.sid, amr: ['passkey'] });

    const refreshed = await request(app.url).post('/auth/refresh').send({ refreshToken: response.body.refreshToken }).expect(200);
    expect(claims(refreshed.body.accessToken)).toMatchObject({ amr: ['passkey'], aal: 2 });
    const [listed] = (await authed(app, 'get', '/users/me/passkeys', user.accessToken).expect(200)).body;
    expect(listed).toMatchObject({ id: passkey.id, lastUsedAt: expect.any(String) });
  });

  it("logs in with an email: options list that account's passkeys; a spent response is refused", async () => {
    const user = await register(app);
    const { authenticator } = await addPasskey(user);
    const options = await request(app.url).post('/auth/passkeys/login/options').send({ email: user.email.toUpperCase() }).expect(200);
    expect(options.body.allowCredentials).toEqual([{ id: authenticator.id, type: 'public-key', transports: ['internal', 'hybrid'] }]);
    const answer = authenticator.login(options.body);
    await request(app.url).post('/auth/passkeys/login').send({ response: answer }).expect(200);
    expectError(await request(app.url).post('/auth/passkeys/login').send({ response: answer }), 401, 'passkey_invalid');
  });

  it('answers 401 passkey_invalid to a response that does not verify, 400 to malformed bodies, and 403 account_disabled', async () => {
    const user = await register(app);
    const { authenticator } = await addPasskey(user);
    const options = await request(app.url).post('/auth/passkeys/login/options').send({}).expect(200);
    expectError(await request(app.url).post('/auth/passkeys/login').send({ response: authenticator.login(options.body, { origin: 'https://evil.example' }) }), 401, 'passkey_invalid');
    expectError(await request(app.url).post('/auth/passkeys/login').send({ response: {} }), 401, 'passkey_invalid');
    expectError(await passkeyLogin(new SoftwareAuthenticator(ORIGIN)), 401, 'passkey_invalid'); // not registered
    for (const body of [{}, { response: 'x' }, { response: {}, other: 1 }]) {
      expectError(await request(app.url).post('/auth/passkeys/login').send(body), 400, 'validation_failed');
    }
    for (const body of [{ email: 'not an email' }, { email: 5 }, { other: 1 }]) {
      expectError(await request(app.url).post('/auth/passkeys/login/options').send(body), 400, 'validation_failed');
    }

    await app.dataSource.query('UPDATE users SET disabled_at = now() WHERE id = $1', [user.user.id]);
    const before = await sessionCount(user.user.id);
    expectError(await passkeyLogin(authenticator), 403, 'account_disabled');
    expect(await sessionCount(user.user.id)).toBe(before);
  });

  it('DELETE /users/me/passkeys/:id: 204 and audited, then it logs in no more; 404 for another user\'s or a missing one; 400 for a malformed id', async () => {
    const user = await register(app);
    const stranger = await register(app);
    const { authenticator, passkey } = await addPasskey(user);
    expectError(await authed(app, 'delete', `/users/me/passkeys/${passkey.id}`, stranger.accessToken), 404, 'not_found');
    expectError(await authed(app, 'delete', '/users/me/passkeys/not-a-uuid', user.accessToken), 400, 'validation_failed');
    await authed(app, 'delete', `/users/me/passkeys/${passkey.id}`, user.accessToken).expect(204);
    expectError(await authed(app, 'delete', `/users/me/passkeys/${passkey.id}`, user.accessToken), 404, 'not_found');
    expect(await events(user.user.id, 'passkey.removed')).toEqual([{ actor_id: user.user.id, data: { passkeyId: passkey.id } }]);
    expect((await authed(app, 'get', '/users/me/passkeys', user.accessToken).expect(200)).body).toEqual([]);
    expectError(await passkeyLogin(authenticator), 401, 'passkey_invalid');
  });

  it('a passkey session is aal 2: it passes @RequireAal(2), and DELETE /auth/mfa/totp then answers 404 mfa_not_enabled', async () => {
    const user = await register(app);
    const { authenticator } = await addPasskey(user);
    const session = (await passkeyLogin(authenticator)).body;
    expectError(await authed(app, 'delete', '/auth/mfa/totp', session.accessToken).send({ currentPassword: GOOD_PASSWORD }), 404, 'mfa_not_enabled');
    const { body: project } = await authed(app, 'post', '/projects', session.accessToken).send({ name: 'Gemini' }).expect(201);
    const other = await register(app);
    await authed(app, 'post', `/projects/${project.id}/transfer`, session.accessToken).send({ ownerId: other.user.id }).expect(200);
  });

  it('adds a factor to an account that has one only from an aal-2 session (403 step_up_required otherwise)', async () => {
    const user = await register(app); // aal 1, from before any factor
    const { authenticator } = await addPasskey(user); // the first factor needs no step-up
    expectError(await authed(app, 'post', '/auth/passkeys/register/options', user.accessToken), 403, 'step_up_required');
    expectError(await authed(app, 'post', '/auth/mfa/totp/setup', user.accessToken), 403, 'step_up_required');

    const session = (await passkeyLogin(authenticator)).body;
    await addPasskey(session, 'Second');
    const setup = await authed(app, 'post', '/auth/mfa/totp/setup', session.accessToken).expect(200);
    await authed(app, 'post', '/auth/mfa/totp/enable', session.accessToken).send({ code: nextCode(setup.body.secret) }).expect(200);
    expect((await authed(app, 'get', '/users/me/passkeys', session.accessToken).expect(200)).body).toHaveLength(2);
  });
});

describe('one transaction per change: a refused audit insert leaves neither the change nor its notice', () => {
  // As test/audit-flows.e2e-spec.ts: a trigger of this test's own database refuses the insert
  // of the listed event types, the last statement of each flow's transaction.
  beforeAll(async () => {
    await app.dataSource.query('CREATE TABLE mfa_audit_fail_types (type text PRIMARY KEY)');
    await app.dataSource.query(`CREATE FUNCTION mfa_audit_fail() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM mfa_audit_fail_types WHERE type = NEW.type) THEN RAISE EXCEPTION 'audit insert refused by the test'; END IF;
        RETURN NEW;
      END $$`);
    await app.dataSource.query('CREATE TRIGGER mfa_audit_fail BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION mfa_audit_fail()');
  });

  afterAll(async () => {
    await app.dataSource.query('DROP TRIGGER mfa_audit_fail ON audit_events');
    await app.dataSource.query('DROP FUNCTION mfa_audit_fail()');
    await app.dataSource.query('DROP TABLE mfa_audit_fail_types');
  });

  /** Runs `flow` with the insert of `type` refused: it must answer 503; then the insert is allowed again. */
  async function refusing(type: string, flow: () => Promise<request.Response>): Promise<void> {
    await app.dataSource.query('INSERT INTO mfa_audit_fail_types (type) VALUES ($1)', [type]);
    try {
      expectError(await flow(), 503, 'database_unavailable');
    } finally {
      await app.dataSource.query('DELETE FROM mfa_audit_fail_types');
    }
  }

  const templates = async (userId: string) => (await mails(userId)).map((mail) => mail.template).filter((template) => template !== 'verify_email');

  it('enable: TOTP stays off (users.mfa_enabled too), no notice, and the same code then enables', async () => {
    const user = await register(app);
    const { body } = await authed(app, 'post', '/auth/mfa/totp/setup', user.accessToken).expect(200);
    const code = nextCode(body.secret);
    await refusing('mfa.enabled', () => authed(app, 'post', '/auth/mfa/totp/enable', user.accessToken).send({ code }));
    expect((await authed(app, 'get', '/users/me', user.accessToken).expect(200)).body.mfaEnabled).toBe(false);
    expect(await templates(user.user.id)).toEqual([]);
    await request(app.url).post('/auth/login').send({ email: user.email, password: user.password }).expect(200);
    await authed(app, 'post', '/auth/mfa/totp/enable', user.accessToken).send({ code }).expect(200);
  });

  it('disable and new recovery codes: MFA and the earlier codes stay', async () => {
    const user = await mfaUser();
    const session = await loginAal2(user);
    await refusing('mfa.disabled', () => authed(app, 'delete', '/auth/mfa/totp', session.accessToken).send({ currentPassword: GOOD_PASSWORD }));
    await refusing('mfa.recovery_codes_regenerated', () =>
      authed(app, 'post', '/auth/mfa/recovery-codes', session.accessToken).send({ currentPassword: GOOD_PASSWORD }),
    );
    expect((await authed(app, 'get', '/users/me', session.accessToken).expect(200)).body.mfaEnabled).toBe(true);
    expect(await templates(user.user.id)).toEqual(['mfa_enabled']);
    await verify({ mfaToken: await mfaToken(user), recoveryCode: user.recoveryCodes[0] }).expect(200);
  });

  it('the second step: neither the mfaToken nor the code (nor a recovery code) is spent, and no session opens', async () => {
    const user = await mfaUser();
    const token = await mfaToken(user);
    const code = nextCode(user.secret);
    const sessions = await sessionCount(user.user.id);
    await refusing('user.login_succeeded', () => verify({ mfaToken: token, code }));
    await refusing('mfa.recovery_code_used', () => verify({ mfaToken: token, recoveryCode: user.recoveryCodes[0] }));
    expect(await sessionCount(user.user.id)).toBe(sessions);
    await verify({ mfaToken: token, code }).expect(200);
    await verify({ mfaToken: await mfaToken(user), recoveryCode: user.recoveryCodes[0] }).expect(200);
  });

  it('passkeys: a registration stores nothing and mails nothing; a removal leaves the passkey', async () => {
    const user = await register(app);
    const options = await authed(app, 'post', '/auth/passkeys/register/options', user.accessToken).expect(200);
    const authenticator = new SoftwareAuthenticator(ORIGIN);
    await refusing('passkey.registered', () => authed(app, 'post', '/auth/passkeys/register', user.accessToken).send({ response: authenticator.register(options.body) }));
    expect((await authed(app, 'get', '/users/me/passkeys', user.accessToken).expect(200)).body).toEqual([]);
    expect(await templates(user.user.id)).toEqual([]);

    const again = await authed(app, 'post', '/auth/passkeys/register/options', user.accessToken).expect(200);
    const { body: passkey } = await authed(app, 'post', '/auth/passkeys/register', user.accessToken).send({ response: authenticator.register(again.body) }).expect(201);
    await refusing('passkey.removed', () => authed(app, 'delete', `/users/me/passkeys/${passkey.id}`, user.accessToken));
    expect((await authed(app, 'get', '/users/me/passkeys', user.accessToken).expect(200)).body).toHaveLength(1);
  });
});

describe('with AUTH_COOKIES=true and a small per-IP limit', () => {
  let cookieApp: TestApp;

  beforeAll(async () => {
    cookieApp = await startApp({ AUTH_COOKIES: 'true', AUTH_RATE_LIMIT: '3' });
  });

  afterAll(async () => {
    await cookieApp?.close();
  });

  it('the MFA and passkey logins set the refresh cookie instead of a body field, as login does', async () => {
    const local = controlClock(cookieApp);
    const code = (secret: string) => {
      local.advance(STEP);
      return TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: local.now });
    };
    const user = await register(cookieApp);
    const { body: setup } = await authed(cookieApp, 'post', '/auth/mfa/totp/setup', user.accessToken).expect(200);
    await authed(cookieApp, 'post', '/auth/mfa/totp/enable', user.accessToken).send({ code: code(setup.secret) }).expect(200);
    const challenge = await request(cookieApp.url).post('/auth/login').send({ email: user.email, password: user.password }).expect(403);
    expect(refreshTokenCookie(challenge)).toBeUndefined();
    const verified = await request(cookieApp.url).post('/auth/mfa/verify').send({ mfaToken: challenge.body.mfaToken, code: code(setup.secret) }).expect(200);
    expect(verified.body.refreshToken).toBeUndefined();
    const cookie = refreshTokenCookie(verified)!;
    expect(cookie).toBeDefined();
    const refreshed = await request(cookieApp.url).post('/auth/refresh').set('Cookie', `refresh_token=${cookie}`).send({}).expect(200);
    expect(claims(refreshed.body.accessToken)).toMatchObject({ amr: ['pwd', 'otp'], aal: 2 });

    const authenticator = new SoftwareAuthenticator(ORIGIN);
    const stepped = verified.body.accessToken as string;
    const options = await authed(cookieApp, 'post', '/auth/passkeys/register/options', stepped).expect(200);
    await authed(cookieApp, 'post', '/auth/passkeys/register', stepped).send({ response: authenticator.register(options.body) }).expect(201);
    const loginOptions = await request(cookieApp.url).post('/auth/passkeys/login/options').send({}).expect(200);
    const login = await request(cookieApp.url).post('/auth/passkeys/login').send({ response: authenticator.login(loginOptions.body) }).expect(200);
    expect(login.body.refreshToken).toBeUndefined();
    expect(refreshTokenCookie(login)).toBeDefined();
  });

  it('the public MFA and passkey routes answer 429 with Retry-After past AUTH_RATE_LIMIT per IP', async () => {
    for (const [path, body] of [
      ['/auth/mfa/verify', { mfaToken: 'A'.repeat(43), code: '123456' }],
      ['/auth/passkeys/login/options', {}],
      ['/auth/passkeys/login', { response: {} }],
    ] as const) {
      const statuses: number[] = [];
      let last: request.Response | undefined;
      for (let attempt = 0; attempt < 5; attempt += 1) {
        last = await request(cookieApp.url).post(path).send(body);
        statuses.push(last.status);
      }
      expect(statuses.filter((status) => status === 429).length, path).toBeGreaterThanOrEqual(1);
      expectError(last!, 429, 'rate_limited');
      expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    }
  });
});
