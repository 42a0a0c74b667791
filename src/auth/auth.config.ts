import { registerAs } from '@nestjs/config';
import { env } from '../config/env';

export const authConfig = registerAs('auth', () => ({
  rateLimit: {
    limit: env.int('AUTH_RATE_LIMIT', 10, { min: 1, max: 1_000_000 }),
    windowSeconds: env.int('AUTH_RATE_WINDOW', 60, { min: 1, max: 86_400 }),
  },
  /** Also carry the refresh token in an HttpOnly cookie (`refresh_token`, Path=/auth). */
  cookies: env.boolean('AUTH_COOKIES', false),
}));

export type AuthConfig = ReturnType<typeof authConfig>;
