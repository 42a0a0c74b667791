import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength, ValidateIf } from 'class-validator';

/** `{ mfaToken, code }` or `{ mfaToken, recoveryCode }`: exactly one of the two (checked by MfaLoginService). */
export class MfaVerifyDto {
  @ApiProperty({ description: 'From the 403 mfa_required answer of POST /auth/login; lives 5 minutes', maxLength: 128 })
  @MaxLength(128)
  @IsNotEmpty()
  @IsString()
  mfaToken: string;

  @ApiProperty({ required: false, description: "The authenticator app's 6-digit code (not with recoveryCode)", example: '123456', maxLength: 32 })
  @ValidateIf((_, value) => value !== undefined)
  @MaxLength(32)
  @IsNotEmpty()
  @IsString()
  code?: string;

  @ApiProperty({ required: false, description: 'One of the recovery codes, `xxxxx-xxxxx`; each works once (not with code)', example: '7h3kq-z9m2c', maxLength: 32 })
  @ValidateIf((_, value) => value !== undefined)
  @MaxLength(32)
  @IsNotEmpty()
  @IsString()
  recoveryCode?: string;
}
