import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { UserLifecycleHooks, UserLifecycleParticipant } from '../common/user-lifecycle';
import { MailService } from './mail.service';

/**
 * A deleted user's mail not yet sent goes with them, in the deletion's transaction: the
 * outbox names users without a foreign key (a row may outlive its user once sent).
 */
@UserLifecycleParticipant()
@Injectable()
export class MailLifecycle implements UserLifecycleHooks {
  constructor(private readonly mail: MailService) {}

  async onUserDeleted(userId: string, manager: EntityManager): Promise<void> {
    await this.mail.deletePendingForUser(userId, manager);
  }
}
