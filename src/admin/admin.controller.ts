import { Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type AuthUser, Client, type ClientInfo, CurrentUser, Role, Roles } from '../common/auth';
import { ApiErrors } from '../common/openapi';
import { AdminUserResponse, toAdminUserResponse } from '../users/dto/user.response';
import { AdminService } from './admin.service';

const LAST_ADMIN = { 409: 'last_admin: it would leave no enabled admin' };
const SELF = { 403: 'forbidden: the caller lacks the role, or the account is their own' };

/** Admins' actions on accounts, beside UsersController's list and roles. Behind the global JWT and roles guards. */
@ApiTags('users')
@Controller('users')
@Roles(Role.Admin)
export class AdminController {
  constructor(private readonly admin: AdminService) {}

  @Get(':id')
  @ApiOperation({ summary: 'One user (admin)' })
  @ApiOkResponse({ type: AdminUserResponse })
  @ApiErrors({ 400: 'validation_failed: the id is not a UUID' }, 403, 404)
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<AdminUserResponse> {
    return toAdminUserResponse(await this.admin.getUser(id));
  }

  @Post(':id/disable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Disable a user: every session ends at once, and logins answer 403 account_disabled (admin)' })
  @ApiOkResponse({ type: AdminUserResponse })
  @ApiErrors({ 400: 'validation_failed: the id is not a UUID' }, SELF, 404, LAST_ADMIN)
  async disable(@CurrentUser() caller: AuthUser, @Param('id', ParseUUIDPipe) id: string, @Client() client: ClientInfo): Promise<AdminUserResponse> {
    return toAdminUserResponse(await this.admin.disable(id, caller.id, client));
  }

  @Post(':id/enable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Enable a disabled user: they may log in again (admin)' })
  @ApiOkResponse({ type: AdminUserResponse })
  @ApiErrors({ 400: 'validation_failed: the id is not a UUID' }, SELF, 404, { 409: 'last_admin (never answered when enabling)' })
  async enable(@CurrentUser() caller: AuthUser, @Param('id', ParseUUIDPipe) id: string, @Client() client: ClientInfo): Promise<AdminUserResponse> {
    return toAdminUserResponse(await this.admin.enable(id, caller.id, client));
  }

  @Delete(':id/sessions')
  @HttpCode(204)
  @ApiOperation({ summary: "End every session of a user: their access tokens answer 401 token_revoked at once (admin)" })
  @ApiNoContentResponse({ description: 'Every session of the user has ended' })
  @ApiErrors({ 400: 'validation_failed: the id is not a UUID' }, 403, 404)
  endSessions(@CurrentUser() caller: AuthUser, @Param('id', ParseUUIDPipe) id: string, @Client() client: ClientInfo): Promise<void> {
    return this.admin.endSessions(id, caller.id, client);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user and everything of theirs; their audit events keep the user id only (admin)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors({ 400: 'validation_failed: the id is not a UUID' }, 403, 404, LAST_ADMIN)
  remove(@CurrentUser() caller: AuthUser, @Param('id', ParseUUIDPipe) id: string, @Client() client: ClientInfo): Promise<void> {
    return this.admin.delete(id, caller.id, client);
  }
}
