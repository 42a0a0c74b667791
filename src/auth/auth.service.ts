import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit';
import { ApiError, hasErrorCode } from '../common/api-error';
import { MetricsService } from '../metrics/metrics.service';
import { AccessTokenService, AccessTokenSession } from '../tokens/access-token.service';
import { SessionView } from '../tokens/dto/session.view';
import type { ClientInfo } from '../common/auth';
import { RefreshTokensService, ReuseListener, SessionAssurance } from '../tokens/refresh-tokens.service';
import { toUserResponse } from '../users/dto/user.response';
import { PasswordService } from '../users/password.service';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import type { RegisterDto } from './dto/register.dto';
import type { TokenResponse } from './dto/token.response';
import { CredentialBackoffService, loginSubject } from '../rate-limit/credential-backoff.service';
import { MfaChallengeService } from '../mfa/mfa-challenge.service';
import { EmailVerificationService } from '../account-email/email-verification.service';
import type { RegisteredResponse } from './dto/registered.response';

const PASSWORD_ONLY: SessionAssurance = { amr: ['pwd'], aal: 1 };

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly passwords: PasswordService,
    private readonly accessTokens: AccessTokenService,
    private readonly refreshTokens: RefreshTokensService,
    private readonly backoff: CredentialBackoffService,
    private readonly metrics: MetricsService,
    private readonly mfaChallenges: MfaChallengeService,
    private readonly audit: AuditService,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly emailVerification: EmailVerificationService,
  ) {}

  get refreshTokenLifetimeSeconds(): number {
    return this.refreshTokens.lifetimeSeconds;
  }

  /** The account, its first session and `user.registered`: one transaction, opened once the password is hashed. */
  async register(input: RegisterDto, client: ClientInfo): Promise<TokenResponse | RegisteredResponse> {
    const prepared = await this.users.prepare(input);
    return this.dataSource.transaction(async (manager) => {
      const user = await this.users.insert(prepared, manager);
      // The verification link's token and outbox row commit with the account, or neither does.
      await this.emailVerification.onRegistered(user, manager);
      if (this.emailVerification.required) {
        // No session before the address is verified (login answers email_not_verified until then).
        await this.audit.record({ type: 'user.registered', userId: user.id, actorId: user.id, client }, manager);
        return { user: toUserResponse(user) };
      }
      const { sessionId, refreshToken } = await this.refreshTokens.openSession(user.id, client, PASSWORD_ONLY, manager);
      await this.audit.record({ type: 'user.registered', userId: user.id, actorId: user.id, client, data: { sessionId } }, manager);
      return this.tokenResponse(user, { id: sessionId, ...PASSWORD_ONLY }, refreshToken);
    });
  }

  /**
   * An unknown email and a wrong password answer alike, in body and in time: the
   * unknown email is checked against a dummy hash of the same cost, and both are recorded
   * as `user.login_failed` (for an unknown email with no user and nothing of the address).
   */
  async validateCredentials(email: string, password: string, client: ClientInfo): Promise<User> {
    const user = await this.backoff.attempt(
      loginSubject(email),
      async () => {
        const found = await this.users.findByEmail(email);
        const valid = found ? await this.passwords.verify(password, found.passwordHash) : await this.passwords.verifyDummy(password);
        if (found && valid) return found;
        this.metrics.login('invalid_credentials');
        await this.loginFailed(found?.id ?? null, client, 'invalid_credentials');
        throw new ApiError(401, 'invalid_credentials', 'Invalid email or password');
      },
      (error) => hasErrorCode(error, 'invalid_credentials'),
      (retryAfterSeconds) => {
        this.metrics.login('locked_out');
        return new ApiError(429, 'rate_limited', 'Too many failed logins for this account; retry later', { retryAfterSeconds });
      },
    );
    await this.users.rehashIfNeeded(user, password);
    this.metrics.login('success');
    return user;
  }

  /**
   * After a correct password: the account's state decides whether a session opens. Each
   * answer comes only after the password was right, so none tells an attacker anything.
   */
  async login(user: User, client: ClientInfo): Promise<TokenResponse> {
    if (user.disabledAt !== null) {
      await this.loginFailed(user.id, client, 'account_disabled');
      throw accountDisabled();
    }
    if (this.emailVerification.required && user.emailVerifiedAt === null) {
      throw new ApiError(403, 'email_not_verified', 'Verify your email address first: open the link sent to it, or ask for a new one');
    }
    if (user.mfaEnabled) throw await this.mfaRequired(user);
    return this.openSession(user, client);
  }

  /**
   * The password was right and TOTP is on: no session yet. The 403 carries the mfaToken that
   * POST /auth/mfa/verify takes with a code (MfaLoginService).
   */
  private async mfaRequired(user: User): Promise<ApiError> {
    const mfaToken = await this.mfaChallenges.start(user.id, PASSWORD_ONLY.amr);
    return new ApiError(403, 'mfa_required', 'A second factor is needed: POST /auth/mfa/verify with the mfaToken and a code', {
      mfaToken,
      methods: ['totp', 'recovery_code'],
    });
  }

  /** Stays although the request fails: a transaction of its own. */
  private async loginFailed(userId: string | null, client: ClientInfo, reason: 'invalid_credentials' | 'account_disabled'): Promise<void> {
    await this.audit.recordStandalone({ type: 'user.login_failed', userId, actorId: null, client, data: { reason } });
  }

  /**
   * Every login opens a session, with its first refresh token, and records
   * `user.login_succeeded` with it; in the caller's transaction when given (a login's second
   * step: the challenge is spent with it), else in one of its own. The account is read
   * again there under a share lock, so that a login racing an admin's disabling either
   * commits first (and the disabling ends its session) or sees the account disabled.
   */
  async openSession(user: User, client: ClientInfo, assurance: SessionAssurance = PASSWORD_ONLY, manager?: EntityManager): Promise<TokenResponse> {
    const open = async (transaction: EntityManager) => {
      const [account]: Array<{ disabled: boolean }> = await transaction.query(
        'SELECT disabled_at IS NOT NULL AS disabled FROM users WHERE id = $1 FOR SHARE',
        [user.id],
      );
      if (!account) throw new ApiError(401, 'invalid_credentials', 'Invalid email or password'); // deleted meanwhile
      if (account.disabled) throw accountDisabled();
      const opened = await this.refreshTokens.openSession(user.id, client, assurance, transaction);
      await this.audit.record(
        { type: 'user.login_succeeded', userId: user.id, actorId: user.id, client, data: { sessionId: opened.sessionId, amr: assurance.amr } },
        transaction,
      );
      return opened;
    };
    const { sessionId, refreshToken } = manager ? await open(manager) : await this.dataSource.transaction(open);
    return this.tokenResponse(user, { id: sessionId, ...assurance }, refreshToken);
  }

  /** A refreshed access token keeps its session's `sid`, `amr` and `aal`, and carries the user's current roles. */
  async refresh(presented: string, client: ClientInfo): Promise<TokenResponse> {
    const { userId, sessionId, amr, aal, refreshToken } = await this.refreshTokens.rotate(presented, client, this.reuseRecorder(client));
    const user = await this.users.findById(userId);
    // A disabled user's sessions were ended with the disabling; this check costs nothing more.
    if (!user || user.disabledAt !== null) throw new ApiError(401, 'refresh_token_invalid', 'Refresh token is invalid, expired or revoked');
    return this.tokenResponse(user, { id: sessionId, amr, aal }, refreshToken);
  }

  /** Whoever presents the spent token may be the thief: no actor. */
  private reuseRecorder(client: ClientInfo): ReuseListener {
    return async ({ userId, sessionId }, manager) => {
      await this.audit.record({ type: 'session.reuse_detected', userId, actorId: null, client, data: { sessionId } }, manager);
    };
  }

  /** The token's holder ends its session: recorded as theirs, when a live session ended. */
  async logout(presented: string, client: ClientInfo): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const ended = await this.refreshTokens.logout(presented, manager);
      if (!ended) return;
      await this.audit.record({ type: 'session.logout', userId: ended.userId, actorId: ended.userId, client, data: { sessionId: ended.sessionId } }, manager);
    });
  }

  async logoutEverywhere(userId: string, client: ClientInfo): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const ended = await this.refreshTokens.revoke({ userId }, 'logout_all', manager);
      await this.audit.record({ type: 'session.logout_all', userId, actorId: userId, client, data: { sessionsEnded: ended.length } }, manager);
    });
  }

  listSessions(userId: string): Promise<SessionView[]> {
    return this.refreshTokens.listSessions(userId);
  }

  async endSession(userId: string, sessionId: string, client: ClientInfo): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await this.refreshTokens.revokeSession(userId, sessionId, manager);
      await this.audit.record({ type: 'session.revoked', userId, actorId: userId, client, data: { sessionId } }, manager);
    });
  }

  private async tokenResponse(user: User, session: AccessTokenSession, refreshToken: string): Promise<TokenResponse> {
    return {
      accessToken: this.accessTokens.sign(user, session),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.accessTokens.lifetimeSeconds,
      user: toUserResponse(user),
    };
  }
}

function accountDisabled(): ApiError {
  return new ApiError(403, 'account_disabled', 'This account is disabled');
}
