import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { parseArgs } from 'node:util';
import { AppModule } from '../app.module';
import { ApiError } from '../common/api-error';
import { Role } from '../common/auth';
import { ConfigError } from '../config/env';
import { UsersService } from '../users/users.service';

/**
 * npm run user:create -- --email ada@example.com --password '…' [--admin] [--name Ada]
 *
 * Creates an account in the database the service uses (same DATABASE_URL / DATA_DIR,
 * same migrations and password policy). With the embedded PGlite, stop the service
 * first: its data directory serves one process at a time.
 *
 * Exit status: 0 when the account was created, or exists already with the roles asked
 * for (then nothing is changed, its password neither); 1 otherwise, with the reason.
 * The process ends by itself once the database is closed.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      name: { type: 'string' },
      admin: { type: 'boolean', default: false },
    },
  });
  if (!values.email || !values.password) {
    throw new UsageError('usage: npm run user:create -- --email <email> --password <password> [--admin] [--name <display name>]');
  }
  const roles = values.admin ? [Role.User, Role.Admin] : [Role.User];
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'], abortOnError: false });
  try {
    const users = app.get(UsersService);
    try {
      const user = await users.create({ email: values.email, password: values.password, displayName: values.name ?? null, roles });
      console.log(`created ${user.email} (${user.id}) with roles ${user.roles.join(', ')}`);
    } catch (error) {
      const existing = error instanceof ApiError && error.getStatus() === 409 ? await users.findByEmail(values.email) : null;
      if (!existing) throw error;
      const missing = roles.filter((role) => !existing.roles.includes(role));
      const state = `${existing.email} (${existing.id}) exists already with roles ${existing.roles.join(', ')}`;
      if (missing.length > 0) {
        // Not granted here: a role given to an existing account is an admin's act (PATCH /users/:id/roles).
        throw new UsageError(`${state}, not ${missing.join(', ')}: nothing changed (an admin grants roles with PATCH /users/${existing.id}/roles)`);
      }
      console.log(`${state}: nothing changed (its password neither)`);
    }
  } finally {
    await app.close();
  }
}

class UsageError extends Error {}

main().catch((error: unknown) => {
  if (error instanceof ApiError) {
    const body = error.getResponse() as { message: string | string[] };
    console.error([body.message].flat().join('\n'));
  } else if (error instanceof UsageError || error instanceof ConfigError) {
    console.error(error.message);
  } else {
    console.error(error);
  }
  // A start that failed (a ConfigError, say) may leave the database opening in the
  // background with no context to close it. On success the process ends by itself.
  process.exit(1);
});
