import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { UserLifecycleHooks, UserLifecycleParticipant } from '../common/user-lifecycle';

/**
 * A disabled user's ceremonies in flight end with the disabling: an mfaToken earned by the
 * password, or a passkey challenge, must not finish a login afterwards. (A deleted user's
 * rows go by the foreign keys' cascade.)
 */
@UserLifecycleParticipant()
@Injectable()
export class MfaLifecycle implements UserLifecycleHooks {
  async onUserDisabled(userId: string, manager: EntityManager): Promise<void> {
    await manager.query(`DELETE FROM mfa_challenges WHERE user_id = $1`, [userId]);
    await manager.query(`DELETE FROM webauthn_challenges WHERE user_id = $1`, [userId]);
  }
}
