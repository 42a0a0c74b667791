import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type AuthUser, CurrentUser, RequireAal, Role, Roles } from '../common/auth';
// The same page/limit rules as GET /users (a limit above 100 is served as 100).
import { PageQuery } from '../common/pagination';
import { ApiErrors, PageOf } from '../common/openapi';
import { CreateProjectDto } from './dto/create-project.dto';
import { ProjectResponse, toProjectResponse } from './dto/project.response';
import { TransferProjectDto } from './dto/transfer-project.dto';
import { UpdateProjectDto } from './dto/update-project.dto';
import { ProjectsService } from './projects.service';

const ProjectPage = PageOf(ProjectResponse);

/**
 * Every route here is behind the global JWT guard (see AuthModule): no @Public().
 * The caller comes from the token (@CurrentUser), never from the body or the URL.
 */
@ApiTags('projects (example module)')
@Controller('projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a project owned by the caller' })
  @ApiCreatedResponse({ type: ProjectResponse })
  @ApiErrors(400)
  async create(@CurrentUser() caller: AuthUser, @Body() body: CreateProjectDto): Promise<ProjectResponse> {
    return toProjectResponse(await this.projects.create(caller.id, body));
  }

  @Get()
  @ApiOperation({ summary: "The caller's projects" })
  @ApiOkResponse({ type: [ProjectResponse] })
  async listMine(@CurrentUser() caller: AuthUser): Promise<ProjectResponse[]> {
    return (await this.projects.listMine(caller.id)).map(toProjectResponse);
  }

  /** Declared before ':id' for the reader; the router prefers the static segment anyway. */
  @Get('all')
  @Roles(Role.Admin)
  @ApiOperation({ summary: 'Every project, a page at a time (admin)' })
  @ApiOkResponse({ type: ProjectPage })
  @ApiErrors(400, 403)
  async listAll(@Query() query: PageQuery) {
    const page = await this.projects.listAll(query);
    return { ...page, items: page.items.map(toProjectResponse) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One of the caller\'s projects' })
  @ApiOkResponse({ type: ProjectResponse })
  @ApiErrors(400, { 404: "not_found: no such project, or another user's" })
  async getMine(@CurrentUser() caller: AuthUser, @Param('id', ParseUUIDPipe) id: string): Promise<ProjectResponse> {
    return toProjectResponse(await this.projects.getMine(caller.id, id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change one of the caller\'s projects' })
  @ApiOkResponse({ type: ProjectResponse })
  @ApiErrors(400, { 404: "not_found: no such project, or another user's" })
  async update(
    @CurrentUser() caller: AuthUser,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: UpdateProjectDto,
  ): Promise<ProjectResponse> {
    return toProjectResponse(await this.projects.update(caller.id, id, body));
  }

  /**
   * Sensitive: the caller gives the project away. @RequireAal(2) asks for a session that
   * passed a second factor (TOTP or a passkey); an aal-1 token gets 403 step_up_required.
   */
  @Post(':id/transfer')
  @RequireAal(2)
  @HttpCode(200)
  @ApiOperation({ summary: "Give one of the caller's projects to another user (needs a session with aal 2)" })
  @ApiOkResponse({ type: ProjectResponse })
  @ApiErrors(400, { 404: "not_found: no such project, or another user's; or no user has ownerId" })
  async transfer(
    @CurrentUser() caller: AuthUser,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: TransferProjectDto,
  ): Promise<ProjectResponse> {
    return toProjectResponse(await this.projects.transfer(caller.id, id, body.ownerId));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete one of the caller\'s projects' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(400, { 404: "not_found: no such project, or another user's" })
  remove(@CurrentUser() caller: AuthUser, @Param('id', ParseUUIDPipe) id: string): Promise<void> {
    return this.projects.remove(caller.id, id);
  }
}
