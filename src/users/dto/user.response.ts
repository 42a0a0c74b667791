import type { User } from '../user.entity';
import type { Role } from '../role';

/** The contract's user object. The only way a User leaves the service: no hash, ever. */
export interface UserResponse {
  id: string;
  email: string;
  displayName: string | null;
  roles: Role[];
  createdAt: string;
  updatedAt: string;
}

export function toUserResponse(user: User): UserResponse {
  return {
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    roles: user.roles,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}
