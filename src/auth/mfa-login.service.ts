import { Injectable } from '@nestjs/common';
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit';
import { ApiError, hasErrorCode } from '../common/api-error';
import type { ClientInfo } from '../common/auth';
import { MetricsService } from '../metrics/metrics.service';
import { MfaChallengeService, PasskeysService, TotpService } from '../mfa';
import { CredentialBackoffService, mfaSubject } from '../rate-limit/credential-backoff.service';
import type { AuthMethod } from '../tokens/session.entity';
import { User } from '../users/user.entity';
import { AuthService } from './auth.service';
import type { TokenResponse } from './dto/token.response';

/** The second factor a client sent with its mfaToken. */
export type SecondFactor = { code: string; recoveryCode?: undefined } | { recoveryCode: string; code?: undefined };

/**
 * The logins that end in a session of `aal` 2: the password's second step (an mfaToken and
 * a TOTP or recovery code) and a passkey. Each opens its session (AuthService.openSession,
 * which records `user.login_succeeded`) in the transaction that spends what it was given,
 * with its audit events: one commit or none.
 */
@Injectable()
export class MfaLoginService {
  constructor(
    private readonly auth: AuthService,
    private readonly challenges: MfaChallengeService,
    private readonly totp: TotpService,
    private readonly passkeys: PasskeysService,
    private readonly backoff: CredentialBackoffService,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * 401 `mfa_token_invalid` (unknown, expired, used, dead after 5 wrong codes), 401
   * `mfa_code_invalid` (counted on the token and in the user's MFA back-off, audited), 429
   * while the user is in that back-off. A recovery code is spent with the login.
   */
  async verify(mfaToken: string, factor: SecondFactor, client: ClientInfo): Promise<TokenResponse> {
    const method: AuthMethod = factor.code !== undefined ? 'otp' : 'recovery_code';
    let counted: string | undefined; // the user whose back-off counts this attempt
    try {
      const response = await this.challenges.verify(
        mfaToken,
        async (userId, manager) => {
          // Inside the challenge's transaction: a 429 here rolls back, and counts no attempt on the token.
          const retryAfterSeconds = await this.backoff.begin(mfaSubject(userId));
          if (retryAfterSeconds > 0) {
            this.metrics.rateLimited('account', '/auth/mfa/verify');
            throw new ApiError(429, 'rate_limited', 'Too many wrong codes for this account; retry later', { retryAfterSeconds });
          }
          counted = userId;
          return factor.code !== undefined
            ? this.totp.verifyCode(userId, factor.code, manager)
            : this.totp.useRecoveryCode(userId, factor.recoveryCode, manager);
        },
        async (passed, manager) => {
          const user = await this.activeUser(passed.userId, manager, 'mfa_token_invalid');
          if (method === 'recovery_code') {
            const remaining = await this.totp.remainingRecoveryCodes(user.id, manager);
            await this.audit.record({ type: 'mfa.recovery_code_used', userId: user.id, actorId: user.id, client, data: { remaining } }, manager);
          }
          return this.auth.openSession(user, client, { amr: [...(passed.amr as AuthMethod[]), method], aal: 2 }, manager);
        },
        async (failure, manager) => {
          await this.audit.record(
            {
              type: 'mfa.challenge_failed',
              userId: failure.userId,
              actorId: null,
              client,
              data: { method, failedAttempts: failure.failedAttempts, exhausted: failure.exhausted },
            },
            manager,
          );
        },
      );
      await this.backoff.succeeded(mfaSubject(counted!));
      return response;
    } catch (error) {
      if (counted !== undefined && !hasErrorCode(error, 'mfa_code_invalid')) await this.backoff.withdrawn(mfaSubject(counted));
      throw error;
    }
  }

  loginOptions(email?: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return this.passkeys.loginOptions(email);
  }

  /** A passkey is both factors at once: `amr` ["passkey"], `aal` 2. 401 `passkey_invalid`; 403 `account_disabled`. */
  loginWithPasskey(response: AuthenticationResponseJSON, client: ClientInfo): Promise<TokenResponse> {
    return this.passkeys.verifyLogin(response, async (login, manager) =>
      this.auth.openSession(await this.activeUser(login.userId, manager, 'passkey_invalid'), client, { amr: ['passkey'], aal: 2 }, manager),
    );
  }

  /**
   * The account as the session opens, read in the transaction. (Disabling also deletes the
   * challenges in flight: MfaLifecycle.)
   */
  private async activeUser(userId: string, manager: EntityManager, missing: 'mfa_token_invalid' | 'passkey_invalid'): Promise<User> {
    const user = await manager.findOneBy(User, { id: userId });
    if (!user) throw new ApiError(401, missing, 'The account no longer exists');
    if (user.disabledAt !== null) throw new ApiError(403, 'account_disabled', 'This account is disabled');
    return user;
  }
}
