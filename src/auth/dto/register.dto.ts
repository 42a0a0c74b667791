import { IsEmail, IsOptional, IsString, MaxLength } from 'class-validator';
import { NormaliseEmail, Trim } from '../../common/transforms';

// Rules run bottom-up, stopping at the first failure: the type check comes last.
export class RegisterDto {
  @NormaliseEmail()
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  @IsString()
  email: string;

  /** Checked against the password policy by UsersService (length, common passwords). */
  @MaxLength(1024)
  @IsString()
  password: string;

  @IsOptional()
  @Trim()
  @MaxLength(100)
  @IsString()
  displayName?: string | null;
}
