import { Body, Controller, Header, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiAcceptedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Client, type ClientInfo, Public } from '../common/auth';
import { ApiErrors } from '../common/openapi';
import { ClientRateLimitGuard } from '../rate-limit/guards/client-rate-limit.guard';
import { toUserResponse, UserResponse } from '../users/dto/user.response';
import { AccountEmailService } from './account-email.service';
import { type Answered, WhenAnswered } from './answered.decorator';
import { AcceptedResponse } from './dto/accepted.response';
import { EmailRequestDto } from './dto/email-request.dto';
import { LinkTokenDto } from './dto/link-token.dto';
import { ResetPasswordDto } from './dto/reset-password.dto';

const RESEND_ACCEPTED: AcceptedResponse = { message: 'If this address belongs to an account that awaits verification, a new link is on its way' };
const FORGOT_ACCEPTED: AcceptedResponse = { message: 'If this address belongs to an account, a reset link is on its way' };

/** The public routes of emailed links: verification and forgotten passwords. */
@ApiTags('auth')
@Public()
@Controller('auth')
export class EmailLinksController {
  constructor(private readonly accountEmail: AccountEmailService) {}

  @Post('email/verify')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: "Verify the account's email address with the token of the mailed link" })
  @ApiOkResponse({ type: UserResponse })
  @ApiErrors({ 400: 'verification_token_invalid: unknown, expired or used; validation_failed: a malformed body' })
  async verify(@Body() body: LinkTokenDto, @Client() client: ClientInfo): Promise<UserResponse> {
    return toUserResponse(await this.accountEmail.verifyEmail(body.token, client));
  }

  /** 202 alike for every address, in the same time: nothing about the address is told. */
  @Post('email/verify/resend')
  @UseGuards(ClientRateLimitGuard)
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a new verification link, when the address is that of an account not yet verified' })
  @ApiAcceptedResponse({ type: AcceptedResponse, description: 'Whatever the address; past EMAIL_RATE_LIMIT for it, nothing is sent' })
  @ApiErrors({ 400: 'validation_failed: not an email address' }, 429)
  async resend(@Body() body: EmailRequestDto, @Client() client: ClientInfo, @WhenAnswered() answered: Answered): Promise<AcceptedResponse> {
    await this.accountEmail.resendVerification(body.email, client, answered);
    return RESEND_ACCEPTED;
  }

  /** 202 alike for every address, in the same time: nothing about the address is told. */
  @Post('password/forgot')
  @UseGuards(ClientRateLimitGuard)
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a password reset link, when the address is that of an enabled account' })
  @ApiAcceptedResponse({ type: AcceptedResponse, description: 'Whatever the address; past EMAIL_RATE_LIMIT for it, nothing is sent' })
  @ApiErrors({ 400: 'validation_failed: not an email address' }, 429)
  async forgot(@Body() body: EmailRequestDto, @Client() client: ClientInfo, @WhenAnswered() answered: Answered): Promise<AcceptedResponse> {
    await this.accountEmail.forgotPassword(body.email, client, answered);
    return FORGOT_ACCEPTED;
  }

  /** Throttled per IP: each request with a live token costs a bcrypt hash. */
  @Post('password/reset')
  @UseGuards(ClientRateLimitGuard)
  @HttpCode(204)
  @ApiOperation({ summary: 'Set a new password with the token of the mailed link; every session ends' })
  @ApiNoContentResponse({
    description: 'The password is set; every session ends; every reset link of the user is spent; the email counts as verified; a notice is mailed. No session is opened',
  })
  @ApiErrors(
    { 400: 'reset_token_invalid: unknown, expired or used; validation_failed: the new password is outside the policy (the token stays unspent)' },
    429,
  )
  resetPassword(@Body() body: ResetPasswordDto, @Client() client: ClientInfo): Promise<void> {
    return this.accountEmail.resetPassword(body.token, body.newPassword, client);
  }
}
