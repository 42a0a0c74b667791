import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/decorators/current-user.decorator';
import { Roles } from '../auth/decorators/roles.decorator';
// The same page/limit rules as GET /users (a limit above 100 is served as 100).
import { PageQuery } from '../common/pagination';
import { Role } from '../users/role';
import { CreateProjectDto } from './dto/create-project.dto';
import { ProjectResponse, toProjectResponse } from './dto/project.response';
import { UpdateProjectDto } from './dto/update-project.dto';
import { ProjectsService } from './projects.service';

/**
 * Every route here is behind the global JWT guard (see AuthModule): no @Public().
 * The caller comes from the token (@CurrentUser), never from the body or the URL.
 */
@Controller('projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Post()
  async create(@CurrentUser() caller: AuthUser, @Body() body: CreateProjectDto): Promise<ProjectResponse> {
    return toProjectResponse(await this.projects.create(caller.id, body));
  }

  @Get()
  async listMine(@CurrentUser() caller: AuthUser): Promise<ProjectResponse[]> {
    return (await this.projects.listMine(caller.id)).map(toProjectResponse);
  }

  /** Declared before ':id' for the reader; the router prefers the static segment anyway. */
  @Get('all')
  @Roles(Role.Admin)
  async listAll(@Query() query: PageQuery) {
    const page = await this.projects.listAll(query);
    return { ...page, items: page.items.map(toProjectResponse) };
  }

  @Get(':id')
  async getMine(@CurrentUser() caller: AuthUser, @Param('id', ParseUUIDPipe) id: string): Promise<ProjectResponse> {
    return toProjectResponse(await this.projects.getMine(caller.id, id));
  }

  @Patch(':id')
  async update(
    @CurrentUser() caller: AuthUser,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: UpdateProjectDto,
  ): Promise<ProjectResponse> {
    return toProjectResponse(await this.projects.update(caller.id, id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@CurrentUser() caller: AuthUser, @Param('id', ParseUUIDPipe) id: string): Promise<void> {
    return this.projects.remove(caller.id, id);
  }
}
