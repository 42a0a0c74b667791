import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { AuditService } from '../audit';
import { ApiError } from '../common/api-error';
import { normaliseEmail } from '../common/email';
import { findPage, Page, PageQuery } from '../common/pagination';
import { MailService } from '../mail/mail.service';
import { noticeOf } from '../mail/mail-templates';
import { ConfigError } from '../config/env';
import { isUniqueViolation } from '../database/database-errors';
import { RefreshTokensService } from '../tokens/refresh-tokens.service';
import { RevocationService } from '../tokens/revocation/revocation.service';
import { PasswordService } from './password.service';
import { type ClientInfo, Role } from '../common/auth';
import { User } from './user.entity';
import { usersConfig, UsersConfig } from './users.config';

export interface NewUser {
  email: string;
  password: string;
  displayName?: string | null;
  roles?: Role[];
}

@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger(UsersService.name);

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly passwords: PasswordService,
    private readonly refreshTokens: RefreshTokensService,
    private readonly revocations: RevocationService,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(usersConfig.KEY) private readonly config: UsersConfig,
    private readonly audit: AuditService,
    private readonly mail: MailService,
  ) {}

  /** Creates the ADMIN_EMAIL account at start when it is missing. */
  async onApplicationBootstrap(): Promise<void> {
    const admin = this.config.admin;
    if (!admin) return;
    const problems = this.passwords.policyViolations(admin.password, 'ADMIN_PASSWORD');
    if (problems.length > 0) throw new ConfigError('ADMIN_PASSWORD', `breaks the password policy: ${problems.join('; ')}`);
    if (await this.findByEmail(admin.email)) return;
    try {
      await this.create({ email: admin.email, password: admin.password, roles: [Role.User, Role.Admin] });
      this.logger.log('Created the admin account named by ADMIN_EMAIL');
    } catch (error) {
      if (!(error instanceof ApiError && error.getStatus() === 409)) throw error; // another instance won the race
    }
  }

  /** Checks the password policy, hashes, and inserts; 409 `email_taken` for an email in use in any letter case. */
  async create(input: NewUser): Promise<User> {
    return this.insert(await this.prepare(input));
  }

  /**
   * The slow part of create(), for a caller that inserts in a transaction of its own (a
   * registration): the policy, whether the email is free, and the hash, before the
   * transaction opens, so that no connection is held while bcrypt runs.
   */
  async prepare(input: NewUser): Promise<User> {
    const problems = this.passwords.policyViolations(input.password);
    if (problems.length > 0) throw new ApiError(400, 'validation_failed', problems);
    const email = normaliseEmail(input.email);
    if (await this.users.existsBy({ email })) throw emailTaken();
    return this.users.create({
      email,
      passwordHash: await this.passwords.hash(input.password),
      displayName: input.displayName ?? null,
      roles: input.roles ?? [Role.User],
    });
  }

  /** Inserts a prepare()d user, in the caller's transaction when given; 409 `email_taken` when the email was taken meanwhile. */
  async insert(user: User, manager: EntityManager = this.users.manager): Promise<User> {
    try {
      return await manager.save(user);
    } catch (error) {
      // Two registrations raced past prepare()'s check: the unique index decides.
      if (isUniqueViolation(error)) throw emailTaken();
      throw error;
    }
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.findOneBy({ email: normaliseEmail(email) });
  }

  async getById(id: string): Promise<User> {
    const user = await this.findById(id);
    if (!user) throw new ApiError(404, 'not_found', 'User not found');
    return user;
  }

  /**
   * The caller named by a validly signed token; 401 when that account no longer exists.
   * Given the token's session, the same query also checks that the session is live (401
   * `token_revoked` otherwise): a route that reads the user anyway confirms in the database
   * what the guard decided from memory, for a token naming a session that never existed too.
   */
  async getCaller(id: string, sessionId?: string): Promise<User> {
    if (sessionId === undefined) {
      const user = await this.findById(id);
      if (!user) throw new ApiError(401, 'token_invalid', 'The account of this token no longer exists');
      return user;
    }
    const { entities, raw } = await this.users
      .createQueryBuilder('user')
      .addSelect(
        `EXISTS (SELECT 1 FROM sessions s WHERE s.id = :sessionId AND s.user_id = "user"."id" AND s.revoked_at IS NULL)`,
        'session_live',
      )
      .where('"user"."id" = :id', { id, sessionId })
      .getRawAndEntities<{ session_live: boolean }>();
    if (entities.length === 0) throw new ApiError(401, 'token_invalid', 'The account of this token no longer exists');
    if (!raw[0].session_live) throw new ApiError(401, 'token_revoked', 'The session of this token has ended');
    return entities[0];
  }

  async updateProfile(callerId: string, changes: { displayName: string | null }): Promise<User> {
    const user = await this.getCaller(callerId);
    user.displayName = changes.displayName;
    return this.users.save(user);
  }

  /**
   * After a successful login with `password`: stores it hashed at the configured cost when
   * the stored hash has another one. Only while the hash is still the one that was
   * verified, so that a password changed meanwhile is never overwritten by the old one.
   */
  async rehashIfNeeded(user: User, password: string): Promise<void> {
    if (!this.passwords.needsRehash(user.passwordHash)) return;
    const passwordHash = await this.passwords.hash(password);
    // Not through the entity: a rehash is no change of the account, so updated_at stays.
    await this.users.query('UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3', [passwordHash, user.id, user.passwordHash]);
  }

  /**
   * 403 `invalid_credentials` for a wrong current password. The new hash, the
   * revocation of every refresh token of the user and the audit event commit together or
   * not at all.
   */
  async changePassword(callerId: string, currentPassword: string, newPassword: string, client: ClientInfo): Promise<void> {
    const user = await this.getCaller(callerId);
    if (!(await this.passwords.verify(currentPassword, user.passwordHash))) {
      throw new ApiError(403, 'invalid_credentials', 'Current password is wrong');
    }
    const problems = this.passwords.policyViolations(newPassword, 'newPassword');
    if (problems.length > 0) throw new ApiError(400, 'validation_failed', problems);
    const passwordHash = await this.passwords.hash(newPassword); // before the transaction: bcrypt is slow
    await this.dataSource.transaction(async (manager) => {
      await manager.update(User, { id: user.id }, { passwordHash });
      const ended = await this.refreshTokens.revoke({ userId: user.id }, 'password_changed', manager);
      await this.mail.enqueue(
        { to: user.email, template: 'password_changed', params: { ...noticeOf(client), displayName: user.displayName }, userId: user.id },
        manager,
      );
      await this.audit.record({ type: 'user.password_changed', userId: user.id, actorId: user.id, client, data: { sessionsEnded: ended.length } }, manager);
    });
  }

  /**
   * Sets the user's roles. When they change, every access token of the user issued before
   * is revoked (their roles are in it); a refresh then carries the new ones. 409
   * `last_admin` when it would leave no enabled admin. A change is recorded as
   * `user.roles_changed` with the new roles, `actorId` being the admin who made it.
   */
  async setRoles(id: string, roles: Role[], actorId: string, client: ClientInfo): Promise<User> {
    return this.dataSource.transaction(async (manager) => {
      const user = await manager.findOneBy(User, { id });
      if (!user) throw new ApiError(404, 'not_found', 'User not found');
      const next = [...new Set(roles)];
      if (user.roles.includes(Role.Admin) && !next.includes(Role.Admin)) await this.assertAnotherAdmin(user.id, manager);
      const changed = next.length !== user.roles.length || next.some((role) => !user.roles.includes(role));
      user.roles = next;
      const saved = await manager.save(user);
      if (changed) {
        await this.revocations.userTokensRevoked(user.id, manager);
        await this.audit.record({ type: 'user.roles_changed', userId: user.id, actorId, client, data: { roles: next } }, manager);
      }
      return saved;
    });
  }

  /**
   * 409 `last_admin` unless an enabled admin other than this user remains. Changes to who
   * is an admin take one lock first, so that two admins demoting each other at the same
   * moment cannot both pass this check (one waits for the other's commit).
   */
  async assertAnotherAdmin(userId: string, manager: EntityManager): Promise<void> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtext('users.admins'))`);
    const [other]: unknown[] = await manager.query(
      `SELECT 1 FROM users WHERE id <> $1 AND 'admin' = ANY(roles) AND disabled_at IS NULL LIMIT 1`,
      [userId],
    );
    if (!other) throw new ApiError(409, 'last_admin', 'This would leave no enabled admin');
  }

  list(query: PageQuery): Promise<Page<User>> {
    return findPage(this.users, query, { createdAt: 'ASC', id: 'ASC' });
  }
}

function emailTaken(): ApiError {
  return new ApiError(409, 'email_taken', 'Email already registered');
}
