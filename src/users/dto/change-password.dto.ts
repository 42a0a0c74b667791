import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

// Rules run bottom-up, stopping at the first failure: the type check comes last.
export class ChangePasswordDto {
  @ApiProperty({ format: 'password' })
  @MaxLength(1024)
  @IsNotEmpty()
  @IsString()
  currentPassword: string;

  /** Checked against the password policy by UsersService. */
  @ApiProperty({ format: 'password', description: 'By default 8 to 128 characters, and not a common password' })
  @MaxLength(1024)
  @IsString()
  newPassword: string;
}
