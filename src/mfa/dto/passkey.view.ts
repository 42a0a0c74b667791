import { ApiProperty } from '@nestjs/swagger';

/** One passkey as GET /users/me/passkeys lists it (and POST /auth/passkeys/register answers). */
export class PasskeyView {
  @ApiProperty({ format: 'uuid', description: 'For DELETE /users/me/passkeys/:id' })
  id: string;

  @ApiProperty({ example: 'MacBook Touch ID' })
  name: string;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'The last login with it; null before the first' })
  lastUsedAt: string | null;
}
