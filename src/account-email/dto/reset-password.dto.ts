import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { LinkTokenDto } from './link-token.dto';

// Rules run bottom-up, stopping at the first failure: the type check comes last.
export class ResetPasswordDto extends LinkTokenDto {
  /** Checked against the password policy by AccountEmailService (400 `validation_failed`; the token stays unspent). */
  @ApiProperty({ format: 'password', description: 'By default 8 to 128 characters, and not a common password' })
  @MaxLength(1024)
  @IsString()
  newPassword: string;
}
