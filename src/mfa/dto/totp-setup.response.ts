import { ApiProperty } from '@nestjs/swagger';

/** POST /auth/mfa/totp/setup: shown once, for the user's authenticator app. */
export class TotpSetupResponse {
  @ApiProperty({ description: 'The TOTP secret in base32, to type in by hand', example: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' })
  secret: string;

  @ApiProperty({ description: 'otpauth://totp/<MFA_ISSUER>:<email>?secret=…&issuer=<MFA_ISSUER>, for a QR code' })
  otpauthUrl: string;
}
