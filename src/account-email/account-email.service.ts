import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit';
import { ApiError } from '../common/api-error';
import type { AuthUser, ClientInfo } from '../common/auth';
import { normaliseEmail } from '../common/email';
import { isUniqueViolation } from '../database/database-errors';
import { MailService } from '../mail/mail.service';
import { noticeOf } from '../mail/mail-templates';
import { CredentialBackoffService, loginSubject } from '../rate-limit/credential-backoff.service';
import { RefreshTokensService } from '../tokens/refresh-tokens.service';
import { PasswordService } from '../users/password.service';
import { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { accountEmailConfig, AccountEmailConfig } from './account-email.config';
import { AddressRateLimit } from './address-rate-limit';
import type { Answered } from './answered.decorator';
import { EmailRequestsWorker } from './email-requests.worker';
import { EmailTokensService } from './email-tokens.service';
import { EmailVerificationService } from './email-verification.service';
import { lockUser } from './locked-user';

const verificationInvalid = () =>
  new ApiError(400, 'verification_token_invalid', 'This link is invalid, has expired or was already used');
const resetInvalid = () => new ApiError(400, 'reset_token_invalid', 'This reset link is invalid, has expired or was already used');
const emailTaken = () => new ApiError(409, 'email_taken', 'Email already registered');

/**
 * The flows of emailed links (../shared/API.md, "Email"): verification at registration and
 * on request, forgotten passwords, and email changes. Each change is one transaction with
 * its token, its mail (an outbox row), its audit event and the sessions it ends.
 */
@Injectable()
export class AccountEmailService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(accountEmailConfig.KEY) private readonly config: AccountEmailConfig,
    private readonly tokens: EmailTokensService,
    private readonly verification: EmailVerificationService,
    private readonly users: UsersService,
    private readonly passwords: PasswordService,
    private readonly refreshTokens: RefreshTokensService,
    private readonly mail: MailService,
    private readonly audit: AuditService,
    private readonly addressLimit: AddressRateLimit,
    private readonly requests: EmailRequestsWorker,
    private readonly backoff: CredentialBackoffService,
  ) {}

  /** POST /auth/email/verify: the token's account has a verified address. */
  async verifyEmail(token: string, client: ClientInfo): Promise<User> {
    return this.dataSource.transaction(async (manager) => {
      const spent = await this.tokens.spend(token, 'verify_email', manager);
      if (!spent) throw verificationInvalid();
      const user = await lockUser(manager, { id: spent.userId });
      if (!user || user.disabled_at !== null) throw verificationInvalid();
      if (user.email_verified_at === null) {
        await manager.update(User, { id: user.id }, { emailVerifiedAt: () => 'now()' });
        await this.audit.record({ type: 'user.email_verified', userId: user.id, actorId: user.id, client }, manager);
      }
      return manager.findOneByOrFail(User, { id: user.id });
    });
  }

  /**
   * POST /auth/email/verify/resend: the same answer, after the same work, for every address
   * (see EmailRequestsWorker, which sends the link: only to an enabled account whose address
   * is not verified). Past the per-address limit, or with EMAIL_VERIFICATION=off, nothing.
   */
  async resendVerification(email: string, client: ClientInfo, answered: Answered): Promise<void> {
    const { allowed } = await this.addressLimit.take(email);
    if (allowed && this.verification.mode !== 'off') await this.requests.add('verify_email', normaliseEmail(email), client, answered);
  }

  /**
   * POST /auth/password/forgot: the same answer, after the same work, for every address
   * (see EmailRequestsWorker, which sends the link: only to an enabled account). Past the
   * per-address limit, nothing.
   */
  async forgotPassword(email: string, client: ClientInfo, answered: Answered): Promise<void> {
    const { allowed } = await this.addressLimit.take(email);
    if (allowed) await this.requests.add('reset_password', normaliseEmail(email), client, answered);
  }

  /**
   * POST /auth/password/reset. A token that cannot work is refused before bcrypt runs; a
   * password outside the policy leaves the token unspent. Then, in one transaction: the
   * token and every other reset token of the user are spent, the password is set, the
   * address counts as verified (the link reached it), every session ends at once, a notice
   * is queued and the event recorded. MFA stays as it is, and no session is opened.
   */
  async resetPassword(token: string, newPassword: string, client: ClientInfo): Promise<void> {
    if (!(await this.tokens.isLive(token, 'reset_password'))) throw resetInvalid();
    const problems = this.passwords.policyViolations(newPassword, 'newPassword');
    if (problems.length > 0) throw new ApiError(400, 'validation_failed', problems);
    const passwordHash = await this.passwords.hash(newPassword); // before the transaction: bcrypt is slow
    const email = await this.dataSource.transaction(async (manager) => {
      const spent = await this.tokens.spend(token, 'reset_password', manager);
      if (!spent) throw resetInvalid(); // spent or expired meanwhile
      const user = await lockUser(manager, { id: spent.userId });
      if (!user || user.disabled_at !== null) throw resetInvalid();
      await manager.update(User, { id: user.id }, { passwordHash, emailVerifiedAt: () => 'COALESCE(email_verified_at, now())' });
      await this.tokens.spendAll(user.id, manager, ['reset_password']);
      await this.refreshTokens.revoke({ userId: user.id }, 'password_reset', manager);
      await this.mail.enqueue(
        { to: user.email, template: 'password_reset', params: { ...noticeOf(client), displayName: user.display_name }, userId: user.id },
        manager,
      );
      await this.audit.record({ type: 'user.password_reset', userId: user.id, actorId: user.id, client }, manager);
      return user.email;
    });
    // Whoever was guessing the old password has nothing left to guess: the owner may log in at once.
    await this.backoff.succeeded(loginSubject(email));
  }

  /**
   * POST /users/me/email: a confirmation link to the new address and a notice to the old
   * one; the account keeps its address until the link is opened. A newer request replaces
   * an older one (its link stops working).
   */
  async requestEmailChange(caller: AuthUser, newEmail: string, currentPassword: string, client: ClientInfo): Promise<void> {
    const user = await this.users.getCaller(caller.id, caller.sessionId);
    if (!(await this.passwords.verify(currentPassword, user.passwordHash))) {
      throw new ApiError(403, 'invalid_credentials', 'Current password is wrong');
    }
    const address = normaliseEmail(newEmail);
    if (address === user.email) throw new ApiError(400, 'validation_failed', ['newEmail is already the address of this account']);
    if (await this.users.findByEmail(address)) throw emailTaken();
    const { allowed, retryAfterSeconds } = await this.addressLimit.take(address);
    if (!allowed) {
      throw new ApiError(429, 'rate_limited', 'Too many messages to this address; retry later', { retryAfterSeconds });
    }
    await this.dataSource.transaction(async (manager) => {
      const current = await lockUser(manager, { id: user.id });
      if (!current) throw new ApiError(401, 'token_invalid', 'The account of this token no longer exists');
      await this.tokens.spendAll(current.id, manager, ['change_email']);
      await this.tokens.mailLink(
        { userId: current.id, purpose: 'change_email', ttlSeconds: this.config.verificationTtlSeconds, to: address, displayName: current.display_name, newEmail: address },
        manager,
      );
      await this.mail.enqueue(
        {
          to: current.email,
          template: 'email_change_requested',
          params: { ...noticeOf(client), newEmail: address, displayName: current.display_name },
          userId: current.id,
        },
        manager,
      );
      await this.audit.record({ type: 'user.email_change_requested', userId: current.id, actorId: current.id, client }, manager);
    });
  }

  /**
   * POST /users/me/email/confirm: the account takes the new address, verified. 409
   * `email_taken` when another account took it meanwhile (the token then stays unspent).
   * Every other link of the account stops working: they went to the old address.
   */
  async confirmEmailChange(token: string, client: ClientInfo): Promise<User> {
    try {
      return await this.dataSource.transaction(async (manager) => {
        const spent = await this.tokens.spend(token, 'change_email', manager);
        if (!spent || spent.newEmail === null) throw verificationInvalid();
        const user = await lockUser(manager, { id: spent.userId });
        if (!user || user.disabled_at !== null) throw verificationInvalid();
        const taken: unknown[] = await manager.query(`SELECT 1 FROM users WHERE email = $1 AND id <> $2`, [spent.newEmail, user.id]);
        if (taken.length > 0) throw emailTaken();
        await manager.update(User, { id: user.id }, { email: spent.newEmail, emailVerifiedAt: () => 'now()' });
        await this.tokens.spendAll(user.id, manager);
        await this.mail.enqueue(
          {
            to: user.email,
            template: 'email_changed',
            params: { ...noticeOf(client), newEmail: spent.newEmail, displayName: user.display_name },
            userId: user.id,
          },
          manager,
        );
        await this.audit.record({ type: 'user.email_changed', userId: user.id, actorId: user.id, client }, manager);
        return manager.findOneByOrFail(User, { id: user.id });
      });
    } catch (error) {
      // A registration with the address that committed between the check and the update.
      if (isUniqueViolation(error)) throw emailTaken();
      throw error;
    }
  }
}
