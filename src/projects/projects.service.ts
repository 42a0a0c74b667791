import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ApiError } from '../common/api-error';
import { findPage, Page, PageQuery } from '../common/pagination';
import { isForeignKeyViolation } from '../database/database-errors';
import { Project } from './project.entity';

export interface NewProject {
  name: string;
  description?: string | null;
}

export interface ProjectChanges {
  name?: string;
  description?: string | null;
}

/**
 * The rules of projects; the controller only maps HTTP to these calls. Every lookup by
 * id is scoped to the owner in the query itself, so another user's project is answered
 * exactly like a missing one (404): its existence is never revealed.
 */
@Injectable()
export class ProjectsService {
  constructor(@InjectRepository(Project) private readonly projects: Repository<Project>) {}

  async create(ownerId: string, input: NewProject): Promise<Project> {
    const project = this.projects.create({ ownerId, name: input.name, description: input.description ?? null });
    try {
      return await this.projects.save(project);
    } catch (error) {
      // The token is valid but its account was deleted since: answered as UsersService.getCaller does.
      if (isForeignKeyViolation(error)) throw new ApiError(401, 'token_invalid', 'The account of this token no longer exists');
      throw error;
    }
  }

  /** The owner's projects, oldest first (served by IDX_projects_owner_created_at). */
  listMine(ownerId: string): Promise<Project[]> {
    return this.projects.find({ where: { ownerId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** 404 `not_found` when it does not exist or belongs to someone else: the two are indistinguishable. */
  async getMine(ownerId: string, id: string): Promise<Project> {
    const project = await this.projects.findOneBy({ id, ownerId });
    if (!project) throw notFound();
    return project;
  }

  async update(ownerId: string, id: string, changes: ProjectChanges): Promise<Project> {
    const values: ProjectChanges = {};
    if (changes.name !== undefined) values.name = changes.name;
    if (changes.description !== undefined) values.description = changes.description;
    if (Object.keys(values).length > 0) {
      // One conditional UPDATE (updated_at is set by TypeORM), not load-then-save():
      // save() would re-insert a project deleted between the two.
      const { affected } = await this.projects.update({ id, ownerId }, values);
      if (!affected) throw notFound();
    }
    return this.getMine(ownerId, id);
  }

  /**
   * Gives the project to another user: the caller loses it. One conditional UPDATE; a new
   * owner that does not exist fails its foreign key (404, as a missing project).
   */
  async transfer(ownerId: string, id: string, newOwnerId: string): Promise<Project> {
    try {
      const { affected } = await this.projects.update({ id, ownerId }, { ownerId: newOwnerId });
      if (!affected) throw notFound();
    } catch (error) {
      if (isForeignKeyViolation(error)) throw new ApiError(404, 'not_found', 'No user has that id');
      throw error;
    }
    return this.getMine(newOwnerId, id);
  }

  async remove(ownerId: string, id: string): Promise<void> {
    const { affected } = await this.projects.delete({ id, ownerId });
    if (!affected) throw notFound();
  }

  /** Every user's projects, for admins, a page at a time like GET /users. */
  listAll(query: PageQuery): Promise<Page<Project>> {
    return findPage(this.projects, query, { createdAt: 'ASC', id: 'ASC' });
  }

  /** How many projects there are and how many users own one: one aggregate query. */
  async stats(): Promise<{ projects: number; owners: number }> {
    const row = await this.projects
      .createQueryBuilder('project')
      .select('COUNT(*)', 'projects')
      .addSelect('COUNT(DISTINCT project.owner_id)', 'owners')
      .getRawOne<{ projects: string; owners: string }>();
    // COUNT is a bigint, which the drivers hand over as a string.
    return { projects: Number(row?.projects ?? 0), owners: Number(row?.owners ?? 0) };
  }
}

function notFound(): ApiError {
  return new ApiError(404, 'not_found', 'Project not found');
}

