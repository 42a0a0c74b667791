import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

// Rules run bottom-up, stopping at the first failure: the type check comes last.
export class EnableTotpDto {
  /** Any string: a code that is not 6 digits is a wrong code (400 mfa_code_invalid), not a malformed body. */
  @ApiProperty({ description: 'The 6-digit code the authenticator app shows for the secret of POST /auth/mfa/totp/setup', example: '123456', maxLength: 32 })
  @MaxLength(32)
  @IsNotEmpty()
  @IsString()
  code: string;
}
