import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/decorators/current-user.decorator';
import { Roles } from '../auth/decorators/roles.decorator';
import { PageQuery } from '../common/pagination';
import { ChangePasswordDto } from './dto/change-password.dto';
import { UpdateProfileDto } from './dto/update-profile.dto';
import { UpdateRolesDto } from './dto/update-roles.dto';
import { toUserResponse, UserResponse } from './dto/user.response';
import { Role } from './role';
import { UsersService } from './users.service';

/** Every route here is behind the global JWT guard (see AuthModule). */
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  async me(@CurrentUser() caller: AuthUser): Promise<UserResponse> {
    return toUserResponse(await this.users.getCaller(caller.id));
  }

  @Patch('me')
  async updateMe(@CurrentUser() caller: AuthUser, @Body() body: UpdateProfileDto): Promise<UserResponse> {
    return toUserResponse(await this.users.updateProfile(caller.id, body));
  }

  /** Ends every session of the user: each refresh token is revoked. */
  @Post('me/password')
  @HttpCode(204)
  changePassword(@CurrentUser() caller: AuthUser, @Body() body: ChangePasswordDto): Promise<void> {
    return this.users.changePassword(caller.id, body.currentPassword, body.newPassword);
  }

  @Get()
  @Roles(Role.Admin)
  async list(@Query() query: PageQuery) {
    const page = await this.users.list(query);
    return { ...page, items: page.items.map(toUserResponse) };
  }

  @Patch(':id/roles')
  @Roles(Role.Admin)
  async setRoles(@Param('id', ParseUUIDPipe) id: string, @Body() body: UpdateRolesDto): Promise<UserResponse> {
    return toUserResponse(await this.users.setRoles(id, body.roles));
  }
}
