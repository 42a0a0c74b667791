import { Body, Controller, Delete, Header, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type AuthUser, Client, type ClientInfo, CurrentUser, RequireAal, STEP_UP_REQUIRED_DESCRIPTION } from '../common/auth';
import { ApiErrors } from '../common/openapi';
import { ClientRateLimitGuard } from '../rate-limit/guards/client-rate-limit.guard';
import { ThrottlePasswordCheck } from '../rate-limit/password-check.decorator';
import { CurrentPasswordDto } from '../common/dto/current-password.dto';
import { EnableTotpDto } from './dto/enable-totp.dto';
import { RecoveryCodesResponse } from './dto/recovery-codes.response';
import { TotpSetupResponse } from './dto/totp-setup.response';
import { MfaAccountService } from './mfa-account.service';

const WRONG_PASSWORD = 'invalid_credentials: the current password is wrong';
/** See MfaAccountService.assertMayAddFactor. */
const ADD_FACTOR_STEP_UP = 'step_up_required: the account has a passkey and the token has aal 1 (a factor is added from a session that used one)';

/**
 * The caller's TOTP and recovery codes. Behind the global JWT guard; turning MFA off and new
 * recovery codes need a session with a second factor (@RequireAal(2)) and the password again.
 * The login's second step (POST /auth/mfa/verify) is AuthModule's: it opens a session.
 */
@ApiTags('mfa')
@Controller('auth/mfa')
export class MfaController {
  constructor(private readonly mfa: MfaAccountService) {}

  @Post('totp/setup')
  @UseGuards(ClientRateLimitGuard)
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'A new TOTP secret for an authenticator app; MFA is not on until POST /auth/mfa/totp/enable' })
  @ApiOkResponse({ type: TotpSetupResponse })
  @ApiErrors({ 403: ADD_FACTOR_STEP_UP, 409: 'mfa_already_enabled' }, 429)
  setup(@CurrentUser() caller: AuthUser): Promise<TotpSetupResponse> {
    return this.mfa.setupTotp(caller);
  }

  @Post('totp/enable')
  @UseGuards(ClientRateLimitGuard)
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Turn MFA on with a first code; answers the 10 recovery codes, shown this once. A notice is emailed' })
  @ApiOkResponse({ type: RecoveryCodesResponse })
  @ApiErrors(
    { 400: 'mfa_code_invalid: the code is wrong, expired or already used; or validation_failed' },
    { 403: ADD_FACTOR_STEP_UP, 409: 'mfa_setup_required: no setup yet; or mfa_already_enabled' },
    429,
  )
  async enable(@CurrentUser() caller: AuthUser, @Body() body: EnableTotpDto, @Client() client: ClientInfo): Promise<RecoveryCodesResponse> {
    return { recoveryCodes: await this.mfa.enableTotp(caller, body.code, client) };
  }

  @Delete('totp')
  @RequireAal(2)
  @ThrottlePasswordCheck()
  @HttpCode(204)
  @ApiOperation({ summary: 'Turn MFA off: the TOTP secret and the recovery codes are deleted. Needs aal 2 and the password. A notice is emailed' })
  @ApiNoContentResponse({ description: 'MFA is off' })
  @ApiErrors(400, { 403: `${STEP_UP_REQUIRED_DESCRIPTION}; or ${WRONG_PASSWORD}`, 404: 'mfa_not_enabled' })
  disable(@CurrentUser() caller: AuthUser, @Body() body: CurrentPasswordDto, @Client() client: ClientInfo): Promise<void> {
    return this.mfa.disableTotp(caller, body.currentPassword, client);
  }

  @Post('recovery-codes')
  @RequireAal(2)
  @ThrottlePasswordCheck()
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: '10 new recovery codes; the earlier ones stop working. Needs aal 2 and the password' })
  @ApiOkResponse({ type: RecoveryCodesResponse })
  @ApiErrors(400, { 403: `${STEP_UP_REQUIRED_DESCRIPTION}; or ${WRONG_PASSWORD}`, 404: 'mfa_not_enabled' })
  async regenerate(@CurrentUser() caller: AuthUser, @Body() body: CurrentPasswordDto, @Client() client: ClientInfo): Promise<RecoveryCodesResponse> {
    return { recoveryCodes: await this.mfa.regenerateRecoveryCodes(caller, body.currentPassword, client) };
  }
}
