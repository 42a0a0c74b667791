import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { accountEmailConfig, AccountEmailConfig } from './account-email.config';
import { EmailTokensService } from './email-tokens.service';

/** Whose address a verification link goes to. */
export interface VerificationRecipient {
  id: string;
  email: string;
  displayName: string | null;
}

/**
 * EMAIL_VERIFICATION as registration and login see it: what AuthService needs of this
 * module, and no more (AccountEmailService has the routes' flows).
 */
@Injectable()
export class EmailVerificationService {
  constructor(
    @Inject(accountEmailConfig.KEY) private readonly config: AccountEmailConfig,
    private readonly tokens: EmailTokensService,
  ) {}

  /** `off` sends no link; `optional` sends one; `required` also keeps an unverified account from logging in. */
  get mode(): AccountEmailConfig['verification'] {
    return this.config.verification;
  }

  get required(): boolean {
    return this.config.verification === 'required';
  }

  /**
   * In the registration's transaction: the new account's verification link (a token and
   * its outbox row), unless EMAIL_VERIFICATION=off. No per-address limit: the address is
   * new to the service, and registration is limited per IP.
   */
  async onRegistered(user: VerificationRecipient, manager: EntityManager): Promise<void> {
    if (this.config.verification !== 'off') await this.queueLink(user, manager);
  }

  /** A verification link for this account, in the caller's transaction. */
  async queueLink(user: VerificationRecipient, manager: EntityManager): Promise<void> {
    await this.tokens.mailLink(
      { userId: user.id, purpose: 'verify_email', ttlSeconds: this.config.verificationTtlSeconds, to: user.email, displayName: user.displayName },
      manager,
    );
  }
}
