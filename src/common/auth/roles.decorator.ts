import { SetMetadata } from '@nestjs/common';
import type { RoleName } from './role';

export const ROLES_KEY = 'roles';

/** The caller needs at least one of these roles (read from the access token): `@Roles('admin')` or `@Roles(Role.Admin)`. */
export const Roles = (...roles: RoleName[]) => SetMetadata(ROLES_KEY, roles);
