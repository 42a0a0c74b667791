import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { UserLifecycleHooks, UserLifecycleParticipant } from '../common/user-lifecycle';
import { Project } from './project.entity';

/**
 * How a module takes part in a user's deletion (docs/EXTENDING.md, 1.9): a provider marked
 * @UserLifecycleParticipant(), listed in the module's providers, whose hooks run inside the
 * deletion's transaction with its manager. If this DELETE fails, the user is not deleted
 * either. (FK_projects_owner cascades too; the explicit DELETE is what an extension whose
 * rows have no foreign key to users, or live elsewhere, must do.)
 */
@UserLifecycleParticipant()
@Injectable()
export class ProjectsLifecycle implements UserLifecycleHooks {
  async onUserDeleted(userId: string, manager: EntityManager): Promise<void> {
    await manager.delete(Project, { ownerId: userId });
  }
}
