import { Body, Controller, Delete, HttpCode } from '@nestjs/common';
import { ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type AuthUser, Client, type ClientInfo, CurrentUser } from '../common/auth';
import { ApiErrors } from '../common/openapi';
import { ThrottlePasswordCheck } from '../rate-limit/password-check.decorator';
import { AdminService } from './admin.service';
import { CurrentPasswordDto } from '../common/dto/current-password.dto';

/** The caller's deletion of their own account: the admins' deletion, after the password. */
@ApiTags('users')
@Controller('users/me')
export class AccountController {
  constructor(private readonly admin: AdminService) {}

  /** Throttled like login: it checks a password. */
  @Delete()
  @ThrottlePasswordCheck()
  @HttpCode(204)
  @ApiOperation({ summary: "Delete the caller's account and everything of it" })
  @ApiNoContentResponse({ description: 'Deleted; every access token of the account answers 401 from now on' })
  @ApiErrors(
    { 400: 'validation_failed: a malformed body' },
    { 403: 'invalid_credentials: the current password is wrong' },
    { 409: 'last_admin: the caller is the last enabled admin' },
  )
  remove(@CurrentUser() caller: AuthUser, @Body() body: CurrentPasswordDto, @Client() client: ClientInfo): Promise<void> {
    return this.admin.deleteOwnAccount(caller.id, body.currentPassword, client);
  }
}
