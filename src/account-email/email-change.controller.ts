import { Body, Controller, Header, HttpCode, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type AuthUser, Client, type ClientInfo, CurrentUser, Public } from '../common/auth';
import { ApiErrors } from '../common/openapi';
import { ThrottlePasswordCheck } from '../rate-limit/password-check.decorator';
import { toUserResponse, UserResponse } from '../users/dto/user.response';
import { AccountEmailService } from './account-email.service';
import { AcceptedResponse } from './dto/accepted.response';
import { ChangeEmailDto } from './dto/change-email.dto';
import { LinkTokenDto } from './dto/link-token.dto';

const CHANGE_ACCEPTED: AcceptedResponse = { message: 'A confirmation link is on its way to the new address; the address changes once it is opened' };

/** Changing the caller's email address: asked with the password, confirmed from the new mailbox. */
@ApiTags('users')
@Controller('users/me/email')
export class EmailChangeController {
  constructor(private readonly accountEmail: AccountEmailService) {}

  @Post()
  @ThrottlePasswordCheck()
  @HttpCode(202)
  @ApiOperation({ summary: "Change the caller's email address: a confirmation link goes to the new one, a notice to the old one" })
  @ApiAcceptedResponse({ type: AcceptedResponse, description: 'Nothing changes until the link sent to the new address is opened' })
  @ApiErrors(
    { 400: 'validation_failed: not an email address, or the current one' },
    { 403: 'invalid_credentials: the current password is wrong' },
    { 409: 'email_taken: another account has this address' },
    { 429: 'rate_limited, with Retry-After: too many requests from this IP, wrong passwords for this account, or messages to this address' },
  )
  async request(@CurrentUser() caller: AuthUser, @Body() body: ChangeEmailDto, @Client() client: ClientInfo): Promise<AcceptedResponse> {
    await this.accountEmail.requestEmailChange(caller, body.newEmail, body.currentPassword, client);
    return CHANGE_ACCEPTED;
  }

  /** Public: the link is opened from the new mailbox, maybe on another device. */
  @Public()
  @Post('confirm')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Confirm an email change with the token of the link sent to the new address' })
  @ApiOkResponse({ type: UserResponse, description: 'The user with the new email, verified' })
  @ApiErrors(
    { 400: 'verification_token_invalid: unknown, expired or used; validation_failed: a malformed body' },
    { 409: 'email_taken: another account took the address meanwhile' },
  )
  async confirm(@Body() body: LinkTokenDto, @Client() client: ClientInfo): Promise<UserResponse> {
    return toUserResponse(await this.accountEmail.confirmEmailChange(body.token, client));
  }
}
