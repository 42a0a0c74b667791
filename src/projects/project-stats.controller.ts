import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { JwtAuthGuard } from '../auth/guards/jwt-auth.guard';
import { RolesGuard } from '../auth/guards/roles.guard';
import { Role, Roles } from '../common/auth';
import { ApiErrors } from '../common/openapi';
import { ProjectStatsResponse } from './dto/project-stats.response';
import { ProjectsService } from './projects.service';

/**
 * The other way to protect a controller: the guards named on it with @UseGuards, as NestJS's
 * own documentation shows. The global guards run as well; JwtAuthGuard, met twice, verifies
 * the token once. ProjectsModule imports AuthModule, which exports both guards and what
 * they need.
 */
@ApiTags('projects (example module)')
@Controller('projects/stats')
@UseGuards(JwtAuthGuard, RolesGuard)
@Roles(Role.Admin)
export class ProjectStatsController {
  constructor(private readonly projects: ProjectsService) {}

  @Get()
  @ApiOperation({ summary: 'How many projects there are, and how many users own one (admin)' })
  @ApiOkResponse({ type: ProjectStatsResponse })
  @ApiErrors(403)
  stats(): Promise<ProjectStatsResponse> {
    return this.projects.stats();
  }
}
