import { Injectable, Module, OnModuleInit } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import type { EntityManager } from 'typeorm';

/**
 * How a module takes part in a user's life without `users/` knowing it exists
 * (ARCHITECTURE.md, mechanism 3). A provider marked `@UserLifecycleParticipant()` is
 * found at start; its hooks run inside the transaction of the change, with its manager,
 * so that the change and every module's part in it commit together or not at all.
 *
 * ```ts
 * @UserLifecycleParticipant()
 * @Injectable()
 * export class ProjectsLifecycle implements UserLifecycleHooks {
 *   async onUserDeleted(userId: string, manager: EntityManager) {
 *     await manager.delete(Project, { ownerId: userId });
 *   }
 * }
 * ```
 */
export interface UserLifecycleHooks {
  /** The user is being deleted: delete what this module owns of them. */
  onUserDeleted?(userId: string, manager: EntityManager): Promise<void>;
  /** The user is being disabled: end what lets them act (sessions, pending links). */
  onUserDisabled?(userId: string, manager: EntityManager): Promise<void>;
}

export const UserLifecycleParticipant = DiscoveryService.createDecorator<void>();

type Hook = keyof UserLifecycleHooks;

/** Runs every participant's hook, in module order, inside the caller's transaction. */
@Injectable()
export class UserLifecycle implements OnModuleInit {
  private participants: UserLifecycleHooks[] = [];

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    this.participants = this.discovery
      .getProviders({ metadataKey: UserLifecycleParticipant.KEY })
      .map((wrapper) => wrapper.instance as UserLifecycleHooks)
      .filter((instance) => instance !== undefined && instance !== null);
  }

  userDeleted(userId: string, manager: EntityManager): Promise<void> {
    return this.run('onUserDeleted', userId, manager);
  }

  userDisabled(userId: string, manager: EntityManager): Promise<void> {
    return this.run('onUserDisabled', userId, manager);
  }

  private async run(hook: Hook, userId: string, manager: EntityManager): Promise<void> {
    // One after another: they share the transaction's connection.
    for (const participant of this.participants) await participant[hook]?.(userId, manager);
  }
}

@Module({
  imports: [DiscoveryModule],
  providers: [UserLifecycle],
  exports: [UserLifecycle],
})
export class UserLifecycleModule {}
