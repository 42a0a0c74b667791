import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { RegistrationResponseJSON, PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/server';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit';
import { ApiError } from '../common/api-error';
import type { AuthUser, ClientInfo } from '../common/auth';
import { MailService } from '../mail/mail.service';
import { noticeOf } from '../mail/mail-templates';
import { PasswordService } from '../users/password.service';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { PasskeyView } from './dto/passkey.view';
import { MfaChallengeService } from './mfa-challenge.service';
import { PasskeysService } from './passkeys.service';
import { TotpService, TotpSetup } from './totp.service';

/**
 * The caller's own factors, as the routes change them: each change is one transaction with
 * `users.mfa_enabled`, its audit event and its notice (the outbox row), or none of them.
 */
@Injectable()
export class MfaAccountService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly totp: TotpService,
    private readonly challenges: MfaChallengeService,
    private readonly passkeys: PasskeysService,
    private readonly users: UsersService,
    private readonly passwords: PasswordService,
    private readonly audit: AuditService,
    private readonly mail: MailService,
  ) {}

  /** A pending secret for the caller's authenticator app. 409 `mfa_already_enabled`. */
  async setupTotp(caller: AuthUser): Promise<TotpSetup> {
    const user = await this.users.getCaller(caller.id, caller.sessionId);
    if (!user.mfaEnabled) await this.assertMayAddFactor(caller, user); // on: 409 mfa_already_enabled, whatever the session
    return this.totp.setup(user.id, user.email);
  }

  /** Turns TOTP on with a first code; returns the 10 recovery codes (shown this once). */
  async enableTotp(caller: AuthUser, code: string, client: ClientInfo): Promise<string[]> {
    const user = await this.users.getCaller(caller.id, caller.sessionId);
    if (!user.mfaEnabled) await this.assertMayAddFactor(caller, user);
    return this.dataSource.transaction(async (manager) => {
      const recoveryCodes = await this.totp.enable(user.id, code, manager);
      await this.setMfaEnabled(user.id, true, manager);
      await this.mail.enqueue({ to: user.email, template: 'mfa_enabled', params: this.notice(user, client), userId: user.id }, manager);
      await this.audit.record({ type: 'mfa.enabled', userId: user.id, actorId: user.id, client, data: { method: 'totp' } }, manager);
      return recoveryCodes;
    });
  }

  /** Turns TOTP off after the current password; the recovery codes and open challenges go too. 404 `mfa_not_enabled`. */
  async disableTotp(caller: AuthUser, currentPassword: string, client: ClientInfo): Promise<void> {
    const user = await this.checkCurrentPassword(caller, currentPassword);
    await this.dataSource.transaction(async (manager) => {
      await this.totp.disable(user.id, manager);
      await this.challenges.cancelAll(user.id, manager);
      await this.setMfaEnabled(user.id, false, manager);
      await this.mail.enqueue({ to: user.email, template: 'mfa_disabled', params: this.notice(user, client), userId: user.id }, manager);
      await this.audit.record({ type: 'mfa.disabled', userId: user.id, actorId: user.id, client, data: { method: 'totp' } }, manager);
    });
  }

  /** 10 new recovery codes after the current password; the earlier ones stop working. 404 `mfa_not_enabled`. */
  async regenerateRecoveryCodes(caller: AuthUser, currentPassword: string, client: ClientInfo): Promise<string[]> {
    const user = await this.checkCurrentPassword(caller, currentPassword);
    return this.dataSource.transaction(async (manager) => {
      const recoveryCodes = await this.totp.regenerateRecoveryCodes(user.id, manager);
      await this.audit.record({ type: 'mfa.recovery_codes_regenerated', userId: user.id, actorId: user.id, client }, manager);
      return recoveryCodes;
    });
  }

  async passkeyRegistrationOptions(caller: AuthUser): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const user = await this.users.getCaller(caller.id, caller.sessionId);
    await this.assertMayAddFactor(caller, user);
    return this.passkeys.registrationOptions(user);
  }

  /** Stores the passkey with its notice and audit event. 400 `passkey_invalid`. */
  async registerPasskey(caller: AuthUser, response: RegistrationResponseJSON, name: string | undefined, client: ClientInfo): Promise<PasskeyView> {
    const user = await this.users.getCaller(caller.id, caller.sessionId);
    await this.assertMayAddFactor(caller, user);
    return this.passkeys.verifyRegistration(user.id, response, name, async (passkey, manager) => {
      await this.mail.enqueue(
        { to: user.email, template: 'passkey_added', params: { ...this.notice(user, client), passkeyName: passkey.name }, userId: user.id },
        manager,
      );
      await this.audit.record({ type: 'passkey.registered', userId: user.id, actorId: user.id, client, data: { passkeyId: passkey.id, name: passkey.name } }, manager);
    });
  }

  listPasskeys(caller: AuthUser): Promise<PasskeyView[]> {
    return this.passkeys.list(caller.id);
  }

  /** 404 `not_found` when it is not one of the caller's passkeys. */
  removePasskey(caller: AuthUser, passkeyId: string, client: ClientInfo): Promise<void> {
    return this.dataSource.transaction(async (manager) => {
      await this.passkeys.remove(caller.id, passkeyId, manager);
      await this.audit.record({ type: 'passkey.removed', userId: caller.id, actorId: caller.id, client, data: { passkeyId } }, manager);
    });
  }

  /**
   * An account that has a second factor (TOTP on, or a passkey) gets another only from a
   * session that passed one (aal 2): else a session of the password alone (one opened before
   * MFA was turned on, or a stolen refresh token) could add a factor of its own, log in
   * with it, and so reach every @RequireAal(2) route. The first factor needs no step-up:
   * there is none to step up with. 403 `step_up_required`.
   */
  private async assertMayAddFactor(caller: AuthUser, user: User): Promise<void> {
    if (caller.aal >= 2) return;
    if (user.mfaEnabled || (await this.passkeys.list(user.id)).length > 0) {
      throw new ApiError(403, 'step_up_required', 'This account has a second factor: add another from a session that used one (log in with MFA or a passkey)');
    }
  }

  /**
   * 403 `invalid_credentials` for a wrong password (counted by @ThrottlePasswordCheck's
   * back-off, as on every route that re-checks it).
   */
  private async checkCurrentPassword(caller: AuthUser, currentPassword: string): Promise<User> {
    const user = await this.users.getCaller(caller.id, caller.sessionId);
    if (!(await this.passwords.verify(currentPassword, user.passwordHash))) {
      throw new ApiError(403, 'invalid_credentials', 'Current password is wrong');
    }
    return user;
  }

  /**
   * `users.mfa_enabled`, the user object's `mfaEnabled` and what the login reads, kept in
   * step with TOTP in the same transaction. By SQL: UsersService has no transactional setter,
   * and the flag is MFA's to keep.
   */
  private async setMfaEnabled(userId: string, enabled: boolean, manager: EntityManager): Promise<void> {
    await manager.query(`UPDATE users SET mfa_enabled = $2, updated_at = now() WHERE id = $1`, [userId, enabled]);
  }

  private notice(user: User, client: ClientInfo) {
    return { ...noticeOf(client), displayName: user.displayName };
  }
}
