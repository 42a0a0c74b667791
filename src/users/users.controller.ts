import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type AuthUser, Client, type ClientInfo, CurrentUser, Role, Roles } from '../common/auth';
import { ApiErrors, PageOf } from '../common/openapi';
import { PageQuery } from '../common/pagination';
import { ThrottlePasswordCheck } from '../rate-limit/password-check.decorator';
import { ChangePasswordDto } from './dto/change-password.dto';
import { UpdateProfileDto } from './dto/update-profile.dto';
import { UpdateRolesDto } from './dto/update-roles.dto';
import { AdminUserResponse, toAdminUserResponse, toUserResponse, UserResponse } from './dto/user.response';
import { UsersService } from './users.service';

const UserPage = PageOf(AdminUserResponse);

/** Every route here is behind the global JWT guard (see AuthModule). */
@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @ApiOperation({ summary: "The caller's profile" })
  @ApiOkResponse({ type: UserResponse })
  async me(@CurrentUser() caller: AuthUser): Promise<UserResponse> {
    return toUserResponse(await this.users.getCaller(caller.id, caller.sessionId));
  }

  @Patch('me')
  @ApiOperation({ summary: "Change the caller's display name" })
  @ApiOkResponse({ type: UserResponse })
  @ApiErrors(400)
  async updateMe(@CurrentUser() caller: AuthUser, @Body() body: UpdateProfileDto): Promise<UserResponse> {
    return toUserResponse(await this.users.updateProfile(caller.id, body));
  }

  /** Ends every session of the user: each refresh token is revoked. Throttled like login: it checks a password. */
  @Post('me/password')
  @ThrottlePasswordCheck()
  @HttpCode(204)
  @ApiOperation({ summary: "Change the caller's password; every session ends" })
  @ApiNoContentResponse({ description: 'Changed; every refresh token of the user is revoked' })
  @ApiErrors(
    { 400: 'validation_failed: the new password is outside the policy' },
    { 403: 'invalid_credentials: the current password is wrong' },
  )
  changePassword(@CurrentUser() caller: AuthUser, @Body() body: ChangePasswordDto, @Client() client: ClientInfo): Promise<void> {
    return this.users.changePassword(caller.id, body.currentPassword, body.newPassword, client);
  }

  @Get()
  @Roles(Role.Admin)
  @ApiOperation({ summary: 'Every user, a page at a time (admin)' })
  @ApiOkResponse({ type: UserPage })
  @ApiErrors({ 400: 'validation_failed: page or limit is not a positive integer' }, 403)
  async list(@Query() query: PageQuery) {
    const page = await this.users.list(query);
    return { ...page, items: page.items.map(toAdminUserResponse) };
  }

  @Patch(':id/roles')
  @Roles(Role.Admin)
  @ApiOperation({ summary: "Set a user's roles (admin)" })
  @ApiOkResponse({ type: AdminUserResponse })
  @ApiErrors({ 400: 'validation_failed: an unknown role, or the id is not a UUID', 409: 'last_admin: it would leave no enabled admin' }, 403, 404)
  async setRoles(
    @CurrentUser() caller: AuthUser,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: UpdateRolesDto,
    @Client() client: ClientInfo,
  ): Promise<AdminUserResponse> {
    return toAdminUserResponse(await this.users.setRoles(id, body.roles, caller.id, client));
  }
}
