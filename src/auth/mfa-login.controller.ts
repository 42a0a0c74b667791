import { Body, Controller, Header, HttpCode, Inject, Post, Res, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiError } from '../common/api-error';
import { Client, type ClientInfo, Public } from '../common/auth';
import { ApiErrors } from '../common/openapi';
import { PasskeyRequestOptions } from '../mfa';
import { ClientRateLimitGuard } from '../rate-limit/guards/client-rate-limit.guard';
import { authConfig, AuthConfig } from './auth.config';
import { AuthService } from './auth.service';
import { MfaVerifyDto } from './dto/mfa-verify.dto';
import { PasskeyLoginDto, PasskeyLoginOptionsDto } from './dto/passkey-login.dto';
import { TokenResponse } from './dto/token.response';
import { MfaLoginService, SecondFactor } from './mfa-login.service';
import { withRefreshCookie } from './refresh-cookie';

/**
 * The logins that end in a session of `aal` 2, beside POST /auth/login: its second step with
 * the mfaToken, and a passkey. Public and throttled per IP; their token responses take the
 * refresh cookie as login's do (AUTH_COOKIES).
 */
@Controller('auth')
@Public()
@UseGuards(ClientRateLimitGuard)
export class MfaLoginController {
  constructor(
    private readonly logins: MfaLoginService,
    private readonly auth: AuthService,
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
  ) {}

  @Post('mfa/verify')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiTags('mfa')
  @ApiOperation({ summary: "Login's second step: the mfaToken of POST /auth/login's 403 mfa_required, with a TOTP code or a recovery code" })
  @ApiOkResponse({ type: TokenResponse, description: 'A session with amr ["pwd","otp"] or ["pwd","recovery_code"] and aal 2' })
  @ApiErrors(
    { 400: 'validation_failed: not exactly one of code and recoveryCode, or a malformed body' },
    {
      401:
        'mfa_code_invalid: the code is wrong, expired or already used (counted; the 5th kills the mfaToken); ' +
        'mfa_token_invalid: the mfaToken is unknown, expired, used, or dead after 5 wrong codes (log in again)',
    },
    { 429: 'rate_limited, with Retry-After in seconds: too many requests from this IP, or too many wrong codes for this account' },
  )
  async verify(@Body() body: MfaVerifyDto, @Client() client: ClientInfo, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.withCookie(reply, await this.logins.verify(body.mfaToken, secondFactorOf(body), client));
  }

  @Post('passkeys/login/options')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiTags('passkeys')
  @ApiOperation({ summary: 'Request options for navigator.credentials.get(): step 1 of a passkey login' })
  @ApiOkResponse({ type: PasskeyRequestOptions })
  @ApiErrors(400, 429)
  loginOptions(@Body() body: PasskeyLoginOptionsDto) {
    return this.logins.loginOptions(body.email);
  }

  @Post('passkeys/login')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiTags('passkeys')
  @ApiOperation({ summary: "Step 2: the browser's answer opens a session with amr [\"passkey\"] and aal 2" })
  @ApiOkResponse({ type: TokenResponse })
  @ApiErrors(
    400,
    { 401: 'passkey_invalid: the response does not verify (unknown passkey, wrong or spent challenge, origin, RP ID, signature, user verification, a counter that went back)' },
    { 403: 'account_disabled' },
    429,
  )
  async login(@Body() body: PasskeyLoginDto, @Client() client: ClientInfo, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.withCookie(reply, await this.logins.loginWithPasskey(body.response, client));
  }

  /** As AuthController's: in cookie mode the refresh token goes in the cookie only. */
  private withCookie(reply: FastifyReply, response: TokenResponse): TokenResponse {
    return this.config.cookies ? withRefreshCookie(reply, response, this.auth.refreshTokenLifetimeSeconds) : response;
  }
}

function secondFactorOf(body: MfaVerifyDto): SecondFactor {
  if (body.code !== undefined && body.recoveryCode === undefined) return { code: body.code };
  if (body.recoveryCode !== undefined && body.code === undefined) return { recoveryCode: body.recoveryCode };
  throw new ApiError(400, 'validation_failed', ['exactly one of code and recoveryCode must be given']);
}
