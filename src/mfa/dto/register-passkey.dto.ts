import { ApiProperty } from '@nestjs/swagger';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { IsNotEmpty, IsObject, IsString, MaxLength, ValidateIf } from 'class-validator';
import { Trim } from '../../common/transforms';

export class RegisterPasskeyDto {
  /** Checked field by field by @simplewebauthn/server: anything wrong in it is 400 passkey_invalid. */
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'What navigator.credentials.create() returned, in its JSON form (PublicKeyCredential.toJSON(), or @simplewebauthn/browser\'s startRegistration())',
  })
  @IsObject()
  response: RegistrationResponseJSON;

  @ApiProperty({ required: false, maxLength: 100, example: 'MacBook Touch ID', description: 'Shown in the list; "Passkey" when absent' })
  @ValidateIf((_, value) => value !== undefined)
  @Trim()
  @MaxLength(100)
  @IsNotEmpty()
  @IsString()
  name?: string;
}
