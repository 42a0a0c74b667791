import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { AuditChainMark } from '../audit/audit-chain-mark.entity';
import { AuditEvent } from '../audit/audit-event.entity';
import { EmailToken } from '../account-email/email-token.entity';
import { OutboxMessage } from '../mail/outbox-message.entity';
import { MfaChallenge } from '../mfa/mfa-challenge.entity';
import { MfaRecoveryCode } from '../mfa/mfa-recovery-code.entity';
import { MfaTotp } from '../mfa/mfa-totp.entity';
import { Passkey } from '../mfa/passkey.entity';
import { WebauthnChallenge } from '../mfa/webauthn-challenge.entity';
import { Project } from '../projects/project.entity';
import { RefreshToken } from '../tokens/refresh-token.entity';
import { Session } from '../tokens/session.entity';
import { User } from '../users/user.entity';
import { CreateUsers1763798400000 } from './migrations/1763798400000-CreateUsers';
import { CreateRefreshTokens1763884800000 } from './migrations/1763884800000-CreateRefreshTokens';
import { CreateProjects1763971200000 } from './migrations/1763971200000-CreateProjects';
import { CreateAuditEvents1764100000000 } from './migrations/1764100000000-CreateAuditEvents';
import { CreateSessions1764115200000 } from './migrations/1764115200000-CreateSessions';
import { CreateMailOutbox1764200000000 } from './migrations/1764200000000-CreateMailOutbox';
import { CreateUserTokenCutoffs1764300000000 } from './migrations/1764300000000-CreateUserTokenCutoffs';
import { AddUserStatus1764400000000 } from './migrations/1764400000000-AddUserStatus';
import { CreateMfa1764500000000 } from './migrations/1764500000000-CreateMfa';
import { CreateEmailTokens1764600000000 } from './migrations/1764600000000-CreateEmailTokens';
import type { DatabaseConfig } from './database.config';
import { createPgliteDriver } from './pglite-driver';

/** Listed, not globbed, so that the same list works from `src/` under the test runner and from `dist/`. */
export const ENTITIES = [User, Session, RefreshToken, Project, OutboxMessage, AuditEvent, AuditChainMark,
  MfaTotp, MfaRecoveryCode, MfaChallenge, Passkey, WebauthnChallenge, EmailToken];
export const MIGRATIONS = [CreateUsers1763798400000, CreateRefreshTokens1763884800000, CreateProjects1763971200000, CreateAuditEvents1764100000000, CreateSessions1764115200000,
  CreateMailOutbox1764200000000, CreateUserTokenCutoffs1764300000000, AddUserStatus1764400000000, CreateMfa1764500000000,
  CreateEmailTokens1764600000000];

/** One description of the database for the app (database.module.ts) and the CLI (ormconfig.ts). */
export function buildDataSourceOptions(config: Pick<DatabaseConfig, 'url' | 'dataDir'>): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    // TypeORM's query logger prints parameters, which include password hashes.
    logging: false,
    uuidExtension: 'pgcrypto' as const,
    installExtensions: false,
  };
  if (config.url) {
    return {
      ...common,
      url: config.url,
      poolSize: 10,
      connectTimeoutMS: 3000,
      // A request never waits on a stuck database for long: it fails and gets 503.
      extra: { statement_timeout: 10_000, query_timeout: 15_000, idle_in_transaction_session_timeout: 30_000 },
    };
  }
  return { ...common, driver: createPgliteDriver(join(config.dataDir, 'pgdata')) };
}
