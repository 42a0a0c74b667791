import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { IsSafeEmail, NormaliseEmail } from '../../common/email';

/** An address to mail a link to (resend, forgot): malformed is 400; known or not, the answer is the same. */
export class EmailRequestDto {
  @ApiProperty({ example: 'ada@example.com', maxLength: 254 })
  @NormaliseEmail()
  @IsEmail({}, { message: 'email must be an email address' })
  @IsSafeEmail()
  @MaxLength(254)
  @IsNotEmpty()
  @IsString()
  email: string;
}
