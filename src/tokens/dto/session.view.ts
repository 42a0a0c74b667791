import { ApiProperty } from '@nestjs/swagger';

/** One live session as GET /auth/sessions lists it. */
export class SessionView {
  @ApiProperty({ format: 'uuid', description: 'The session id, for DELETE /auth/sessions/:id (and the access tokens\' `sid`)' })
  id: string;

  @ApiProperty({ format: 'date-time', description: 'When the session was opened (login or register)' })
  createdAt: string;

  @ApiProperty({ format: 'date-time', description: 'When its refresh token was last rotated' })
  lastUsedAt: string;

  @ApiProperty({ format: 'date-time', description: 'When its current refresh token expires' })
  expiresAt: string;

  @ApiProperty({ type: String, nullable: true })
  userAgent: string | null;

  @ApiProperty({ type: String, nullable: true })
  ip: string | null;
}
