import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { normaliseEmail } from '../common/email';
import { COUNTER_STORE, CounterStore } from './counter-store';
import { rateLimitConfig, RateLimitConfig } from './rate-limit.config';

/**
 * Whose wrong passwords are counted. Logins count per email, known or not (so that the
 * back-off tells nothing about whether an account exists); a route that re-checks the
 * caller's current password counts per user, and all such routes share that count.
 */
export type CredentialSubject = { readonly key: string };

export const loginSubject = (email: string): CredentialSubject => ({ key: `login:${hashed(normaliseEmail(email))}` });
export const currentPasswordSubject = (userId: string): CredentialSubject => ({ key: `current-password:${hashed(userId)}` });
/**
 * Wrong second factors (TOTP or recovery codes at POST /auth/mfa/verify), per user, across
 * mfaTokens: a thief who has the password cannot reset it by logging in again.
 */
export const mfaSubject = (userId: string): CredentialSubject => ({ key: `mfa:${hashed(userId)}` });

/**
 * Per-account back-off (OWASP ASVS 2.2.1) on every check of a password: after `threshold`
 * wrong passwords for one subject within the window, each further failure blocks that
 * subject for a delay that doubles from 1 s up to `maxSeconds` (LOGIN_BACKOFF_*). A block
 * is short by design: an attacker can slow a user down, never lock the account for long.
 * Counted in the shared CounterStore (Redis when REDIS_URL is set).
 */
@Injectable()
export class CredentialBackoffService {
  constructor(
    @Inject(COUNTER_STORE) private readonly store: CounterStore,
    @Inject(rateLimitConfig.KEY) private readonly config: RateLimitConfig,
  ) {}

  /** Seconds until this subject may try again; 0 when it is not in back-off. */
  async retryAfterSeconds(subject: CredentialSubject): Promise<number> {
    return Math.ceil((await this.store.blockedFor(keys(subject).blocked)) / 1000);
  }

  async recordFailure(subject: CredentialSubject): Promise<void> {
    const { threshold, windowSeconds, maxSeconds } = this.config.backoff;
    const { failures, blocked } = keys(subject);
    const { count } = await this.store.increment(failures, windowSeconds * 1000);
    if (count < threshold) return;
    const delaySeconds = Math.min(2 ** (count - threshold), maxSeconds);
    await this.store.block(blocked, delaySeconds * 1000);
  }

  async recordSuccess(subject: CredentialSubject): Promise<void> {
    const { failures, blocked } = keys(subject);
    await this.store.reset(failures, blocked);
  }
}

function keys({ key }: CredentialSubject) {
  return { failures: `${key}:failures`, blocked: `${key}:blocked` };
}

/** Counter keys name no email and no id in clear (they may sit in a shared Redis). */
function hashed(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
