import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { IsEmailAddress } from '../../common/email';
import { Trim } from '../../common/transforms';

// Rules run bottom-up, stopping at the first failure: the type check comes last.
export class RegisterDto {
  @ApiProperty({ format: 'email', maxLength: 254, example: 'ada@example.com', description: 'NFKC-normalised, trimmed and lower-cased; invisible, bidi and control characters, and a part that mixes scripts, are refused' })
  @IsEmailAddress()
  @IsString()
  email: string;

  /** Checked against the password policy by UsersService (length, common passwords). */
  @ApiProperty({
    format: 'password',
    example: 'correct horse battery staple',
    description: 'By default 8 to 128 characters, and not a common password',
  })
  @MaxLength(1024)
  @IsString()
  password: string;

  @ApiProperty({ type: String, required: false, nullable: true, maxLength: 100, example: 'Ada' })
  @IsOptional()
  @Trim()
  @MaxLength(100)
  @IsString()
  displayName?: string | null;
}
