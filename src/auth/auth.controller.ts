import {
  Body,
  Controller,
  createParamDecorator,
  Delete,
  ExecutionContext,
  Get,
  Header,
  HttpCode,
  Inject,
  Param,
  ParseUUIDPipe,
  Post,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../common/api-error';
import { ApiErrors } from '../common/openapi';
import { appConfig, AppConfig } from '../config/app.config';
import { ClientRateLimitGuard } from '../rate-limit/guards/client-rate-limit.guard';
import { SessionView } from '../tokens/dto/session.view';
import type { User } from '../users/user.entity';
import { authConfig, AuthConfig } from './auth.config';
import { type AuthUser, Client, type ClientInfo, CurrentUser, Public } from '../common/auth';
import { AuthService } from './auth.service';
import { RefreshTokenDto } from './dto/refresh-token.dto';
import { RegisterDto } from './dto/register.dto';
import { LoginDto } from './dto/login.dto';
import { TokenResponse } from './dto/token.response';
import { LocalAuthGuard } from './guards/local-auth.guard';
import { clearRefreshCookie, isCrossSite, readRefreshCookie, withRefreshCookie } from './refresh-cookie';

/** The user the `local` strategy authenticated (a full entity, unlike @CurrentUser's token claims). */
const LoggedInUser = createParamDecorator(
  (_: unknown, context: ExecutionContext): User => context.switchToHttp().getRequest<{ user: User }>().user,
);

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
    @Inject(appConfig.KEY) private readonly app: AppConfig,
  ) {}

  @Public()
  @UseGuards(ClientRateLimitGuard)
  @Post('register')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Create an account and open a session (with EMAIL_VERIFICATION=required: the account only, as { user })' })
  @ApiCreatedResponse({ type: TokenResponse })
  @ApiErrors({ 400: 'validation_failed: an invalid email, or a password outside the policy' }, 409, 429)
  async register(@Body() body: RegisterDto, @Client() client: ClientInfo, @Res({ passthrough: true }) reply: FastifyReply) {
    const registered = await this.auth.register(body, client);
    return 'accessToken' in registered ? this.withCookie(reply, registered) : registered;
  }

  /** Throttled before the credentials are checked, so failed attempts count too. */
  @Public()
  @UseGuards(ClientRateLimitGuard, LocalAuthGuard)
  @Post('login')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Log in with email and password and open a session' })
  @ApiBody({ type: LoginDto })
  @ApiOkResponse({ type: TokenResponse })
  @ApiErrors(
    400,
    { 401: 'invalid_credentials: "Invalid email or password", alike for an unknown email and a wrong password' },
    { 403: 'only after a correct password: account_disabled; email_not_verified (EMAIL_VERIFICATION=required); mfa_required, with mfaToken and methods' },
    429,
  )
  async login(@LoggedInUser() user: User, @Client() client: ClientInfo, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.withCookie(reply, await this.auth.login(user, client));
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Rotate a refresh token: the presented one is spent, a new pair is returned' })
  @ApiOkResponse({ type: TokenResponse })
  @ApiErrors(400, {
    401: 'refresh_token_invalid (unknown, expired, revoked) or refresh_token_reused (a spent token: its whole session is revoked)',
    403: 'forbidden: the refresh token came in the cookie from another site (Sec-Fetch-Site: cross-site, or a foreign Origin)',
    503: 'database_unavailable, with Retry-After; the presented token is not spent',
  })
  async refresh(
    @Body() body: RefreshTokenDto,
    @Req() request: FastifyRequest,
    @Client() client: ClientInfo,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const presented = this.presentedToken(body, request);
    if (!presented) throw new ApiError(401, 'refresh_token_invalid', 'No refresh token was presented');
    return this.withCookie(reply, await this.auth.refresh(presented, client));
  }

  /** 204 whatever the token: logout never tells whether a token existed. */
  @Public()
  @Post('logout')
  @HttpCode(204)
  @ApiOperation({ summary: "End the presented token's session (any token of it, current or spent)" })
  @ApiNoContentResponse({ description: 'Also for an unknown token; the cookie is cleared' })
  @ApiErrors({
    400: 'validation_failed: a malformed body',
    403: 'forbidden: the refresh token came in the cookie from another site (Sec-Fetch-Site: cross-site, or a foreign Origin)',
  })
  async logout(
    @Body() body: RefreshTokenDto,
    @Req() request: FastifyRequest,
    @Client() client: ClientInfo,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const presented = this.presentedToken(body, request);
    if (presented) await this.auth.logout(presented, client);
    if (this.config.cookies) clearRefreshCookie(reply);
  }

  @Post('logout-all')
  @HttpCode(204)
  @ApiOperation({ summary: 'End every session of the caller' })
  @ApiNoContentResponse({ description: 'Every refresh token of the caller is revoked' })
  async logoutAll(@CurrentUser() caller: AuthUser, @Client() client: ClientInfo, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    await this.auth.logoutEverywhere(caller.id, client);
    if (this.config.cookies) clearRefreshCookie(reply);
  }

  @Get('sessions')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: "The caller's live sessions" })
  @ApiOkResponse({ type: [SessionView] })
  sessions(@CurrentUser() caller: AuthUser): Promise<SessionView[]> {
    return this.auth.listSessions(caller.id);
  }

  @Delete('sessions/:id')
  @HttpCode(204)
  @ApiOperation({ summary: "End one of the caller's sessions" })
  @ApiNoContentResponse({ description: "That session's refresh tokens are revoked" })
  @ApiErrors({ 400: 'validation_failed: the id is not a UUID', 404: "not_found: not one of the caller's sessions" })
  endSession(@CurrentUser() caller: AuthUser, @Param('id', ParseUUIDPipe) id: string, @Client() client: ClientInfo): Promise<void> {
    return this.auth.endSession(caller.id, id, client);
  }

  /**
   * The body's token, else (in cookie mode) the cookie's. Without cookies the body must
   * carry it. A cookie is sent by the browser whoever made the page: one that comes with a
   * request from another site is refused (CSRF).
   */
  private presentedToken(body: RefreshTokenDto, request: FastifyRequest): string | undefined {
    if (body.refreshToken !== undefined) return body.refreshToken;
    if (!this.config.cookies) throw new ApiError(400, 'validation_failed', ['refreshToken must be a string']);
    const cookie = readRefreshCookie(request);
    if (cookie !== undefined && isCrossSite(request, this.app.corsOrigins)) {
      throw new ApiError(403, 'forbidden', 'The refresh cookie is not accepted from another site');
    }
    return cookie;
  }

  /** In cookie mode the refresh token goes in the cookie only, never in the body. */
  private withCookie(reply: FastifyReply, response: TokenResponse): TokenResponse {
    return this.config.cookies ? withRefreshCookie(reply, response, this.auth.refreshTokenLifetimeSeconds) : response;
  }
}
