import type { DatabaseSchema } from './database/data-source-options';
import { EmailToken } from './account-email/email-token.entity';
import { EmailRequest } from './account-email/email-request.entity';
import { CreateEmailTokens1764600000000 } from './account-email/migrations/1764600000000-CreateEmailTokens';
import { CreateEmailRequests1764700000000 } from './account-email/migrations/1764700000000-CreateEmailRequests';
import { AuditChainMark } from './audit/audit-chain-mark.entity';
import { AuditEvent } from './audit/audit-event.entity';
import { CreateAuditEvents1764100000000 } from './audit/migrations/1764100000000-CreateAuditEvents';
import { CreateMailOutbox1764200000000 } from './mail/migrations/1764200000000-CreateMailOutbox';
import { OutboxMessage } from './mail/outbox-message.entity';
import { CreateMfa1764500000000 } from './mfa/migrations/1764500000000-CreateMfa';
import { MfaChallenge } from './mfa/mfa-challenge.entity';
import { MfaRecoveryCode } from './mfa/mfa-recovery-code.entity';
import { MfaTotp } from './mfa/mfa-totp.entity';
import { Passkey } from './mfa/passkey.entity';
import { WebauthnChallenge } from './mfa/webauthn-challenge.entity';
import { CreateProjects1763971200000 } from './projects/migrations/1763971200000-CreateProjects';
import { Project } from './projects/project.entity';
import { CreateRefreshTokens1763884800000 } from './tokens/migrations/1763884800000-CreateRefreshTokens';
import { CreateSessions1764115200000 } from './tokens/migrations/1764115200000-CreateSessions';
import { CreateUserTokenCutoffs1764300000000 } from './tokens/migrations/1764300000000-CreateUserTokenCutoffs';
import { RefreshToken } from './tokens/refresh-token.entity';
import { Session } from './tokens/session.entity';
import { AddUserStatus1764400000000 } from './users/migrations/1764400000000-AddUserStatus';
import { CreateUsers1763798400000 } from './users/migrations/1763798400000-CreateUsers';
import { User } from './users/user.entity';

/**
 * Every module's tables: its entities, and its migrations in the order they run. Listed
 * here, at the composition root beside app.module.ts, so that the database layer names no
 * feature; listed, not globbed, so that the same list works from `src/` under the test
 * runner and from `dist/`. A module's migrations live in its own `migrations/` folder.
 */
export const SCHEMA: DatabaseSchema = {
  entities: [User, Session, RefreshToken, Project, OutboxMessage, AuditEvent, AuditChainMark,
    MfaTotp, MfaRecoveryCode, MfaChallenge, Passkey, WebauthnChallenge, EmailToken, EmailRequest],
  migrations: [CreateUsers1763798400000, CreateRefreshTokens1763884800000, CreateProjects1763971200000, CreateAuditEvents1764100000000, CreateSessions1764115200000,
    CreateMailOutbox1764200000000, CreateUserTokenCutoffs1764300000000, AddUserStatus1764400000000, CreateMfa1764500000000,
    CreateEmailTokens1764600000000, CreateEmailRequests1764700000000],
};
