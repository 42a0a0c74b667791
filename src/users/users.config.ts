import { availableParallelism } from 'node:os';
import { registerAs } from '@nestjs/config';
import { ConfigError, env } from '../config/env';

export const usersConfig = registerAs('users', () => {
  const production = env.isProduction();
  const bcryptCost = env.int('BCRYPT_COST', 12, { min: 4, max: 15 });
  if (production && bcryptCost < 10) {
    throw new ConfigError('BCRYPT_COST', `must be at least 10 with NODE_ENV=production, got ${bcryptCost}`);
  }
  const adminEmail = env.optional('ADMIN_EMAIL');
  const adminPassword = env.optional('ADMIN_PASSWORD');
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError(adminEmail ? 'ADMIN_PASSWORD' : 'ADMIN_EMAIL', 'must be set together with the other ADMIN_* variable');
  }
  return {
    bcryptCost,
    /** bcrypt operations at a time; more than the cores only queue, and starve the event loop. */
    bcryptConcurrency: env.int('BCRYPT_CONCURRENCY', availableParallelism(), { min: 1, max: 64 }),
    admin: adminEmail && adminPassword ? { email: adminEmail, password: adminPassword } : undefined,
    passwordPolicy: {
      minLength: env.int('PASSWORD_MIN_LENGTH', 8, { min: 8, max: 128 }),
      maxLength: 128,
      rejectCommon: env.boolean('PASSWORD_REJECT_COMMON', true),
    },
  };
});

export type UsersConfig = ReturnType<typeof usersConfig>;
