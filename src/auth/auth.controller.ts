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
import { ThrottlerGuard } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../common/api-error';
import type { ClientInfo, SessionView } from '../tokens/refresh-tokens.service';
import type { User } from '../users/user.entity';
import { authConfig, AuthConfig } from './auth.config';
import type { AuthUser } from './auth-user';
import { AuthService } from './auth.service';
import { Client } from './decorators/client-info.decorator';
import { CurrentUser } from './decorators/current-user.decorator';
import { Public } from './decorators/public.decorator';
import { RefreshTokenDto } from './dto/refresh-token.dto';
import { RegisterDto } from './dto/register.dto';
import type { TokenResponse } from './dto/token.response';
import { LocalAuthGuard } from './guards/local-auth.guard';
import { clearRefreshCookie, readRefreshCookie, setRefreshCookie } from './refresh-cookie';

/** The user the `local` strategy authenticated (a full entity, unlike @CurrentUser's token claims). */
const LoggedInUser = createParamDecorator(
  (_: unknown, context: ExecutionContext): User => context.switchToHttp().getRequest<{ user: User }>().user,
);

@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
  ) {}

  @Public()
  @UseGuards(ThrottlerGuard)
  @Post('register')
  @Header('Cache-Control', 'no-store')
  async register(@Body() body: RegisterDto, @Client() client: ClientInfo, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.withCookie(reply, await this.auth.register(body, client));
  }

  /** Throttled before the credentials are checked, so failed attempts count too. */
  @Public()
  @UseGuards(ThrottlerGuard, LocalAuthGuard)
  @Post('login')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async login(@LoggedInUser() user: User, @Client() client: ClientInfo, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.withCookie(reply, await this.auth.openSession(user, client));
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
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
  async logout(@Body() body: RefreshTokenDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const presented = this.presentedToken(body, request);
    if (presented) await this.auth.logout(presented);
    if (this.config.cookies) clearRefreshCookie(reply);
  }

  @Post('logout-all')
  @HttpCode(204)
  async logoutAll(@CurrentUser() caller: AuthUser, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    await this.auth.logoutEverywhere(caller.id);
    if (this.config.cookies) clearRefreshCookie(reply);
  }

  @Get('sessions')
  @Header('Cache-Control', 'no-store')
  sessions(@CurrentUser() caller: AuthUser): Promise<SessionView[]> {
    return this.auth.listSessions(caller.id);
  }

  @Delete('sessions/:id')
  @HttpCode(204)
  endSession(@CurrentUser() caller: AuthUser, @Param('id', ParseUUIDPipe) id: string): Promise<void> {
    return this.auth.endSession(caller.id, id);
  }

  /** The body's token, else (in cookie mode) the cookie's. Without cookies the body must carry it. */
  private presentedToken(body: RefreshTokenDto, request: FastifyRequest): string | undefined {
    if (body.refreshToken !== undefined) return body.refreshToken;
    if (this.config.cookies) return readRefreshCookie(request);
    throw new ApiError(400, 'validation_failed', ['refreshToken must be a string']);
  }

  private withCookie(reply: FastifyReply, response: TokenResponse): TokenResponse {
    if (this.config.cookies) setRefreshCookie(reply, response.refreshToken, this.auth.refreshTokenLifetimeSeconds);
    return response;
  }
}
