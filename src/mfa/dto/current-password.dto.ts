import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

/** DELETE /auth/mfa/totp and POST /auth/mfa/recovery-codes: the password again, besides the aal 2 token. */
export class CurrentPasswordDto {
  @ApiProperty({ format: 'password' })
  @MaxLength(1024)
  @IsNotEmpty()
  @IsString()
  currentPassword: string;
}
