import { Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import { MetricsService } from '../metrics/metrics.service';
import { AccessTokenService, AccessTokenSession } from '../tokens/access-token.service';
import { SessionView } from '../tokens/dto/session.view';
import type { ClientInfo } from '../common/auth';
import { RefreshTokensService, SessionAssurance } from '../tokens/refresh-tokens.service';
import { toUserResponse } from '../users/dto/user.response';
import { PasswordService } from '../users/password.service';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import type { RegisterDto } from './dto/register.dto';
import type { TokenResponse } from './dto/token.response';
import { CredentialBackoffService, loginSubject } from '../rate-limit/credential-backoff.service';

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
  ) {}

  get refreshTokenLifetimeSeconds(): number {
    return this.refreshTokens.lifetimeSeconds;
  }

  async register(input: RegisterDto, client: ClientInfo): Promise<TokenResponse> {
    const user = await this.users.create(input);
    return this.openSession(user, client);
  }

  /**
   * An unknown email and a wrong password answer alike, in body and in time: the
   * unknown email is checked against a dummy hash of the same cost.
   */
  async validateCredentials(email: string, password: string): Promise<User> {
    const retryAfterSeconds = await this.backoff.retryAfterSeconds(loginSubject(email));
    if (retryAfterSeconds > 0) {
      this.metrics.login('locked_out');
      throw new ApiError(429, 'rate_limited', 'Too many failed logins for this account; retry later', { retryAfterSeconds });
    }
    const user = await this.users.findByEmail(email);
    const valid = user ? await this.passwords.verify(password, user.passwordHash) : await this.passwords.verifyDummy(password);
    if (!user || !valid) {
      await this.backoff.recordFailure(loginSubject(email));
      this.metrics.login('invalid_credentials');
      throw new ApiError(401, 'invalid_credentials', 'Invalid email or password');
    }
    await this.backoff.recordSuccess(loginSubject(email));
    await this.users.rehashIfNeeded(user, password);
    this.metrics.login('success');
    return user;
  }

  /**
   * After a correct password: the account's state decides whether a session opens. Each
   * answer comes only after the password was right, so none tells an attacker anything.
   */
  async login(user: User, client: ClientInfo): Promise<TokenResponse> {
    if (user.disabledAt !== null) throw new ApiError(403, 'account_disabled', 'This account is disabled');
    return this.openSession(user, client);
  }

  /** Every register and every login opens a session, with its first refresh token. */
  async openSession(user: User, client: ClientInfo, assurance: SessionAssurance = PASSWORD_ONLY): Promise<TokenResponse> {
    const { sessionId, refreshToken } = await this.refreshTokens.openSession(user.id, client, assurance);
    return this.tokenResponse(user, { id: sessionId, ...assurance }, refreshToken);
  }

  /** A refreshed access token keeps its session's `sid`, `amr` and `aal`, and carries the user's current roles. */
  async refresh(presented: string, client: ClientInfo): Promise<TokenResponse> {
    const { userId, sessionId, amr, aal, refreshToken } = await this.refreshTokens.rotate(presented, client);
    const user = await this.users.findById(userId);
    if (!user) throw new ApiError(401, 'refresh_token_invalid', 'Refresh token is invalid, expired or revoked');
    return this.tokenResponse(user, { id: sessionId, amr, aal }, refreshToken);
  }

  logout(presented: string): Promise<void> {
    return this.refreshTokens.logout(presented);
  }

  logoutEverywhere(userId: string): Promise<void> {
    return this.refreshTokens.revokeAllForUser(userId, 'logout_all');
  }

  listSessions(userId: string): Promise<SessionView[]> {
    return this.refreshTokens.listSessions(userId);
  }

  endSession(userId: string, sessionId: string): Promise<void> {
    return this.refreshTokens.revokeSession(userId, sessionId);
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
