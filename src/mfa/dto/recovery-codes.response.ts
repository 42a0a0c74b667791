import { ApiProperty } from '@nestjs/swagger';

/** POST /auth/mfa/totp/enable and POST /auth/mfa/recovery-codes: shown once; each code works once. */
export class RecoveryCodesResponse {
  @ApiProperty({ type: [String], example: ['7h3kq-z9m2c', 'p0w4x-ttr8e'], description: '10 codes of 50 random bits, `xxxxx-xxxxx`' })
  recoveryCodes: string[];
}
