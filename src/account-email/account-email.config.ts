import { registerAs } from '@nestjs/config';
import { ConfigError, env } from '../config/env';

/** `off`: no verification mail; `optional`: sent, login allowed; `required`: login needs a verified address. */
export type EmailVerificationMode = 'off' | 'optional' | 'required';

const MODES: readonly EmailVerificationMode[] = ['off', 'optional', 'required'];

/** The emailed links (verification, reset, email change) and the per-address limit on the mail they send. */
export const accountEmailConfig = registerAs('accountEmail', () => {
  const verificationTtlSeconds = env.durationSeconds('EMAIL_VERIFICATION_TTL', '24h');
  const resetTtlSeconds = env.durationSeconds('PASSWORD_RESET_TTL', '30m');
  // A link is a bearer credential in a mailbox: a long life only widens the window in which a copy of it works.
  if (verificationTtlSeconds > 30 * 86_400) throw new ConfigError('EMAIL_VERIFICATION_TTL', `must be at most 30d, got ${verificationTtlSeconds} seconds`);
  if (resetTtlSeconds > 86_400) throw new ConfigError('PASSWORD_RESET_TTL', `must be at most 24h, got ${resetTtlSeconds} seconds`);
  return {
    verification: parseMode(env.string('EMAIL_VERIFICATION', 'optional')),
    /** Lifetime of a verification link, and of an email change's confirmation link (it verifies the new address). */
    verificationTtlSeconds,
    resetTtlSeconds,
    /** Messages per address per window from the routes that mail a link (resend, forgot, email change). */
    rateLimit: {
      limit: env.int('EMAIL_RATE_LIMIT', 5, { min: 1, max: 1_000_000 }),
      windowSeconds: env.durationSeconds('EMAIL_RATE_WINDOW', '1h'),
    },
  };
});

export type AccountEmailConfig = ReturnType<typeof accountEmailConfig>;

function parseMode(value: string): EmailVerificationMode {
  const mode = value.toLowerCase() as EmailVerificationMode;
  if (!MODES.includes(mode)) throw new ConfigError('EMAIL_VERIFICATION', `must be off, optional or required, got "${value}"`);
  return mode;
}
