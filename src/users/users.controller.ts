import { Body, Controller, Get, Param, ParseUUIDPipe, Patch, Query } from '@nestjs/common';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/decorators/current-user.decorator';
import { Roles } from '../auth/decorators/roles.decorator';
import { ListUsersQuery } from './dto/list-users.query';
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

  @Get()
  @Roles(Role.Admin)
  async list(@Query() query: ListUsersQuery) {
    const page = await this.users.list(query.page, query.limit);
    return { ...page, items: page.items.map(toUserResponse) };
  }

  @Patch(':id/roles')
  @Roles(Role.Admin)
  async setRoles(@Param('id', ParseUUIDPipe) id: string, @Body() body: UpdateRolesDto): Promise<UserResponse> {
    return toUserResponse(await this.users.setRoles(id, body.roles));
  }
}
