import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { normaliseEmail } from '../common/email';
import { appConfig, AppConfig } from '../config/app.config';
import { renderMail, type OutgoingMail } from './mail-templates';
import { OutboxMessage } from './outbox-message.entity';

/**
 * Queues mail. A message is a row of the outbox written in the caller's transaction, so
 * that it goes out if and only if the action that causes it commits; MailWorker sends it.
 */
@Injectable()
export class MailService {
  constructor(@Inject(appConfig.KEY) private readonly app: AppConfig) {}

  /**
   * Queues one message in the transaction of `manager` (explicit: a message queued outside
   * its action's transaction could go out for an action that rolled back). The message is
   * rendered once here, so that parameters that do not fit fail the caller, not the worker.
   * Returns the outbox row's id.
   */
  async enqueue(message: OutgoingMail, manager: EntityManager): Promise<string> {
    const to = normaliseEmail(message.to);
    // A row no server would take would be retried for MAIL_GIVE_UP_AFTER: refused here (the address is not echoed).
    if (to.length > 320 || !/^[^\s@]+@[^\s@]+$/.test(to)) throw new Error('MailService.enqueue: "to" is not one email address');
    renderMail(message.template, message.params, this.app.appUrl);
    const id = randomUUID();
    await manager.insert(OutboxMessage, {
      id,
      to,
      template: message.template,
      params: message.params as unknown as Record<string, string | null>,
      userId: message.userId ?? null,
    });
    return id;
  }

  /** Drops the mail not yet sent to this address (an account deleted, an address replaced). Returns how many. */
  async deletePendingTo(address: string, manager: EntityManager): Promise<number> {
    const result = await manager.delete(OutboxMessage, { to: normaliseEmail(address), status: 'pending' });
    return result.affected ?? 0;
  }

  /** Drops the mail not yet sent about this user, whatever the address (a pending email change's confirmation too). */
  async deletePendingForUser(userId: string, manager: EntityManager): Promise<number> {
    const result = await manager.delete(OutboxMessage, { userId, status: 'pending' });
    return result.affected ?? 0;
  }
}
