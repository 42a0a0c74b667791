import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit';
import { ApiError } from '../common/api-error';
import { type ClientInfo, Role } from '../common/auth';
import { UserLifecycle } from '../common/user-lifecycle';
import { RefreshTokensService } from '../tokens/refresh-tokens.service';
import { RevocationService } from '../tokens/revocation/revocation.service';
import { PasswordService } from '../users/password.service';
import { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';

/**
 * What admins do to accounts, and a user's deletion of their own: each change one
 * transaction with the sessions it ends, every module's part in it (UserLifecycle) and its
 * audit event, recorded last (AuditService holds the chain's lock from there to the commit).
 */
@Injectable()
export class AdminService {
  constructor(
    private readonly users: UsersService,
    private readonly passwords: PasswordService,
    private readonly refreshTokens: RefreshTokensService,
    private readonly revocations: RevocationService,
    private readonly lifecycle: UserLifecycle,
    private readonly audit: AuditService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  getUser(id: string): Promise<User> {
    return this.users.getById(id);
  }

  /**
   * Ends every session of the user at once (on every instance: RefreshTokensService.revoke
   * tells them) and runs every module's onUserDisabled. 403 on oneself, 409 `last_admin`
   * for the last enabled admin. Disabling a disabled user changes and records nothing.
   */
  async disable(id: string, actorId: string, client: ClientInfo): Promise<User> {
    if (id === actorId) throw new ApiError(403, 'forbidden', 'An admin cannot disable their own account');
    return this.dataSource.transaction(async (manager) => {
      const user = await this.lockForChange(id, manager);
      if (user.disabledAt !== null) return user;
      await manager.update(User, { id }, { disabledAt: () => 'now()' });
      const ended = await this.refreshTokens.revoke({ userId: id }, 'user_disabled', manager);
      await this.lifecycle.userDisabled(id, manager);
      const disabled = await manager.findOneByOrFail(User, { id });
      await this.audit.record({ type: 'user.disabled', userId: id, actorId, client, data: { sessionsEnded: ended.length } }, manager);
      return disabled;
    });
  }

  /** The user may log in again (their ended sessions stay ended). 403 on oneself, as for disable. */
  async enable(id: string, actorId: string, client: ClientInfo): Promise<User> {
    if (id === actorId) throw new ApiError(403, 'forbidden', 'An admin cannot enable their own account');
    return this.dataSource.transaction(async (manager) => {
      const user = await manager.findOne(User, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw notFound();
      if (user.disabledAt === null) return user;
      await manager.update(User, { id }, { disabledAt: null });
      const enabled = await manager.findOneByOrFail(User, { id });
      await this.audit.record({ type: 'user.enabled', userId: id, actorId, client }, manager);
      return enabled;
    });
  }

  /** Ends every session of the user (401 `token_revoked` for their access tokens at once), recorded as `session.revoked`. */
  async endSessions(id: string, actorId: string, client: ClientInfo): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      if (!(await manager.existsBy(User, { id }))) throw notFound();
      const ended = await this.refreshTokens.revoke({ userId: id }, 'admin_revoked', manager);
      await this.audit.record({ type: 'session.revoked', userId: id, actorId, client, data: { sessionsEnded: ended.length } }, manager);
    });
  }

  /** DELETE /users/me: the password again (403 `invalid_credentials`), then as an admin's deletion. */
  async deleteOwnAccount(callerId: string, currentPassword: string, client: ClientInfo): Promise<void> {
    const user = await this.users.getCaller(callerId);
    if (!(await this.passwords.verify(currentPassword, user.passwordHash))) {
      throw new ApiError(403, 'invalid_credentials', 'Current password is wrong');
    }
    await this.delete(callerId, callerId, client);
  }

  /**
   * Deletes the user and everything of theirs, in one transaction: every access token of
   * theirs is revoked at once on every instance, every module deletes what it owns
   * (onUserDeleted: the example's projects, pending mail…), the row goes (sessions,
   * refresh tokens, MFA and passkeys with it, by cascade), and `user.deleted` is recorded,
   * which leaves their earlier events the user id and nothing else that identifies them.
   * 409 `last_admin` for the last enabled admin.
   */
  async delete(id: string, actorId: string, client: ClientInfo): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await this.lockForChange(id, manager);
      // A cut-off rather than the sessions' revocation: the session rows go with the user, and a
      // restarted instance reloads what is revoked from the tables; the cut-off has no foreign key.
      await this.revocations.userTokensRevoked(id, manager);
      await this.lifecycle.userDeleted(id, manager);
      await manager.delete(User, { id });
      await this.audit.record({ type: 'user.deleted', userId: id, actorId, client }, manager);
    });
  }

  /**
   * The user's row, locked until the commit (404 when missing). When they are an enabled
   * admin, another enabled admin must remain (409 `last_admin`): UsersService takes the
   * admins' lock first, then the row is locked, the order setRoles takes them in.
   */
  private async lockForChange(id: string, manager: EntityManager): Promise<User> {
    const seen = await manager.findOneBy(User, { id });
    if (!seen) throw notFound();
    const checked = isEnabledAdmin(seen);
    if (checked) await this.users.assertAnotherAdmin(id, manager);
    const user = await manager.findOne(User, { where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!user) throw notFound();
    // Made an admin between the two reads: checked now, the row's lock held (a rare order).
    if (!checked && isEnabledAdmin(user)) await this.users.assertAnotherAdmin(id, manager);
    return user;
  }
}

function isEnabledAdmin(user: User): boolean {
  return user.roles.includes(Role.Admin) && user.disabledAt === null;
}

function notFound(): ApiError {
  return new ApiError(404, 'not_found', 'User not found');
}
