import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { parseArgs } from 'node:util';
import { AppModule } from '../app.module';
import { ApiError } from '../common/api-error';
import { ConfigError } from '../config/env';
import { Role } from '../common/auth';
import { UsersService } from '../users/users.service';

/**
 * npm run user:create -- --email ada@example.com --password '…' [--admin] [--name Ada]
 *
 * Creates an account in the database the service uses (same DATABASE_URL / DATA_DIR,
 * same migrations and password policy). With the embedded PGlite, stop the service
 * first: its data directory serves one process at a time.
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
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'], abortOnError: false });
  try {
    const user = await app.get(UsersService).create({
      email: values.email,
      password: values.password,
      displayName: values.name ?? null,
      roles: values.admin ? [Role.User, Role.Admin] : [Role.User],
    });
    console.log(`created ${user.email} (${user.id}) with roles ${user.roles.join(', ')}`);
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
  process.exit(1);
});
