import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { IsSafeEmail, NormaliseEmail } from '../../common/email';

// class-validator runs a property's rules bottom-up and stops at the first failure:
// the type check sits nearest the property so a wrong type is reported as such.
export class LoginDto {
  @ApiProperty({ example: 'ada@example.com', maxLength: 254 })
  @NormaliseEmail()
  @IsSafeEmail()
  @MaxLength(254)
  @IsNotEmpty()
  @IsString()
  email: string;

  @ApiProperty({ format: 'password', example: 'correct horse battery staple' })
  @MaxLength(1024)
  @IsNotEmpty()
  @IsString()
  password: string;
}
