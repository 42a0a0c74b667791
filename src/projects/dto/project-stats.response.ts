import { ApiProperty } from '@nestjs/swagger';

/** How much the projects module holds, for admins. */
export class ProjectStatsResponse {
  @ApiProperty({ example: 42, description: 'Projects of every user' })
  projects: number;

  @ApiProperty({ example: 7, description: 'Users who own at least one project' })
  owners: number;
}
