import { SetMetadata } from '@nestjs/common';
import type { Role } from '../../users/role';

export const ROLES_KEY = 'roles';

/** The caller needs at least one of these roles (read from the access token). */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
