import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Logger, Provider } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { Test, TestingModule } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { useMigratedPglite } from '../../test/support/pglite-template';
import { accountEmailConfig, AccountEmailConfig, EmailVerificationMode } from '../account-email/account-email.config';
import { EmailTokensService } from '../account-email/email-tokens.service';
import { EmailVerificationService } from '../account-email/email-verification.service';
import { AuditService } from '../audit';
import { auditConfig } from '../audit/audit.config';
import { AuditChainMark } from '../audit/audit-chain-mark.entity';
import { AuditEvent } from '../audit/audit-event.entity';
import { ApiError } from '../common/api-error';
import { Role, type ClientInfo } from '../common/auth';
import { appConfig, AppConfig } from '../config/app.config';
import { secretsConfig } from '../config/secrets.config';
import { buildDataSourceOptions } from '../database/data-source-options';
import { databaseConfig } from '../database/database.config';
import { MailService } from '../mail/mail.service';
import { MetricsService } from '../metrics/metrics.service';
import { MfaChallengeService } from '../mfa/mfa-challenge.service';
import { MfaClock } from '../mfa/mfa-clock';
import { COUNTER_STORE, MemoryCounterStore } from '../rate-limit/counter-store';
import { CredentialBackoffService } from '../rate-limit/credential-backoff.service';
import { rateLimitConfig, RateLimitConfig } from '../rate-limit/rate-limit.config';
import { AccessTokenService } from '../tokens/access-token.service';
import { jwtModuleOptions } from '../tokens/jwt-options';
import { RefreshToken } from '../tokens/refresh-token.entity';
import { RefreshTokensService } from '../tokens/refresh-tokens.service';
import { RevocationService } from '../tokens/revocation/revocation.service';
import { Session } from '../tokens/session.entity';
import { tokensConfig } from '../tokens/tokens.config';
import { PasswordService } from '../users/password.service';
import { User } from '../users/user.entity';
import { usersConfig, UsersConfig } from '../users/users.config';
import { UsersService } from '../users/users.service';
import { AuthService } from './auth.service';
import { specTokensConfig } from '../../test/support/tokens-config';
import { SCHEMA } from '../schema';

const PASSWORD = 'correct horse battery staple';
const CLIENT: ClientInfo = { userAgent: 'spec-agent/1.0', ip: '192.0.2.10', requestId: 'req-1' };
const TOKENS = specTokensConfig();
const USERS: UsersConfig = { bcryptCost: 4, bcryptConcurrency: 2, admin: undefined, passwordPolicy: { minLength: 8, maxLength: 128, rejectCommon: true } };
const BACKOFF_THRESHOLD = 3;
const RATE_LIMIT = {
  perIp: { limit: 1000, windowSeconds: 60 },
  backoff: { threshold: BACKOFF_THRESHOLD, windowSeconds: 900, maxSeconds: 60 },
  redis: undefined,
} as RateLimitConfig;

const pglite = useMigratedPglite('auth-service');

beforeAll(() => Logger.overrideLogger(false));

/**
 * Stops the clock the counter store reads (Date only: timers run), so that a 1-second block
 * cannot lapse between two calls on a busy machine.
 */
function freezeClock(): void {
  vi.useFakeTimers({ toFake: ['Date'] });
}

afterEach(() => {
  vi.useRealTimers();
});

/**
 * What AuthService is built from, as AuthModule's imports provide it (UsersModule,
 * TokensModule, RateLimitModule, MfaModule, AccountEmailModule, the global MetricsModule and
 * AuditModule): the real classes.
 * A new dependency of AuthService goes here, with the config slice it reads below.
 */
const SERVICES: Provider[] = [
  AuthService,
  UsersService,
  PasswordService,
  AccessTokenService,
  RefreshTokensService,
  RevocationService,
  CredentialBackoffService,
  MetricsService,
  MfaChallengeService,
  MfaClock,
  AuditService,
  EmailVerificationService,
  EmailTokensService,
  MailService,
];

interface Context {
  module: TestingModule;
  auth: AuthService;
  users: UsersService;
  accessTokens: AccessTokenService;
  metrics: MetricsService;
  dataSource: DataSource;
}

/** AuthService over a real PGlite database of its own (a copy of the migrated template), bcrypt at cost 4. */
async function setUp({ verification = 'optional' }: { verification?: EmailVerificationMode } = {}): Promise<Context> {
  const dataDir = pglite.dataDir();
  const accountEmail = {
    verification,
    verificationTtlSeconds: 86400,
    resetTtlSeconds: 1800,
    rateLimit: { limit: 5, windowSeconds: 3600 },
  } satisfies AccountEmailConfig;
  const module = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({ ...buildDataSourceOptions({ url: undefined, dataDir }, SCHEMA), retryAttempts: 0 }),
      TypeOrmModule.forFeature([User, Session, RefreshToken, AuditEvent, AuditChainMark]),
      JwtModule.register(jwtModuleOptions(TOKENS)), // the JwtService TokensModule builds
    ],
    providers: [
      ...SERVICES,
      { provide: COUNTER_STORE, useValue: new MemoryCounterStore() },
      { provide: databaseConfig.KEY, useValue: { url: undefined, listenUrl: undefined, dataDir } },
      { provide: secretsConfig.KEY, useValue: { refreshTokenKey: randomBytes(32), mfaEncryptionKey: randomBytes(32) } },
      { provide: usersConfig.KEY, useValue: USERS },
      { provide: tokensConfig.KEY, useValue: TOKENS },
      { provide: rateLimitConfig.KEY, useValue: RATE_LIMIT },
      { provide: auditConfig.KEY, useValue: { retentionSeconds: 86400 } },
      { provide: accountEmailConfig.KEY, useValue: accountEmail },
      { provide: appConfig.KEY, useValue: { appUrl: 'https://app.example' } as AppConfig }, // the links in mail
    ],
  }).compile();
  await module.init(); // PasswordService's dummy hash, RevocationService's load: as at start
  pglite.afterThisTest(async () => {
    await module.close();
    module.get<MemoryCounterStore>(COUNTER_STORE).close();
  });
  return {
    module,
    auth: module.get(AuthService),
    users: module.get(UsersService),
    accessTokens: module.get(AccessTokenService),
    metrics: module.get(MetricsService),
    dataSource: module.get(DataSource),
  };
}

/** The error a call rejects with, as the exception filter would see it. */
async function errorOf(promise: Promise<unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const error = await promise.then(
    () => {
      throw new Error('expected an ApiError, but the call succeeded');
    },
    (rejected: unknown) => rejected,
  );
  expect(error).toBeInstanceOf(ApiError);
  return { status: (error as ApiError).getStatus(), body: (error as ApiError).getResponse() as Record<string, unknown> };
}

async function loginCount(metrics: MetricsService, outcome: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric('auth_logins_total')!.get();
  return metric.values.find((value) => value.labels.outcome === outcome)?.value ?? 0;
}

async function storedHash(dataSource: DataSource, userId: string): Promise<string> {
  const [row]: Array<{ password_hash: string }> = await dataSource.query('SELECT password_hash FROM users WHERE id = $1', [userId]);
  return row.password_hash;
}

async function liveSessions(dataSource: DataSource, userId: string): Promise<number> {
  const [{ n }]: Array<{ n: number }> = await dataSource.query('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [userId]);
  return n;
}

const INVALID_CREDENTIALS = { status: 401, body: { code: 'invalid_credentials', message: 'Invalid email or password' } };

describe('AuthService.validateCredentials', () => {
  it('returns the user for the right password, whatever the case and spaces of the email', async () => {
    const { auth, users, metrics } = await setUp();
    const created = await users.create({ email: 'ada@example.com', password: PASSWORD });
    expect((await auth.validateCredentials(' ADA@Example.com ', PASSWORD, CLIENT)).id).toBe(created.id);
    expect(await loginCount(metrics, 'success')).toBe(1);
  });

  it('answers an unknown email and a wrong password with the same 401 invalid_credentials', async () => {
    const { auth, users, metrics } = await setUp();
    await users.create({ email: 'ada@example.com', password: PASSWORD });
    const wrongPassword = await errorOf(auth.validateCredentials('ada@example.com', 'not the password', CLIENT));
    const unknownEmail = await errorOf(auth.validateCredentials('nobody@example.com', PASSWORD, CLIENT));
    expect(wrongPassword).toMatchObject(INVALID_CREDENTIALS);
    expect(unknownEmail).toEqual(wrongPassword); // status and body alike, to the letter
    expect(await loginCount(metrics, 'invalid_credentials')).toBe(2);
  });

  it(`after ${BACKOFF_THRESHOLD} wrong passwords, answers 429 with retryAfterSeconds, even to the right password`, async () => {
    freezeClock();
    const { auth, users, metrics } = await setUp();
    await users.create({ email: 'ada@example.com', password: PASSWORD });
    await users.create({ email: 'bob@example.com', password: PASSWORD });
    for (let i = 0; i < BACKOFF_THRESHOLD; i += 1) {
      expect(await errorOf(auth.validateCredentials('ada@example.com', `wrong guess ${i}`, CLIENT))).toMatchObject(INVALID_CREDENTIALS);
    }
    const locked = await errorOf(auth.validateCredentials('Ada@Example.com', PASSWORD, CLIENT)); // the same account in another spelling
    expect(locked.status).toBe(429);
    expect(locked.body).toMatchObject({ code: 'rate_limited', retryAfterSeconds: 1 }); // the first delay: 1 s
    expect(await loginCount(metrics, 'locked_out')).toBe(1);
    expect(await loginCount(metrics, 'success')).toBe(0);
    // Another account is not slowed down.
    expect((await auth.validateCredentials('bob@example.com', PASSWORD, CLIENT)).email).toBe('bob@example.com');
  });

  it('counts wrong passwords for an unknown email too, so that the back-off tells nothing about which accounts exist', async () => {
    freezeClock();
    const { auth } = await setUp();
    for (let i = 0; i < BACKOFF_THRESHOLD; i += 1) {
      expect(await errorOf(auth.validateCredentials('nobody@example.com', PASSWORD, CLIENT))).toMatchObject(INVALID_CREDENTIALS);
    }
    const locked = await errorOf(auth.validateCredentials('nobody@example.com', PASSWORD, CLIENT));
    expect(locked.status).toBe(429);
    expect(locked.body).toMatchObject({ code: 'rate_limited', retryAfterSeconds: 1 });
  });

  it('a success resets the count of wrong passwords', async () => {
    freezeClock();
    const { auth, users } = await setUp();
    await users.create({ email: 'ada@example.com', password: PASSWORD });
    const fail = () => errorOf(auth.validateCredentials('ada@example.com', 'not the password', CLIENT));
    for (let i = 0; i < BACKOFF_THRESHOLD - 1; i += 1) await fail();
    await auth.validateCredentials('ada@example.com', PASSWORD, CLIENT);
    // Counted from zero again: without the reset, the first of these would start the back-off.
    for (let i = 0; i < BACKOFF_THRESHOLD - 1; i += 1) expect((await fail()).status).toBe(401);
    expect((await auth.validateCredentials('ada@example.com', PASSWORD, CLIENT)).email).toBe('ada@example.com');
    // And the threshold still applies.
    for (let i = 0; i < BACKOFF_THRESHOLD; i += 1) await fail();
    expect((await errorOf(auth.validateCredentials('ada@example.com', PASSWORD, CLIENT))).status).toBe(429);
  });

  it('stores the password again at the configured cost after a login with a hash of another cost, and only then', async () => {
    const { auth, users, dataSource } = await setUp();
    const created = await users.create({ email: 'ada@example.com', password: PASSWORD });
    const atFive = new PasswordService({ ...USERS, bcryptCost: 5 });
    const oldHash = await atFive.hash(PASSWORD);
    await dataSource.query('UPDATE users SET password_hash = $1 WHERE id = $2', [oldHash, created.id]);

    await errorOf(auth.validateCredentials('ada@example.com', 'not the password', CLIENT));
    expect(await storedHash(dataSource, created.id)).toBe(oldHash); // a wrong password changes nothing

    await auth.validateCredentials('ada@example.com', PASSWORD, CLIENT);
    const rehashed = await storedHash(dataSource, created.id);
    expect(rehashed).toMatch(/^\$2b\$04\$/);
    expect((await auth.validateCredentials('ada@example.com', PASSWORD, CLIENT)).id).toBe(created.id);
    expect(await storedHash(dataSource, created.id)).toBe(rehashed); // already at the cost: left alone
  });
});

describe('AuthService.login', () => {
  it('answers 403 account_disabled to a disabled account only after the right password, opening no session', async () => {
    const { auth, users, dataSource } = await setUp();
    const created = await users.create({ email: 'ada@example.com', password: PASSWORD });
    await dataSource.query('UPDATE users SET disabled_at = now() WHERE id = $1', [created.id]);

    // A wrong password gets what it gets for any account: nothing tells it is disabled.
    expect(await errorOf(auth.validateCredentials('ada@example.com', 'not the password', CLIENT))).toMatchObject(INVALID_CREDENTIALS);
    const user = await auth.validateCredentials('ada@example.com', PASSWORD, CLIENT);
    expect(await errorOf(auth.login(user, CLIENT))).toMatchObject({ status: 403, body: { code: 'account_disabled' } });
    expect(await liveSessions(dataSource, created.id)).toBe(0);
  });

  it('answers 403 mfa_required with an mfaToken to an account with MFA on, opening no session', async () => {
    const { auth, users, dataSource } = await setUp();
    const created = await users.create({ email: 'ada@example.com', password: PASSWORD });
    await dataSource.query('UPDATE users SET mfa_enabled = true WHERE id = $1', [created.id]);
    const user = await auth.validateCredentials('ada@example.com', PASSWORD, CLIENT);
    const refused = await errorOf(auth.login(user, CLIENT));
    expect(refused).toMatchObject({ status: 403, body: { code: 'mfa_required', methods: ['totp', 'recovery_code'] } });
    expect(refused.body.mfaToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await liveSessions(dataSource, created.id)).toBe(0);
  });

  it('openSession refuses an account disabled since its password was checked (403 account_disabled), opening no session', async () => {
    const { auth, users, dataSource } = await setUp();
    const created = await users.create({ email: 'ada@example.com', password: PASSWORD });
    const user = await auth.validateCredentials('ada@example.com', PASSWORD, CLIENT);
    await dataSource.query('UPDATE users SET disabled_at = now() WHERE id = $1', [created.id]); // an admin, meanwhile
    expect(await errorOf(auth.login(user, CLIENT))).toMatchObject({ status: 403, body: { code: 'account_disabled' } });
    expect(await liveSessions(dataSource, created.id)).toBe(0);
  });

  it('records each failed login as user.login_failed, kept although the call fails, naming no email', async () => {
    const { auth, users, dataSource } = await setUp();
    const created = await users.create({ email: 'ada@example.com', password: PASSWORD });
    await errorOf(auth.validateCredentials('ada@example.com', 'not the password', CLIENT));
    await errorOf(auth.validateCredentials('nobody@example.com', PASSWORD, CLIENT));
    await dataSource.query('UPDATE users SET disabled_at = now() WHERE id = $1', [created.id]);
    await errorOf(auth.login(await auth.validateCredentials('ada@example.com', PASSWORD, CLIENT), CLIENT));

    const events: Array<{ type: string; user_id: string | null; actor_id: string | null; data: Record<string, unknown>; text: string }> = await dataSource.query(
      `SELECT type, user_id, actor_id, data, row_to_json(e)::text AS text FROM audit_events e WHERE type = 'user.login_failed' ORDER BY seq`,
    );
    expect(events.map(({ user_id, actor_id, data }) => ({ user_id, actor_id, data }))).toEqual([
      { user_id: created.id, actor_id: null, data: { reason: 'invalid_credentials' } },
      { user_id: null, actor_id: null, data: { reason: 'invalid_credentials' } },
      { user_id: created.id, actor_id: null, data: { reason: 'account_disabled' } },
    ]);
    for (const { text } of events) {
      expect(text).not.toContain('example.com');
      expect(text).not.toContain(PASSWORD);
    }
  });

  it('opens a session for an enabled account', async () => {
    const { auth, users, dataSource } = await setUp();
    const created = await users.create({ email: 'ada@example.com', password: PASSWORD });
    const response = await auth.login(await auth.validateCredentials('ada@example.com', PASSWORD, CLIENT), CLIENT);
    expect(response.user.id).toBe(created.id);
    expect(await liveSessions(dataSource, created.id)).toBe(1);
  });
});

describe('AuthService sessions', () => {
  it('openSession answers the token response, and its access token names the session, amr and aal', async () => {
    const { auth, users, accessTokens, dataSource } = await setUp();
    const user = await users.create({ email: 'ada@example.com', password: PASSWORD, displayName: 'Ada' });
    const response = await auth.openSession(user, CLIENT);

    expect(Object.keys(response).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'tokenType', 'user']);
    expect(response).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, refreshToken: expect.stringMatching(/^rt_/) });
    expect(response.user).toEqual({
      id: user.id,
      email: 'ada@example.com',
      displayName: 'Ada',
      roles: [Role.User],
      emailVerified: false,
      mfaEnabled: false,
      createdAt: user.createdAt.toISOString(),
      updatedAt: user.updatedAt.toISOString(),
    });
    expect(JSON.stringify(response)).not.toContain(user.passwordHash);

    const [session]: Array<{ id: string }> = await dataSource.query('SELECT id FROM sessions WHERE user_id = $1', [user.id]);
    const verification = accessTokens.verify(response.accessToken);
    expect(verification.valid).toBe(true);
    if (!verification.valid) return;
    expect(verification.claims).toMatchObject({ sub: user.id, sid: session.id, amr: ['pwd'], aal: 1, roles: [Role.User], iss: 'auth-service', aud: 'api' });
    expect(verification.claims.exp - verification.claims.iat).toBe(900);
  });

  it('refresh rotates the refresh token and keeps the session, its amr and aal, with the user’s current roles', async () => {
    const { auth, users, accessTokens, dataSource } = await setUp();
    const user = await users.create({ email: 'ada@example.com', password: PASSWORD });
    const opened = await auth.openSession(user, CLIENT, { amr: ['pwd', 'otp'], aal: 2 });
    const before = accessTokens.verify(opened.accessToken);
    await dataSource.query(`UPDATE users SET roles = '{user,admin}' WHERE id = $1`, [user.id]);

    const refreshed = await auth.refresh(opened.refreshToken!, CLIENT);
    expect(refreshed.refreshToken).not.toBe(opened.refreshToken);
    expect(refreshed.user.roles).toEqual([Role.User, Role.Admin]);
    const after = accessTokens.verify(refreshed.accessToken);
    expect(before.valid && after.valid).toBe(true);
    if (!before.valid || !after.valid) return;
    expect(after.claims).toMatchObject({ sub: user.id, sid: before.claims.sid, amr: ['pwd', 'otp'], aal: 2, roles: [Role.User, Role.Admin] });
    expect(after.claims.jti).not.toBe(before.claims.jti);

    // The spent token, past the reuse interval, is reuse: the session ends.
    await dataSource.query(`UPDATE refresh_tokens SET spent_at = spent_at - interval '1 minute' WHERE spent_at IS NOT NULL`);
    expect(await errorOf(auth.refresh(opened.refreshToken!, CLIENT))).toMatchObject({ status: 401, body: { code: 'refresh_token_reused' } });
    expect(await errorOf(auth.refresh(refreshed.refreshToken!, CLIENT))).toMatchObject({ status: 401, body: { code: 'refresh_token_invalid' } });
  });

  it('refresh answers 401 refresh_token_invalid for a disabled account, even with a live session', async () => {
    const { auth, users, dataSource } = await setUp();
    const user = await users.create({ email: 'ada@example.com', password: PASSWORD });
    const opened = await auth.openSession(user, CLIENT);
    await dataSource.query('UPDATE users SET disabled_at = now() WHERE id = $1', [user.id]);
    expect(await errorOf(auth.refresh(opened.refreshToken!, CLIENT))).toMatchObject({ status: 401, body: { code: 'refresh_token_invalid' } });
  });

  it('logout ends the session of the token: its refresh token fails and its access tokens are revoked', async () => {
    const { auth, users, accessTokens } = await setUp();
    const user = await users.create({ email: 'ada@example.com', password: PASSWORD });
    const kept = await auth.openSession(user, CLIENT);
    const ended = await auth.openSession(user, CLIENT);
    await auth.logout(ended.refreshToken!, CLIENT);
    await auth.logout(`rt_${randomBytes(32).toString('base64url')}`, CLIENT); // unknown: nothing happens

    expect(accessTokens.verify(ended.accessToken)).toMatchObject({ valid: false, revoked: true });
    expect(await errorOf(auth.refresh(ended.refreshToken!, CLIENT))).toMatchObject({ status: 401, body: { code: 'refresh_token_invalid' } });
    expect(accessTokens.verify(kept.accessToken).valid).toBe(true);
    expect((await auth.listSessions(user.id)).map((session) => session.id)).toHaveLength(1);
  });

  it('logoutEverywhere ends every session of the user, and no one else’s', async () => {
    const { auth, users, accessTokens } = await setUp();
    const ada = await users.create({ email: 'ada@example.com', password: PASSWORD });
    const bob = await users.create({ email: 'bob@example.com', password: PASSWORD });
    const adas = [await auth.openSession(ada, CLIENT), await auth.openSession(ada, CLIENT)];
    const bobs = await auth.openSession(bob, CLIENT);

    await auth.logoutEverywhere(ada.id, CLIENT);
    for (const response of adas) {
      expect(accessTokens.verify(response.accessToken)).toMatchObject({ valid: false, revoked: true });
      expect((await errorOf(auth.refresh(response.refreshToken!, CLIENT))).status).toBe(401);
    }
    expect(await auth.listSessions(ada.id)).toEqual([]);
    expect(accessTokens.verify(bobs.accessToken).valid).toBe(true);
    expect((await auth.refresh(bobs.refreshToken!, CLIENT)).user.id).toBe(bob.id);
  });

  it('endSession ends one of the caller’s sessions, and answers 404 not_found for another user’s', async () => {
    const { auth, users, accessTokens } = await setUp();
    const ada = await users.create({ email: 'ada@example.com', password: PASSWORD });
    const bob = await users.create({ email: 'bob@example.com', password: PASSWORD });
    const adas = await auth.openSession(ada, CLIENT);
    const bobs = await auth.openSession(bob, CLIENT);
    const [bobsSession] = await auth.listSessions(bob.id);

    expect(await errorOf(auth.endSession(ada.id, bobsSession.id, CLIENT))).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect(accessTokens.verify(bobs.accessToken).valid).toBe(true);
    expect(await auth.listSessions(bob.id)).toHaveLength(1);

    const [adasSession] = await auth.listSessions(ada.id);
    await auth.endSession(ada.id, adasSession.id, CLIENT);
    expect(accessTokens.verify(adas.accessToken)).toMatchObject({ valid: false, revoked: true });
    expect(await errorOf(auth.endSession(ada.id, adasSession.id, CLIENT))).toMatchObject({ status: 404, body: { code: 'not_found' } });
  });

  it('register creates the user, opens a session and queues the verification mail, in one go', async () => {
    const { auth, accessTokens, dataSource } = await setUp();
    const response = await auth.register({ email: ' New@Example.com', password: PASSWORD }, CLIENT);
    expect(response.user.email).toBe('new@example.com');
    expect('accessToken' in response).toBe(true);
    if (!('accessToken' in response)) return;
    expect(accessTokens.verify(response.accessToken).valid).toBe(true);
    expect(await liveSessions(dataSource, response.user.id)).toBe(1);
    const mail: Array<{ to: string; template: string }> = await dataSource.query('SELECT "to", template FROM mail_outbox WHERE user_id = $1', [response.user.id]);
    expect(mail).toEqual([{ to: 'new@example.com', template: 'verify_email' }]);

    expect(await errorOf(auth.register({ email: 'new@example.com', password: PASSWORD }, CLIENT))).toMatchObject({ status: 409, body: { code: 'email_taken' } });
  });

  it('with EMAIL_VERIFICATION=required, register opens no session, and login answers 403 email_not_verified only after the right password', async () => {
    const { auth, dataSource } = await setUp({ verification: 'required' });
    const response = await auth.register({ email: 'new@example.com', password: PASSWORD }, CLIENT);
    expect(Object.keys(response)).toEqual(['user']);
    expect(await liveSessions(dataSource, response.user.id)).toBe(0);

    expect(await errorOf(auth.validateCredentials('new@example.com', 'not the password', CLIENT))).toMatchObject(INVALID_CREDENTIALS);
    const user = await auth.validateCredentials('new@example.com', PASSWORD, CLIENT);
    expect(await errorOf(auth.login(user, CLIENT))).toMatchObject({ status: 403, body: { code: 'email_not_verified' } });
    expect(await liveSessions(dataSource, response.user.id)).toBe(0);

    await dataSource.query('UPDATE users SET email_verified_at = now() WHERE id = $1', [response.user.id]);
    const verified = await auth.login(await auth.validateCredentials('new@example.com', PASSWORD, CLIENT), CLIENT);
    expect(verified.user.emailVerified).toBe(true);
    expect(await liveSessions(dataSource, response.user.id)).toBe(1);
  });
});
