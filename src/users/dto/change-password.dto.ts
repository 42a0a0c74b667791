import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

// Rules run bottom-up, stopping at the first failure: the type check comes last.
export class ChangePasswordDto {
  @MaxLength(1024)
  @IsNotEmpty()
  @IsString()
  currentPassword: string;

  /** Checked against the password policy by UsersService. */
  @MaxLength(1024)
  @IsString()
  newPassword: string;
}
