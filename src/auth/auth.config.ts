import { registerAs } from '@nestjs/config';
import { env } from '../config/env';

// The per-IP limits and the back-off after wrong passwords are configured in src/rate-limit/rate-limit.config.ts.
export const authConfig = registerAs('auth', () => ({
  /** Carry the refresh token in an HttpOnly cookie (`refresh_token`, Path=/auth) instead of the body. */
  cookies: env.boolean('AUTH_COOKIES', false),
}));

export type AuthConfig = ReturnType<typeof authConfig>;
