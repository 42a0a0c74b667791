import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { UserLifecycleHooks, UserLifecycleParticipant } from '../common/user-lifecycle';
import { EmailTokensService } from './email-tokens.service';

/**
 * A disabled user's mailed links stop working with the disabling: a reset link must not
 * set a password, nor a confirmation move the address, afterwards. (A deleted user's
 * tokens go by the foreign key's cascade, their pending mail by MailService.)
 */
@UserLifecycleParticipant()
@Injectable()
export class AccountEmailLifecycle implements UserLifecycleHooks {
  constructor(private readonly tokens: EmailTokensService) {}

  async onUserDisabled(userId: string, manager: EntityManager): Promise<void> {
    await this.tokens.spendAll(userId, manager);
  }
}
