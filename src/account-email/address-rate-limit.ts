import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { normaliseEmail } from '../common/email';
import { COUNTER_STORE, CounterStore } from '../rate-limit/counter-store';
import { accountEmailConfig, AccountEmailConfig } from './account-email.config';

/**
 * EMAIL_RATE_LIMIT messages per address per EMAIL_RATE_WINDOW, counted in the store of the
 * other limits (Redis when REDIS_URL is set, so every instance shares it). Every request
 * that may mail an address counts, whether or not the address has an account: the count
 * costs the same for both, and tells nothing.
 */
@Injectable()
export class AddressRateLimit {
  constructor(
    @Inject(COUNTER_STORE) private readonly store: CounterStore,
    @Inject(accountEmailConfig.KEY) private readonly config: AccountEmailConfig,
  ) {}

  /** Counts one request to mail `address`: allowed while within the limit; otherwise when the window ends. */
  async take(address: string): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
    const { limit, windowSeconds } = this.config.rateLimit;
    // The key names no address in clear: it may sit in a shared Redis.
    const key = `email-address:${createHash('sha256').update(normaliseEmail(address)).digest('base64url')}`;
    const { count, resetInMs } = await this.store.increment(key, windowSeconds * 1000);
    return { allowed: count <= limit, retryAfterSeconds: Math.max(1, Math.ceil(resetInMs / 1000)) };
  }
}
