import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

/**
 * The caller's password again, where a valid token is not enough: DELETE /users/me,
 * DELETE /auth/mfa/totp and POST /auth/mfa/recovery-codes.
 */
export class CurrentPasswordDto {
  @ApiProperty({ format: 'password', description: "The caller's password, checked again before the change" })
  @MaxLength(1024)
  @IsNotEmpty()
  @IsString()
  currentPassword: string;
}
