import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { secretsConfig } from '../config/secrets.config';
import { MfaChallenge } from './mfa-challenge.entity';
import { MfaChallengeService } from './mfa-challenge.service';
import { MfaClock } from './mfa-clock';
import { MfaCrypto } from './mfa-crypto';
import { MfaLifecycle } from './mfa.lifecycle';
import { MfaRecoveryCode } from './mfa-recovery-code.entity';
import { MfaTotp } from './mfa-totp.entity';
import { mfaConfig } from './mfa.config';
import { Passkey } from './passkey.entity';
import { PasskeysService } from './passkeys.service';
import { TotpService } from './totp.service';
import { WebauthnChallenge } from './webauthn-challenge.entity';

/**
 * Second factors and passkeys: TOTP with recovery codes, the login's MFA challenge, and
 * WebAuthn. Services only; the routes and the login's use of them belong to AuthModule.
 * Depends on no feature module (users are named by id; the FKs name 'User' by string).
 */
@Module({
  imports: [
    ConfigModule.forFeature(mfaConfig),
    ConfigModule.forFeature(secretsConfig),
    TypeOrmModule.forFeature([MfaTotp, MfaRecoveryCode, MfaChallenge, Passkey, WebauthnChallenge]),
  ],
  providers: [MfaClock, MfaCrypto, TotpService, MfaChallengeService, PasskeysService, MfaLifecycle],
  exports: [TotpService, MfaChallengeService, PasskeysService],
})
export class MfaModule {}
