import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { normaliseEmail } from '../common/email';
import { authConfig, AuthConfig } from './auth.config';
import { COUNTER_STORE, CounterStore } from './rate-limit/counter-store';

/**
 * Per-account back-off (OWASP ASVS 2.2.1): after `threshold` failed logins for one
 * account within the window, each further failure blocks that account's logins for a
 * delay that doubles from 1 s up to `maxSeconds`. A block is short by design: an
 * attacker can slow a user's logins down, never lock the account for long. Counters are
 * keyed by a hash of the normalised email, for known and unknown accounts alike.
 */
@Injectable()
export class LoginBackoffService {
  constructor(
    @Inject(COUNTER_STORE) private readonly store: CounterStore,
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
  ) {}

  /** Seconds until this account may try again; 0 when it is not in back-off. */
  async retryAfterSeconds(email: string): Promise<number> {
    return Math.ceil((await this.store.blockedFor(this.keys(email).blocked)) / 1000);
  }

  async recordFailure(email: string): Promise<void> {
    const { threshold, windowSeconds, maxSeconds } = this.config.loginBackoff;
    const keys = this.keys(email);
    const { count } = await this.store.increment(keys.failures, windowSeconds * 1000);
    if (count < threshold) return;
    const delaySeconds = Math.min(2 ** (count - threshold), maxSeconds);
    await this.store.block(keys.blocked, delaySeconds * 1000);
  }

  async recordSuccess(email: string): Promise<void> {
    const keys = this.keys(email);
    await this.store.reset(keys.failures, keys.blocked);
  }

  private keys(email: string) {
    const account = createHash('sha256').update(normaliseEmail(email)).digest('base64url');
    return { failures: `login-failures:${account}`, blocked: `login-blocked:${account}` };
  }
}
