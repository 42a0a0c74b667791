import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { normaliseEmail } from '../common/email';
import { AttemptKeys, COUNTER_STORE, CounterStore } from './counter-store';
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
 * Per-account back-off (OWASP ASVS 2.2.1) on every check of a password or second factor:
 * after `threshold` wrong answers for one subject within the window, each further attempt
 * blocks that subject for a delay that doubles from 1 s up to `maxSeconds`
 * (LOGIN_BACKOFF_*). A block is short by design: an attacker can slow a user down, never
 * lock the account for long. Counted in the shared CounterStore (Redis when REDIS_URL is
 * set); each attempt is counted before its secret is checked (CounterStore.attempt), so a
 * burst of concurrent guesses gets no more tries than the same guesses one after another.
 */
@Injectable()
export class CredentialBackoffService {
  constructor(
    @Inject(COUNTER_STORE) private readonly store: CounterStore,
    @Inject(rateLimitConfig.KEY) private readonly config: RateLimitConfig,
  ) {}

  /**
   * Counts one attempt for this subject, as wrong until `succeeded` or `withdrawn` says
   * otherwise. Answers the seconds to wait when the subject is in back-off (nothing
   * counted: the caller answers 429), 0 when the attempt may go on.
   */
  async begin(subject: CredentialSubject): Promise<number> {
    const { threshold, windowSeconds, maxSeconds } = this.config.backoff;
    const blockedMs = await this.store.attempt(keys(subject), { windowMs: windowSeconds * 1000, threshold, maxMs: maxSeconds * 1000 });
    return Math.ceil(blockedMs / 1000);
  }

  /** The secret was right: the count starts over. */
  async succeeded(subject: CredentialSubject): Promise<void> {
    const { count, block } = keys(subject);
    await this.store.reset(count, block);
  }

  /** The attempt ended before its secret was judged (a refused input, a database failure): it does not count. */
  async withdrawn(subject: CredentialSubject): Promise<void> {
    await this.store.release(keys(subject));
  }

  /**
   * `check` as one attempt: refused with `refuse(retryAfterSeconds)` while in back-off;
   * a result resets the count; an error that `isWrongSecret` recognises stays counted,
   * any other is withdrawn.
   */
  async attempt<T>(
    subject: CredentialSubject,
    check: () => Promise<T>,
    isWrongSecret: (error: unknown) => boolean,
    refuse: (retryAfterSeconds: number) => Error,
  ): Promise<T> {
    const retryAfterSeconds = await this.begin(subject);
    if (retryAfterSeconds > 0) throw refuse(retryAfterSeconds);
    let result: T;
    try {
      result = await check();
    } catch (error) {
      if (!isWrongSecret(error)) await this.withdrawn(subject);
      throw error;
    }
    await this.succeeded(subject);
    return result;
  }
}

function keys({ key }: CredentialSubject): AttemptKeys {
  return { count: `${key}:failures`, block: `${key}:blocked` };
}

/** Counter keys name no email and no id in clear (they may sit in a shared Redis). */
function hashed(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
