import { ApiProperty } from '@nestjs/swagger';

/**
 * What the browser's navigator.credentials.create() takes, in the JSON form
 * (PublicKeyCredential.parseCreationOptionsFromJSON(), or @simplewebauthn/browser's
 * startRegistration()). Documented in its main fields; the rest is WebAuthn's.
 */
export class PasskeyCreationOptions {
  @ApiProperty({ description: 'base64url; single use, good for 5 minutes', example: 'Xx2CvJ6eTE4w3m5D0Wq0kYbL3bAVHgB9v1x7cQ3m3zE' })
  challenge: string;

  @ApiProperty({ description: 'The relying party: WEBAUTHN_RP_ID and WEBAUTHN_RP_NAME', example: { id: 'example.com', name: 'auth-service' } })
  rp: { id?: string; name: string };

  @ApiProperty({ description: "The account: id is the user handle (base64url of the user's id), name the email", example: { id: 'AZLy…', name: 'ada@example.com', displayName: 'Ada' } })
  user: { id: string; name: string; displayName: string };

  @ApiProperty({ description: 'EdDSA (-8), ES256 (-7), RS256 (-257)', example: [{ type: 'public-key', alg: -7 }] })
  pubKeyCredParams: Array<{ type: string; alg: number }>;

  @ApiProperty({ example: 300000 })
  timeout?: number;

  @ApiProperty({ description: "The caller's passkeys, so that an authenticator does not register twice", example: [] })
  excludeCredentials?: Array<{ id: string; type: string; transports?: string[] }>;

  @ApiProperty({ example: { residentKey: 'preferred', userVerification: 'preferred', requireResidentKey: false } })
  authenticatorSelection?: Record<string, unknown>;

  @ApiProperty({ example: 'none' })
  attestation?: string;
}

/**
 * What navigator.credentials.get() takes, in the JSON form
 * (PublicKeyCredential.parseRequestOptionsFromJSON(), or @simplewebauthn/browser's startAuthentication()).
 */
export class PasskeyRequestOptions {
  @ApiProperty({ description: 'base64url; single use, good for 5 minutes' })
  challenge: string;

  @ApiProperty({ example: 'example.com' })
  rpId?: string;

  @ApiProperty({
    required: false,
    description: "With an email: that account's passkeys (none for an unknown address). Without: absent, and any discoverable passkey may answer",
    example: [{ id: 'base64url credential id', type: 'public-key', transports: ['internal'] }],
  })
  allowCredentials?: Array<{ id: string; type: string; transports?: string[] }>;

  @ApiProperty({ example: 300000 })
  timeout?: number;

  @ApiProperty({ description: 'required: a passkey login stands for both factors', example: 'required' })
  userVerification?: string;
}
