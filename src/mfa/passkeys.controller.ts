import { Body, Controller, Delete, Get, Header, HttpCode, Param, ParseUUIDPipe, Post, UseGuards } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type AuthUser, Client, type ClientInfo, CurrentUser } from '../common/auth';
import { ApiErrors } from '../common/openapi';
import { ClientRateLimitGuard } from '../rate-limit/guards/client-rate-limit.guard';
import { PasskeyView } from './dto/passkey.view';
import { RegisterPasskeyDto } from './dto/register-passkey.dto';
import { PasskeyCreationOptions } from './dto/webauthn-options.response';
import { MfaAccountService } from './mfa-account.service';

/**
 * The caller's passkeys: adding one (a WebAuthn registration in two steps), listing and
 * removing them. Behind the global JWT guard. Logging in with one is AuthModule's
 * (POST /auth/passkeys/login/options and /login): it opens a session.
 */
/** See MfaAccountService.assertMayAddFactor. */
const ADD_FACTOR_STEP_UP = 'step_up_required: the account has TOTP on or a passkey and the token has aal 1 (a factor is added from a session that used one)';

@ApiTags('passkeys')
@Controller()
@UseGuards(ClientRateLimitGuard)
export class PasskeysController {
  constructor(private readonly mfa: MfaAccountService) {}

  @Post('auth/passkeys/register/options')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Creation options for navigator.credentials.create(): step 1 of adding a passkey' })
  @ApiOkResponse({ type: PasskeyCreationOptions })
  @ApiErrors({ 403: ADD_FACTOR_STEP_UP }, 429)
  registrationOptions(@CurrentUser() caller: AuthUser) {
    return this.mfa.passkeyRegistrationOptions(caller);
  }

  @Post('auth/passkeys/register')
  @ApiOperation({ summary: "Step 2: the browser's answer; the passkey is stored and a notice is emailed" })
  @ApiCreatedResponse({ type: PasskeyView })
  @ApiErrors({ 400: 'passkey_invalid: the response does not verify (wrong or spent challenge, origin, RP ID, signature), or the passkey is registered already; or validation_failed', 403: ADD_FACTOR_STEP_UP }, 429)
  register(@CurrentUser() caller: AuthUser, @Body() body: RegisterPasskeyDto, @Client() client: ClientInfo): Promise<PasskeyView> {
    return this.mfa.registerPasskey(caller, body.response, body.name, client);
  }

  @Get('users/me/passkeys')
  @ApiOperation({ summary: "The caller's passkeys, oldest first" })
  @ApiOkResponse({ type: [PasskeyView] })
  @ApiErrors(429)
  list(@CurrentUser() caller: AuthUser): Promise<PasskeyView[]> {
    return this.mfa.listPasskeys(caller);
  }

  @Delete('users/me/passkeys/:id')
  @HttpCode(204)
  @ApiOperation({ summary: "Remove one of the caller's passkeys" })
  @ApiNoContentResponse({ description: 'Removed: it can no longer log in' })
  @ApiErrors({ 400: 'validation_failed: the id is not a UUID', 404: "not_found: not one of the caller's passkeys" }, 429)
  remove(@CurrentUser() caller: AuthUser, @Param('id', ParseUUIDPipe) id: string, @Client() client: ClientInfo): Promise<void> {
    return this.mfa.removePasskey(caller, id, client);
  }
}
