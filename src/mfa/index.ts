/** What other modules use of MFA: AuthModule's routes and its login's second step. */
export { MfaModule } from './mfa.module';
export { TotpService, type TotpSetup } from './totp.service';
export {
  MfaChallengeService,
  type MfaCheck,
  type MfaChallengeFailure,
  type PassedMfaChallenge,
  MFA_CHALLENGE_MAX_FAILURES,
  MFA_CHALLENGE_TTL_SECONDS,
} from './mfa-challenge.service';
export { PasskeysService, type PasskeyLogin, type PasskeyUser, WEBAUTHN_CHALLENGE_TTL_SECONDS } from './passkeys.service';
export { PasskeyView } from './dto/passkey.view';
export { TotpSetupResponse } from './dto/totp-setup.response';
export { RecoveryCodesResponse } from './dto/recovery-codes.response';
export { PasskeyCreationOptions, PasskeyRequestOptions } from './dto/webauthn-options.response';
