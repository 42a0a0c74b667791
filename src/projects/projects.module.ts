import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { Project } from './project.entity';
import { ProjectStatsController } from './project-stats.controller';
import { ProjectsController } from './projects.controller';
import { ProjectsLifecycle } from './projects.lifecycle';
import { ProjectsService } from './projects.service';

/**
 * The guards are global (AuthModule) and the caller comes from the token. AuthModule is
 * imported only for ProjectStatsController, which names its guards with @UseGuards.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Project]), AuthModule],
  controllers: [ProjectsController, ProjectStatsController],
  providers: [ProjectsService, ProjectsLifecycle], // ProjectsLifecycle: a deleted user's projects go with them
})
export class ProjectsModule {}
