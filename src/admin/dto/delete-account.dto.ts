import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

// Rules run bottom-up, stopping at the first failure: the type check comes last.
export class DeleteAccountDto {
  @ApiProperty({ format: 'password', description: "The caller's password, checked again before the account is deleted" })
  @MaxLength(1024)
  @IsNotEmpty()
  @IsString()
  currentPassword: string;
}
