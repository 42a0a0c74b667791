import { secretsConfig } from '../config/secrets.config';
import { databaseConfig } from '../database/database.config';
import { RevocationService } from '../tokens/revocation/revocation.service';
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { beforeAll, describe, expect, it } from 'vitest';
import { useMigratedPglite } from '../../test/support/pglite-template';
import { AuditService } from '../audit';
import { auditConfig } from '../audit/audit.config';
import { AuditChainMark } from '../audit/audit-chain-mark.entity';
import { AuditEvent } from '../audit/audit-event.entity';
import { ApiError } from '../common/api-error';
import { ConfigError } from '../config/env';
import { buildDataSourceOptions } from '../database/data-source-options';
import { RefreshToken } from '../tokens/refresh-token.entity';
import { Session } from '../tokens/session.entity';
import { MetricsService } from '../metrics/metrics.service';
import { appConfig } from '../config/app.config';
import { MailService } from '../mail/mail.service';
import { RefreshTokensService } from '../tokens/refresh-tokens.service';
import { tokensConfig } from '../tokens/tokens.config';
import { PasswordService } from './password.service';
import { type ClientInfo, Role } from '../common/auth';
import { User } from './user.entity';
import { usersConfig, UsersConfig } from './users.config';
import { UsersService } from './users.service';
import { specTokensConfig } from '../../test/support/tokens-config';
import { SCHEMA } from '../schema';

const PASSWORD = 'correct horse battery staple';
const POLICY = { minLength: 8, maxLength: 128, rejectCommon: true };
const CLIENT: ClientInfo = { userAgent: 'spec-agent/1.0', ip: '192.0.2.10', requestId: 'req-1' };
const TOKENS = specTokensConfig();

const pglite = useMigratedPglite('users-service');

beforeAll(() => Logger.overrideLogger(false));

interface Context {
  module: TestingModule;
  users: UsersService;
  passwords: PasswordService;
  dataSource: DataSource;
}

/** UsersService over a real PGlite database in a temp directory of its own. */
async function setUp(admin?: UsersConfig['admin']): Promise<Context> {
  const dataDir = pglite.dataDir();
  const config: UsersConfig = { bcryptCost: 4, bcryptConcurrency: 2, admin, passwordPolicy: POLICY };
  const module = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({ ...buildDataSourceOptions({ url: undefined, dataDir }, SCHEMA), retryAttempts: 0 }),
      TypeOrmModule.forFeature([User, Session, RefreshToken, AuditEvent, AuditChainMark]),
    ],
    providers: [
      UsersService,
      AuditService, // password and role changes are recorded in their transactions
      { provide: auditConfig.KEY, useValue: { retentionSeconds: 86400 } },
      PasswordService,
      RefreshTokensService, // a dependency of UsersService (password change revokes sessions)
      RevocationService, // tells the instances, in the transaction of the change
      MetricsService,
      MailService, // a password change queues its notice in its transaction
      { provide: appConfig.KEY, useValue: { appUrl: 'http://localhost:3000' } },
      { provide: databaseConfig.KEY, useValue: { url: undefined, listenUrl: undefined, dataDir } },
      { provide: secretsConfig.KEY, useValue: { refreshTokenKey: randomBytes(32), mfaEncryptionKey: randomBytes(32) } },
      { provide: usersConfig.KEY, useValue: config },
      { provide: tokensConfig.KEY, useValue: TOKENS },
    ],
  }).compile();
  pglite.afterThisTest(() => module.close());
  return { module, users: module.get(UsersService), passwords: module.get(PasswordService), dataSource: module.get(DataSource) };
}

async function apiErrorOf(promise: Promise<unknown>): Promise<{ status: number; code: unknown; message: unknown }> {
  const error = await promise.then(
    () => {
      throw new Error('expected an ApiError, but the call succeeded');
    },
    (rejected: unknown) => rejected,
  );
  expect(error).toBeInstanceOf(ApiError);
  const response = (error as ApiError).getResponse() as { code?: unknown; message?: unknown };
  return { status: (error as ApiError).getStatus(), code: response.code, message: response.message };
}

async function count(dataSource: DataSource): Promise<number> {
  const [{ n }]: Array<{ n: number }> = await dataSource.query('SELECT count(*)::int AS n FROM users');
  return n;
}

describe('UsersService', () => {
  it('create normalises the email and stores a bcrypt hash, not the password', async () => {
    const { users, passwords, dataSource } = await setUp();
    const created = await users.create({ email: '  Alice@Example.COM ', password: PASSWORD });
    expect(created.email).toBe('alice@example.com');
    expect(created.roles).toEqual([Role.User]);
    expect(created.displayName).toBeNull();

    const [row]: Array<{ email: string; password_hash: string }> = await dataSource.query(
      'SELECT email, password_hash FROM users WHERE id = $1',
      [created.id],
    );
    expect(row.email).toBe('alice@example.com');
    expect(row.password_hash).toMatch(/^\$2b\$04\$/);
    expect(row.password_hash).not.toContain(PASSWORD);
    await expect(passwords.verify(PASSWORD, row.password_hash)).resolves.toBe(true);

    expect((await users.findByEmail('ALICE@example.com '))?.id).toBe(created.id);
  });

  it('refuses the same email in another letter case with 409 email_taken', async () => {
    const { users, dataSource } = await setUp();
    await users.create({ email: 'bob@example.com', password: PASSWORD });
    expect(await apiErrorOf(users.create({ email: 'BOB@EXAMPLE.COM', password: PASSWORD }))).toMatchObject({
      status: 409,
      code: 'email_taken',
    });
    expect(await count(dataSource)).toBe(1);
  });

  it('answers 409 email_taken to the loser of two concurrent registrations of one email', async () => {
    const { users, dataSource } = await setUp();
    const results = await Promise.allSettled([
      users.create({ email: 'race@example.com', password: PASSWORD }),
      users.create({ email: 'Race@Example.com', password: PASSWORD }),
    ]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const [lost] = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(lost.reason).toBeInstanceOf(ApiError);
    expect((lost.reason as ApiError).getStatus()).toBe(409);
    expect(((lost.reason as ApiError).getResponse() as { code: string }).code).toBe('email_taken');
    expect(await count(dataSource)).toBe(1);
  });

  it('refuses a password that breaks the policy with 400 validation_failed, storing nothing', async () => {
    const { users, dataSource } = await setUp();
    expect(await apiErrorOf(users.create({ email: 'carol@example.com', password: 'short' }))).toEqual({
      status: 400,
      code: 'validation_failed',
      message: ['password must be at least 8 characters long'],
    });
    expect(await apiErrorOf(users.create({ email: 'carol@example.com', password: 'password123' }))).toMatchObject({
      status: 400,
      code: 'validation_failed',
    });
    expect(await count(dataSource)).toBe(0);
  });

  it('list paginates in creation order', async () => {
    const { users, dataSource } = await setUp();
    // Created in an order that is neither alphabetical nor (by chance) the order of their random ids.
    const created: User[] = [];
    for (const name of ['charlie', 'alice', 'bob']) created.push(await users.create({ email: `${name}@example.com`, password: PASSWORD }));

    const first = await users.list({ page: 1, limit: 2 });
    expect(first).toMatchObject({ total: 3, page: 1, limit: 2 });
    expect(first.items.map((user) => user.email)).toEqual(['charlie@example.com', 'alice@example.com']);
    const second = await users.list({ page: 2, limit: 2 });
    expect(second).toMatchObject({ total: 3, page: 2, limit: 2 });
    expect(second.items.map((user) => user.email)).toEqual(['bob@example.com']);
    expect((await users.list({ page: 3, limit: 2 })).items).toEqual([]);

    // The order is the creation time, not the order rows happen to be stored in.
    await dataSource.query(`UPDATE users SET created_at = now() - interval '1 day' WHERE id = $1`, [created[2].id]);
    expect((await users.list({ page: 1, limit: 10 })).items.map((user) => user.email)).toEqual([
      'bob@example.com',
      'charlie@example.com',
      'alice@example.com',
    ]);
  });

  it('list serves at most 100 items, whatever limit is asked', async () => {
    const { users, dataSource } = await setUp();
    await dataSource.query(
      `INSERT INTO users (email, password_hash) SELECT 'user' || i || '@example.com', 'not-a-real-hash' FROM generate_series(1, 101) AS i`,
    );
    const page = await users.list({ page: 1, limit: 1000 });
    expect(page.limit).toBe(100);
    expect(page.total).toBe(101);
    expect(page.items).toHaveLength(100);
    const rest = await users.list({ page: 2, limit: 1000 });
    expect(rest.items).toHaveLength(1);
    expect(new Set([...page.items, ...rest.items].map((user) => user.id)).size).toBe(101);
  });

  it('setRoles answers 404 not_found for a missing id, and stores each role once for an existing one', async () => {
    const { users } = await setUp();
    expect(await apiErrorOf(users.setRoles(randomUUID(), [Role.Admin], randomUUID(), CLIENT))).toMatchObject({ status: 404, code: 'not_found' });

    const user = await users.create({ email: 'dave@example.com', password: PASSWORD });
    await users.setRoles(user.id, [Role.Admin, Role.User, Role.Admin], randomUUID(), CLIENT);
    expect((await users.getById(user.id)).roles).toEqual([Role.Admin, Role.User]);
  });

  it('getCaller answers 401 token_invalid for a missing id, and returns an existing user', async () => {
    const { users } = await setUp();
    expect(await apiErrorOf(users.getCaller(randomUUID()))).toMatchObject({ status: 401, code: 'token_invalid' });
    const user = await users.create({ email: 'erin@example.com', password: PASSWORD });
    expect((await users.getCaller(user.id)).email).toBe('erin@example.com');
  });

  it('rehashIfNeeded stores the password at the configured cost when the stored hash has another one', async () => {
    const { users, passwords, dataSource } = await setUp();
    const user = await users.create({ email: 'frank@example.com', password: PASSWORD });
    const atFive = new PasswordService({ bcryptCost: 5, bcryptConcurrency: 1, admin: undefined, passwordPolicy: POLICY });
    await dataSource.query('UPDATE users SET password_hash = $1 WHERE id = $2', [await atFive.hash(PASSWORD), user.id]);
    const stored = async () =>
      ((await dataSource.query('SELECT password_hash FROM users WHERE id = $1', [user.id])) as Array<{ password_hash: string }>)[0].password_hash;

    await users.rehashIfNeeded((await users.findById(user.id))!, PASSWORD);
    const rehashed = await stored();
    expect(rehashed).toMatch(/^\$2b\$04\$/);
    await expect(passwords.verify(PASSWORD, rehashed)).resolves.toBe(true);

    await users.rehashIfNeeded((await users.findById(user.id))!, PASSWORD); // already at the cost: left alone
    expect(await stored()).toBe(rehashed);
  });

  it('rehashIfNeeded never overwrites a password changed since the login verified the old one', async () => {
    const { users, passwords, dataSource } = await setUp();
    const created = await users.create({ email: 'grace@example.com', password: PASSWORD });
    const atFive = new PasswordService({ bcryptCost: 5, bcryptConcurrency: 1, admin: undefined, passwordPolicy: POLICY });
    await dataSource.query('UPDATE users SET password_hash = $1 WHERE id = $2', [await atFive.hash(PASSWORD), created.id]);
    const verifiedAtLogin = (await users.findById(created.id))!;
    await users.changePassword(created.id, PASSWORD, 'a brand new passphrase', CLIENT);

    await users.rehashIfNeeded(verifiedAtLogin, PASSWORD);
    const [row]: Array<{ password_hash: string }> = await dataSource.query('SELECT password_hash FROM users WHERE id = $1', [created.id]);
    await expect(passwords.verify('a brand new passphrase', row.password_hash)).resolves.toBe(true);
    await expect(passwords.verify(PASSWORD, row.password_hash)).resolves.toBe(false);
  });

  it('onApplicationBootstrap creates the configured admin once, with roles user and admin', async () => {
    const { users, passwords, dataSource } = await setUp({ email: ' Admin@Example.com', password: PASSWORD });
    await users.onApplicationBootstrap();
    await users.onApplicationBootstrap();

    const rows: Array<{ email: string; roles: string[]; password_hash: string }> = await dataSource.query(
      'SELECT email, roles, password_hash FROM users',
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].email).toBe('admin@example.com');
    expect(rows[0].roles).toEqual(['user', 'admin']);
    await expect(passwords.verify(PASSWORD, rows[0].password_hash)).resolves.toBe(true);
  });

  it('onApplicationBootstrap does nothing without an admin, and refuses an admin password that breaks the policy', async () => {
    const none = await setUp();
    await none.users.onApplicationBootstrap();
    expect(await count(none.dataSource)).toBe(0);

    const weak = await setUp({ email: 'admin@example.com', password: 'password123' });
    const error = await weak.users.onApplicationBootstrap().then(
      () => undefined,
      (rejected: unknown) => rejected,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/^Invalid configuration: ADMIN_PASSWORD /);
    expect(await count(weak.dataSource)).toBe(0);
  });
});
