import { ApiProperty } from '@nestjs/swagger';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { IsNotEmpty, IsObject, IsString, MaxLength, ValidateIf } from 'class-validator';
import { IsSafeEmail, NormaliseEmail } from '../../common/email';

export class PasskeyLoginOptionsDto {
  /** Absent: any discoverable passkey may answer (the browser offers the accounts it holds). */
  @ApiProperty({ required: false, example: 'ada@example.com', maxLength: 254, description: "Narrows the options to that account's passkeys" })
  @ValidateIf((_, value) => value !== undefined)
  @NormaliseEmail()
  @IsSafeEmail()
  @MaxLength(254)
  @IsNotEmpty()
  @IsString()
  email?: string;
}

export class PasskeyLoginDto {
  /** Checked field by field by @simplewebauthn/server: anything wrong in it is 401 passkey_invalid. */
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: "What navigator.credentials.get() returned, in its JSON form (PublicKeyCredential.toJSON(), or @simplewebauthn/browser's startAuthentication())",
  })
  @IsObject()
  response: AuthenticationResponseJSON;
}
