import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { secretsConfig } from '../config/secrets.config';
import { MailModule } from '../mail/mail.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { UsersModule } from '../users/users.module';
import { MfaChallenge } from './mfa-challenge.entity';
import { MfaAccountService } from './mfa-account.service';
import { MfaChallengeService } from './mfa-challenge.service';
import { MfaClock } from './mfa-clock';
import { MfaCrypto } from './mfa-crypto';
import { MfaLifecycle } from './mfa.lifecycle';
import { MfaRecoveryCode } from './mfa-recovery-code.entity';
import { MfaTotp } from './mfa-totp.entity';
import { mfaConfig } from './mfa.config';
import { MfaController } from './mfa.controller';
import { Passkey } from './passkey.entity';
import { PasskeysController } from './passkeys.controller';
import { PasskeysService } from './passkeys.service';
import { TotpService } from './totp.service';
import { WebauthnChallenge } from './webauthn-challenge.entity';

/**
 * Second factors and passkeys: TOTP with recovery codes, the login's MFA challenge, and
 * WebAuthn; and the routes by which a signed-in user manages their own (MfaController,
 * PasskeysController, through MfaAccountService: users for the email and password, mail for
 * the notices, audit). The logins that open a session with them (POST /auth/mfa/verify,
 * /auth/passkeys/login) are AuthModule's, which imports this module: nothing here imports auth.
 */
@Module({
  imports: [
    ConfigModule.forFeature(mfaConfig),
    ConfigModule.forFeature(secretsConfig),
    TypeOrmModule.forFeature([MfaTotp, MfaRecoveryCode, MfaChallenge, Passkey, WebauthnChallenge]),
    UsersModule,
    MailModule,
    RateLimitModule,
  ],
  controllers: [MfaController, PasskeysController],
  providers: [MfaClock, MfaCrypto, TotpService, MfaChallengeService, PasskeysService, MfaLifecycle, MfaAccountService],
  exports: [TotpService, MfaChallengeService, PasskeysService],
})
export class MfaModule {}
