import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { IsEmailAddress } from '../../common/email';

// Rules run bottom-up, stopping at the first failure: the type check comes last.
export class ChangeEmailDto {
  @ApiProperty({ format: 'email', maxLength: 254, example: 'ada@new.example.com', description: 'Normalised as at registration' })
  @IsEmailAddress('newEmail')
  @IsString()
  newEmail: string;

  @ApiProperty({ format: 'password' })
  @MaxLength(1024)
  @IsNotEmpty()
  @IsString()
  currentPassword: string;
}
