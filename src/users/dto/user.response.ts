import { ApiProperty } from '@nestjs/swagger';
import type { User } from '../user.entity';
import { Role } from '../../common/auth';

/** The contract's user object. The only way a User leaves the service: no hash, ever. */
export class UserResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'email', description: 'Trimmed and lower-cased', example: 'ada@example.com' })
  email: string;

  @ApiProperty({ type: String, nullable: true, example: 'Ada' })
  displayName: string | null;

  @ApiProperty({ enum: Role, isArray: true, example: ['user'] })
  roles: Role[];

  @ApiProperty({ description: 'The address was shown to be the user\'s (a verification link, a reset or a confirmed change)' })
  emailVerified: boolean;

  @ApiProperty({ description: 'TOTP is on: a login with the password then asks for a code' })
  mfaEnabled: boolean;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

/** What routes for admins answer: the user object, and whether the account is disabled. */
export class AdminUserResponse extends UserResponse {
  @ApiProperty()
  disabled: boolean;
}

export function toUserResponse(user: User): UserResponse {
  return {
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    roles: user.roles,
    emailVerified: user.emailVerifiedAt !== null,
    mfaEnabled: user.mfaEnabled,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}

export function toAdminUserResponse(user: User): AdminUserResponse {
  return { ...toUserResponse(user), disabled: user.disabledAt !== null };
}
